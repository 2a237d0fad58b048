"""Nodes of the inference pipeline (thin: the logic lives in ``kycc.inference``).

``select_applications`` → ``decide_with_scorecard`` (every application gets the active scorecard's score and
band: the decision) → per model ``predict_with_champion`` (the champion's probability of default: the advice,
under the batch-lag rule) → ``summarise_inference``.
"""

from __future__ import annotations

import logging
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from kycc.inference.registry import RegisteredModel
from kycc.inference.scoring import (
    InferenceError,
    empty_predictions,
    resolve_months,
    score_scorecard,
    score_with_model,
)
from kycc.temporal import add_months, to_month
from kycc.temporal.windows import format_months

logger = logging.getLogger(__name__)

OPTION_KEYS = {"start_month", "end_month", "models"}
#: Feature-store lineage columns that are not model inputs (as in the model_input pipeline).
LINEAGE_SUFFIX = "_as_of"


def _options(options: dict[str, Any] | None) -> dict[str, Any]:
    options = dict(options or {})
    unknown = set(options) - OPTION_KEYS
    if unknown:
        raise InferenceError(
            f"Unknown keys in inference parameters: {sorted(unknown)}; allowed: {sorted(OPTION_KEYS)}"
        )
    return options


def select_applications(features: ir.Table, options: dict[str, Any]) -> tuple[pd.DataFrame, list[str]]:
    """The gold feature rows (applications at MOB 0) of the months to score.

    Args:
        features: ``feat_gold_features``.
        options: ``inference`` parameters (``start_month``, ``end_month``; both null = the latest month).

    Returns:
        The applications (pandas) and the months scored (ISO dates).
    """
    opts = _options(options)
    start, end = opts.get("start_month"), opts.get("end_month")
    available: list[Any] = []
    if start in (None, "") and end in (None, ""):
        latest = features["application_date"].max().execute()
        available = [] if latest is None or pd.isna(latest) else [latest]
    months = resolve_months(start, end, available, "inference", "inference")
    if not months:
        logger.warning("inference: the feature store holds no application: nothing to score")
        return pd.DataFrame(columns=["loan_id", "customer_id", "application_date"]), []
    first, after = months[0], pd.Timestamp(add_months(months[-1], 1))
    date = features["application_date"]
    rows = features.filter((date >= first.to_pydatetime()) & (date < after.to_pydatetime())).to_pandas()
    rows = rows.drop(columns=[c for c in rows.columns if c.endswith(LINEAGE_SUFFIX)])
    rows["application_date"] = pd.to_datetime(rows["application_date"])
    rows = rows.sort_values(["application_date", "loan_id"], kind="stable").reset_index(drop=True)
    per_month = rows.groupby(rows["application_date"].dt.strftime("%Y-%m")).size()
    empty = [f"{m:%Y-%m}" for m in months if f"{m:%Y-%m}" not in per_month.index]
    if empty:
        logger.warning("inference: no applications in %s (nothing to score there)", ", ".join(empty))
    logger.info(
        "inference: %d applications to score in %s (%s)",
        len(rows),
        format_months([to_month(m) for m in months]),
        ", ".join(f"{m}: {n}" for m, n in per_month.items()) or "none",
    )
    return rows, [m.date().isoformat() for m in months]


def decide_with_scorecard(
    applications: pd.DataFrame, scorecard_versions: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Score and band of every application with the **active** scorecard version (the credit decision).

    Args:
        applications: Output of :func:`select_applications`.
        scorecard_versions: ``mdl_scorecard_versions`` (``{"active": name, "versions": {name: record}}``).

    Returns:
        The decisions twice (persisted ``out_scorecard_decisions`` and in memory for the models) and a summary.
    """
    active = (scorecard_versions or {}).get("active")
    if not active:
        raise InferenceError(
            "No active scorecard version in the scorecard store: the decision cannot be made. Set the store up "
            "with `kedro run --pipelines scorecard --nodes declare_config_versions` (the monthly cycle `kycc "
            "backfill` does it) or activate a version with `kycc scorecard activate`."
        )
    record = scorecard_versions["versions"][active]
    decisions = score_scorecard(applications, record)
    bands = decisions["band"].value_counts().sort_index().to_dict() if len(decisions) else {}
    logger.info(
        "inference: scorecard %s decided %d application(s); bands %s",
        active,
        len(decisions),
        ", ".join(f"{b}: {n}" for b, n in bands.items()) or "-",
    )
    summary = {"scorecard_version": active, "applications": len(decisions), "bands": bands}
    return decisions, decisions, summary


def predict_with_champion(  # noqa: PLR0917 - a Kedro node: inputs arrive positionally
    model: str,
    applications: pd.DataFrame,
    decisions: pd.DataFrame,
    registered: RegisteredModel,
    options: dict[str, Any],
    months: list[str],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Probability of default of every application with the model's champion (batch-lag rule enforced).

    A model without a champion (not trained yet, or never past its quality gates) is a logged skip; so is a
    model left out by ``inference.models``.

    Returns:
        The predictions (one row per application, model and scorecard versions on every row) and a summary.
    """
    opts = _options(options)
    selected = opts.get("models")
    if selected is not None and model not in selected:
        logger.info("inference: %s not in inference.models %s: not scored", model, selected)
        return empty_predictions(), {"model": model, "status": "skipped", "reason": "not in inference.models"}
    card = registered.champion
    if card is None:
        reason = f"no model yet: {registered.registered_model_name} has no @{registered.alias} version"
        logger.warning(
            "inference: %s skipped: %s (train it first: `kedro run --pipelines training`)", model, reason
        )
        return empty_predictions(), {"model": model, "status": "skipped", "reason": reason}
    if not months:
        return empty_predictions(), {"model": model, "status": "skipped", "reason": "no month to score"}
    predictions = score_with_model(card, applications, decisions, [pd.Timestamp(m) for m in months])
    logger.info(
        "inference: %s scored %d application(s) of %s with %s (threshold %.3f): mean PD %.3f, %d predicted defaults",
        model,
        len(predictions),
        format_months([to_month(m) for m in months]),
        card.label,
        card.threshold,
        float(predictions["probability"].mean()) if len(predictions) else float("nan"),
        int(predictions["prediction"].sum()) if len(predictions) else 0,
    )
    return predictions, {
        "model": model,
        "status": "scored",
        "registered_model_name": card.registered_model_name,
        "model_version": card.version,
        "model_training_date": card.training_date,
        "rows": len(predictions),
        "months": months,
    }


def summarise_inference(
    months: list[str], scorecard: dict[str, Any], *models: dict[str, Any]
) -> dict[str, Any]:
    """What the run scored, per model, in the log and ``rpt_inference_summary``."""
    lines = [f"Inference summary ({format_months([to_month(m) for m in months]) if months else 'no month'}):"]
    lines.append(f"  scorecard {scorecard['scorecard_version']}: {scorecard['applications']} decision(s)")
    for m in models:
        if m["status"] == "scored":
            lines.append(
                f"  {m['model']}: {m['rows']} prediction(s) by {m['registered_model_name']} v{m['model_version']} "
                f"(trained {m['model_training_date']})"
            )
        else:
            lines.append(f"  {m['model']}: skipped ({m['reason']})")
    logger.info("\n".join(lines))
    return {"months": months, "scorecard": scorecard, "models": list(models)}
