"""The inference pipeline on the project's own inference catalog (conf/base/catalog_inference.yml) in a temp
folder: real parquet tables, a real fitted model, real scorecard definitions.

Decisions are history (a decided month keeps its decisions; ``inference.rescore`` writes a new decision set) and
a refused run writes nothing (the batch-lag rule and the rescore reason are checked before any output).
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import ibis
import pandas as pd
import pytest
import yaml
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner

from kycc.inference.history import decision_history
from kycc.inference.scoring import InferenceError
from kycc.pipelines.inference import create_pipeline
from kycc.temporal import BatchLagViolation
from tests.inference.cards import SCORECARD, KeptDataset, make_world, registered, scorecard_versions

PROJECT_ROOT = Path(__file__).resolve().parents[3]
TABLES = {
    "decisions": "07_model_output/scorecard_decisions",
    "decision_sets": "07_model_output/scorecard_rescores",
    "predictions": "07_model_output/predictions/model_1",
    "prediction_sets": "07_model_output/prediction_rescores/model_1",
}
# A second scorecard version that decides differently (interest-rate points reversed).
SCORECARD_2 = copy.deepcopy(SCORECARD) | {"version": "t2"}
SCORECARD_2["features"]["interest_rate"]["points"] = [0, 50, 100]


#: The active scorecard's calibration in force (scorecard.calibration; the prior until labels matured).
CALIBRATION = {"months": 12, "min_samples": 50, "min_defaults": 5, "refresh_every_months": 3,
               "prior": {"score": 600, "pd": 0.1, "pdo": 60}}  # fmt: skip


@pytest.fixture(scope="module")
def world():
    return make_world(seed=3)


def versions(active: str = "t1") -> dict:
    out = scorecard_versions()
    out["versions"]["t2"] = {"version": "t2", "definition": SCORECARD_2, "calibration": None}
    out["active"] = active
    return out


def _catalog(root: Path, inputs: dict) -> DataCatalog:
    """The project's inference catalog with ``data_root`` = ``root``; ``inputs`` in memory."""
    text = (PROJECT_ROOT / "conf/base/catalog_inference.yml").read_text()
    config = yaml.safe_load(text.replace("${globals:data_root}", str(root)))
    catalog = DataCatalog.from_config({k: v for k, v in config.items() if not k.startswith("_")})
    for name, value in inputs.items():
        catalog[name] = KeptDataset(data=value, copy_mode="assign")
    return catalog


def _run(root: Path, world, options: dict, reg=None, scorecards=None) -> DataCatalog:
    catalog = _catalog(
        root,
        {
            "feat_gold_features": world.features_table(),
            "feat_gold_labels": world.labels_table(),
            "mdl_scorecard_versions": scorecards or versions(),
            "model_1.mdl_registered_model": registered(world) if reg is None else reg,
            "params:inference": {"models": None, **options},
            "params:scorecard.calibration": CALIBRATION,
        },
    )
    SequentialRunner().run(create_pipeline(models=["model_1"]), catalog)
    return catalog


def _month(month: str) -> dict:
    return {"start_month": month, "end_month": month}


def _files(root: Path) -> dict[str, bytes]:
    """Every file of the persisted outputs (tables, decision sets, summary), for 'left as it was'."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "/." not in f"/{p.relative_to(root)}"
    }


def _table(catalog: DataCatalog, name: str) -> pd.DataFrame:
    return catalog.load(name)


def test_scores_a_range_of_months_with_scorecard_and_champion(world, tmp_path):
    catalog = _run(tmp_path, world, {"start_month": "2024-03-01", "end_month": "2024-06-01"})
    predictions = catalog.load("model_1.out_predictions")
    decisions = catalog.load("out_scorecard_decisions")
    months = sorted(predictions["snapshot_date"].unique())
    assert months == list(pd.date_range("2024-03-01", "2024-06-01", freq="MS"))
    assert len(predictions) == len(decisions) == int(world.data["application_date"].ge("2024-03-01").sum())
    assert predictions.set_index("loan_id")["band"].equals(decisions.set_index("loan_id")["band"])
    summary = catalog.load("rpt_inference_summary")
    assert summary["months"] == ["2024-03-01", "2024-04-01", "2024-05-01", "2024-06-01"]
    assert summary["models"][0]["status"] == "scored" and summary["scorecard"]["scorecard_version"] == "t1"
    assert catalog.load("out_scorecard_rescores").empty  # no decision set without inference.rescore


def test_latest_month_by_default(world, tmp_path):
    catalog = _run(tmp_path, world, {"start_month": None, "end_month": None})
    assert catalog.load("rpt_inference_summary")["months"] == ["2024-06-01"]


def test_batch_lag_refusal_writes_nothing(world, tmp_path):
    """#15.3: the refusal comes before any output is saved — not even the scorecard decisions."""
    with pytest.raises(BatchLagViolation) as err:
        _run(tmp_path, world, {"start_month": "2024-02-01", "end_month": "2024-03-01"})
    assert "model_1" in str(err.value) and "2024-02" in str(err.value)
    assert _files(tmp_path) == {}  # no decision, no prediction, no summary


