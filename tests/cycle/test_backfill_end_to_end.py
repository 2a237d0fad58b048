"""The monthly cycle end to end in a temp dir: predictions, metrics, actions, dashboard, skips, MLflow."""

from __future__ import annotations

import json
import re

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from kycc.datasets.tables import MonthPartitionedPandasDataset
from kycc.registry.read import mlflow_registered_model
from kycc.temporal import month_range

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cycle")]

MODELS = ("model_1", "model_2")
SEED_MONTHS = month_range("2024-04-01", "2024-11-01")
MONITORED = month_range("2024-12-01", "2025-06-01")


def _table(root, path: str) -> pd.DataFrame:
    return MonthPartitionedPandasDataset(str(root / path)).load()


def _records(root) -> dict[str, dict]:
    folder = root / "08_reporting" / "cycle" / "months"
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def test_every_month_has_a_record_with_what_ran_and_why_not(catch_up):
    records = _records(catch_up.root)
    assert list(records) == [f"{m:%Y-%m}" for m in month_range("2023-01-01", "2025-06-01")]
    assert records["2023-03"]["training"] == {"status": "skipped", "reason": "no labelled loans yet"}
    assert records["2024-11"]["training"] == {"status": "skipped", "reason": "history 16/17 window months"}
    assert records["2024-11"]["monitoring"]["reason"] == "no predictions for 2024-05 (6 months earlier)"
    assert records["2024-11"]["inference"]["models"]["model_1"]["status"] == "skipped"
    first = records["2024-12"]
    assert (
        first["training"]["status"] == "ran"
        and first["training"]["reason"] == "first month with enough history"
    )
    assert all(o["status"] == "registered" and o["champion"] for o in first["training"]["models"].values())
    seed = first["seed_backfill"]["models"]
    assert seed == {m: {"start_month": "2024-04-01", "end_month": "2024-11-01"} for m in MODELS}
    trainings = [m for m, r in records.items() if r["training"]["status"] == "ran"]
    for previous, month in zip(trainings, trainings[1:], strict=False):
        reason = records[month]["training"]["reason"]
        gap = (pd.Timestamp(month + "-01").to_period("M") - pd.Timestamp(previous + "-01").to_period("M")).n
        # on the schedule (every 3 months) or the month after a retrain decision, never otherwise
        assert (
            reason == f"scheduled ({gap} months since {previous})"
            and gap >= 3
            or reason.startswith("retrain decided")
        ), (month, reason)
    table = catch_up.report.table()
    assert "T v1* v1*" in table and "seed 24-04..24-11" in table
    assert (catch_up.root / "08_reporting" / "cycle" / "cycle_summary.txt").read_text().startswith("month")


def test_predictions_of_every_scored_month_carry_model_and_scorecard_versions(catch_up):
    decisions = _table(catch_up.root, "07_model_output/scorecard_decisions")
    assert sorted(decisions["snapshot_date"].dt.date.unique()) == month_range("2023-01-01", "2025-06-01")
    for model in MODELS:
        predictions = _table(catch_up.root, f"07_model_output/predictions/{model}")
        months = sorted(predictions["snapshot_date"].dt.date.unique())
        assert months == SEED_MONTHS + MONITORED
        # one scorecard version decided every month (the active one of the store), and the models carry it
        (active,) = decisions["scorecard_version"].unique()
        assert (
            predictions["model_version"].notna().all() and (predictions["scorecard_version"] == active).all()
        )
        seed = predictions[predictions["snapshot_date"] < "2024-12-01"]
        assert (seed["model_version"] == 1).all() and (seed["model_training_date"] == "2024-12-01").all()
        assert predictions["loan_id"].is_unique
        # the scorecard decision on the model's rows is the decision table's
        merged = predictions.merge(decisions, on="loan_id", suffixes=("", "_d"))
        assert len(merged) == len(predictions) and (merged["band"] == merged["band_d"]).all()


