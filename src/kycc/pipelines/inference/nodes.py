"""Nodes of the inference pipeline (thin: the logic lives in ``kycc.inference``).

``select_applications`` → ``plan_inference`` (what is new, kept — decisions are history — or rescored, and the
batch-lag rule for every model and month to score: a refusal stops the run before anything is written) →
``decide_with_scorecard`` (every new application gets the active scorecard's score and band: the decision) →
per model ``predict_with_champion`` (the champion's probability of default: the advice) →
``summarise_inference``. Beside the decision, ``shadow_score_drafts`` scores every draft scorecard version on
the same new applications (``out_scorecard_shadow``, never deciding; ``kycc.scorecard.shadow``).
"""

from __future__ import annotations

import logging
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from kycc.inference.history import MonthRecord
from kycc.inference.history import plan_inference as make_plan
from kycc.inference.scoring import (
    DECISION_COLUMNS,
    InferenceError,
    empty_predictions,
    resolve_months,
    score_scorecard,
    score_with_model,
)
from kycc.params.sections import load_section
from kycc.registry.read import RegisteredModel
from kycc.temporal import add_months, format_months, month_keys, to_month

logger = logging.getLogger(__name__)

#: Feature-store lineage columns that are not model inputs (as in the model_input pipeline).
LINEAGE_SUFFIX = "_as_of"


def _options(options: dict[str, Any] | None) -> dict[str, Any]:
    """``inference`` parameters validated by :class:`kycc.params.inference.InferenceParams` (missing keys from
    conf/base; a rescore needs its written reason)."""
    try:
        opts = load_section("inference", options).model_dump()
    except ValueError as err:
        raise InferenceError(str(err)) from err
    if opts["rescore_reason"] and not opts["rescore"]:
        logger.warning("inference: inference.rescore_reason is set but inference.rescore is false: ignored")
    return opts


def _rows_of(frame: pd.DataFrame, months: list[str]) -> pd.DataFrame:
    if frame.empty or not months:
        return frame.iloc[0:0]
    return frame.loc[month_keys(frame).isin(months)].reset_index(drop=True)


def _as_set(frame: pd.DataFrame, plan: dict[str, Any]) -> pd.DataFrame:
    """``frame`` (rows of rescored months) tagged with the plan's decision set, time and reason."""
    if frame.empty:
        return frame
    out = frame.copy()
    out["decision_set"] = month_keys(out).map(plan["decision_sets"]).astype("int64")
    out["rescored_at"] = pd.Timestamp(plan["rescored_at"])
    out["rescore_reason"] = plan["rescore_reason"]
    return out


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


def plan_inference(
    models: list[str], months: list[str], decided: MonthRecord, options: dict[str, Any], *inputs: Any
) -> dict[str, Any]:
    """What this run writes, per month and model (new, kept, rescored), checked before anything is written.

    Args:
        models: The configured models (bound by the pipeline).
        months: Output of :func:`select_applications`.
        decided: ``inf_decision_record`` (what ``out_scorecard_decisions`` already holds).
        options: ``inference`` parameters.
        inputs: Each model's ``mdl_registered_model``, then each model's ``inf_prediction_record``.

    Raises:
        BatchLagViolation: a model would score a month in its train or validation window (nothing written).
    """
    opts = _options(options)
    registered: list[RegisteredModel] = list(inputs[: len(models)])
    records: list[MonthRecord] = list(inputs[len(models) :])
    selected = opts.get("models")
    champions = {}
    for model, reg in zip(models, registered, strict=True):
        champions[model] = None if selected is not None and model not in selected else reg.champion
    plan = make_plan(
        months,
        decided,
        dict(zip(models, records, strict=True)),
        champions,
        selected,
        rescore=opts["rescore"],
        reason=opts.get("rescore_reason"),
    )
    for model, reg in zip(models, registered, strict=True):
        entry = plan["models"][model]
        if entry.get("reason") == "no champion":
            entry["reason"] = f"no model yet: {reg.registered_model_name} has no @{reg.alias} version"
    return plan


