"""Inference: the batch-lag rule, the scorecard decision, the champion's PD (fit once, apply everywhere), skips."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from kycc.inference.history import MonthRecord
from kycc.inference.scoring import (
    PREDICTION_COLUMNS,
    InferenceError,
    batch_id,
    resolve_months,
    score_scorecard,
)
from kycc.modeling.model import predict_pd
from kycc.pipelines.inference.nodes import decide_with_scorecard, plan_inference, predict_with_champion
from kycc.scorecard import ScorecardDefinition, score_applications
from kycc.temporal import BatchLagViolation
from tests.inference.cards import SCORECARD, registered, scorecard_versions


def _score(world, month: str, options: dict | None = None, reg=None):
    apps = world.applications(month)
    reg = registered(world) if reg is None else reg
    plan = plan_inference(["model_1"], [month], MonthRecord(), options or {}, reg, MonthRecord())
    _, _, decisions, _, _ = decide_with_scorecard(apps, scorecard_versions(), plan, MonthRecord())
    predictions, _, summary = predict_with_champion("model_1", apps, decisions, reg, plan)
    return apps, (predictions, summary)


@pytest.mark.parametrize(("month", "window"), [("2023-06-01", "train"), ("2024-02-01", "validation")])
def test_a_month_inside_the_learnt_windows_is_refused_naming_model_windows_and_month(world, month, window):
    with pytest.raises(BatchLagViolation) as err:
        _score(world, month)
    text = str(err.value)
    assert "model_1" in text and "kycc_model_1 v1" in text
    assert month[:7] in text and f"{window} window" in text
    assert "train 2023-01..2023-12" in text and "validation 2024-01..2024-02" in text


def test_the_month_after_the_validation_window_is_scored(world):
    apps, (predictions, summary) = _score(world, "2024-03-01")
    assert summary["status"] == "scored" and summary["model_version"] == 1
    assert len(predictions) == len(apps) > 100
    assert list(predictions.columns) == PREDICTION_COLUMNS
    assert predictions["loan_id"].tolist() == apps["loan_id"].tolist()
    assert (predictions["model_version"] == 1).all() and (predictions["scorecard_version"] == "t1").all()
    assert (predictions["batch_id"] == "BATCH_2024_03").all()
    assert (predictions["snapshot_date"] == pd.Timestamp("2024-03-01")).all()


def test_probabilities_come_from_trainings_fitted_objects(world):
    """Fit once, apply everywhere: the PD is training's preprocessing + estimator applied to the raw rows."""
    apps, (predictions, _) = _score(world, "2024-05-01")
    bundle = world.card.bundle
    expected = predict_pd(bundle.preprocessor, bundle.estimator, apps)
    assert predictions["probability"].to_numpy() == pytest.approx(expected, abs=0)
    assert (predictions["prediction"] == (expected >= 0.2).astype(int)).all()
    # OOT month: the same PDs as the model's own OOT reference (what training measured)
    merged = predictions.merge(world.card.reference, on="loan_id")
    assert len(merged) == len(apps) and merged["probability"].to_numpy() == pytest.approx(
        merged["pd"], abs=1e-12
    )


def test_the_decision_is_the_active_scorecards_score_and_band(world):
    apps = world.applications("2024-04-01")
    decisions = score_scorecard(apps, scorecard_versions()["versions"]["t1"])
    expected = score_applications(apps, ScorecardDefinition.from_dict(SCORECARD, version="t1"))
    assert decisions["score"].tolist() == expected["score"].tolist()
    assert decisions["band"].tolist() == expected["band"].tolist()
    assert set(decisions["band"]) <= {"A", "B", "C"} and (decisions["scorecard_version"] == "t1").all()


def test_no_active_scorecard_is_a_clear_error(world):
    with pytest.raises(InferenceError, match="No active scorecard version"):
        plan = plan_inference(["model_1"], ["2024-04-01"], MonthRecord(), {}, registered(None), MonthRecord())
        decide_with_scorecard(
            world.applications("2024-04-01"), {"active": None, "versions": {}}, plan, MonthRecord()
        )


def test_no_model_yet_is_a_logged_skip(world, caplog):
    caplog.set_level(logging.INFO)
    _, (predictions, summary) = _score(world, "2024-04-01", reg=registered(None))
    assert predictions.empty and summary["status"] == "skipped"
    assert "no model yet" in summary["reason"] and "kycc_model_1" in summary["reason"]
    assert "model_1 skipped: no model yet" in caplog.text


def test_a_model_left_out_of_inference_models_is_not_scored(world):
    _, (predictions, summary) = _score(world, "2024-04-01", options={"models": ["model_2"]})
    assert predictions.empty and summary["reason"] == "not in inference.models"


def test_months_to_score():
    assert resolve_months(None, None, ["2024-05-17", "2024-03-01"], "x", "inference") == [
        pd.Timestamp("2024-05-01")
    ]
    assert resolve_months("2024-01-01", "2024-03-01", [], "x", "inference") == [
        pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01"), pd.Timestamp("2024-03-01"),
    ]  # fmt: skip
    assert resolve_months("2024-02-01", None, [], "x", "inference") == [pd.Timestamp("2024-02-01")]
    with pytest.raises(InferenceError, match="inference.end_month .* is before inference.start_month"):
        resolve_months("2024-03-01", "2024-01-01", [], "x", "inference")
    with pytest.raises(InferenceError, match="inference.start_month=.2024-13-01. is not an ISO date"):
        resolve_months("2024-13-01", None, [], "x", "inference")
    assert batch_id("2024-06-01") == "BATCH_2024_06"


def test_unknown_inference_option_is_refused(world):
    with pytest.raises(InferenceError, match="unknown parameter 'inference.month'"):
        _score(world, "2024-04-01", options={"month": "2024-04-01"})


def test_a_month_with_no_applications_decides_nothing_and_does_not_fail(world):
    """A month the feature store holds no application of (a quiet month, a late batch): empty decisions, no
    crash; the decision log has no entry."""
    apps = world.applications("2024-04-01").iloc[0:0]
    plan = plan_inference(["model_1"], ["2024-04-01"], MonthRecord(), {}, registered(None), MonthRecord())
    new, rescores, used, summary, log = decide_with_scorecard(apps, scorecard_versions(), plan, MonthRecord())
    assert new.empty and rescores.empty and used.empty and log == []
    assert set(new.columns) >= {"loan_id", "score", "band", "decision"}
