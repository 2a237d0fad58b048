"""Monitoring and actions through in-memory catalogs: labels maturing now × predictions made 6 months before."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.runner import SequentialRunner
from scipy.stats import beta
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import f1_score, roc_auc_score

from kycc.inference.history import MonthRecord
from kycc.monitoring.estimated import expected_roc_auc
from kycc.pipelines.inference import create_pipeline as inference_pipeline
from kycc.pipelines.monitoring import create_pipeline as monitoring_pipeline
from kycc.pipelines.monitoring.nodes import (
    backtest_scorecard,
    estimate_performance,
    monitor_model,
    select_maturing_labels,
)
from tests.inference.cards import make_world, memory_catalog, registered, scorecard_versions

#: The scorecard's calibration in force (labels matured before each decided month; the prior before).
CALIBRATION = {"months": 12, "min_samples": 50, "min_defaults": 5, "refresh_every_months": 3,
               "prior": {"score": 600, "pd": 0.1, "pdo": 60}}  # fmt: skip

ACTIONS = {
    "thresholds": {
        "roc_auc": {"priority": "P0", "business": 0.75, "data_science": 0.80},
        "accuracy": {"priority": "P1", "business": 0.70, "data_science": 0.75},
        "f1": {"priority": "P2", "business": None, "data_science": None},
    },
    "decision_priorities": ["P0", "P1"],
    "degradation": {"max_drop": {"roc_auc": 0.05}},
    "trigger_training": False,
}


LEVELS = {"moderate": 0.1, "major": 0.25, "alpha": 0.01, "missing_moderate": 0.05, "missing_major": 0.15}


def _monitoring_catalog(world, predictions, decisions, psi_levels, shadow=None):
    pipeline = monitoring_pipeline(models=["model_1"])
    return pipeline, memory_catalog(
        pipeline,
        {
            "feat_gold_labels": world.labels_table(),
            "feat_gold_features": world.features_table(),
            "model_1.out_predictions": predictions,
            "out_scorecard_decisions": decisions,
            "out_scorecard_shadow": pd.DataFrame() if shadow is None else shadow,
            "mdl_scorecard_versions": scorecard_versions(),
            "model_1.mdl_registered_model": registered(world),
            "params:monitoring": {
                "start_month": "2024-08-01",
                "end_month": "2024-12-01",
                "label_lag_months": 6,
            },
            "params:psi_levels": psi_levels,
        },
    )


@pytest.fixture(scope="module")
def monitored():
    """Cohorts 2024-03..2024-06 scored, then monitoring of 2024-08..2024-12 (2024-08: no predictions)."""
    world = make_world(seed=5)
    scoring = inference_pipeline(models=["model_1"])
    catalog = memory_catalog(
        scoring,
        {
            "feat_gold_features": world.features_table(),
            "mdl_scorecard_versions": scorecard_versions(),
            "model_1.mdl_registered_model": registered(world),
            "params:inference": {"start_month": "2024-03-01", "end_month": "2024-06-01"},
            "feat_gold_labels": world.labels_table(),
            "params:scorecard.calibration": CALIBRATION,
            "inf_decision_record": MonthRecord(),
            "model_1.inf_prediction_record": MonthRecord(),
        },
    )
    SequentialRunner().run(scoring, catalog)
    predictions = catalog.load("model_1.out_predictions")
    pipeline, mon = _monitoring_catalog(world, predictions, catalog.load("out_scorecard_decisions"), LEVELS)
    SequentialRunner().run(pipeline, mon)
    return world, predictions, mon


def test_each_month_joins_the_labels_with_the_predictions_made_six_months_before(monitored):
    world, predictions, catalog = monitored
    metrics = catalog.load("model_1.out_monitoring_metrics")
    assert metrics["snapshot_date"].dt.strftime("%Y-%m").tolist() == [
        "2024-09",
        "2024-10",
        "2024-11",
        "2024-12",
    ]
    row = metrics.set_index("snapshot_date").loc[pd.Timestamp("2024-10-01")]
    cohort = predictions[predictions["snapshot_date"] == pd.Timestamp("2024-04-01")]
    joined = cohort.merge(world.data[["loan_id", "label"]], on="loan_id")
    assert row["cohort_month"] == pd.Timestamp("2024-04-01") and row["n_matched"] == len(joined) > 100
    assert row["roc_auc"] == pytest.approx(roc_auc_score(joined["label"], joined["probability"]))
    assert row["f1"] == pytest.approx(f1_score(joined["label"], joined["prediction"]))
    assert row["tn"] + row["fp"] + row["fn"] + row["tp"] == len(joined)
    assert row["baseline_roc_auc"] == pytest.approx(world.card.oot_metrics["roc_auc"])


def test_the_oot_cohort_has_no_drift_against_itself(monitored):
    """The cohort of 2024-05 is the model's OOT window: the same rows as its reference, PSI exactly 0."""
    _, _, catalog = monitored
    metrics = catalog.load("model_1.out_monitoring_metrics").set_index("cohort_month")
    assert metrics.loc[pd.Timestamp("2024-05-01"), "psi_score"] == 0.0
    assert metrics.loc[pd.Timestamp("2024-05-01"), "psi_feature_max"] == 0.0
    assert metrics.loc[pd.Timestamp("2024-03-01"), "psi_score"] > 0.0
    psi = catalog.load("model_1.out_feature_psi")
    assert set(psi["feature"]) == set(world_features(catalog)) and psi["psi"].ge(0).all()


