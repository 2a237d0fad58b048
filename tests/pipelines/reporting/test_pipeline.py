"""The reporting pipeline: charts and a self-contained dashboard, with data and with nothing monitored yet."""

from __future__ import annotations

import re

import pandas as pd
from kedro.runner import SequentialRunner
from matplotlib.figure import Figure

from kycc.pipelines.reporting import create_pipeline
from tests.inference.cards import memory_catalog
from tests.pipelines.monitoring.test_pipeline import ACTIONS, monitored  # noqa: F401 - shared fixture

REPORTING = {
    "title": "KYCC test",
    "top_features": 5,
    "psi_levels": {"moderate": 0.1, "major": 0.25},
    "dpi": 50,
}
CHARTS = {"performance_trends", "psi_trends", "feature_psi", "confusion_matrices", "model_comparison",
          "prediction_drift"}  # fmt: skip


def _run(inputs: dict) -> object:
    pipeline = create_pipeline(models=["model_1"])
    empty = pd.DataFrame()
    defaults = {
        "out_scorecard_decisions": empty,
        "model_1.out_monitoring_metrics": empty,
        "model_1.out_feature_psi": empty,
        "model_1.out_action_decisions": empty,
        "model_1.out_predictions": empty,
        "out_scoring_stability": empty,
        "out_characteristic_analysis": empty,
        "out_scorecard_backtest": empty,
        "out_estimated_performance": empty,
        "params:reporting": REPORTING,
        "params:actions": ACTIONS,
    }
    catalog = memory_catalog(pipeline, {**defaults, **inputs})
    SequentialRunner().run(pipeline, catalog)
    return catalog


def _self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page), "the dashboard must not load anything"
    assert "<script" not in page


def test_dashboard_with_monitored_months(monitored):  # noqa: F811 - the fixture
    world, predictions, mon = monitored
    metrics = mon.load("model_1.out_monitoring_metrics")
    decisions = pd.DataFrame(
        {"snapshot_date": metrics["snapshot_date"], "model": "model_1", "model_version": 1,
         "decision": "active_monitoring", "reasons": "P0 roc_auc below data science", "roc_auc": metrics["roc_auc"],
         "accuracy": metrics["accuracy"], "f1": metrics["f1"], "psi_score": metrics["psi_score"]}
    )  # fmt: skip
    scorecard = predictions[["snapshot_date", "loan_id", "scorecard_version", "score", "band"]]
    catalog = _run(
        {
            "out_scorecard_decisions": scorecard,
            "model_1.out_monitoring_metrics": metrics,
            "model_1.out_feature_psi": mon.load("model_1.out_feature_psi"),
            "model_1.out_action_decisions": decisions,
            "model_1.out_predictions": predictions,
        }
    )
    charts = catalog.load("rpt_monitoring_charts")
    assert set(charts) == {f"{c}.png" for c in CHARTS}
    assert all(isinstance(f, Figure) for f in charts.values())
    page = catalog.load("rpt_monitoring_dashboard")
    _self_contained(page)
    assert page.count("data:image/png;base64,") == len(CHARTS)
    assert "active_monitoring" in page and "2024-12" in page and "KYCC test" in page
    assert len(catalog.load("rpt_monitoring_metrics")) == len(metrics)


def test_dashboard_before_anything_is_monitored():
    catalog = _run({})
    page = catalog.load("rpt_monitoring_dashboard")
    _self_contained(page)
    assert "Not monitored yet" in page and "Nothing yet." in page
    for name in ("out_scoring_stability", "out_characteristic_analysis", "out_scorecard_backtest",
                 "out_estimated_performance"):  # fmt: skip
        assert f"{name}: not available yet" in page
    assert page.count("data:image/png;base64,") == len(CHARTS)  # charts saying there is nothing to show


def test_dashboard_shows_stability_backtest_and_estimates_first():
    month = pd.Timestamp("2024-09-01")
    stability = pd.DataFrame(
        {"snapshot_date": [month] * 3, "scorer": ["scorecard:v1", "scorecard:v1", "model_1"],
         "scorer_kind": ["scorecard", "scorecard", "model"], "family": ["score_psi", "band_ssi", "pd_psi"],
         "feature": [None] * 3, "value": [0.3137, 0.1421, 0.0456], "n_ref": [900] * 3, "n_now": [450] * 3,
         "bins": [10, 5, 10], "floor": [0.0301, 0.0133, 0.0301], "p_value": [1e-6, 0.002, 0.4],
         "verdict": ["major", "moderate", "stable"], "reference": ["dev"] * 3}
    )  # fmt: skip
    characteristic = pd.DataFrame(
        {"snapshot_date": [month] * 2, "scorecard_version": ["v1", "v1"], "feature": ["debt_ratio", "age"],
         "score_shift": [-7.654, 0.123], "verdict": ["major", "stable"]}
    )  # fmt: skip
    backtest = pd.DataFrame(
        {"snapshot_date": [month] * 2, "cohort_month": [pd.Timestamp("2024-03-01")] * 2,
         "scorecard_version": ["v1", "v1"], "level": ["band", "version"], "band": ["E", "all"],
         "n_labelled": [77, 400], "defaults": [19, 40], "observed_default_rate": [0.2468, 0.1],
         "predicted_pd": [0.1811, 0.09], "jeffreys_pvalue_two_sided": [0.0421, 0.5],
         "verdict": ["pd too low", "consistent"], "rank_order_ok": [True, True],
         "rank_order_monotone": [None, True], "rank_order_inversions": [None, ""], "roc_auc": [None, 0.7123],
         "auc_lower": [None, 0.6512], "auc_upper": [None, 0.7734]}
    )  # fmt: skip
    estimated = pd.DataFrame(
        {"snapshot_date": [month] * 2, "scored_month": [month, pd.Timestamp("2024-03-01")],
         "scorer": ["scorecard:v1"] * 2, "status": ["pending", "realized"], "expected_roc_auc": [0.6987, 0.7011],
         "realized_roc_auc": [None, 0.7123], "roc_auc_error": [None, 0.0112],
         "expected_default_rate": [0.1234, 0.0912], "realized_default_rate": [None, 0.1]}
    )  # fmt: skip
    catalog = _run(
        {"out_scoring_stability": stability, "out_characteristic_analysis": characteristic,
         "out_scorecard_backtest": backtest, "out_estimated_performance": estimated}
    )  # fmt: skip
    page = catalog.load("rpt_monitoring_dashboard")
    _self_contained(page)
    assert page.index("This month's stability (2024-09)") < page.index("Latest status")
    for text in (
        "0.314",
        "0.030",
        "major",
        "moderate",
        "debt_ratio",
        "-7.654",
        "pd too low",
        "0.247",
        "0.181",
        "0.042",
        "0.712",
        "0.651",
        "0.773",
        "monotone",
        "0.699",
        "0.011",
        "pending",
        "realized",
    ):
        assert text in page, text
    assert "not available yet" not in page
    assert page.count("data:image/png;base64,") == len(CHARTS) + 1  # the stability figure
