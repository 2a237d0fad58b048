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
    assert page.count("data:image/png;base64,") == len(CHARTS)  # charts saying there is nothing to show
