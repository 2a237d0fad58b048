"""The reporting pipeline: charts and a self-contained dashboard, with data and with nothing monitored yet."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import ibis
import pandas as pd
import pytest
import yaml
from kedro.io import DatasetError
from kedro.runner import SequentialRunner
from matplotlib.figure import Figure

from kycc.datasets import MonthPartitionedIbisDataset
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


def _run(inputs: dict, vintages: MonthPartitionedIbisDataset | None = None, reporting=None) -> object:
    """Run reporting; ``vintages``: the real early-read table dataset (default: a folder nothing was saved to)."""
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
        "out_scorecard_shadow_backtest": empty,
        "out_estimated_performance": empty,
        "out_alert_delivery_log": empty,
        "rpt_adverse_impact": empty,
        "rpt_override_rates": empty,
        "params:reporting": reporting or REPORTING,
        "params:actions": ACTIONS,
        "params:scorecard.fairness": {"threshold": 0.8},
    }
    catalog = memory_catalog(pipeline, {**defaults, **inputs})
    catalog["out_vintages_if_any"] = vintages or MonthPartitionedIbisDataset(
        tempfile.mkdtemp(prefix="kycc-no-vintages-"), if_missing="none"
    )
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
                 "out_estimated_performance", "out_vintages"):  # fmt: skip
        assert f"{name}: not available yet" in page
    assert page.count("data:image/png;base64,") == len(CHARTS)  # charts saying there is nothing to show
    assert "No alert recorded yet" in page and "No adverse-impact report yet" in page


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
    assert page.count("not available yet") == 1 and "out_vintages: not available yet" in page
    assert page.count("data:image/png;base64,") == len(CHARTS) + 1  # the stability figure


def _vintage_rows() -> pd.DataFrame:
    """Two cohorts of the early read: 2025-01 matured (MOB 1..6), 2025-04 open at MOB 2 with a projection."""
    rows = []
    for cohort, mobs in (("2025-01-01", range(1, 7)), ("2025-04-01", range(1, 3))):
        for mob in mobs:
            rate = 0.04 * mob
            projected = 0.2417 if cohort == "2025-04-01" and mob == 2 else None  # noqa: PLR2004
            rows.append({"cohort": pd.Timestamp(cohort), "mob": mob,
                         "snapshot_date": pd.Timestamp(cohort) + pd.DateOffset(months=mob), "n": 500,
                         "n_bad": int(500 * rate), "bad_rate": rate, "bad_rate_low": rate - 0.02,
                         "bad_rate_high": rate + 0.02, "projected_default_rate": projected,
                         "fit_cohorts": 12 if projected else 0, "label_def": "30dpd_6mob"})  # fmt: skip
    return pd.DataFrame(rows)


def test_the_dashboard_shows_the_vintage_curves_and_the_open_projections(tmp_path):
    vintages = MonthPartitionedIbisDataset(str(tmp_path / "vintages"), if_missing="none")
    vintages.save(ibis.memtable(_vintage_rows()))
    page = _run({}, vintages).load("rpt_monitoring_dashboard")
    _self_contained(page)
    assert "Early read: vintage curves (2025-07)" in page and "out_vintages: not available yet" not in page
    assert page.count("data:image/png;base64,") == len(CHARTS) + 1  # the vintage figure
    assert "0.242" in page and "30dpd_6mob" in page  # the open cohort's projection, the label definition


def test_an_early_read_table_saved_empty_says_not_available_yet(tmp_path):
    vintages = MonthPartitionedIbisDataset(str(tmp_path / "vintages"))
    vintages.save(ibis.memtable(_vintage_rows()).limit(0))
    page = _run({}, vintages).load("rpt_monitoring_dashboard")
    assert "out_vintages: not available yet" in page


def test_only_the_dashboard_reads_a_missing_early_read_as_none(tmp_path):
    """``if_missing: none`` is the dashboard's entry; the table itself still names the pipeline to run first."""
    with pytest.raises(DatasetError, match="no data yet. Run the pipeline that builds it first"):
        MonthPartitionedIbisDataset(str(tmp_path / "v")).load()
    assert MonthPartitionedIbisDataset(str(tmp_path / "v"), if_missing="none").load() is None
    with pytest.raises(DatasetError, match="if_missing must be 'error' or 'none'"):
        MonthPartitionedIbisDataset(str(tmp_path / "v"), if_missing="empty")
    catalog = yaml.safe_load((Path(__file__).parents[3] / "conf/base/catalog_early_read.yml").read_text())
    lenient, strict = catalog["out_vintages_if_any"], catalog["out_vintages"]
    assert lenient["if_missing"] == "none" and "if_missing" not in strict
    assert {k: v for k, v in lenient.items() if k != "if_missing"} == strict  # one home: the same table


