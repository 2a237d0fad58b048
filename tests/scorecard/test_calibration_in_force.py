"""The active scorecard's calibration in force at decision time: fitted only on labels matured before the month
decided, refreshed on schedule, the prior until labels matured, stored with the version, carried by every
decision row (``pd``, ``pd_calibration``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from kedro.runner import SequentialRunner

from kycc.datasets.scorecard import ScorecardCalibrationLogDataset, ScorecardVersionsDataset
from kycc.inference.history import MonthRecord
from kycc.pipelines.inference import create_pipeline as inference_pipeline
from kycc.pipelines.scorecard.nodes import calibrate_active_scorecard
from kycc.scorecard.calibration import (
    CalibrationError,
    calibrate_scorecard,
    calibrations_in_force,
    fit_as_of,
    labelled_history,
    prior_calibration,
)
from kycc.scorecard.definition import ScorecardDefinition
from kycc.scorecard.points import pd_from_score
from tests.inference.cards import SCORECARD, make_world, memory_catalog, registered, scorecard_versions

PRIOR = {"score": 600, "pd": 0.1, "pdo": 60}
OPTIONS = {"months": 12, "min_samples": 50, "min_defaults": 5, "refresh_every_months": 3, "prior": PRIOR}


@pytest.fixture(scope="module")
def world():
    return make_world(seed=4)  # loans 2023-01..2024-06, each labelled at application month + 6


@pytest.fixture(scope="module")
def history(world):
    return labelled_history(world.features_table(), world.labels_table(), ["interest_rate", "credit_mix"])


def _definition() -> ScorecardDefinition:
    return ScorecardDefinition.from_dict(SCORECARD, version="t1")


def test_the_fit_uses_only_labels_matured_before_the_month(history):
    fitted = fit_as_of(_definition(), history, "2024-03-01", window_months=12)
    # labels matured before 2024-03 = applications 2023-01..2023-08 (labelled at +6 months)
    known = history.loc[history["label_date"] < pd.Timestamp("2024-03-01")]
    assert fitted["fitted_on"]["months"] == "2023-01..2023-08"
    assert fitted["rows"] == len(known) and fitted["fitted_on"]["labels_before"] == "2024-03-01"
    expected = calibrate_scorecard(_definition(), known)
    assert fitted["intercept"] == pytest.approx(expected["intercept"])
    # labels that mature in or after the month decided change nothing (no look-ahead)
    changed = history.copy()
    later = changed["label_date"] >= pd.Timestamp("2024-03-01")
    changed.loc[later, "label"] = 1 - changed.loc[later, "label"]
    again = fit_as_of(_definition(), changed, "2024-03-01", window_months=12)
    assert again["intercept"] == fitted["intercept"] and again["slope"] == fitted["slope"]
    with pytest.raises(CalibrationError, match="no label matured before 2023-07"):
        fit_as_of(_definition(), history, "2023-07-01")


def test_prior_until_labels_mature_then_refits_on_schedule(history):
    months = [f"2023-{m:02d}-01" for m in range(5, 13)] + [f"2024-{m:02d}-01" for m in range(1, 7)]
    by_month, new = calibrations_in_force(_definition(), history, months, [], **_kwargs())
    methods = {m[:7]: (c["method"], c["fitted_on"]["valid_from"][:7]) for m, c in by_month.items()}
    # no label before 2023-07; first labels (2023-01 cohort) mature in 2023-07: too few until enough rows
    assert methods["2023-05"] == ("prior", "2023-05") and methods["2023-07"] == ("prior", "2023-05")
    fitted_months = [c["fitted_on"]["valid_from"][:7] for c in new if c["method"] == "logistic"]
    assert fitted_months[0] == "2023-08"  # the first month with matured labels before it
    # then every 3 months
    assert fitted_months == ["2023-08", "2023-11", "2024-02", "2024-05"]
    assert methods["2024-01"] == ("logistic", "2023-11") and methods["2024-06"] == ("logistic", "2024-05")
    assert all(c is not None for c in by_month.values())
    assert sum(c["method"] == "prior" for c in new) == 1


def _kwargs() -> dict:
    return {
        "refresh_every_months": 3,
        "window_months": 12,
        "min_samples": 50,
        "min_defaults": 5,
        "prior": PRIOR,
    }


def test_month_by_month_gives_the_calibrations_of_one_catch_up(history):
    months = [f"2023-{m:02d}-01" for m in range(6, 13)] + [f"2024-{m:02d}-01" for m in range(1, 7)]
    catch_up, stored_once = calibrations_in_force(_definition(), history, months, [], **_kwargs())
    stored: list[dict] = []
    step: dict = {}
    for month in months:
        got, new = calibrations_in_force(_definition(), history, [month], stored, **_kwargs())
        stored += new
        step |= got
    assert [c["fitted_on"] for c in stored] == [c["fitted_on"] for c in stored_once]
    assert {m: (c["intercept"], c["slope"]) for m, c in step.items()} == {
        m: (c["intercept"], c["slope"]) for m, c in catch_up.items()
    }
    # a stored calibration of another definition (or without valid_from) is not reused
    other = [{**stored_once[-1], "definition_fingerprint": "other"}, {"method": "logistic", "intercept": 0}]
    _, again = calibrations_in_force(_definition(), history, months, other, **_kwargs())
    assert len(again) == len(stored_once)


def test_prior_is_the_expert_scaling_and_bad_priors_are_refused():
    prior = prior_calibration(PRIOR, "2023-01-15")
    assert pd_from_score([600], prior)[0] == pytest.approx(0.1)
    odds = lambda s: (1 - pd_from_score([s], prior)[0]) / pd_from_score([s], prior)[0]  # noqa: E731
    assert odds(660) == pytest.approx(2 * odds(600))
    assert prior["fitted_on"]["valid_from"] == "2023-01-01"
    with pytest.raises(CalibrationError, match="prior needs exactly"):
        prior_calibration({"score": 600, "pd": 0.1}, "2023-01-01")
    with pytest.raises(CalibrationError, match="pd must be in"):
        prior_calibration({"score": 600, "pd": 1.5, "pdo": 60}, "2023-01-01")


def test_bad_calibration_parameters_are_refused_before_anything_is_fitted(world):
    plan = {"decisions": {"new": ["2024-01-01"], "rescored": [], "kept": []}}
    for bad, message in (
        ({**OPTIONS, "refresh": 2}, "Unknown keys in scorecard.calibration"),
        ({**OPTIONS, "refresh_every_months": 0}, "refresh_every_months must be a whole number >= 1"),
        ({**OPTIONS, "prior": {"score": 600}}, "prior needs exactly"),
    ):
        with pytest.raises(CalibrationError, match=message):
            calibrate_active_scorecard(
                scorecard_versions(), world.features_table(), world.labels_table(), plan, bad
            )


def _decide(world, months: tuple[str, str], versions: dict) -> dict:
    pipeline = inference_pipeline(models=["model_1"])
    catalog = memory_catalog(
        pipeline,
        {
            "feat_gold_features": world.features_table(),
            "feat_gold_labels": world.labels_table(),
            "mdl_scorecard_versions": versions,
            "model_1.mdl_registered_model": registered(None),
            "params:inference": {"start_month": months[0], "end_month": months[1]},
            "params:scorecard.calibration": OPTIONS,
            "inf_decision_record": MonthRecord(),
            "model_1.inf_prediction_record": MonthRecord(),
        },
    )
    SequentialRunner().run(pipeline, catalog)
    return {k: catalog.load(k) for k in ("out_scorecard_decisions", "mdl_scorecard_calibration_log")}


def test_every_decision_row_carries_the_pd_of_the_calibration_in_force(world):
    out = _decide(world, ("2023-06-01", "2024-06-01"), scorecard_versions())
    decisions, log = out["out_scorecard_decisions"], out["mdl_scorecard_calibration_log"]
    assert len(decisions) > 1000 and decisions["pd"].notna().all()
    assert log["version"] == "t1" and [c["method"] for c in log["calibrations"]][:2] == ["prior", "logistic"]
    by_valid = {c["fitted_on"]["valid_from"]: c for c in log["calibrations"]}
    for month, rows in decisions.groupby("snapshot_date"):
        valid = max(v for v in by_valid if pd.Timestamp(v) <= month)
        np.testing.assert_allclose(rows["pd"], pd_from_score(rows["score"], by_valid[valid]))
        assert rows["pd_calibration"].nunique() == 1
    june = decisions.loc[decisions["snapshot_date"] == pd.Timestamp("2023-06-01"), "pd_calibration"].iloc[0]
    assert june.startswith("prior")
    may24 = decisions.loc[decisions["snapshot_date"] == pd.Timestamp("2024-05-01"), "pd_calibration"].iloc[0]
    assert may24 == "logistic 2023-01..2023-10 (labels before 2024-05)"


def test_calibrations_are_stored_with_the_version_and_read_back_in_the_snapshot(world, tmp_path):
    url = f"sqlite:///{tmp_path / 'scorecard.db'}"
    versions = ScorecardVersionsDataset(url=url)
    versions.save({"versions": {"t1": {k: v for k, v in SCORECARD.items() if k != "version"}},
                   "initial_version": "t1"})  # fmt: skip
    first = _decide(world, ("2023-06-01", "2023-12-01"), versions.load())
    ScorecardCalibrationLogDataset(url=url).save(first["mdl_scorecard_calibration_log"])
    snapshot = versions.load()
    stored = snapshot["calibrations"]["t1"]
    assert [c["fitted_on"]["valid_from"] for c in stored] == [
        c["fitted_on"]["valid_from"] for c in first["mdl_scorecard_calibration_log"]["calibrations"]
    ]
    assert snapshot["versions"]["t1"]["calibration"]["fitted_on"] == stored[-1]["fitted_on"]  # the latest
    # the next month reuses what is stored (no refit before its schedule)
    second = _decide(world, ("2024-01-01", "2024-01-01"), snapshot)
    assert second["mdl_scorecard_calibration_log"]["calibrations"] == []
    assert second["out_scorecard_decisions"]["pd"].notna().all()
