"""Shadow scoring of draft scorecard versions in the inference pipeline (#11.3): every draft is scored on the same
new applications (``out_scorecard_shadow``), the recorded decisions and their log are exactly those of a run
without drafts, legacy/retired versions are never shadowed, and a kept month gets no shadow rows."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest
from kedro.runner import SequentialRunner

from kycc.inference.scoring import score_scorecard
from kycc.pipelines.inference import create_pipeline
from kycc.scorecard.shadow import SHADOW_COLUMNS, draft_versions
from tests.inference.cards import SCORECARD, KeptDataset, make_world, registered, scorecard_versions
from tests.pipelines.inference.test_pipeline import CALIBRATION, _catalog

# two drafts that rank differently from t1 (active), a legacy draft and a retired version
DRAFT_A = copy.deepcopy(SCORECARD) | {"version": "d_a"}
DRAFT_A["features"]["interest_rate"]["weight"] = 0.7
DRAFT_A["features"]["credit_mix"]["weight"] = 0.3
DRAFT_B = copy.deepcopy(SCORECARD) | {"version": "d_b"}
DRAFT_B["features"]["interest_rate"]["points"] = [0, 50, 100]
LEGACY = copy.deepcopy(SCORECARD) | {"version": "old"}
RETIRED = copy.deepcopy(SCORECARD) | {"version": "t0"}


@pytest.fixture(scope="module")
def world():
    return make_world(seed=7)


def snapshot(with_drafts: bool) -> dict:
    out = scorecard_versions()
    out["versions"]["t1"]["status"] = "active"
    out["versions"]["old"] = {"version": "old", "definition": LEGACY, "calibration": None, "status": "draft",
                              "provenance": {"legacy": True}}  # fmt: skip
    out["versions"]["t0"] = {"version": "t0", "definition": RETIRED, "calibration": None, "status": "retired"}
    if with_drafts:
        for name, definition in (("d_a", DRAFT_A), ("d_b", DRAFT_B)):
            out["versions"][name] = {"version": name, "definition": definition, "calibration": None,
                                     "status": "draft", "provenance": {"source": "refinement"}}  # fmt: skip
    return out


def _run(root: Path, world, months: tuple[str, str], with_drafts: bool):
    catalog = _catalog(
        root,
        {
            "feat_gold_features": world.features_table(),
            "feat_gold_labels": world.labels_table(),
            "mdl_scorecard_versions": snapshot(with_drafts),
            "model_1.mdl_registered_model": registered(world),
            "params:inference": {"models": None, "start_month": months[0], "end_month": months[1]},
            "params:scorecard.calibration": CALIBRATION,
        },
    )
    catalog["mdl_scorecard_decision_log"] = KeptDataset(copy_mode="assign")
    SequentialRunner().run(create_pipeline(models=["model_1"]), catalog)
    return catalog


def _log(catalog) -> list[dict]:
    return [
        {k: v for k, v in row.items() if not k.endswith("_at")}
        for row in catalog.load("mdl_scorecard_decision_log")
    ]


def test_drafts_are_the_draft_versions_only():
    assert draft_versions(snapshot(True)) == ["d_a", "d_b"]
    assert draft_versions(snapshot(False)) == []
    assert draft_versions({"active": "t1", "versions": {"t1": {"status": "draft"}}}) == []  # never the active


def test_shadow_scoring_leaves_the_decisions_and_their_log_exactly_as_without_drafts(world, tmp_path):
    months = ("2024-04-01", "2024-05-01")
    plain = _run(tmp_path / "plain", world, months, with_drafts=False)
    shadowed = _run(tmp_path / "shadow", world, months, with_drafts=True)
    decisions = plain.load("out_scorecard_decisions")
    assert len(decisions) > 100
    pd.testing.assert_frame_equal(decisions, shadowed.load("out_scorecard_decisions"))
    assert _log(plain) == _log(shadowed) and len(_log(plain)) == len(decisions)
    pd.testing.assert_frame_equal(
        plain.load("model_1.out_predictions"), shadowed.load("model_1.out_predictions")
    )
    assert plain.load("out_scorecard_shadow").empty  # no draft: nothing in shadow
    assert not (tmp_path / "plain/07_model_output/scorecard_shadow").exists()

    shadow = shadowed.load("out_scorecard_shadow")
    assert list(shadow.columns) == SHADOW_COLUMNS
    assert sorted(shadow["scorecard_version"].unique()) == [
        "d_a",
        "d_b",
    ]  # not the legacy nor the retired one
    assert (shadow["role"] == "shadow").all() and (shadow["deciding_version"] == "t1").all()
    for name, definition in (("d_a", DRAFT_A), ("d_b", DRAFT_B)):
        rows = shadow.loc[shadow["scorecard_version"] == name].set_index("loan_id").sort_index()
        assert sorted(rows.index) == sorted(decisions["loan_id"])  # every decided application, once
        by_hand = (
            score_scorecard(
                world.data.loc[world.data["loan_id"].isin(rows.index)].drop(columns=["label", "label_date"]),
                {"version": name, "definition": definition, "calibration": None},
            )
            .set_index("loan_id")
            .sort_index()
        )
        assert rows["score"].astype(int).tolist() == by_hand["score"].astype(int).tolist()
        assert rows["band"].tolist() == by_hand["band"].tolist()
        assert rows["decision"].tolist() == by_hand["decision"].tolist()
        deciding = decisions.set_index("loan_id").loc[rows.index]
        assert rows["deciding_score"].astype(int).tolist() == deciding["score"].astype(int).tolist()
        assert rows["deciding_decision"].tolist() == deciding["decision"].tolist()
        assert rows["pd"].notna().all() and rows["pd_calibration"].notna().all()
    # d_b reverses the interest-rate points: it scores differently from t1
    d_b = shadow.loc[shadow["scorecard_version"] == "d_b"]
    assert (d_b["score"] != d_b["deciding_score"]).mean() > 0.3


def test_a_kept_month_gets_no_shadow_rows_from_a_later_draft(world, tmp_path):
    """A draft that appears after a month was decided is never scored on that month (no look-back)."""
    _run(tmp_path, world, ("2024-04-01", "2024-04-01"), with_drafts=False)
    catalog = _run(tmp_path, world, ("2024-04-01", "2024-05-01"), with_drafts=True)
    shadow = catalog.load("out_scorecard_shadow")
    assert sorted(shadow["snapshot_date"].dt.strftime("%Y-%m").unique()) == ["2024-05"]


def test_on_a_real_store_only_the_draft_is_shadowed_and_nothing_reaches_the_log_or_the_store(world, tmp_path):
    """The store's own snapshot (statuses, the legacy flag of configuration): the legacy version and the active one
    are not shadowed, the draft is; the decision log holds the decisions only; no calibration is stored for it."""
    from kycc.datasets.scorecard import ScorecardDecisionLogDataset, ScorecardVersionsDataset
    from kycc.inference.history import MonthRecord
    from kycc.scorecard.definition import ScorecardDefinition
    from kycc.scorecard.store import ScorecardStore
    from tests.inference.cards import memory_catalog

    url = f"sqlite:///{tmp_path / 'scorecard.db'}"
    spec = {k: v for k, v in SCORECARD.items() if k != "version"}
    versions = ScorecardVersionsDataset(url=url)
    versions.save({"versions": {"t1": spec, "old": spec | {"legacy": True, "description": "legacy"}},
                   "initial_version": "t1"})  # fmt: skip
    with ScorecardStore(url) as store:
        store.create_version(ScorecardDefinition.from_dict(DRAFT_B, version="d_b"), source="refinement",
                             base_version="t1", reason="test draft")  # fmt: skip
        audit_before = len(store.history())
    snapshot_ = versions.load()
    assert {n: r["status"] for n, r in snapshot_["versions"].items()} == {"t1": "active", "old": "draft",
                                                                          "d_b": "draft"}  # fmt: skip
    pipeline = create_pipeline(models=["model_1"])
    catalog = memory_catalog(
        pipeline,
        {
            "feat_gold_features": world.features_table(),
            "feat_gold_labels": world.labels_table(),
            "mdl_scorecard_versions": snapshot_,
            "model_1.mdl_registered_model": registered(world),
            "params:inference": {"start_month": "2024-05-01", "end_month": "2024-06-01"},
            "params:scorecard.calibration": CALIBRATION,
            "inf_decision_record": MonthRecord(),
            "model_1.inf_prediction_record": MonthRecord(),
        },
    )
    catalog["mdl_scorecard_decision_log"] = ScorecardDecisionLogDataset(url=url)
    SequentialRunner().run(pipeline, catalog)
    decisions, shadow = catalog.load("out_scorecard_decisions"), catalog.load("out_scorecard_shadow")
    assert set(shadow["scorecard_version"]) == {"d_b"} and len(shadow) == len(decisions) > 100
    with ScorecardStore(url) as store:
        log = store.decisions_frame()
        assert len(log) == len(decisions) and set(log["scorecard_version"]) == {"t1"}
        assert store.calibration_history("d_b") == []  # the shadow's calibration in force is not stored
        assert [e.action for e in store.history()[audit_before:] if e.version == "d_b"] == []  # no audit row
