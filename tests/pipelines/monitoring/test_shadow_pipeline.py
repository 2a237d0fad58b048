"""Shadow scoring to the fourth check through the pipelines (#11.3): inference scores a draft in shadow, monitoring
backtests it on the matured cohorts beside the deciding version (same loans, same labels), and the comparison's
fourth check pools those cohorts — its Ginis are the backtest's on one cohort."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.runner import SequentialRunner

from kycc.inference.history import MonthRecord
from kycc.pipelines.inference import create_pipeline as inference_pipeline
from kycc.pipelines.monitoring import create_pipeline as monitoring_pipeline
from kycc.scorecard.shadow import shadow_evidence, shadow_gini_check
from tests.inference.cards import make_world, memory_catalog, registered
from tests.pipelines.inference.test_shadow import snapshot
from tests.pipelines.monitoring.test_pipeline import CALIBRATION, LEVELS


@pytest.fixture(scope="module")
def shadowed():
    world = make_world(seed=5)
    scoring = inference_pipeline(models=["model_1"])
    catalog = memory_catalog(
        scoring,
        {
            "feat_gold_features": world.features_table(),
            "feat_gold_labels": world.labels_table(),
            "mdl_scorecard_versions": snapshot(with_drafts=True),
            "model_1.mdl_registered_model": registered(world),
            "params:inference": {"start_month": "2024-03-01", "end_month": "2024-06-01"},
            "params:scorecard.calibration": CALIBRATION,
            "inf_decision_record": MonthRecord(),
            "model_1.inf_prediction_record": MonthRecord(),
        },
    )
    SequentialRunner().run(scoring, catalog)
    pipeline = monitoring_pipeline(models=["model_1"])
    mon = memory_catalog(
        pipeline,
        {
            "feat_gold_labels": world.labels_table(),
            "feat_gold_features": world.features_table(),
            "model_1.out_predictions": catalog.load("model_1.out_predictions"),
            "out_scorecard_decisions": catalog.load("out_scorecard_decisions"),
            "out_scorecard_shadow": catalog.load("out_scorecard_shadow"),
            "mdl_scorecard_versions": snapshot(with_drafts=True),
            "model_1.mdl_registered_model": registered(world),
            "params:monitoring": {
                "start_month": "2024-09-01",
                "end_month": "2024-12-01",
                "label_lag_months": 6,
            },
            "params:psi_levels": LEVELS,
        },
    )
    SequentialRunner().run(pipeline, mon)
    return world, catalog, mon


def test_each_draft_is_backtested_on_the_cohorts_the_deciding_version_is(shadowed):
    world, _, mon = shadowed
    deciding = mon.load("out_scorecard_backtest")
    shadow = mon.load("out_scorecard_shadow_backtest")
    assert set(deciding["role"]) == {"deciding"} and set(deciding["scorecard_version"]) == {"t1"}
    assert set(shadow["role"]) == {"shadow"} and set(shadow["scorecard_version"]) == {"d_a", "d_b"}
    months = ["2024-09", "2024-10", "2024-11", "2024-12"]
    assert sorted(shadow["snapshot_date"].dt.strftime("%Y-%m").unique()) == months
    versions = shadow.loc[shadow["level"] == "version"]
    for _, row in versions.iterrows():
        same = deciding.loc[
            (deciding["level"] == "version") & (deciding["snapshot_date"] == row["snapshot_date"])
        ]
        assert row["n_labelled"] == same["n_labelled"].iloc[0] and row["defaults"] == same["defaults"].iloc[0]
        assert row["deciding_gini"] == pytest.approx(same["gini"].iloc[0])
        assert row["gini_difference"] == pytest.approx(row["gini"] - row["deciding_gini"])


def test_the_fourth_check_pools_the_matured_shadow_cohorts(shadowed):
    world, catalog, mon = shadowed
    shadow = catalog.load("out_scorecard_shadow")
    labels = world.labels_table().to_pandas()
    evidence = shadow_evidence(shadow, labels, "t1", "d_b")
    assert sorted(evidence["cohort_month"].dt.strftime("%Y-%m").unique()) == ["2024-03", "2024-04", "2024-05",
                                                                               "2024-06"]  # fmt: skip
    one = evidence.loc[evidence["cohort_month"] == pd.Timestamp("2024-04-01")]
    check = shadow_gini_check("t1", "d_b", one)
    row = mon.load("out_scorecard_shadow_backtest")
    row = row.loc[(row["level"] == "version") & (row["scorecard_version"] == "d_b")
                  & (row["cohort_month"] == pd.Timestamp("2024-04-01"))].iloc[0]  # fmt: skip
    assert check["evidence"]["new_gini"] == pytest.approx(row["gini"])
    assert check["evidence"]["old_gini"] == pytest.approx(row["deciding_gini"])
    assert check["evidence"]["gini_drop"] == pytest.approx(-row["gini_difference"])
    pooled = shadow_gini_check("t1", "d_b", evidence)
    assert pooled["evidence"]["n"] == len(evidence) > len(one)
    # d_b reverses the interest-rate points: it ranks clearly worse than t1 on these cohorts
    assert pooled["status"] == "fail" and pooled["value"] > 0.02