def world_features(catalog) -> list[str]:
    return catalog.load("model_1.mdl_registered_model").champion.features


def test_a_month_without_earlier_predictions_is_a_logged_skip(monitored):
    _, _, catalog = monitored
    summary = catalog.load("rpt_monitoring_summary")["models"][0]["months"]
    first = summary[0]
    assert first["month"] == "2024-08-01" and first["status"] == "skipped"
    assert "no model_1 predictions for 2024-02 (6 months earlier)" in first["reason"]
    mlflow_metrics = catalog.load("model_1.mlflow_monitoring_metrics")
    assert [m["step"] for m in mlflow_metrics["roc_auc"]] == [202409, 202410, 202411, 202412]


def test_bad_monitoring_options_are_refused(monitored):
    world, _, _ = monitored
    with pytest.raises(ValueError, match="unknown parameter 'monitoring.month'"):
        select_maturing_labels(world.labels_table(), {"month": "2024-10-01"})
    with pytest.raises(
        ValueError,
        match=r"parameter 'monitoring.label_lag_months' \(given\): Input should be greater than or equal to 1",
    ):
        select_maturing_labels(world.labels_table(), {"label_lag_months": 0})
    with pytest.raises(
        ValueError, match=r"monitoring.end_month \(2024-01-01\) is before monitoring.start_month"
    ):
        select_maturing_labels(world.labels_table(), {"start_month": "2024-03-01", "end_month": "2024-01-01"})
    # no predictions at all: every month is a logged skip, not an error
    labels, months = select_maturing_labels(
        world.labels_table(), {"start_month": "2024-10-01", "end_month": "2024-10-01"}
    )
    metrics, psi, mlflow_metrics, summary = monitor_model(
        "model_1", labels, months, world.features_table(), pd.DataFrame(), registered(world), {}
    )
    assert metrics.empty and psi.empty and mlflow_metrics == {}
    assert summary["months"][0]["status"] == "skipped"


