"""The one PSI-level set: monitoring's feature PSI reads the levels it is given, psi_from_counts matches psi."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kycc.monitoring.drift import feature_psi
from kycc.monitoring.psi import psi, psi_from_counts


def _frames():
    rng = np.random.default_rng(2)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 2000)})
    cur = pd.DataFrame({"x": rng.normal(0.15, 1, 800)})
    return ref, cur


def test_feature_psi_levels_follow_the_parameter_set():
    ref, cur = _frames()
    default = feature_psi(ref, cur, ["x"])
    value = default.loc[0, "psi"]
    assert 0.02 < value < 0.1 and default.loc[0, "level"] == "stable"
    strict = feature_psi(ref, cur, ["x"], psi_levels={"moderate": value / 2, "major": value * 2})
    assert strict.loc[0, "psi"] == value and strict.loc[0, "level"] == "moderate"


def test_psi_from_counts_equals_psi_on_the_same_bins():
    ref, cur = _frames()
    edges = [-1.0, 0.0, 1.0]
    direct = psi(ref["x"], cur["x"], edges=edges)
    count = lambda v: np.bincount(np.searchsorted(edges, v, side="left"), minlength=4)  # noqa: E731
    assert psi_from_counts(count(ref["x"]), count(cur["x"])).value == pytest.approx(direct.value)
    with pytest.raises(ValueError, match="different shapes"):
        psi_from_counts([1, 2], [1, 2, 3])
