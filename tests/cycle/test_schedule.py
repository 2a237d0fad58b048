"""The cycle's decisions (pure): trainable months, the training schedule, the seed backfill, the summary."""

from __future__ import annotations

import datetime as dt

import pytest

from kycc.cycle.schedule import CycleSettings, decide_training, seed_months, trainable
from kycc.cycle.summary import format_summary
from kycc.temporal import month_range

WINDOWS = {"mode": "relative", "train_months": 12, "validation_months": 2, "test_months": 2, "oot_months": 1,
           "label_maturity_months": 6}  # fmt: skip
# labelled application months known before a month M: cohorts up to M - 7 (labels mature at MOB 6)
LABELLED = month_range("2023-01-01", "2024-05-01")


def test_first_trainable_month_needs_23_months_of_history():
    ok, why = trainable("2024-12-01", WINDOWS, LABELLED)
    assert ok and "train 2023-01..2023-12" in why
    ok, why = trainable("2024-11-01", WINDOWS, month_range("2023-01-01", "2024-04-01"))
    assert not ok and why == "history 16/17 window months"
    assert trainable("2023-03-01", WINDOWS, []) == (False, "no labelled loans yet")


@pytest.mark.parametrize(
    ("month", "last", "requested", "train", "reason"),
    [
        ("2024-12-01", None, [], True, "first month with enough history"),
        ("2025-01-01", dt.date(2024, 12, 1), [], False, "not due (last 2024-12, every 3)"),
        ("2025-02-01", dt.date(2024, 12, 1), [], False, "not due (last 2024-12, every 3)"),
        ("2025-03-01", dt.date(2024, 12, 1), [], True, "scheduled (3 months since 2024-12)"),
        ("2025-01-01", dt.date(2024, 12, 1), ["model_2"], True, "retrain decided 2024-12 (model_2)"),
    ],
)
def test_training_schedule(month, last, requested, train, reason):
    decision = decide_training(month, CycleSettings(), True, "", last, requested)
    assert (decision.train, decision.reason) == (train, reason)


def test_no_training_without_history_or_when_disabled():
    assert decide_training(
        "2024-01-01", CycleSettings(), False, "history 5/17 window months", None
    ).reason == ("history 5/17 window months")
    off = CycleSettings.from_params({"training": {"enabled": False}})
    assert not decide_training("2024-12-01", off, True, "", None).train
    only_on_action = CycleSettings.from_params({"training": {"retrain_every_months": None}})
    assert not decide_training("2026-01-01", only_on_action, True, "", dt.date(2024, 12, 1)).train


def test_bad_cycle_parameters_are_refused():
    with pytest.raises(ValueError, match="Unknown keys in cycle parameters"):
        CycleSettings.from_params({"retrain": 3})
    with pytest.raises(ValueError, match="retrain_every_months must be a whole number"):
        CycleSettings.from_params({"training": {"retrain_every_months": -1}})


def test_seed_backfill_months():
    available = month_range("2023-01-01", "2024-12-01")
    assert seed_months("2024-12-01", 8, available) == month_range("2024-04-01", "2024-11-01")
    assert seed_months("2024-12-01", 8, month_range("2024-07-01", "2024-12-01")) == month_range(
        "2024-07-01", "2024-11-01"
    )
    assert seed_months("2024-12-01", 0, available) == []


def test_summary_table_shows_what_ran_and_why_not():
    records = [
        {"month": "2024-11-01", "training": {"status": "skipped", "reason": "history 16/17 window months"},
         "inference": {"status": "ran", "scorecard": {"scorecard_version": "v1", "applications": 476},
                       "models": {"model_1": {"status": "skipped"}}}},
        {"month": "2024-12-01",
         "training": {"status": "ran", "models": {"model_1": {"status": "registered", "version": 1, "champion": True}}},
         "inference": {"status": "ran", "scorecard": {"scorecard_version": "v1", "applications": 530},
                       "models": {"model_1": {"status": "scored", "model_version": 1}},
                       "seed_backfill": {"status": "ran", "models": {"model_1": {"start_month": "2024-04-01",
                                                                                "end_month": "2024-11-01"}}}},
         "monitoring": {"status": "ran", "models": {"model_1": {"model_version": 1, "roc_auc": 0.758,
                                                                "psi_score": 0.064}}},
         "actions": {"status": "ran", "decisions": {"model_1": "active_monitoring"}}},
    ]  # fmt: skip
    table = format_summary(records, ["model_1"]).splitlines()
    assert table[0].split() == ["month", "training", "scoring", "scorecard", "backtest", "model_1"]
    assert (
        "- history 16/17 window months" in table[2] and "v1 476 apps" in table[2] and "no model" in table[2]
    )
    assert "T v1*" in table[3] and "seed 24-04..24-11" in table[3]
    assert "v1 AUC .758 PSI .06 active_monitoring" in table[3]


def test_retrain_decided_reads_the_month_of_the_action_decisions():
    import pandas as pd

    from kycc.cycle.schedule import retrain_decided

    decisions = pd.DataFrame(
        {
            "snapshot_date": pd.to_datetime(["2025-01-01", "2025-02-01"]),
            "decision": ["retrain", "monitor"],
        }
    )
    assert retrain_decided(decisions, "2025-01-01")
    assert not retrain_decided(decisions, "2025-02-01")
    assert not retrain_decided(decisions, "2025-03-01")  # no decision that month
    assert not retrain_decided(decisions.iloc[0:0], "2025-01-01")