def test_every_monitoring_month_has_a_band_backtest_of_the_deciding_version(monitored):
    world, _, catalog = monitored
    backtest = catalog.load("out_scorecard_backtest")
    assert sorted(backtest["snapshot_date"].dt.strftime("%Y-%m").unique()) == ["2024-09", "2024-10", "2024-11",
                                                                                "2024-12"]  # fmt: skip
    decisions = catalog.load("out_scorecard_decisions")
    assert decisions["pd"].notna().all()  # every decision carries the PD in force
    october = backtest.loc[backtest["snapshot_date"] == pd.Timestamp("2024-10-01")]
    assert set(october["scorecard_version"]) == {"t1"}
    bands = october.loc[october["level"] == "band"].set_index("band")
    assert list(bands.index) == ["A", "B", "C"]  # best first, from the version's definition
    cohort = decisions.loc[decisions["snapshot_date"] == pd.Timestamp("2024-04-01")]
    joined = cohort.merge(world.data[["loan_id", "label"]], on="loan_id")
    for band, part in joined.groupby("band"):
        row = bands.loc[band]
        assert row["n_labelled"] == len(part) and row["defaults"] == part["label"].sum()
        assert row["applications"] == (cohort["band"] == band).sum()
        assert row["predicted_pd"] == pytest.approx(part["pd"].mean())
        assert row["jeffreys_pvalue"] == pytest.approx(
            beta.cdf(part["pd"].mean(), part["label"].sum() + 0.5, len(part) - part["label"].sum() + 0.5)
        )
        assert row["jeffreys_lower"] <= row["observed_default_rate"] <= row["jeffreys_upper"]
    whole = october.loc[october["level"] == "version"].iloc[0]
    assert whole["band"] == "all" and whole["n_labelled"] == len(joined)
    assert whole["roc_auc"] == pytest.approx(roc_auc_score(joined["label"], -joined["score"]))
    assert whole["auc_lower"] < whole["roc_auc"] < whole["auc_upper"]
    rates = [bands.loc[b, "observed_default_rate"] for b in ["A", "B", "C"]]
    assert bool(whole["rank_order_monotone"]) == (rates == sorted(rates))
    summary = catalog.load("rpt_monitoring_summary")["models"][-1]
    assert summary["model"] == "scorecard" and summary["months"][0]["status"] == "skipped"
    assert "no scorecard decisions for 2024-02" in summary["months"][0]["reason"]


def test_estimated_performance_sits_beside_the_realized_values_when_labels_mature(monitored):
    world, predictions, catalog = monitored
    table = catalog.load("out_estimated_performance")
    realized = table.loc[table["status"] == "realized"].set_index(["scored_month", "scorer"])
    decisions = catalog.load("out_scorecard_decisions")
    # the model's PDs are calibrated first: isotonic on its test + OOT PDs (2024-03..2024-05) and their labels
    months = world.data["application_date"].dt.to_period("M").dt.to_timestamp()
    ref = world.data.loc[months.isin(pd.to_datetime(["2024-03-01", "2024-04-01", "2024-05-01"]))]
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    iso.fit(world.card.bundle.predict_proba(ref)[:, 1], ref["label"])
    for scorer, frame, column, month in (
        ("scorecard:t1", decisions, "pd", "2024-04-01"),
        ("model_1", predictions, "probability", "2024-06-01"),
    ):
        row = realized.loc[(pd.Timestamp(month), scorer)]
        cohort = frame.loc[frame["snapshot_date"] == pd.Timestamp(month)]
        if scorer.startswith("scorecard"):
            rank, p = -cohort["score"].to_numpy(dtype="float64"), cohort[column].to_numpy()
            assert row["calibration"].startswith("the decision's PD")
        else:
            rank, p = cohort[column].to_numpy(), iso.predict(cohort[column].to_numpy())
            assert row["calibration"].startswith(
                "isotonic on model_1 (kycc_model_1 v1) test + OOT windows 2024-03..2024-05"
            )
            assert row["expected_roc_auc_uncalibrated"] == pytest.approx(expected_roc_auc(cohort[column]))
        assert row["expected_roc_auc"] == pytest.approx(expected_roc_auc(p, rank))
        assert row["expected_default_rate"] == pytest.approx(p.mean())
        joined = cohort.merge(world.data[["loan_id", "label"]], on="loan_id")
        truth = -joined["score"] if scorer.startswith("scorecard") else joined[column]
        assert row["realized_roc_auc"] == pytest.approx(roc_auc_score(joined["label"], truth))
        assert row["roc_auc_error"] == pytest.approx(row["realized_roc_auc"] - row["expected_roc_auc"])
        assert row["realized_default_rate"] == pytest.approx(joined["label"].mean())
    by_scorer = (
        realized.reset_index().groupby("scorer")["scored_month"].apply(lambda s: set(s.dt.strftime("%Y-%m")))
    )
    assert by_scorer["scorecard:t1"] == {"2024-03", "2024-04", "2024-05", "2024-06"}
    # months inside the model's calibration window are never judged against it
    assert by_scorer["model_1"] == {"2024-06"}
    # this month's scores, labels pending: the estimate alone
    labels, months = select_maturing_labels(
        world.labels_table(), {"start_month": "2024-12-01", "end_month": "2024-12-01"}
    )
    pending = estimate_performance(
        ["2024-06-01"], labels, decisions, {}, world.features_table(), world.labels_table(), predictions,
        registered(world), models=["model_1"],
    )  # fmt: skip
    assert set(pending["status"]) == {"pending"} and set(pending["scorer"]) == {"scorecard:t1", "model_1"}
    assert "realized_roc_auc" not in pending.columns