def test_scored_pds_are_trainings_own_oot_pds(catch_up):
    """Fit once, apply everywhere, through the registry: the seed backfill scored the OOT month (2024-05) with
    v1; its PDs are exactly the OOT predictions training logged for v1."""
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{catch_up.root / 'mlflow.db'}")
    try:
        references = {m: mlflow_registered_model(m, f"kycc_{m}").version(1).reference for m in MODELS}
    finally:
        mlflow.set_tracking_uri(previous)  # other tests in this worker use their own tracking store
    for model, reference in references.items():
        predictions = _table(catch_up.root, f"07_model_output/predictions/{model}")
        merged = reference.merge(predictions, on="loan_id")
        assert len(merged) == len(reference) > 200
        assert merged["probability"].to_numpy() == pytest.approx(merged["pd"].to_numpy(), abs=1e-12)


def test_monitoring_metrics_and_actions_per_model_and_month(catch_up):
    for model in MODELS:
        metrics = _table(catch_up.root, f"07_model_output/monitoring/{model}/metrics")
        assert sorted(metrics["snapshot_date"].dt.date) == MONITORED
        assert ((metrics["cohort_month"] + pd.DateOffset(months=6)) == metrics["snapshot_date"]).all()
        assert metrics["roc_auc"].between(0.65, 0.95).all() and metrics["n_matched"].gt(250).all()
        assert (metrics[["tn", "fp", "fn", "tp"]].sum(axis=1) == metrics["n_matched"]).all()
        decisions = _table(catch_up.root, f"07_model_output/actions/{model}")
        assert sorted(decisions["snapshot_date"].dt.date) == MONITORED
        assert set(decisions["decision"]) <= {"monitor", "active_monitoring", "recalibrate", "retrain"}
        folder = catch_up.root / "08_reporting" / "actions" / model
        for month in MONITORED:
            stem = f"{model}_action_{month:%Y_%m_%d}"
            report = json.loads((folder / f"{stem}.json").read_text())
            assert (
                report["month"] == month.isoformat() and report["decision"] in decisions["decision"].tolist()
            )
            assert report["decision"].upper() in (folder / f"{stem}.txt").read_text()


def test_a_retrain_decision_triggers_training_the_next_month(catch_up):
    records = _records(catch_up.root)
    for month, record in records.items():
        retrain = [m for m, d in (record.get("actions") or {}).get("decisions", {}).items() if d == "retrain"]
        following = f"{(pd.Timestamp(month + '-01') + pd.DateOffset(months=1)):%Y-%m}"
        if retrain and following in records:
            assert records[following]["training"]["status"] == "ran", (month, retrain)
            assert records[following]["training"]["reason"].startswith(f"retrain decided {month}")


def test_dashboard_and_charts(catch_up):
    page_path = catch_up.root / "08_reporting" / "monitoring_dashboard.html"
    assert catch_up.report.dashboard == str(page_path)
    page = page_path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page) and "<script" not in page
    # six monitoring charts plus the scoring-time stability figure and the vintage curves of the drift sections
    assert page.count("data:image/png;base64,") == 8 and "2025-06" in page
    assert 'alt="scoring-time stability"' in page and 'alt="vintage curves"' in page
    assert "Early read: vintage curves (2025-06)" in page and "out_vintages: not available yet" not in page
    # the cycle runs fair_lending before reporting: every decided month has its adverse-impact rows on the page
    assert (
        "<h2>Fair lending: adverse impact and overrides</h2>" in page
        and "No adverse-impact report yet" not in page
    )
    impact = catch_up.root / "08_reporting" / "fairness" / "adverse_impact"
    decided = {
        p.name for p in (catch_up.root / "07_model_output" / "scorecard_decisions").glob("batch_month=*")
    }
    assert decided and decided <= {p.name for p in impact.glob("batch_month=*")}
    assert "<h2>Alerts delivered</h2>" in page
    charts = catch_up.root / "08_reporting" / "monitoring" / "charts"
    assert {p.name for p in charts.glob("*.png")} == {
        "performance_trends.png", "psi_trends.png", "feature_psi.png", "confusion_matrices.png",
        "model_comparison.png", "prediction_drift.png",
    }  # fmt: skip
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in charts.glob("*.png"))


