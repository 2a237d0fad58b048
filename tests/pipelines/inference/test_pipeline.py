"""The inference pipeline through an in-memory catalog (real fitted model, real scorecard definition)."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.runner import SequentialRunner

from kycc.pipelines.inference import create_pipeline
from kycc.temporal import BatchLagViolation
from tests.inference.cards import make_world, memory_catalog, registered, scorecard_versions


@pytest.fixture(scope="module")
def world():
    return make_world(seed=3)


def _run(world, options, reg=None):
    pipeline = create_pipeline(models=["model_1"])
    catalog = memory_catalog(
        pipeline,
        {
            "feat_gold_features": world.features_table(),
            "mdl_scorecard_versions": scorecard_versions(),
            "model_1.mdl_registered_model": registered(world) if reg is None else reg,
            "params:inference": options,
        },
    )
    SequentialRunner().run(pipeline, catalog)
    return catalog


def test_scores_a_range_of_months_with_scorecard_and_champion(world):
    catalog = _run(world, {"start_month": "2024-03-01", "end_month": "2024-06-01", "models": None})
    predictions = catalog.load("model_1.out_predictions")
    decisions = catalog.load("out_scorecard_decisions")
    months = sorted(predictions["snapshot_date"].unique())
    assert months == list(pd.date_range("2024-03-01", "2024-06-01", freq="MS"))
    assert len(predictions) == len(decisions) == int(world.data["application_date"].ge("2024-03-01").sum())
    assert predictions.set_index("loan_id")["band"].equals(decisions.set_index("loan_id")["band"])
    summary = catalog.load("rpt_inference_summary")
    assert summary["months"] == ["2024-03-01", "2024-04-01", "2024-05-01", "2024-06-01"]
    assert summary["models"][0]["status"] == "scored" and summary["scorecard"]["scorecard_version"] == "t1"


def test_latest_month_by_default(world):
    catalog = _run(world, {"start_month": None, "end_month": None})
    assert catalog.load("rpt_inference_summary")["months"] == ["2024-06-01"]


def test_batch_lag_stops_the_run_before_anything_is_written(world):
    pipeline_error = None
    try:
        _run(world, {"start_month": "2024-02-01", "end_month": "2024-03-01"})
    except BatchLagViolation as err:
        pipeline_error = str(err)
    assert pipeline_error is not None and "model_1" in pipeline_error and "2024-02" in pipeline_error


def test_without_champion_the_scorecard_still_decides(world):
    catalog = _run(world, {"start_month": "2024-04-01", "end_month": "2024-04-01"}, reg=registered(None))
    assert catalog.load("model_1.out_predictions").empty
    assert len(catalog.load("out_scorecard_decisions")) > 100
    assert catalog.load("rpt_inference_summary")["models"][0]["status"] == "skipped"
