"""The actions pipeline through an in-memory catalog, on the monitored sample world."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.runner import SequentialRunner

from kycc.monitoring.actions import ActionRules, evaluate_action
from kycc.pipelines.actions import create_pipeline as actions_pipeline
from kycc.pipelines.actions.nodes import evaluate_actions
from tests.inference.cards import memory_catalog
from tests.pipelines.monitoring.test_pipeline import ACTIONS, monitored  # noqa: F401 - shared fixture


def test_actions_per_model_and_month(monitored):  # noqa: F811 - the fixture
    _, _, mon = monitored
    pipeline = actions_pipeline(models=["model_1"])
    catalog = memory_catalog(
        pipeline,
        {
            "model_1.out_monitoring_metrics": mon.load("model_1.out_monitoring_metrics"),
            "params:actions": {**ACTIONS, "start_month": "2024-08-01", "end_month": "2024-12-01"},
        },
    )
    SequentialRunner().run(pipeline, catalog)
    decisions = catalog.load("model_1.out_action_decisions")
    reports = catalog.load("model_1.rpt_action_json")
    texts = catalog.load("model_1.rpt_action_text")
    assert (
        sorted(reports) == sorted(texts) == [f"model_1_action_2024_{m}_01" for m in ("09", "10", "11", "12")]
    )
    assert len(decisions) == 4 and set(decisions["decision"]) <= {"monitor", "active_monitoring", "retrain"}
    metrics = mon.load("model_1.out_monitoring_metrics").set_index("snapshot_date")
    for _, row in decisions.iterrows():
        report = reports[f"model_1_action_{row['snapshot_date']:%Y_%m_%d}"]
        assert report["decision"] == row["decision"] and report["model_version"] == 1
        m = metrics.loc[row["snapshot_date"]]
        expected = evaluate_action(
            m.to_dict(), ActionRules.from_params(ACTIONS), {"roc_auc": m["baseline_roc_auc"]}
        )
        assert row["decision"] == expected["decision"]
        assert (
            f"Decision:          {row['decision'].upper()}"
            in texts[f"model_1_action_{row['snapshot_date']:%Y_%m_%d}"]
        )
    skipped = catalog.load("rpt_actions_summary")["models"][0]["months"][0]
    assert skipped["status"] == "skipped" and "no monitoring metrics for 2024-08" in skipped["reason"]


def test_bad_action_options_are_refused():
    with pytest.raises(ValueError, match="Unknown keys in actions parameters"):
        evaluate_actions("model_1", pd.DataFrame(), {**ACTIONS, "thresold": {}})
    with pytest.raises(ValueError, match="actions.thresholds must map metrics"):
        evaluate_actions("model_1", pd.DataFrame(), {"thresholds": {}})