def decide_with_scorecard(
    applications: pd.DataFrame,
    scorecard_versions: dict[str, Any],
    plan: dict[str, Any],
    decided: MonthRecord,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any], list[dict[str, Any]]]:
    """Score and band of every application with the **active** scorecard version (the credit decision).

    Months already decided keep their recorded decisions (unless the plan rescores them: a new decision set).

    Args:
        applications: Output of :func:`select_applications`.
        scorecard_versions: ``mdl_scorecard_versions`` (``{"active": name, "versions": {name: record}}``).
        plan: Output of :func:`plan_inference`.
        decided: ``inf_decision_record`` (the recorded decisions of the kept months).

    Returns:
        The new decisions (``out_scorecard_decisions``), the new decision sets (``out_scorecard_rescores``),
        the decisions the models' predictions carry (new, rescored and recorded), a summary, and the decision-log
        rows of the new decisions and decision sets (``mdl_scorecard_decision_log``).
    """
    new, kept, rescored = (plan["decisions"][k] for k in ("new", "kept", "rescored"))
    active = (scorecard_versions or {}).get("active")
    if not active and (new or rescored):
        raise InferenceError(
            "No active scorecard version in the scorecard store: the decision cannot be made. The pipeline's "
            "`declare_config_versions` activates scorecard.initial_version in a new store; this store has versions "
            "but none active: activate one with `kycc scorecard activate`."
        )
    to_decide = applications
    if len(applications):
        to_decide = applications.loc[
            pd.to_datetime(applications["application_date"]).dt.strftime("%Y-%m-01").isin(new + rescored)
        ].reset_index(drop=True)
    if new or rescored:
        decisions = score_scorecard(to_decide, scorecard_versions["versions"][active])
    else:
        decisions = pd.DataFrame({c: pd.Series(dtype="object") for c in DECISION_COLUMNS})
    fresh, sets = _rows_of(decisions, new), _as_set(_rows_of(decisions, rescored), plan)
    recorded = decided.frame(kept) if kept else pd.DataFrame()
    if kept and len(applications):
        in_kept = pd.to_datetime(applications["application_date"]).dt.strftime("%Y-%m-01").isin(kept)
        late = applications.loc[in_kept & ~applications["loan_id"].isin(recorded.get("loan_id", []))]
        if len(late):
            logger.warning(
                "inference: %d application(s) of %s are not in the recorded decisions (they arrived after the "
                "month was decided): not decided now; inference.rescore decides them in a new decision set",
                len(late),
                ", ".join(m[:7] for m in kept),
            )
    parts = [f for f in (fresh, _rows_of(decisions, rescored), recorded) if len(f)]
    # a month with no applications decides nothing: an empty table, not a failed run
    used = pd.concat(parts, ignore_index=True) if parts else decisions.iloc[0:0]
    log: list[dict[str, Any]] = []
    if new or rescored:
        from kycc.scorecard.decision_log import log_entries

        models = {
            m: e.get("version") for m, e in (plan.get("models") or {}).items() if e.get("status") == "score"
        }
        log = log_entries(
            pd.concat([f for f in (fresh, sets) if len(f)], ignore_index=True)
            if len(fresh) or len(sets)
            else fresh,
            to_decide,
            scorecard_versions["versions"][active],
            channel="batch",
            model_versions=models,
        )
    bands = fresh["band"].value_counts().sort_index().to_dict() if len(fresh) else {}
    outcomes = fresh["decision"].value_counts().to_dict() if len(fresh) else {}
    logger.info(
        "inference: scorecard %s decided %d application(s); bands %s; decisions %s",
        active,
        len(fresh),
        ", ".join(f"{b}: {n}" for b, n in bands.items()) or "-",
        ", ".join(f"{d}: {n}" for d, n in sorted(outcomes.items())) or "-",
    )
    if kept:
        logger.info("inference: %d recorded decision(s) of %s kept", len(recorded),
                    ", ".join(m[:7] for m in kept))  # fmt: skip
    if rescored:
        logger.warning(
            "inference: new decision set for %s with scorecard %s (%d decision(s), reason: %s); the original "
            "decisions are kept in out_scorecard_decisions",
            ", ".join(f"{m[:7]} (set {plan['decision_sets'][m]})" for m in rescored),
            active,
            len(sets),
            plan["rescore_reason"],
        )
    summary = {"scorecard_version": active, "applications": len(fresh), "bands": bands, "decisions": outcomes}
    if kept:
        summary["kept"] = {"months": kept, "decisions": len(recorded)}
    if rescored:
        summary["rescored"] = {
            "months": rescored,
            "decisions": len(sets),
            "decision_sets": plan["decision_sets"],
            "reason": plan["rescore_reason"],
        }
    return fresh, sets, used, summary, log