def test_monitoring_metrics_are_in_mlflow(catch_up):
    client = MlflowClient(tracking_uri=f"sqlite:///{catch_up.root / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("kycc")
    runs = client.search_runs(
        [experiment.experiment_id], filter_string="metrics.`model_1.monitoring.roc_auc` > 0"
    )
    assert len(runs) == len(MONITORED)
    history = client.get_metric_history(runs[0].info.run_id, "model_1.monitoring.roc_auc")
    assert len(history) == 1 and 202412 <= history[0].step <= 202506


def test_a_recalibrate_decision_is_carried_out_the_next_month(catch_up):
    """#11.2: a recalibrate decision of M gives, at M + 1, a new version of the judged champion (same windows,
    tagged with the month and cohorts, all matured before M + 1) that scores M + 1, and the scorecard's score -> PD
    calibration refitted from M + 1; a judged version that is no longer the champion is a logged skip."""
    records = _records(catch_up.root)
    client = MlflowClient(tracking_uri=f"sqlite:///{catch_up.root / 'mlflow.db'}")
    ran = 0
    for month, record in records.items():
        asked = [
            m for m, d in (record.get("actions") or {}).get("decisions", {}).items() if d == "recalibrate"
        ]
        following = f"{(pd.Timestamp(month + '-01') + pd.DateOffset(months=1)):%Y-%m}"
        if not asked or following not in records:
            assert (records.get(following) or {}).get("recalibration", {}).get("status") != "ran"
            continue
        entry = records[following]["recalibration"]
        assert entry["decided_month"] == f"{month}-01" and set(entry["models"]) == set(asked)
        for model, outcome in entry["models"].items():
            if outcome["status"] != "ran":
                # the judged version was replaced, or the fitting cohorts do not share the judged cohort's error
                assert "the champion is now" in outcome["reason"] or outcome["reason"].startswith(
                    "not confirmed on the fitting rows"
                ), outcome
                continue
            ran += 1
            tags = client.get_model_version(f"kycc_{model}", str(outcome["version"])).tags
            assert tags["kycc.recalibrated_from"] == str(outcome["source_version"])
            assert tags["kycc.recalibrated_at"] == f"{following}-01"
            cohorts = tags["kycc.recalibrated_on"].split(",")
            assert (
                cohorts == outcome["cohorts"]
                and max(cohorts) <= f"{pd.Timestamp(month + '-01') - pd.DateOffset(months=6):%Y-%m}"
            )
            after = outcome["fitting_rows_after"]["ae_ratio"]
            assert abs(after - 1) < abs(outcome["fitting_rows_before"]["ae_ratio"] - 1)
            predictions = _table(catch_up.root, f"07_model_output/predictions/{model}")
            scored = predictions.loc[predictions["snapshot_date"].dt.strftime("%Y-%m") == following]
            assert set(scored["model_version"]) == {outcome["version"]}
        if any(o["status"] == "ran" for o in entry["models"].values()):
            scorecard = entry["scorecard"]
            assert (
                scorecard["status"] == "ran"
                and scorecard["calibration"]["fitted_on"]["valid_from"] == f"{following}-01"
            )
            decisions = _table(catch_up.root, "07_model_output/scorecard_decisions")
            decided = decisions.loc[decisions["snapshot_date"].dt.strftime("%Y-%m") == following]
            assert set(decided["pd_calibration"]) == {
                f"logistic {scorecard['calibration']['fitted_on']['months']} (labels before {following})"
            }
    assert ran >= 1  # the make run world under-predicts after its drift: at least one recalibration
