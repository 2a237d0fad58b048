"""Scoring-time stability math: sampling floor, chi-square p-value, noise-aware verdicts, the one level set and
the characteristic analysis on a scorecard's own bins (reconciles to the mean weighted-points shift)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency

from kycc.monitoring.stability import (
    StabilityLevels,
    characteristic_analysis,
    chi2_p_value,
    compare_counts,
    compare_missing_rate,
    compare_values,
    psi_floor,
    rule_bin_index,
    verdict,
    worst_verdict,
)
from kycc.scorecard.definition import ScorecardDefinition
from kycc.scorecard.points import feature_points, weighted_points

CARD = ScorecardDefinition.from_dict(
    {
        "version": "t",
        "score_range": {"min": 300, "max": 850},
        "bands": {"A": 700, "B": 550, "C": 300},
        "features": {
            "rate": {"weight": 0.45, "edges": [10, 20], "points": [100, 50, 0], "missing": 35},
            "mix": {"weight": 0.35, "categories": {"Good": 100, "Bad": 0}, "missing": 40, "other": 60},
            "age": {"weight": 0.2, "edges": [30], "points": [20, 90], "missing": 10},
        },
    }
)


def _frame(rng, n, rate_shift=0.0, missing=0.1):
    rate = rng.normal(15 + rate_shift, 6, n)
    rate[rng.random(n) < missing] = np.nan
    mix = rng.choice(["Good", "Bad", "Odd", None], n, p=[0.5, 0.3, 0.1, 0.1])
    age = rng.normal(35, 10, n)
    return pd.DataFrame({"rate": rate, "mix": mix, "age": age})


def test_characteristic_analysis_sums_to_the_mean_weighted_points_shift():
    rng = np.random.default_rng(1)
    ref, now = _frame(rng, 1500), _frame(rng, 333, rate_shift=4, missing=0.25)
    table = characteristic_analysis(ref, now, CARD)
    shift = (
        weighted_points(feature_points(now, CARD), CARD).mean()
        - weighted_points(feature_points(ref, CARD), CARD).mean()
    )
    assert list(table["feature"]) == ["rate", "mix", "age"]
    assert abs(table["points_shift"].sum() - shift) < 1e-9
    assert abs(shift) > 0.5  # a real shift, not 0 = 0
    # the moved feature explains most of it; score units = points x (850 - 300) / 100
    assert table.loc[0, "points_shift"] == table["points_shift"].abs().max() * np.sign(
        table.loc[0, "points_shift"]
    )
    assert table["score_shift"].to_numpy() == pytest.approx(table["points_shift"].to_numpy() * 5.5)


def test_rule_bins_follow_the_scorecard_points():
    values = pd.Series([5, 10, 10.5, 20, 25, None])
    assert rule_bin_index(CARD.feature("rate"), values).tolist() == [0, 0, 1, 1, 2, 3]
    cats = pd.Series(["Good", "Bad", "Odd", None])
    assert rule_bin_index(CARD.feature("mix"), cats).tolist() == [0, 1, 2, 3]  # other, then missing


def test_floor_and_chi2_p_value():
    assert psi_floor(10, 1000, 250) == pytest.approx(9 * (1 / 1000 + 1 / 250))
    ref, now = [100, 200, 300, 0], [30, 50, 90, 0]
    expected = chi2_contingency(np.array([ref[:3], now[:3]]), correction=False).pvalue
    assert chi2_p_value(ref, now) == pytest.approx(expected)
    assert math.isnan(chi2_p_value([0, 0], [1, 2]))


def test_a_psi_inside_the_noise_is_not_moderate():
    levels = StabilityLevels()
    assert verdict(0.15, floor=0.2, p_value=0.001, levels=levels) == "stable"  # below its floor
    assert verdict(0.15, floor=0.02, p_value=0.3, levels=levels) == "stable"  # not significant
    assert verdict(0.15, floor=0.02, p_value=0.001, levels=levels) == "moderate"
    assert verdict(0.3, floor=0.02, p_value=1e-9, levels=levels) == "major"
    assert verdict(float("nan"), 0.1, 0.1, levels) == "undefined"
    # few rows: a large PSI of 20 vs 20 rows stays within the noise
    small = compare_counts([5, 5, 5, 5], [9, 4, 4, 3], levels)
    assert small.value > 0.1 and small.floor > small.value and small.verdict == "stable"


def test_the_levels_decide_the_verdict():
    rng = np.random.default_rng(4)
    ref, now = rng.normal(0, 1, 3000), rng.normal(0.35, 1, 1000)
    default = compare_values(ref, now, StabilityLevels())
    assert default.value > default.floor and default.p_value < 0.01
    assert default.verdict in {"moderate", "major"}
    relaxed = compare_values(ref, now, StabilityLevels.from_params({"moderate": 0.5, "major": 0.9}))
    assert relaxed.value == default.value and relaxed.verdict == "stable"


def test_missing_rate_shift():
    levels = StabilityLevels()
    ref = pd.Series([None] * 50 + [1.0] * 950)
    moved = compare_missing_rate(ref, pd.Series([None] * 60 + [1.0] * 140), levels)
    assert moved.value == pytest.approx(0.30 - 0.05) and moved.verdict == "major"
    same = compare_missing_rate(ref, pd.Series([None] * 12 + [1.0] * 188), levels)
    assert same.verdict == "stable"


def test_worst_verdict():
    assert worst_verdict(["stable", "moderate", "undefined"]) == "moderate"
    assert worst_verdict(["undefined"]) == "undefined"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"moderate": 0.3, "major": 0.2}, "0 < moderate < major"),
        ({"alpha": 1.5}, "alpha"),
        ({"moderat": 0.1}, "unknown parameter 'psi_levels.moderat'"),
        ({"major": "high"}, r"parameter 'psi_levels.major' \(given\): Input should be a valid number"),
    ],
)
def test_bad_levels_are_refused_with_the_parameter_named(params, message):
    with pytest.raises(ValueError, match=message):
        StabilityLevels.from_params(params)
