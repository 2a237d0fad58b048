"""The Kedro datasets over the version store."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from kedro.io import DatasetError
from sqlalchemy.engine import make_url

from kycc.datasets.scorecard import ScorecardDraftDataset, ScorecardVersionsDataset
from tests.scorecard.conftest import SMALL


def test_versions_dataset_declares_configuration_versions_and_loads_a_snapshot(store_url):
    dataset = ScorecardVersionsDataset(url=store_url)
    assert not dataset.exists()
    assert not Path(make_url(store_url).database).exists()  # asking did not create an empty database
    dataset.save({"versions": {"v1": copy.deepcopy(SMALL)}, "initial_version": "v1"})
    snapshot = dataset.load()
    assert snapshot["active"] == "v1" and list(snapshot["versions"]) == ["v1"]
    assert snapshot["versions"]["v1"]["definition"]["features"]["age"]["points"] == [30, 60, 85, 90]
    assert dataset.exists()
    with pytest.raises(DatasetError, match="saves"):
        dataset.save({"v1": SMALL})


def test_draft_dataset_refuses_bad_input_and_says_when_there_is_no_draft(store_url):
    ScorecardVersionsDataset(url=store_url).save({"versions": {"v1": copy.deepcopy(SMALL)}})
    draft = ScorecardDraftDataset(url=store_url)
    with pytest.raises(DatasetError, match="No refined scorecard version in the store yet"):
        draft.load()
    with pytest.raises(DatasetError, match="refinement proposal"):
        draft.save({"definition": SMALL})
    draft.save({"definition": copy.deepcopy(SMALL), "base_version": "v1", "created_by": "me"})
    loaded = ScorecardDraftDataset(url=store_url).load()  # a later run: the newest refinement
    assert loaded["version"]["version"] == "ml_v2" and loaded["base"]["version"] == "v1"
    assert loaded["comparison"] is None


def test_the_store_url_is_described_without_its_password():
    described = ScorecardVersionsDataset(url="postgresql://risk:secret@db/scorecards")._describe()
    assert described == {"url": "postgresql://risk:***@db/scorecards"}
