"""The shadow backtest (#11.3) on a small hand-made frame: every number computed again by hand — band counts and
rates, the Jeffreys p-value, the Gini of the draft and of the deciding version on the same loans, and the paired
DeLong difference from its definition (ψ over every default/non-default pair)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import beta, norm
from sklearn.metrics import roc_auc_score

from kycc.pipelines.monitoring.nodes import backtest_scorecard, backtest_shadow_scorecards
from tests.inference.cards import SCORECARD

COHORT, MONTH = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-07-01")


def _versions() -> dict:
    return {
        "active": "t1",
        "versions": {
            "t1": {"version": "t1", "definition": SCORECARD, "status": "active"},
            "d": {"version": "d", "definition": {**SCORECARD, "version": "d"}, "status": "draft"},
        },
    }


def _band(score: float) -> str:
    return "A" if score >= 700 else "B" if score >= 550 else "C"


@pytest.fixture(scope="module")
def frame():
    """80 loans of the 2024-01 cohort (5 never labelled), scored by the draft in shadow and by t1 (deciding)."""
    rng = np.random.default_rng(4)
    n = 80
    risk = rng.normal(size=n)
    label = (risk + rng.normal(scale=1.0, size=n) > 0.8).astype(float)
    draft = np.round(600 - 80 * risk + rng.normal(scale=30, size=n))
    deciding = np.round(600 - 80 * risk + rng.normal(scale=60, size=n))
    loans = [f"L{i:03d}" for i in range(n)]
    shadow = pd.DataFrame(
        {
            "snapshot_date": COHORT,
            "loan_id": loans,
            "role": "shadow",
            "scorecard_version": "d",
            "score": draft,
            "band": [_band(s) for s in draft],
            "pd": 1 / (1 + np.exp((draft - 560) / 50)),
            "deciding_version": "t1",
            "deciding_score": deciding,
        }
    )
    labels = pd.DataFrame({"loan_id": loans, "label": label, "snapshot_date": MONTH}).iloc[5:]
    return shadow, labels.reset_index(drop=True)


def _delong_by_hand(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """AUC(a) − AUC(b) and its DeLong standard error, from ψ(x, y) over every pair (DeLong et al. 1988)."""

    def components(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos, neg = s[y == 1], s[y == 0]
        psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
        return psi.mean(axis=1), psi.mean(axis=0)

    (a10, a01), (b10, b01) = components(a), components(b)
    m, n = len(a10), len(a01)
    var = np.var(a10 - b10, ddof=1) / m + np.var(a01 - b01, ddof=1) / n
    return float(a10.mean() - b10.mean()), math.sqrt(var)


def test_the_shadow_backtest_equals_a_backtest_by_hand(frame):
    shadow, labels = frame
    table = backtest_shadow_scorecards(labels, [MONTH.date().isoformat()], shadow, _versions(), {})
    assert set(table["role"]) == {"shadow"} and set(table["scorecard_version"]) == {"d"}
    assert (table["cohort_month"] == COHORT).all() and (table["snapshot_date"] == MONTH).all()
    joined = shadow.merge(labels[["loan_id", "label"]], on="loan_id", how="left")
    lab = joined.dropna(subset=["label"])
    bands = table.loc[table["level"] == "band"].set_index("band")
    assert list(bands.index) == ["A", "B", "C"]
    for band in "ABC":
        part = lab.loc[lab["band"] == band]
        row = bands.loc[band]
        assert row["applications"] == (joined["band"] == band).sum()
        assert row["n_labelled"] == len(part) and row["defaults"] == part["label"].sum()
        if len(part):
            d, n = part["label"].sum(), len(part)
            assert row["observed_default_rate"] == pytest.approx(d / n)
            assert row["predicted_pd"] == pytest.approx(part["pd"].mean())
            assert row["jeffreys_pvalue"] == pytest.approx(beta.cdf(part["pd"].mean(), d + 0.5, n - d + 0.5))
    version = table.loc[table["level"] == "version"].iloc[0]
    assert version["applications"] == 80 and version["n_labelled"] == 75 == len(lab)
    y = lab["label"].to_numpy().astype(int)
    assert version["gini"] == pytest.approx(2 * roc_auc_score(y, -lab["score"]) - 1)
    assert version["deciding_version"] == "t1"
    assert version["deciding_gini"] == pytest.approx(2 * roc_auc_score(y, -lab["deciding_score"]) - 1)
    diff, se = _delong_by_hand(y, -lab["score"].to_numpy(), -lab["deciding_score"].to_numpy())
    assert version["gini_difference"] == pytest.approx(2 * diff)
    assert version["gini_difference_lower"] == pytest.approx(2 * (diff - norm.ppf(0.975) * se))
    assert version["gini_difference_upper"] == pytest.approx(2 * (diff + norm.ppf(0.975) * se))
    assert version["gini_difference_p_value"] == pytest.approx(2 * norm.sf(abs(diff / se)))


def test_the_shadow_backtest_has_the_deciding_backtest_columns_and_no_shadow_means_no_rows(frame):
    shadow, labels = frame
    months = [MONTH.date().isoformat()]
    decisions = shadow.assign(scorecard_version="t1", score=shadow["deciding_score"], role=None).drop(
        columns=["role"]
    )
    deciding, _ = backtest_scorecard(labels, months, decisions, _versions(), {})
    table = backtest_shadow_scorecards(labels, months, shadow, _versions(), {})
    assert set(deciding["role"]) == {"deciding"}
    assert set(deciding.columns) <= set(table.columns)
    extra = set(table.columns) - set(deciding.columns)
    assert extra == {"deciding_version", "deciding_gini", "gini_difference", "gini_difference_lower",
                     "gini_difference_upper", "gini_difference_p_value"}  # fmt: skip
    # the deciding version's Gini on the same loans is the deciding backtest's own Gini
    same = table.loc[table["level"] == "version", "deciding_gini"].iloc[0]
    assert same == pytest.approx(deciding.loc[deciding["level"] == "version", "gini"].iloc[0])
    assert backtest_shadow_scorecards(labels, months, pd.DataFrame(), _versions(), {}).empty
    assert backtest_shadow_scorecards(labels, ["2024-08-01"], shadow, _versions(), {}).empty  # no labels then


def test_the_dashboard_shows_the_shadow_backtest_beside_the_deciding_one(frame):
    from kycc.reporting.dashboard import render_drift_sections

    shadow, labels = frame
    months = [MONTH.date().isoformat()]
    decisions = shadow.assign(scorecard_version="t1", score=shadow["deciding_score"]).drop(columns=["role"])
    deciding, _ = backtest_scorecard(labels, months, decisions, _versions(), {})
    table = backtest_shadow_scorecards(labels, months, shadow, _versions(), {})
    page = render_drift_sections(None, None, deciding, None, {}, shadow=table)
    row = table.loc[table["level"] == "version"].iloc[0]
    assert "Draft versions scored in shadow" in page
    assert f"d (shadow, never deciding; cohort 2024-01, n 75, defaults {int(row['defaults'])})" in page
    assert f"vs t1 {row['deciding_gini']:.3f} on the same loans" in page
    assert "Draft versions scored in shadow" not in render_drift_sections(None, None, deciding, None, {})
