"""Scorecard nodes: the clear errors a user sees for bad configuration or data, and the happy paths."""

from __future__ import annotations

import copy
import logging

import pandas as pd
import pytest

from kycc.pipelines.scorecard import nodes
from kycc.scorecard.data import ReferenceDataError
from kycc.scorecard.definition import ScorecardDefinitionError
from kycc.scorecard.fairness import FairLendingError
from kycc.scorecard.refinement import RefinementError
from tests.scorecard.conftest import SMALL, scorecard_params


def _applications() -> pd.DataFrame:
    months = ["2024-04-01", "2024-05-01", "2024-05-01", "2024-06-01", "2024-06-01", "2024-06-01"]
    return pd.DataFrame(
        {
            "loan_id": [f"L{i}" for i in range(6)],
            "application_date": pd.to_datetime(months),
            "interest_rate": [5, 10, 14, 18, 25, None],
        }
    )


def test_declare_config_versions_validates_every_version():
    params = scorecard_params()
    assert params["initial_version"] == "v1_1"  # the expert version with the fair-lending age bins
    declared = nodes.declare_config_versions(params["versions"], "v1_1")
    assert declared["initial_version"] == "v1_1" and list(declared["versions"]) == ["v1", "v1_1"]
    with pytest.raises(
        ScorecardDefinitionError, match=r"initial_version 'v0' is not one of scorecard.versions \(v1, v1_1\)"
    ):
        nodes.declare_config_versions(params["versions"], "v0")
    # v1 (legacy: true) is stored for the record but can never be the version activated first
    with pytest.raises(ScorecardDefinitionError, match="initial_version 'v1' is a legacy version"):
        nodes.declare_config_versions(params["versions"], "v1")
    # a legacy version is exempt from the fair-lending rules only, not from the definition checks
    broken = copy.deepcopy(params["versions"])
    broken["v1"]["features"]["age"]["points"] = [1, 2]
    with pytest.raises(ScorecardDefinitionError, match="scorecard 'v1': feature 'age'"):
        nodes.declare_config_versions(broken, "v1_1")
    # a current version with v1's age penalty for over-65s is refused (legacy v1 itself passes above)
    unfair = copy.deepcopy(params["versions"])
    unfair["v1_1"]["features"]["age"]["points"] = [30, 55, 80, 90, 70]
    with pytest.raises(
        FairLendingError,
        match=r"scorecard 'v1_1' breaks the fair-lending age rule.* 70 points, fewer than the 90",
    ):
        nodes.declare_config_versions(unfair, "v1_1")


def test_select_base_version_takes_the_active_one_or_a_named_one():
    store = {
        "active": "v1",
        "versions": {
            "v1": {"version": "v1", "status": "active"},
            "ml_v2": {"version": "ml_v2", "status": "draft"},
        },
    }
    assert nodes.select_base_version(store, {"base_version": "active"})["version"] == "v1"
    assert nodes.select_base_version(store, {"base_version": "ml_v2"})["version"] == "ml_v2"
    with pytest.raises(
        RefinementError, match="Base version 'v7' is not in the scorecard store; versions: v1, ml_v2"
    ):
        nodes.select_base_version(store, {"base_version": "v7"})
    with pytest.raises(RefinementError, match=r"Unknown keys in scorecard.refinement: \['blend'\]"):
        nodes.select_base_version(store, {"blend": 0.4})


def test_select_reference_takes_the_latest_month_or_the_months_asked_for():
    rows, info = nodes.select_reference(_applications(), {"month": None, "months": 1})
    assert info == {"label": "2024-06", "rows": 3} and len(rows) == 3
    _, info = nodes.select_reference(_applications(), {"month": "2024-05-15", "months": 2})
    assert info == {"label": "2024-04..2024-05", "rows": 3}
    with pytest.raises(
        ReferenceDataError, match=r"No applications in 2023-01 .* \(latest application month: 2024-06\)"
    ):
        nodes.select_reference(_applications(), {"month": "2023-01-01"})
    with pytest.raises(ReferenceDataError, match="feat_gold_features is empty"):
        nodes.select_reference(_applications().iloc[0:0], {})


def test_build_labelled_sample_joins_labels_and_keeps_the_latest_months():
    labels = pd.DataFrame({"loan_id": ["L0", "L1", "L2", "L9"], "label": [0, 1, 0, 1]})
    frame, info = nodes.build_labelled_sample(_applications(), labels, {"months": 1})
    assert list(frame["loan_id"]) == ["L1", "L2"] and info["months"] == "2024-05" and info["defaults"] == 1


def test_too_few_labels_leave_the_versions_uncalibrated_with_a_warning(caplog):
    base = {"version": "v1", "definition": copy.deepcopy(SMALL), "calibration": None}
    labelled = pd.DataFrame(
        {
            "interest_rate": [5, 25],
            "num_of_delayed_payment": [1, 20],
            "credit_mix": ["Good", "Bad"],
            "age": [40, 20],
            "net_degree": [1, 0],
            "label": [0, 1],
        }
    )
    with caplog.at_level(logging.WARNING):
        out = nodes.calibrate_versions(base, {**SMALL, "version": "draft"}, labelled, {"rows": 2}, {})
    assert out == {"base": None, "draft": None}
    assert "not calibrated: only 2 labelled application(s)" in caplog.text
