"""PSI by hand: quantile bins of the reference, right-closed, the empty-bin rule, categories, missing values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kycc.monitoring.psi import DEFAULT_EPS, psi, psi_categorical, psi_level, quantile_edges


def test_psi_by_hand_with_an_empty_bin():
    reference = [1, 2, 3, 4, 5, 6, 7, 8]  # quartile edges 2.75, 4.5, 6.25: a quarter in each bin
    current = [1, 1, 2, 3, 7, 8, 8, 8]  # 3/8, 1/8, 0 (empty: counts as 0.0001), 4/8
    result = psi(reference, current, bins=4)
    assert quantile_edges(reference, 4).tolist() == [2.75, 4.5, 6.25]
    assert result.table["reference_share"].tolist() == [0.25] * 4
    assert result.table["current_share"].tolist() == [0.375, 0.125, 0.0, 0.5]
    by_hand = (
        (0.375 - 0.25) * math.log(0.375 / 0.25)
        + (0.125 - 0.25) * math.log(0.125 / 0.25)
        + (0.0001 - 0.25) * math.log(0.0001 / 0.25)
        + (0.5 - 0.25) * math.log(0.5 / 0.25)
    )
    assert result.value == pytest.approx(by_hand, rel=1e-12)
    assert result.value == pytest.approx(2.265842, abs=1e-6)
    assert psi_level(result.value) == "major"


def test_bins_are_right_closed():
    # a value equal to an edge belongs to the bin that ends there
    result = psi([1, 2, 3, 4], [2, 2, 2, 2], bins=2)  # edge 2.5: (-inf, 2.5], (2.5, inf)
    assert result.table["current_share"].tolist() == [1.0, 0.0]
    result = psi([1, 2, 3, 4], [2.5, 2.5, 3, 3], edges=[2.5])
    assert result.table["current_share"].tolist() == [0.5, 0.5]


def test_identical_distributions_are_stable_and_a_shift_is_not():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=5000)
    assert psi(ref, ref).value == 0.0
    assert psi(ref, rng.normal(size=5000)).value < 0.01
    shifted = psi(ref, rng.normal(0.5, 1, size=5000)).value
    assert 0.1 < shifted < 0.5 and psi_level(shifted) in {"moderate", "major"}


def test_missing_values_have_their_own_bin():
    result = psi([1.0, 2.0, np.nan, np.nan], [1.0, 2.0, 2.0, np.nan], bins=2)
    assert result.table["bin"].tolist()[-1] == "missing"
    assert result.table["reference_share"].tolist() == [0.25, 0.25, 0.5]
    assert result.table["current_share"].tolist() == [0.25, 0.5, 0.25]
    by_hand = 0 + (0.5 - 0.25) * math.log(2) + (0.25 - 0.5) * math.log(0.5)
    assert result.value == pytest.approx(by_hand)


def test_categorical_psi_by_hand():
    result = psi_categorical(["A", "A", "B", "B"], ["A", "B", "B", None])
    assert result.table["bin"].tolist() == ["A", "B", "missing"]
    by_hand = (0.25 - 0.5) * math.log(0.25 / 0.5) + 0 + (0.25 - DEFAULT_EPS) * math.log(0.25 / DEFAULT_EPS)
    assert result.value == pytest.approx(by_hand)


def test_empty_side_is_undefined_and_bad_options_are_refused():
    assert math.isnan(psi([], [1, 2]).value)
    assert psi_level(float("nan")) == "undefined"
    with pytest.raises(ValueError, match="bins must be an integer >= 2"):
        psi([1, 2], [1, 2], bins=1)
    with pytest.raises(ValueError, match="eps must be a small positive number"):
        psi([1, 2], [1, 2], eps=0)
