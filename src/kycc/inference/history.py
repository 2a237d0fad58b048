"""Decisions are history: a month once decided (and scored by a model) keeps the decisions made at the time.

A credit decision is a record, not a cache. Running inference again for a month already in
``out_scorecard_decisions`` (or in a model's ``out_predictions``) keeps what is recorded — a logged skip that
names the month and how to score it again — so re-running a month, a backfill or an orchestrator's retry
never rewrites history, whatever scorecard version is active or model is champion now.

Scoring a decided month again is explicit: ``inference.rescore: true`` with a written
``inference.rescore_reason``. It writes a **new decision set** (``decision_set`` 2, 3, … per month, with
``rescored_at`` and ``rescore_reason``) to the append-only stores ``out_scorecard_rescores`` and
``<model>.out_prediction_rescores``; the original decisions (set 1) stay where they are and remain the current
view that monitoring, reporting and the API read. :func:`decision_history` puts every set side by side.

:func:`plan_inference` decides, before anything is written, which months each output gets (new, kept,
rescored) and checks the batch-lag rule for every model and month that will be scored: a refused run writes
nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from kycc.temporal import BatchLagViolation, check_batch_lag, month_label

logger = logging.getLogger(__name__)

__all__ = [
    "RESCORE_COLUMNS",
    "MonthRecord",
    "decision_history",
    "plan_inference",
]

#: Columns a decision set adds to the decision / prediction columns.
RESCORE_COLUMNS = ["decision_set", "rescored_at", "rescore_reason"]
ORIGINAL_SET = 1


class MonthRecord:
    """What a decision or prediction table already holds.

    Args:
        months: Months recorded in the table (``YYYY-MM``).
        frame: ``months -> rows`` of the table for those months (pandas).
        sets: Month -> decision set numbers recorded in its rescore store (set 1, the original, not listed).
    """

    def __init__(
        self,
        months: Iterable[str] = (),
        frame: Callable[[list[str]], pd.DataFrame] | None = None,
        sets: Mapping[str, Sequence[int]] | None = None,
    ) -> None:
        self._months = sorted(set(months))
        self._frame = frame or (lambda months: pd.DataFrame())
        self._sets = {m: sorted(v) for m, v in (sets or {}).items()}

    @classmethod
    def in_memory(
        cls,
        table: pd.DataFrame | None = None,
        rescores: pd.DataFrame | None = None,
        date_column: str = "snapshot_date",
    ) -> MonthRecord:
        """A record of frames already in memory (tests, notebooks)."""
        table = pd.DataFrame() if table is None else table
        keys = (
            pd.to_datetime(table[date_column]).dt.strftime("%Y-%m")
            if len(table)
            else pd.Series(dtype="object")
        )

        def frame(months: list[str]) -> pd.DataFrame:
            return table.loc[keys.isin(months)].reset_index(drop=True) if len(table) else pd.DataFrame()

        sets: dict[str, list[int]] = {}
        if rescores is not None and len(rescores):
            rkeys = pd.to_datetime(rescores[date_column]).dt.strftime("%Y-%m")
            for month, part in rescores.groupby(rkeys):
                sets[month] = sorted({int(x) for x in part["decision_set"]})
        return cls(set(keys), frame, sets)

    def months(self) -> list[str]:
        return list(self._months)

    def frame(self, months: Iterable[Any]) -> pd.DataFrame:
        """The recorded rows of ``months`` (ISO dates or ``YYYY-MM``)."""
        return self._frame(sorted({month_label(m) if len(str(m)) > 7 else str(m) for m in months}))

    def next_decision_set(self, month: Any) -> int:
        """The number a new decision set of ``month`` gets (2 for the first rescore; 1 is the original)."""
        return max([ORIGINAL_SET, *self._sets.get(month_label(month), [])]) + 1


def plan_inference(  # noqa: PLR0913, PLR0917 - the plan depends on each of these
    months: Sequence[str],
    decided: MonthRecord,
    predicted: Mapping[str, MonthRecord],
    champions: Mapping[str, Any],
    selected: Sequence[str] | None,
    rescore: bool = False,
    reason: str | None = None,
    now: pd.Timestamp | None = None,
) -> dict[str, Any]:
    """What a run writes per month and model, before anything is written; refuses batch-lag violations.

    Args:
        months: Months requested (ISO dates).
        decided: Record of ``out_scorecard_decisions`` (and its decision sets).
        predicted: Model -> record of its ``out_predictions`` (and decision sets).
        champions: Model -> the champion card (``ModelCard``) or None (no model yet).
        selected: ``inference.models`` (None: every model).
        rescore: ``inference.rescore``: decided months get a new decision set.
        reason: ``inference.rescore_reason``.
        now: Time of the decision set (default: now, UTC).

    Returns:
        ``{"months", "rescore", "rescore_reason", "rescored_at", "decisions": {"new", "kept", "rescored"},
        "decision_sets": {month: n}, "models": {model: {"status", "reason"?, "version"?, "new", "kept",
        "rescored"}}}`` (months as ISO dates).

    Raises:
        BatchLagViolation: some model would score a month in its train or validation window (every violation
            is named).
    """
    months = [pd.Timestamp(m).date().isoformat() for m in months]
    done = set(decided.months())
    decided_before = [m for m in months if month_label(m) in done]
    plan: dict[str, Any] = {
        "months": months,
        "rescore": bool(rescore),
        "rescore_reason": reason if rescore else None,
        "rescored_at": None,
        "decisions": {
            "new": [m for m in months if month_label(m) not in done],
            "kept": [] if rescore else decided_before,
            "rescored": decided_before if rescore else [],
        },
        "decision_sets": {},
        "models": {},
    }
    rescored = plan["decisions"]["rescored"]
    if rescored:
        stamp = pd.Timestamp.now(tz="UTC").tz_localize(None) if now is None else pd.Timestamp(now)
        plan["rescored_at"] = stamp.isoformat()
        plan["decision_sets"] = {m: decided.next_decision_set(m) for m in rescored}
    if plan["decisions"]["kept"]:
        logger.warning(
            "inference: %s already decided: the recorded decisions are kept (decisions are history). To write "
            "a new decision set: --params inference.rescore=true,inference.rescore_reason=<why>",
            ", ".join(month_label(m) for m in plan["decisions"]["kept"]),
        )
    violations = []
    for model, card in champions.items():
        if selected is not None and model not in selected:
            plan["models"][model] = {"status": "skipped", "reason": "not in inference.models"}
            continue
        if card is None:
            plan["models"][model] = {"status": "skipped", "reason": "no champion"}
            continue
        have = set(predicted[model].months()) if model in predicted else set()
        entry = {
            "status": "score",
            "version": int(card.version),
            "new": [m for m in months if m not in rescored and month_label(m) not in have],
            "kept": [m for m in months if m not in rescored and month_label(m) in have],
            "rescored": list(rescored),
        }
        if entry["kept"]:
            logger.warning(
                "inference: %s already scored %s: the recorded predictions are kept",
                model,
                ", ".join(month_label(m) for m in entry["kept"]),
            )
        for month in entry["new"] + entry["rescored"]:
            try:
                check_batch_lag(card.windows, month, card.label)
            except BatchLagViolation as err:
                violations.append(str(err))
        plan["models"][model] = entry
    if violations:
        more = f" ({len(violations)} violations; nothing was written)" if len(violations) > 1 else ""
        raise BatchLagViolation("\n".join(violations) + more)
    return plan


def decision_history(original: pd.DataFrame, rescores: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every decision set side by side: the original (``decision_set`` 1) and each rescore (2, 3, …).

    Args:
        original: ``out_scorecard_decisions`` (or a model's ``out_predictions``): the decisions made at the time.
        rescores: ``out_scorecard_rescores`` (or ``<model>.out_prediction_rescores``).
    """
    first = original.copy()
    first["decision_set"] = ORIGINAL_SET
    first["rescored_at"] = pd.NaT
    first["rescore_reason"] = None
    if rescores is None or rescores.empty:
        return first.reset_index(drop=True)
    frames = [first, rescores]
    out = pd.concat(frames, ignore_index=True)
    out["decision_set"] = out["decision_set"].astype("int64")
    keys = [k for k in ("snapshot_date", "decision_set", "loan_id") if k in out.columns]
    return out.sort_values(keys, kind="stable").reset_index(drop=True)
