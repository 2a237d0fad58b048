"""The actions pipeline through an in-memory catalog, on the monitored sample world: decisions on the evidence of
each cohort (DeLong/Jeffreys intervals rebuilt from the predictions and the labels), A/E, a planted collapse."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from kedro.runner import SequentialRunner
from scipy.stats import beta

from kycc.monitoring.backtest import auc_delong
from kycc.pipelines.actions import create_pipeline as actions_pipeline
from kycc.pipelines.actions.nodes import evaluate_actions
from kycc.pipelines.monitoring import create_pipeline as monitoring_pipeline
from tests.inference.cards import memory_catalog, registered, scorecard_versions
from tests.pipelines.monitoring.test_pipeline import ACTIONS, LEVELS, monitored  # noqa: F401 - shared fixture

NOTIFY_OFF = {"enabled": False}


def _run_actions(world, mon, predictions, months=("2024-08-01", "2024-12-01"), psi_levels=LEVELS, **extra):
    pipeline = actions_pipeline(models=["model_1"])
    catalog = memory_catalog(
        pipeline,
        {
            "model_1.out_monitoring_metrics": mon.load("model_1.out_monitoring_metrics"),
            "model_1.out_feature_psi": mon.load("model_1.out_feature_psi"),
            "model_1.out_predictions": predictions,
            "feat_gold_labels": world.labels_table(),
            "act_alert_delivery_history": pd.DataFrame(),
            "act_notification_secrets": {},
            "params:actions": {**ACTIONS, "start_month": months[0], "end_month": months[1],
                               "notifications": NOTIFY_OFF, **extra},
            "params:psi_levels": psi_levels,
        },
    )  # fmt: skip
    SequentialRunner().run(pipeline, catalog)
    return catalog


def _cohort(world, predictions, cohort_month: str) -> pd.DataFrame:
    cohort = predictions[predictions["snapshot_date"] == pd.Timestamp(cohort_month)]
    return cohort.merge(world.data[["loan_id", "label"]], on="loan_id")


def test_each_decision_lists_its_evidence(monitored):  # noqa: F811 - the shared fixture
    world, predictions, mon = monitored
    catalog = _run_actions(world, mon, predictions)
    decisions = catalog.load("model_1.out_action_decisions")
    reports = catalog.load("model_1.rpt_action_json")
    texts = catalog.load("model_1.rpt_action_text")
    assert (
        sorted(reports) == sorted(texts) == [f"model_1_action_2024_{m}_01" for m in ("09", "10", "11", "12")]
    )
    assert len(decisions) == 4 and set(decisions["decision"]) <= {"monitor", "active_monitoring", "retrain"}
    metrics = mon.load("model_1.out_monitoring_metrics").set_index("snapshot_date")
    for _, row in decisions.iterrows():
        key = f"model_1_action_{row['snapshot_date']:%Y_%m_%d}"
        report, m = reports[key], metrics.loc[row["snapshot_date"]]
        assert report["decision"] == row["decision"] and report["model_version"] == 1
        assert (
            report["decide_on"] == "interval"
            and f"Decision:          {row['decision'].upper()}" in texts[key]
        )
        joined = _cohort(world, predictions, f"{m['cohort_month']:%Y-%m-%d}")
        auc = next(c for c in report["evidence"] if c["metric"] == "roc_auc")
        delong = auc_delong(joined["label"], joined["probability"])
        assert auc["value"] == pytest.approx(m["roc_auc"]) and auc["n"] == m["n_matched"] == len(joined)
        assert (auc["lower"], auc["upper"]) == pytest.approx((delong["auc_lower"], delong["auc_upper"]))
        accuracy = next(c for c in report["evidence"] if c["metric"] == "accuracy")
        correct = int(m["tn"] + m["tp"])
        assert accuracy["events"] == correct and accuracy["business_threshold"] == 0.70
        assert accuracy["upper"] == pytest.approx(beta.ppf(0.975, correct + 0.5, len(joined) - correct + 0.5))
        assert report["all_good_accuracy"] == pytest.approx(1 - joined["label"].mean())
        cal = report["calibration"]
        assert cal["actual_defaults"] == joined["label"].sum()
        assert cal["expected_defaults"] == pytest.approx(joined["probability"].sum())
        assert row["ae_ratio"] == pytest.approx(cal["ae_ratio"]) and row["roc_auc_upper"] == pytest.approx(
            auc["upper"]
        )
        # the one PSI level set: features at or above psi_levels.major, counted from out_feature_psi
        psi = mon.load("model_1.out_feature_psi")
        month_psi = psi.loc[psi["snapshot_date"] == row["snapshot_date"], "psi"]
        assert report["drift"]["n_features_psi_major"] == int((month_psi >= LEVELS["major"]).sum())
    skipped = catalog.load("rpt_actions_summary")["models"][0]["months"][0]
    assert skipped["status"] == "skipped" and "no monitoring metrics for 2024-08" in skipped["reason"]
    assert catalog.load("out_alert_delivery_log")["status"].eq("disabled").all()


def test_the_psi_levels_parameter_sets_the_report_level(monitored):  # noqa: F811 - the shared fixture
    world, predictions, mon = monitored
    # the one rule 0 < moderate < major, set so low that every shifted feature is major
    low = {**LEVELS, "moderate": 1e-12, "major": 2e-12}
    report = _run_actions(world, mon, predictions, psi_levels=low).load("model_1.rpt_action_json")
    record = report["model_1_action_2024_10_01"]
    assert record["psi_levels"]["major"] == 2e-12 and record["drift"]["psi_level"] == "major"
    psi = mon.load("model_1.out_feature_psi")
    n_features = int((psi["snapshot_date"] == pd.Timestamp("2024-10-01")).sum())
    assert n_features > 0 and record["drift"]["n_features_psi_major"] == n_features


def test_a_planted_collapse_gives_retrain_with_the_interval_as_reason(monitored):  # noqa: F811 - the shared fixture
    """Shuffle the PDs of the 2024-04 cohort (monitored in 2024-10): ranking gone, labels and rates unchanged."""
    world, predictions, _ = monitored
    planted = predictions.copy()
    rows = planted["snapshot_date"] == pd.Timestamp("2024-04-01")
    planted.loc[rows, "probability"] = np.random.default_rng(11).permutation(
        planted.loc[rows, "probability"].to_numpy()
    )
    pipeline = monitoring_pipeline(models=["model_1"])
    mon = memory_catalog(
        pipeline,
        {
            "feat_gold_labels": world.labels_table(),
            "feat_gold_features": world.features_table(),
            "model_1.out_predictions": planted,
            "out_scorecard_decisions": pd.DataFrame(),
            "out_scorecard_shadow": pd.DataFrame(),
            "mdl_scorecard_versions": scorecard_versions(),
            "model_1.mdl_registered_model": registered(world),
            "params:monitoring": {
                "start_month": "2024-10-01",
                "end_month": "2024-10-01",
                "label_lag_months": 6,
            },
            "params:psi_levels": LEVELS,
        },
    )
    SequentialRunner().run(pipeline, mon)
    catalog = _run_actions(world, mon, planted, months=("2024-10-01", "2024-10-01"))
    record = catalog.load("model_1.rpt_action_json")["model_1_action_2024_10_01"]
    auc = next(c for c in record["evidence"] if c["metric"] == "roc_auc")
    assert record["decision"] == "retrain" and auc["status"] == "below_business" and auc["upper"] < 0.75
    assert any("roc_auc" in r and "upper bound < business threshold 0.75" in r for r in record["reasons"])
    assert catalog.load("model_1.out_action_decisions")["retrain_requested"].tolist() == [True]


def test_bad_action_options_are_refused():
    empty = pd.DataFrame()
    with pytest.raises(ValueError, match="unknown parameter 'actions.thresold'"):
        evaluate_actions("model_1", empty, empty, empty, None, {**ACTIONS, "thresold": {}}, LEVELS)
    with pytest.raises(ValueError, match="actions.thresholds must map metrics"):
        evaluate_actions("model_1", empty, empty, empty, None, {"thresholds": {}}, LEVELS)
    with pytest.raises(
        ValueError,
        match=r"parameter 'psi_levels' \(given\): need 0 < moderate < major, got moderate=0.2, major=0.1",
    ):
        evaluate_actions("model_1", empty, empty, empty, None, ACTIONS, {"moderate": 0.2, "major": 0.1})