def test_the_psi_note_is_rendered_from_the_one_level_set():
    page = _run({}, reporting={**REPORTING, "psi_levels": {"moderate": 0.15, "major": 0.3}}).load(
        "rpt_monitoring_dashboard"
    )
    assert "&lt; 0.15 stable, 0.15–0.30 moderate shift, ≥ 0.30 major shift" in page
    with pytest.raises(ValueError, match=r"parameter 'psi_levels' \(given\): need 0 < moderate < major"):
        _run({}, reporting={**REPORTING, "psi_levels": {"moderate": 0.3, "major": 0.2}})


def test_alerts_and_fair_lending_follow_the_action_decisions():
    from kycc.scorecard.fairness import adverse_impact

    month = "2024-12-01"
    decisions = pd.DataFrame(
        [{"snapshot_date": month, "country": group, "decision": "approve" if i < approved else "decline"}
         for group, (n, approved) in {"X": (200, 120), "Y": (150, 60)}.items() for i in range(n)]
    )  # fmt: skip
    log = pd.DataFrame(
        {"snapshot_date": [month, month], "model": ["model_1"] * 2, "model_version": ["3"] * 2,
         "level": ["retrain"] * 2, "previous_level": [None] * 2, "channel": ["slack", "email"],
         "channel_type": ["webhook", "smtp"], "status": ["failed", "sent"], "reason": ["new level"] * 2,
         "attempts": [3, 1], "error": ["Connection refused", None], "response": [None, "250 OK"],
         "target": ["http://127.0.0.1:9/hook", "risk@example.org"], "dedup_key": ["k1", "k2"],
         "logged_at": [pd.Timestamp("2025-01-05")] * 2}
    )  # fmt: skip
    catalog = _run(
        {"out_alert_delivery_log": log,
         "rpt_adverse_impact": adverse_impact(decisions, {"country": {"categories": True}}, min_group_size=30)}
    )  # fmt: skip
    page = catalog.load("rpt_monitoring_dashboard")
    _self_contained(page)
    decided, alerts = page.index("<h2>Action decisions</h2>"), page.index("<h2>Alerts delivered</h2>")
    assert decided < alerts < page.index("<h2>Monthly metrics</h2>")
    assert "1 alert(s) not delivered" in page and "Connection refused" in page
    assert "1 group-month(s) below the 0.8 ratio" in page and "<b>Y</b>: approval 40.0% (n=150)" in page
    assert "upper bound of ROC-AUC is below" in page  # the interval rule is the rule the page states


def test_the_rules_text_names_the_recalibrate_tier_with_its_band_only_when_enabled():
    on = {
        **ACTIONS,
        "calibration": {"enabled": True, "ae_band": [0.85, 1.15], "rule": "significant_outside_band"},
    }
    catalog = _run({"params:actions": on})
    page = catalog.load("rpt_monitoring_dashboard")
    assert "<b>recalibrate</b>" in page and "[0.85, 1.15]" in page and "significant_outside_band" in page
    off = {**ACTIONS, "calibration": {"enabled": False}}
    assert "<b>recalibrate</b>" not in _run({"params:actions": off}).load("rpt_monitoring_dashboard")
