"""The monthly cycle's decisions, as pure functions of what is on disk before a month is processed.

Per month ``M``, in order (the seeds' DAG and its ShortCircuit operators):

1. label store, feature store, model input (the data pipelines);
2. **training** when the history covers the windows at ``T = M`` *and* it is scheduled: the first trainable
   month, then every ``retrain_every_months`` months, or the month after a ``retrain`` decision when
   ``actions.trigger_training`` is on;
3. **seed backfill** right after a model's first training: the ``seed_backfill_months`` months before ``M``
   (those the batch-lag rule allows), so that monitoring can start at once;
4. **inference** of ``M``: the scorecard decides every application; each champion scores them (a model
   without champion is a logged skip);
5. **monitoring** of ``M`` when some model has predictions for ``M - 6``;
6. **actions** for the monitored models; **reporting** once the months are done.

A ``recalibrate`` decision in ``M - 1`` (``actions.trigger_recalibration``) makes the cycle run the
``recalibration`` pipeline at ``M``, after training and before inference: the judged version, when it is still the
champion, gets a new version with its PD calibration refitted on the latest matured cohorts, and the scorecard's
score -> PD calibration is refreshed from ``M``; inference of ``M`` uses both.

Everything here is derived from durable state (the model input, the registry, the prediction tables, the
cycle's month records), so one catch-up run and the same months run one at a time take the same decisions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kycc.temporal import InsufficientHistoryError, add_months, check_history, to_month, windows_from_config

__all__ = [
    "CycleSettings",
    "TrainingDecision",
    "decide_training",
    "decision_in",
    "recalibrate_decided",
    "retrain_decided",
    "seed_months",
    "trainable",
]


@dataclass(frozen=True)
class CycleSettings:
    """``cycle`` parameters (``conf/base/parameters_cycle.yml``)."""

    training: bool = True
    retrain_every_months: int | None = 3
    seed_backfill_months: int = 8

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> CycleSettings:
        params = dict(params or {})
        training = dict(params.pop("training", None) or {})
        seed = params.pop("seed_backfill_months", 8)
        if params:
            raise ValueError(f"Unknown keys in cycle parameters: {sorted(params)}")
        unknown = set(training) - {"enabled", "retrain_every_months"}
        if unknown:
            raise ValueError(f"Unknown keys in cycle.training: {sorted(unknown)}")
        every = training.get("retrain_every_months", 3)
        if every is not None and (not isinstance(every, int) or isinstance(every, bool) or every < 0):
            raise ValueError(
                f"cycle.training.retrain_every_months must be a whole number >= 0 or null, got {every!r}"
            )
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"cycle.seed_backfill_months must be a whole number >= 0, got {seed!r}")
        return cls(bool(training.get("enabled", True)), every or None, seed)


@dataclass(frozen=True)
class TrainingDecision:
    train: bool
    reason: str


def trainable(
    month: Any, windows_params: Mapping[str, Any] | None, labelled_months: Iterable[Any]
) -> tuple[bool, str]:
    """Whether the labelled history known before ``month`` covers the training windows at ``T = month``.

    Returns:
        (True, the windows) or (False, a short reason such as ``history: 12/17 window months labelled``).
    """
    have = {to_month(m) for m in labelled_months}
    try:
        tw = windows_from_config(dict(windows_params or {}), to_month(month))
        check_history(tw, have)
    except InsufficientHistoryError:
        if not have:
            return False, "no labelled loans yet"
        needed = set(tw.needed_months)
        return False, f"history {len(needed & have)}/{len(needed)} window months"
    except ValueError as err:  # e.g. fixed windows whose OOT labels have not matured at this month
        return False, str(err).splitlines()[0]
    return True, f"history covers {tw.describe()}"


def decide_training(
    month: Any,
    settings: CycleSettings,
    can_train: bool,
    why_not: str,
    last_training: dt.date | None,
    retrain_requested: Iterable[str] = (),
) -> TrainingDecision:
    """Train at ``month``? (first trainable month, the schedule, or a retrain decision of the month before)."""
    m = to_month(month)
    if not settings.training:
        return TrainingDecision(False, "training disabled (cycle.training.enabled: false)")
    if not can_train:
        return TrainingDecision(False, why_not)
    requested = sorted(retrain_requested)
    if last_training is None:
        return TrainingDecision(True, "first month with enough history")
    if requested:
        return TrainingDecision(True, f"retrain decided {add_months(m, -1):%Y-%m} ({', '.join(requested)})")
    since = (m.year - last_training.year) * 12 + m.month - last_training.month
    every = settings.retrain_every_months
    if every and since >= every:
        return TrainingDecision(True, f"scheduled ({since} months since {last_training:%Y-%m})")
    schedule = f"every {every}" if every else "on retrain only"
    return TrainingDecision(False, f"not due (last {last_training:%Y-%m}, {schedule})")


def seed_months(training_month: Any, n_months: int, available: Iterable[Any]) -> list[dt.date]:
    """The ``n_months`` months before ``training_month`` that have applications (the seed backfill)."""
    have = {to_month(m) for m in available}
    t = to_month(training_month)
    return [m for m in (add_months(t, -i) for i in range(n_months, 0, -1)) if m in have]


def decision_in(decisions: Any, month: Any) -> str | None:
    """A model's action decision (``<model>.out_action_decisions``) in ``month``, or None."""
    import pandas as pd

    if decisions is None or decisions.empty:
        return None
    row = decisions.loc[pd.to_datetime(decisions["snapshot_date"]) == pd.Timestamp(month)]
    return str(row["decision"].iloc[0]) if len(row) else None


def retrain_decided(decisions: Any, month: Any) -> bool:
    """Whether a model's action decisions (``<model>.out_action_decisions``) say ``retrain`` in ``month``.

    Read by ``kycc backfill`` (the orchestrators run it for a month, so the gate exists once).
    """
    return decision_in(decisions, month) == "retrain"


def recalibrate_decided(decisions: Any, month: Any) -> bool:
    """Whether a model's action decisions say ``recalibrate`` in ``month`` (the cycle recalibrates at month + 1)."""
    return decision_in(decisions, month) == "recalibrate"