def test_batch_lag_refusal_leaves_earlier_outputs_as_they_were(world, tmp_path):
    _run(tmp_path, world, _month("2024-05-01"))
    before = _files(tmp_path)
    with pytest.raises(BatchLagViolation, match="validation window"):
        _run(tmp_path, world, {"start_month": "2024-01-01", "end_month": "2024-06-01"})
    assert _files(tmp_path) == before


def test_without_champion_the_scorecard_decides_and_the_model_table_is_untouched(world, tmp_path):
    _run(tmp_path, world, _month("2024-03-01"))
    predictions = (tmp_path / TABLES["predictions"]).rglob("*.parquet")
    before = {str(p): p.read_bytes() for p in predictions}
    catalog = _run(tmp_path, world, _month("2024-04-01"), reg=registered(None))
    after = {str(p): p.read_bytes() for p in (tmp_path / TABLES["predictions"]).rglob("*.parquet")}
    assert after == before  # skip: nothing written for the model in 2024-04
    assert catalog.load("model_1.out_predictions")["snapshot_date"].dt.strftime(
        "%Y-%m"
    ).unique().tolist() == ["2024-03"]
    assert sorted(catalog.load("out_scorecard_decisions")["snapshot_date"].dt.strftime("%Y-%m").unique()) == [
        "2024-03",
        "2024-04",
    ]
    model = catalog.load("rpt_inference_summary")["models"][0]
    assert model["status"] == "skipped" and "no model yet: kycc_model_1 has no @champion" in model["reason"]


def test_a_decided_month_keeps_its_decisions_when_run_again(world, tmp_path, caplog):
    """#18.2: another active scorecard version, run the month again: the recorded decisions stay."""
    _run(tmp_path, world, _month("2024-04-01"))
    before = _files(tmp_path / "07_model_output")
    caplog.set_level(logging.INFO)
    catalog = _run(tmp_path, world, _month("2024-04-01"), scorecards=versions("t2"))
    assert _files(tmp_path / "07_model_output") == before
    assert "2024-04 already decided: the recorded decisions are kept" in caplog.text
    assert "inference.rescore=true,inference.rescore_reason=" in caplog.text
    summary = catalog.load("rpt_inference_summary")
    assert summary["scorecard"]["applications"] == 0 and summary["scorecard"]["kept"]["months"] == [
        "2024-04-01"
    ]
    assert summary["models"][0]["status"] == "kept"


def test_the_decision_table_refuses_to_replace_a_recorded_month(world, tmp_path):
    catalog = _run(tmp_path, world, _month("2024-04-01"))
    decisions = catalog.load("out_scorecard_decisions")
    with pytest.raises(Exception, match="2024-04 already recorded: this table is append-only"):
        catalog.save("out_scorecard_decisions", decisions)


def test_a_decided_month_scored_later_by_a_model_carries_the_recorded_decisions(world, tmp_path):
    """The seed backfill: decided before the model existed, scored by it later — with the decision on record."""
    _run(tmp_path, world, _month("2024-04-01"), reg=registered(None))
    catalog = _run(tmp_path, world, _month("2024-04-01"), scorecards=versions("t2"))
    decisions, predictions = catalog.load("out_scorecard_decisions"), catalog.load("model_1.out_predictions")
    assert (decisions["scorecard_version"] == "t1").all() and len(predictions) == len(decisions) > 100
    merged = predictions.merge(decisions, on="loan_id", suffixes=("", "_decided"))
    assert (merged["scorecard_version"] == "t1").all() and (merged["band"] == merged["band_decided"]).all()


def test_rescore_needs_a_written_reason_and_writes_nothing_without(world, tmp_path):
    _run(tmp_path, world, _month("2024-04-01"))
    before = _files(tmp_path)
    for reason in (None, "  "):
        with pytest.raises(InferenceError, match="inference.rescore_reason is empty"):
            _run(tmp_path, world, {**_month("2024-04-01"), "rescore": True, "rescore_reason": reason})
    with pytest.raises(
        InferenceError, match=r"parameter 'inference.rescore' \(given\): Input should be a valid boolean"
    ):
        _run(tmp_path, world, {**_month("2024-04-01"), "rescore": "yes"})
    assert _files(tmp_path) == before


