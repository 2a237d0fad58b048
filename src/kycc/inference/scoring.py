"""Scoring a month: the scorecard decides (score, band), the champion models advise (probability of default).

Both read the same rows, the gold feature store's applications of the month (loans at MOB 0, every feature as
known at the application date). The model side applies training's fitted bundle — preprocessing + estimator
+ threshold, loaded from the registry — and nothing else: no transformation is re-implemented here.

Batch-lag rule (:func:`kycc.temporal.check_batch_lag`): a month inside a model's train or validation window is
never scored by it; the error names the model, its windows and the month.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kycc.registry.read import ModelCard
from kycc.scorecard.decision import DECISION_OUTPUT_COLUMNS
from kycc.temporal import (
    add_months,
    batch_id,
    check_batch_lag,
    month_range,
    month_starts,
    parse_month,
    to_month,
)

logger = logging.getLogger(__name__)

__all__ = [
    "DECISION_COLUMNS",
    "PREDICTION_COLUMNS",
    "InferenceError",
    "batch_id",
    "empty_predictions",
    "resolve_months",
    "score_scorecard",
    "score_with_model",
]

ID_COLUMNS = ["loan_id", "customer_id", "application_date"]
#: Every decision row: the score and band, the decision and the rule or cut-off that made it, the reasons
#: (codes, JSON with texts), points to the next band / to approval, the single-feature changes reaching approval
#: (``kycc.scorecard.decision``).
DECISION_COLUMNS = [
    "batch_id",
    "snapshot_date",
    *ID_COLUMNS,
    "scorecard_version",
    "score",
    "band",
    *DECISION_OUTPUT_COLUMNS,
]
PREDICTION_COLUMNS = [
    "batch_id",
    "snapshot_date",
    *ID_COLUMNS,
    "model",
    "registered_model_name",
    "model_version",
    "model_training_date",
    "probability",
    "prediction",
    "threshold",
    "scorecard_version",
    "score",
    "band",
]


class InferenceError(ValueError):
    """The month cannot be scored (no active scorecard, bad month range, missing feature columns…)."""


def resolve_months(
    start: Any, end: Any, available: Iterable[Any], what: str, option: str
) -> list[pd.Timestamp]:
    """The months to process: ``start..end`` (both included), or the latest available month when both are null.

    Args:
        start, end: ``<option>.start_month`` / ``end_month`` (ISO dates or None).
        available: Months the input holds (for the default).
        what: What is processed, for messages (``scoring``).
        option: The parameter group, for messages (``inference``).
    """
    if start in (None, "") and end in (None, ""):
        months = sorted({to_month(m) for m in available})
        if not months:
            return []
        logger.info(
            "%s: %s.start_month/end_month not set: using the latest month, %s", what, option, months[-1]
        )
        return [pd.Timestamp(months[-1])]
    try:
        first = parse_month(start, f"{option}.start_month") or parse_month(end, f"{option}.end_month")
        last = parse_month(end, f"{option}.end_month") or first
    except (TypeError, ValueError) as err:
        raise InferenceError(str(err)) from err
    if last < first:
        raise InferenceError(f"{option}.end_month ({last}) is before {option}.start_month ({first})")
    return [pd.Timestamp(m) for m in month_range(first, last)]


def empty_predictions() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in PREDICTION_COLUMNS})


def score_scorecard(applications: pd.DataFrame, scorecard: Mapping[str, Any]) -> pd.DataFrame:
    """The decision for every application: the active scorecard version's score, band, decision (policy of the
    version) and reasons — the one implementation batch inference and the API call.

    Args:
        applications: Gold feature rows (``loan_id``, ``customer_id``, ``application_date`` + features).
        scorecard: The active version's record (``version``, ``definition``, ``calibration``; with
            ``calibrations_by_month`` — set by ``calibrate_active_scorecard`` — each month's rows get the PD of
            the calibration in force then, and ``pd_calibration`` saying which).
    """
    from kycc.scorecard import ScorecardDefinition, score_applications
    from kycc.scorecard.decision import decide_applications

    definition = ScorecardDefinition.from_dict(scorecard["definition"], version=scorecard["version"])
    if applications.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in DECISION_COLUMNS})
    by_month = scorecard.get("calibrations_by_month")  # the calibration in force per month (decided now)
    calibration = None if by_month is not None else scorecard.get("calibration")
    applications = applications.reset_index(drop=True)
    scores = score_applications(
        applications, definition, calibration, id_columns=ID_COLUMNS, with_points=True
    )
    decided = decide_applications(applications, scores, definition)
    points = ["weighted_points", *(f"points_{f}" for f in definition.feature_names)]
    out = pd.concat([scores.drop(columns=points), decided], axis=1)
    out["snapshot_date"] = month_starts(out["application_date"]).to_numpy()
    out["batch_id"] = [batch_id(m) for m in out["snapshot_date"]]
    if by_month is not None:
        from kycc.scorecard.calibration import apply_calibrations

        out = apply_calibrations(out, by_month)
    extra = [c for c in out.columns if c not in DECISION_COLUMNS]  # e.g. pd of a calibrated scorecard
    return out[[*DECISION_COLUMNS, *extra]].reset_index(drop=True)


def score_with_model(
    card: ModelCard,
    applications: pd.DataFrame,
    decisions: pd.DataFrame,
    months: Sequence[pd.Timestamp],
) -> pd.DataFrame:
    """Probability of default of every application of ``months`` with one registered model version.

    Args:
        card: The model version (its bundle, windows and threshold).
        applications: Gold feature rows of the months.
        decisions: The scorecard decisions of the same applications (:func:`score_scorecard`).
        months: The months requested (each checked against the batch-lag rule).

    Raises:
        BatchLagViolation: a month is in the model's train or validation window.
    """
    for month in months:
        check_batch_lag(card.windows, month, card.label)
    if applications.empty:
        return empty_predictions()
    proba = np.asarray(card.bundle.predict_proba(applications)[:, 1], dtype="float64")
    out = applications[ID_COLUMNS].copy()
    out["snapshot_date"] = month_starts(out["application_date"]).to_numpy()
    out["batch_id"] = [batch_id(m) for m in out["snapshot_date"]]
    out["model"] = card.model
    out["registered_model_name"] = card.registered_model_name
    out["model_version"] = np.int64(card.version)
    out["model_training_date"] = pd.Timestamp(card.training_date)
    out["probability"] = proba
    out["threshold"] = card.threshold
    out["prediction"] = (proba >= card.threshold).astype("int64")
    merged = out.merge(
        decisions[["loan_id", "scorecard_version", "score", "band"]], on="loan_id", how="left", validate="1:1"
    )
    if merged["scorecard_version"].isna().any():
        raise InferenceError(
            f"{int(merged['scorecard_version'].isna().sum())} application(s) have no scorecard decision"
        )
    return merged[PREDICTION_COLUMNS].reset_index(drop=True)


def seed_backfill_months(first_training: Any, n_months: int) -> list[pd.Timestamp]:
    """The ``n_months`` months before a model's first training date (the seed backfill)."""
    t = to_month(first_training)
    return [pd.Timestamp(add_months(t, -i)) for i in range(n_months, 0, -1)]
