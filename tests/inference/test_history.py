"""Decisions are history: the inference plan (new / kept / rescored per month and model, the batch-lag rule
for everything scored, before anything is written) and the decision sets side by side."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from kycc.inference.history import MonthRecord, decision_history, plan_inference
from kycc.temporal import BatchLagViolation


def _decided(months: list[str], sets: dict[str, list[int]] | None = None) -> MonthRecord:
    table = pd.DataFrame(
        {"snapshot_date": pd.to_datetime(months), "loan_id": [f"L{i}" for i in range(len(months))]}
    )
    return (
        MonthRecord.in_memory(table)
        if not sets
        else MonthRecord(table["snapshot_date"].dt.strftime("%Y-%m"), sets=sets)
    )


def test_decided_months_are_kept_and_the_others_are_new(world, caplog):
    caplog.set_level(logging.WARNING)
    plan = plan_inference(
        ["2024-04-01", "2024-05-01"],
        _decided(["2024-04-01"]),
        {"model_1": _decided(["2024-04-01"])},
        {"model_1": world.card},
        None,
    )
    assert plan["decisions"] == {"new": ["2024-05-01"], "kept": ["2024-04-01"], "rescored": []}
    assert plan["models"]["model_1"] | {"version": 1} == {
        "status": "score", "version": 1, "new": ["2024-05-01"], "kept": ["2024-04-01"], "rescored": [],
    }  # fmt: skip
    assert "2024-04 already decided: the recorded decisions are kept" in caplog.text
    assert "inference.rescore=true,inference.rescore_reason=<why>" in caplog.text


def test_kept_months_are_not_checked_by_the_batch_lag_rule(world):
    """A month decided and scored at the time keeps its predictions: a later model never re-scores it."""
    plan = plan_inference(
        ["2023-06-01"],
        _decided(["2023-06-01"]),
        {"model_1": _decided(["2023-06-01"])},
        {"model_1": world.card},
        None,
    )
    assert plan["models"]["model_1"]["kept"] == ["2023-06-01"]


def test_a_decided_month_without_predictions_is_new_for_the_model_and_checked(world):
    with pytest.raises(BatchLagViolation, match="may not score 2023-06"):
        plan_inference(
            ["2023-06-01"],
            _decided(["2023-06-01"]),
            {"model_1": MonthRecord()},
            {"model_1": world.card},
            None,
        )


def test_every_violation_is_named(world):
    with pytest.raises(BatchLagViolation) as err:
        plan_inference(["2023-06-01", "2024-01-01"], MonthRecord(), {}, {"model_1": world.card}, None)
    text = str(err.value)
    assert "2023-06" in text and "2024-01" in text and "2 violations; nothing was written" in text


def test_a_rescore_numbers_the_next_decision_set_per_month(world):
    decided = _decided(["2024-04-01", "2024-05-01"], sets={"2024-04": [2, 3]})
    plan = plan_inference(
        ["2024-04-01", "2024-05-01", "2024-06-01"],
        decided,
        {"model_1": MonthRecord()},
        {"model_1": world.card},
        None,
        rescore=True,
        reason="committee",
        now=pd.Timestamp("2026-01-02 03:04:05"),
    )
    assert plan["decisions"] == {
        "new": ["2024-06-01"], "kept": [], "rescored": ["2024-04-01", "2024-05-01"],
    }  # fmt: skip
    assert plan["decision_sets"] == {"2024-04-01": 4, "2024-05-01": 2}
    assert plan["rescored_at"] == "2026-01-02T03:04:05" and plan["rescore_reason"] == "committee"
    assert plan["models"]["model_1"]["rescored"] == ["2024-04-01", "2024-05-01"]
    assert plan["models"]["model_1"]["new"] == ["2024-06-01"]


def test_models_without_champion_or_left_out_are_skips(world):
    plan = plan_inference(
        ["2024-04-01"], MonthRecord(), {}, {"model_1": None, "model_2": world.card}, ["model_1"]
    )
    assert plan["models"]["model_1"] == {"status": "skipped", "reason": "no champion"}
    assert plan["models"]["model_2"] == {"status": "skipped", "reason": "not in inference.models"}


def test_decision_history_puts_every_set_side_by_side():
    original = pd.DataFrame(
        {"snapshot_date": pd.to_datetime(["2024-04-01"] * 2), "loan_id": ["a", "b"], "band": ["A", "B"]}
    )
    rescores = original.assign(
        band=["C", "C"], decision_set=2, rescored_at=pd.Timestamp("2026-01-01"), rescore_reason="x"
    )
    history = decision_history(original, rescores)
    assert history[["loan_id", "decision_set", "band"]].values.tolist() == [
        ["a", 1, "A"], ["b", 1, "B"], ["a", 2, "C"], ["b", 2, "C"],
    ]  # fmt: skip
    assert history.loc[history["decision_set"] == 1, "rescored_at"].isna().all()
    assert decision_history(original)["decision_set"].tolist() == [1, 1]