def test_rescore_writes_a_new_decision_set_and_the_original_stays(world, tmp_path):
    _run(tmp_path, world, {"start_month": "2024-04-01", "end_month": "2024-05-01"})
    original = {k: _files(tmp_path / TABLES[k]) for k in ("decisions", "predictions")}
    options = {**_month("2024-04-01"), "rescore": True, "rescore_reason": "t2 approved by committee"}
    catalog = _run(tmp_path, world, options, scorecards=versions("t2"))
    assert {k: _files(tmp_path / TABLES[k]) for k in ("decisions", "predictions")} == original

    decisions = catalog.load("out_scorecard_decisions")
    sets = catalog.load("out_scorecard_rescores")
    april = decisions[decisions["snapshot_date"] == "2024-04-01"]
    assert len(sets) == len(april) > 100 and set(sets["loan_id"]) == set(april["loan_id"])
    assert (sets["decision_set"] == 2).all() and (sets["scorecard_version"] == "t2").all()
    assert (sets["rescore_reason"] == "t2 approved by committee").all() and sets["rescored_at"].notna().all()
    changed = sets.merge(april, on="loan_id", suffixes=("", "_original"))
    assert (changed["score"] != changed["score_original"]).any()  # t2 decides differently; t1 stays on record
    prediction_sets = catalog.load("model_1.out_prediction_rescores")
    assert len(prediction_sets) == len(sets) and (prediction_sets["decision_set"] == 2).all()
    carried = prediction_sets.merge(sets, on="loan_id", suffixes=("", "_set"))
    assert (carried["band"] == carried["band_set"]).all() and (carried["scorecard_version"] == "t2").all()

    # a second rescore is decision set 3; set 2 stays as it was
    set_2 = _files(tmp_path / TABLES["decision_sets"])
    catalog = _run(tmp_path, world, {**options, "rescore_reason": "back to t1"}, scorecards=versions("t1"))
    after = _files(tmp_path / TABLES["decision_sets"])
    assert {k: after[k] for k in set_2} == set_2 and len(after) == 2
    history = decision_history(
        catalog.load("out_scorecard_decisions"), catalog.load("out_scorecard_rescores")
    )
    april = history[history["snapshot_date"] == "2024-04-01"]
    assert april.groupby("decision_set")["scorecard_version"].first().to_dict() == {1: "t1", 2: "t2", 3: "t1"}
    summary = catalog.load("rpt_inference_summary")["scorecard"]["rescored"]
    assert summary["decision_sets"] == {"2024-04-01": 3} and summary["reason"] == "back to t1"


def test_rescore_is_refused_by_the_batch_lag_rule_before_anything_is_written(world, tmp_path):
    _run(tmp_path, world, _month("2024-02-01"), reg=registered(None))  # decided before any model
    before = _files(tmp_path)
    with pytest.raises(BatchLagViolation, match="2024-02"):
        _run(tmp_path, world, {**_month("2024-02-01"), "rescore": True, "rescore_reason": "new model"})
    assert _files(tmp_path) == before


def test_applications_arriving_after_their_month_was_decided_are_not_decided_silently(
    world, tmp_path, caplog
):
    frame = world.features_table().to_pandas()
    april = frame.loc[frame["application_date"].dt.strftime("%Y-%m") == "2024-04", "loan_id"]
    late = set(april.iloc[:5])
    catalog = _catalog(  # the first run sees April without its 5 late applications
        tmp_path,
        {
            "feat_gold_features": ibis.memtable(frame.loc[~frame["loan_id"].isin(late)]),
            "feat_gold_labels": world.labels_table(),
            "mdl_scorecard_versions": versions(),
            "model_1.mdl_registered_model": registered(None),
            "params:inference": {"models": None, **_month("2024-04-01")},
            "params:scorecard.calibration": CALIBRATION,
        },
    )
    SequentialRunner().run(create_pipeline(models=["model_1"]), catalog)
    caplog.set_level(logging.WARNING)
    catalog = _run(tmp_path, world, _month("2024-04-01"))  # all applications now, and a champion
    decisions, predictions = catalog.load("out_scorecard_decisions"), catalog.load("model_1.out_predictions")
    assert not late & set(decisions["loan_id"]) and not late & set(predictions["loan_id"])
    assert set(predictions["loan_id"]) == set(decisions["loan_id"])
    assert "5 application(s) of 2024-04 are not in the recorded decisions" in caplog.text


@pytest.mark.parametrize(
    ("options", "scorecards", "message"),
    [
        ({"month": "2024-04-01"}, None, "unknown parameter 'inference.month'"),
        (_month("2024-04-01"), {"active": None, "versions": {}}, "No active scorecard version"),
    ],
)
def test_other_refusals_write_nothing(world, tmp_path, options, scorecards, message):
    _run(tmp_path, world, _month("2024-03-01"))
    before = _files(tmp_path)
    with pytest.raises(InferenceError, match=message):
        _run(tmp_path, world, options, scorecards=scorecards)
    assert _files(tmp_path) == before