def test_bad_backtest_options_are_refused(monitored):
    world, _, catalog = monitored
    labels, months = select_maturing_labels(
        world.labels_table(), {"start_month": "2024-10-01", "end_month": "2024-10-01"}
    )
    decisions = catalog.load("out_scorecard_decisions")
    with pytest.raises(
        ValueError, match=r"parameter 'monitoring.backtest.alpha' \(given\): Input should be less than 1"
    ):
        backtest_scorecard(labels, months, decisions, scorecard_versions(), {"backtest": {"alpha": 5}})
    with pytest.raises(ValueError, match="unknown parameter 'monitoring.backtest.level'"):
        backtest_scorecard(labels, months, decisions, scorecard_versions(), {"backtest": {"level": 0.9}})
    # decisions made before PDs existed: the band rows say so instead of testing against nothing
    table, _ = backtest_scorecard(labels, months, decisions.drop(columns=["pd"]), scorecard_versions(), {})
    assert set(table["verdict"]) == {"no pd"}


def test_the_stored_psi_verdicts_follow_the_one_level_set(monitored):
    """Changing ``psi_levels`` (as ``--params psi_levels.moderate=...`` would) changes the STORED levels of the
    monitoring metrics and of every feature, not only the chart lines; the PSI values stay the same."""
    world, predictions, mon = monitored
    metrics, features = mon.load("model_1.out_monitoring_metrics"), mon.load("model_1.out_feature_psi")
    assert set(metrics["psi_level"]) == {"stable"}  # the cohorts come from the reference's population
    strict = {**LEVELS, "moderate": 1e-9, "major": 1e-8}  # every PSI above zero is now a major shift
    pipeline, again = _monitoring_catalog(world, predictions, mon.load("out_scorecard_decisions"), strict)
    SequentialRunner().run(pipeline, again)
    metrics2, features2 = again.load("model_1.out_monitoring_metrics"), again.load("model_1.out_feature_psi")
    pd.testing.assert_series_equal(metrics2["psi_score"], metrics["psi_score"])
    pd.testing.assert_series_equal(features2["psi"], features["psi"])

    def level(v):
        return "stable" if v < strict["moderate"] else "moderate" if v < strict["major"] else "major"

    assert list(metrics2["psi_level"]) == [level(v) for v in metrics2["psi_score"]]
    assert list(features2["level"]) == [level(v) for v in features2["psi"]]
    assert (metrics2["psi_level"] == "major").any() and (features2["level"] == "major").any()
    assert (features["level"] != features2["level"]).any()


def test_a_bad_psi_level_set_stops_monitoring(monitored):
    world, predictions, mon = monitored
    bad = {**LEVELS, "moderate": 0.3}
    pipeline, again = _monitoring_catalog(world, predictions, mon.load("out_scorecard_decisions"), bad)
    with pytest.raises(ValueError, match="need 0 < moderate < major"):
        SequentialRunner().run(pipeline, again)


def test_decisions_priced_by_the_configured_prior_get_no_estimate(monitored):
    """The prior scaling is an assumption, not a calibration: CBPE needs calibrated PDs, so no estimate (the
    realized values are still reported)."""
    world, predictions, mon = monitored
    decisions = mon.load("out_scorecard_decisions").copy()
    prior = decisions["snapshot_date"] == pd.Timestamp("2024-04-01")
    decisions.loc[prior, "pd_calibration"] = "prior (pd 0.1 at 600, pdo 60)"
    labels, months = select_maturing_labels(
        world.labels_table(), {"start_month": "2024-10-01", "end_month": "2024-10-01"}
    )
    table = estimate_performance(months, labels, decisions, {}, world.features_table(), world.labels_table())
    row = table.loc[(table["status"] == "realized") & (table["scorer"] == "scorecard:t1")].iloc[0]
    assert row["scored_month"] == pd.Timestamp("2024-04-01")
    assert row["calibration"].startswith("the decision's PD: not fitted (prior (pd 0.1")
    assert pd.isna(row["expected_roc_auc"]) and pd.isna(row["roc_auc_error"])
    assert row["realized_roc_auc"] > 0.5 and row["n_labelled"] > 0