def predict_with_champion(
    model: str,
    applications: pd.DataFrame,
    decisions: pd.DataFrame,
    registered: RegisteredModel,
    plan: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Probability of default of every application with the model's champion (batch-lag rule enforced).

    A model without a champion (not trained yet, or never past its quality gates) is a logged skip; so is a
    model left out by ``inference.models``; months it already scored keep their recorded predictions.

    Returns:
        The new predictions (``out_predictions``), the new decision sets (``out_prediction_rescores``) — one
        row per application, model and scorecard versions on every row — and a summary.
    """
    entry = plan["models"][model]
    if entry["status"] != "score":
        if entry["reason"] == "not in inference.models":
            logger.info("inference: %s not in inference.models: not scored", model)
        else:
            logger.warning("inference: %s skipped: %s (train it first: `kedro run --pipelines training`)",
                           model, entry["reason"])  # fmt: skip
        return empty_predictions(), empty_predictions(), {"model": model, **entry}
    new, kept, rescored = entry["new"], entry["kept"], entry["rescored"]
    if not new and not rescored:
        reason = "no month to score" if not kept else f"already scored {', '.join(m[:7] for m in kept)}: kept"
        return (
            empty_predictions(),
            empty_predictions(),
            {"model": model, "status": "kept" if kept else "skipped", "reason": reason, "kept_months": kept},
        )
    card = registered.version(entry["version"])  # the version the plan checked
    months = sorted(new + rescored)
    rows = applications
    if len(rows):
        rows = rows.loc[pd.to_datetime(rows["application_date"]).dt.strftime("%Y-%m-01").isin(months)]
        rows = rows.reset_index(drop=True)
    # the decisions carried: a rescored month's new decision set, a new month's decision (made now or on record);
    # an application without decision (arrived after its month was decided) gets no prediction either
    if len(rows):
        rows = rows.loc[rows["loan_id"].isin(decisions["loan_id"])].reset_index(drop=True)
    predictions = score_with_model(card, rows, decisions, [pd.Timestamp(m) for m in months])
    fresh, sets = _rows_of(predictions, new), _as_set(_rows_of(predictions, rescored), plan)
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
    summary = {
        "model": model,
        "status": "scored",
        "registered_model_name": card.registered_model_name,
        "model_version": card.version,
        "model_training_date": card.training_date,
        "rows": len(fresh),
        "months": new,
    }
    if kept:
        summary["kept_months"] = kept
    if rescored:
        summary["rescored"] = {"months": rescored, "rows": len(sets), "decision_sets": plan["decision_sets"]}
    return fresh, sets, summary


def summarise_inference(
    months: list[str], scorecard: dict[str, Any], *models: dict[str, Any]
) -> dict[str, Any]:
    """What the run scored, per model, in the log and ``rpt_inference_summary``."""
    lines = [f"Inference summary ({format_months([to_month(m) for m in months]) if months else 'no month'}):"]
    lines.append(f"  scorecard {scorecard['scorecard_version']}: {scorecard['applications']} decision(s)")
    if "kept" in scorecard:
        kept = scorecard["kept"]
        lines.append(f"  kept (already decided): {', '.join(m[:7] for m in kept['months'])}, "
                     f"{kept['decisions']} recorded decision(s)")  # fmt: skip
    if "rescored" in scorecard:
        r = scorecard["rescored"]
        sets = ", ".join(f"{m[:7]} set {n}" for m, n in r["decision_sets"].items())
        lines.append(f"  new decision sets: {sets} ({r['decisions']} decision(s); reason: {r['reason']})")
    for m in models:
        if m["status"] == "scored":
            lines.append(
                f"  {m['model']}: {m['rows']} prediction(s) by {m['registered_model_name']} v{m['model_version']} "
                f"(trained {m['model_training_date']})"
                + (f"; kept {', '.join(k[:7] for k in m['kept_months'])}" if m.get("kept_months") else "")
                + (f"; rescored {m['rescored']['rows']}" if m.get("rescored") else "")
            )
        elif m["status"] == "kept":
            lines.append(f"  {m['model']}: {m['reason']}")
        else:
            lines.append(f"  {m['model']}: skipped ({m['reason']})")
    logger.info("\n".join(lines))
    return {"months": months, "scorecard": scorecard, "models": list(models)}


def shadow_score_drafts(  # noqa: PLR0913, PLR0917 - a Kedro node: inputs arrive positionally
    applications: pd.DataFrame,
    scorecard_versions: dict[str, Any],
    plan: dict[str, Any],
    decisions: pd.DataFrame,
    gold_features: Any,
    gold_labels: Any,
    calibration: dict[str, Any],
) -> pd.DataFrame:
    """Every draft scorecard version's score, band, decision and PD on the applications decided now (shadow).

    Only the months the plan decides now (``new``): a kept month keeps what it has, a rescored month is not
    shadowed, and a draft created later is never scored on a month decided before it existed. The draft's PD is
    its calibration in force in each month, fitted the way the active version's is (on the labels matured before
    the month; :func:`kycc.scorecard.calibration.calibrations_in_force`) but **not stored**: a shadow writes nothing to
    the scorecard store. The rows carry the deciding version's score, band and decision for the same loan.

    Returns:
        ``out_scorecard_shadow`` rows (:data:`kycc.scorecard.shadow.SHADOW_COLUMNS`; empty when there is no draft).
    """
    from kycc.pipelines.scorecard.nodes import _calibration_options
    from kycc.scorecard import ScorecardDefinition
    from kycc.scorecard.calibration import calibrations_in_force, labelled_history
    from kycc.scorecard.shadow import SHADOW_COLUMNS, draft_versions

    empty = pd.DataFrame({c: pd.Series(dtype="object") for c in SHADOW_COLUMNS})
    new = list(plan["decisions"]["new"])
    drafts = draft_versions(scorecard_versions)
    active = (scorecard_versions or {}).get("active")
    if not new or not drafts or not len(applications):
        if drafts and new:
            logger.info("inference: no application to score in shadow")
        return empty
    rows = applications.loc[
        pd.to_datetime(applications["application_date"]).dt.strftime("%Y-%m-01").isin(new)
    ].reset_index(drop=True)
    deciding = decisions.loc[decisions["loan_id"].isin(rows["loan_id"])]
    deciding = deciding[["loan_id", "scorecard_version", "score", "band", "decision"]].rename(
        columns={
            "scorecard_version": "deciding_version",
            "score": "deciding_score",
            "band": "deciding_band",
            "decision": "deciding_decision",
        }
    )
    rows = rows.loc[rows["loan_id"].isin(deciding["loan_id"])].reset_index(drop=True)
    if rows.empty:
        return empty
    options = _calibration_options(calibration)
    definitions = {
        name: ScorecardDefinition.from_dict(scorecard_versions["versions"][name]["definition"], version=name)
        for name in drafts
    }
    columns = sorted({f for d in definitions.values() for f in d.feature_names})
    history = labelled_history(gold_features, gold_labels, columns)
    parts = []
    for name, definition in definitions.items():
        record = scorecard_versions["versions"][name]
        by_month, _ = calibrations_in_force(
            definition,
            history,
            new,
            (scorecard_versions.get("calibrations") or {}).get(name, []),
            refresh_every_months=options["refresh_every_months"],
            window_months=options["months"],
            min_samples=options["min_samples"],
            min_defaults=options["min_defaults"],
            prior=options.get("prior"),
        )
        scored = score_scorecard(rows, {**record, "calibrations_by_month": by_month})
        scored = scored.merge(deciding, on="loan_id", how="left", validate="one_to_one")
        scored["role"] = "shadow"
        for column in ("pd", "pd_calibration"):
            if column not in scored.columns:
                scored[column] = None
        parts.append(scored[SHADOW_COLUMNS])
        agree = float((scored["decision"] == scored["deciding_decision"]).mean())
        logger.info(
            "inference: draft scorecard %s scored %d application(s) in shadow (never deciding; %s decides): "
            "bands %s; same decision as %s for %.1f%%",
            name, len(scored), active,
            ", ".join(f"{b}: {n}" for b, n in scored["band"].value_counts().sort_index().items()),
            active, 100 * agree,
        )  # fmt: skip
    return pd.concat(parts, ignore_index=True)
