"""Nodes of the recalibration pipeline: the ``recalibrate`` action carried out.

``recalibrate_model`` (per model) refits the champion's post-hoc PD calibration on the latest matured cohorts
(:func:`kycc.modeling.calibration.recalibrate`) and registers it as a new version with the same estimator, the
champion moved (:func:`kycc.registry.write.register_recalibrated`); ``refresh_scorecard_calibration`` fits the
active scorecard version's score -> PD calibration in force from the same month (the refresh inference would
otherwise wait ``scorecard.calibration.refresh_every_months`` for, :func:`kycc.scorecard.calibration.fit_as_of`);
``summarise_recalibration`` writes what was done.

Point in time: recalibrating at month ``M`` (the month after the decision) uses only labels matured *before*
``M`` — the same labels the decision saw — and the latest ``recalibration.cohorts`` application months of them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from kycc.jsonsafe import json_safe
from kycc.monitoring.actions import ActionRules, calibration_check, calibration_evidence
from kycc.params.sections import load_section
from kycc.registry.contract import TAG_PREFIX
from kycc.registry.write import register_recalibrated
from kycc.temporal import add_months, parse_month, to_month, violates_batch_lag

logger = logging.getLogger(__name__)

RECALIBRATED_AT = f"{TAG_PREFIX}recalibrated_at"


def options(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """``recalibration`` parameters validated by :class:`kycc.params.actions.RecalibrationParams` (missing keys
    from conf/base), with the month and the decided month as dates (or None)."""
    opts = load_section("recalibration", params).model_dump()
    models = opts["models"]
    return {
        "month": parse_month(opts["month"], "recalibration.month"),
        "decided_month": parse_month(opts["decided_month"], "recalibration.decided_month"),
        "models": None if models is None else list(models),
        "method": opts["method"],
        "cohorts": opts["cohorts"],
        "min_defaults": opts["min_defaults"],
        "scorecard": opts["scorecard"],
        "confirm": opts["confirm"],
    }


def _months(opts: Mapping[str, Any], decisions: pd.DataFrame | None) -> tuple[dt.date | None, dt.date | None]:
    """(month, decided month): the configured ones, else the latest decided month + 1."""
    month, decided = opts["month"], opts["decided_month"]
    if month is None and decided is None:
        if decisions is None or decisions.empty:
            return None, None
        decided = to_month(pd.to_datetime(decisions["snapshot_date"]).max())
    if month is None:
        month = add_months(decided, 1)
    if decided is None:
        decided = add_months(month, -1)
    if decided >= month:
        raise ValueError(
            f"recalibration.decided_month {decided:%Y-%m} must be before recalibration.month {month:%Y-%m}: "
            "a recalibration at M uses the labels known before M"
        )
    return month, decided


def _skip(model: str, month: dt.date | None, reason: str, **extra: Any) -> dict[str, Any]:
    logger.info("recalibration: %s %s skipped: %s", model, f"{month:%Y-%m}" if month else "", reason)
    return {"model": model, "month": month.isoformat() if month else None, "status": "skipped",
            "reason": reason, **extra}  # fmt: skip


def _decision_row(decisions: pd.DataFrame | None, month: dt.date) -> dict[str, Any] | None:
    if decisions is None or decisions.empty:
        return None
    rows = decisions.loc[pd.to_datetime(decisions["snapshot_date"]) == pd.Timestamp(month)]
    return None if rows.empty else rows.iloc[0].to_dict()


def _already_recalibrated(name: str, source: int, month: dt.date) -> int | None:
    """The version recalibrated from ``source`` at ``month`` by an earlier run (re-runs register nothing new)."""
    from mlflow import MlflowClient

    for version in MlflowClient().search_model_versions(f"name = '{name}'"):
        tags = version.tags or {}
        if tags.get(RECALIBRATED_AT) == month.isoformat() and tags.get(
            f"{TAG_PREFIX}recalibrated_from"
        ) == str(source):
            return int(version.version)
    return None


def matured_cohorts(
    model_input: pd.DataFrame,
    month: dt.date,
    n_cohorts: int,
    *,
    date_column: str = "application_date",
    label_column: str = "label",
    label_date_column: str | None = "label_date",
    maturity_months: int = 6,
    windows: Mapping[str, Any] | None = None,
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The labelled rows of the latest ``n_cohorts`` application months whose labels matured before ``month``.

    A label matured before ``month`` when its ``label_date_column`` is before it (without that column: the
    application month + ``maturity_months`` is before it). Of those months, the ones in the model's
    train/validation windows (``windows``, the batch-lag rule) are left out (not replaced by older ones).

    Returns:
        (rows, cohort months ``YYYY-MM``, months left out by the batch-lag rule).
    """
    m = pd.Timestamp(month)
    frame = model_input.loc[model_input[label_column].notna()]
    app = pd.to_datetime(frame[date_column]).dt.to_period("M").dt.to_timestamp()
    if label_date_column and label_date_column in frame.columns:
        known = pd.to_datetime(frame[label_date_column]) < m
    else:
        known = app + pd.DateOffset(months=int(maturity_months)) < m
    frame, app = frame.loc[known], app.loc[known]
    latest = sorted(app.unique(), reverse=True)[:n_cohorts]
    left_out = [c for c in latest if windows is not None and violates_batch_lag(dict(windows), c.date())]
    chosen = [c for c in latest if c not in left_out]
    rows = frame.loc[app.isin(chosen)].reset_index(drop=True)
    return rows, sorted(f"{c:%Y-%m}" for c in chosen), sorted(f"{c:%Y-%m}" for c in left_out)


def _reference_frame(model_input: pd.DataFrame, reference: pd.DataFrame, key: str) -> pd.DataFrame | None:
    """The model-input rows of the source version's OOT predictions, in their order (None when any is missing)."""
    if reference is None or reference.empty or key not in reference.columns or key not in model_input.columns:
        return None
    indexed = model_input.drop_duplicates(key).set_index(key)
    ids = reference[key]
    if not ids.isin(indexed.index).all():
        return None
    return indexed.loc[ids.to_numpy()].reset_index()


def _ae(check: Mapping[str, Any]) -> dict[str, Any]:
    return {k: check.get(k) for k in ("ae_ratio", "ae_lower", "ae_upper", "ae_pvalue")}


def recalibrate_model(  # noqa: PLR0911 - one logged skip per unmet condition
    model: str,
    registered: Any,
    decisions: pd.DataFrame,
    model_input: pd.DataFrame,
    params: dict[str, Any],
    data_contract: dict[str, Any],
    actions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Carry out a ``recalibrate`` decision of ``model``: a new version with the PD calibration refitted.

    Acts when the model's decision in ``recalibration.decided_month`` is ``recalibrate`` and the version it
    judged is still the champion (a retrained or already recalibrated champion is a logged skip). The calibrator
    is fitted on the latest ``recalibration.cohorts`` matured application months (labels matured before
    ``recalibration.month``); the new version keeps the preprocessing, estimator and windows and becomes the
    champion. With ``recalibration.confirm`` (default), the champion's A/E pooled over those fitting rows must fail
    the same ``actions.calibration`` rule the decision applied (outside the band and significant): a level error
    of the judged cohort alone, which the neighbouring cohorts do not share, is a logged skip (refitting on rows
    whose level is right would only move the PD of later cohorts at random). A re-run of the same month finds the
    version made then (tag ``kycc.recalibrated_at``) and registers nothing.

    Args:
        model: The model's namespace.
        registered: ``<model>.mdl_registered_model`` (the champion's card).
        decisions: ``<model>.out_action_decisions``.
        model_input: ``mdl_model_input`` (raw feature columns, label, label date).
        params: ``recalibration`` parameters.
        data_contract: ``training.data_contract`` (date, label and label-date columns, id columns).
        actions: ``actions`` parameters (the calibration rule ``recalibration.confirm`` applies).

    Returns:
        What was done: ``status`` (``ran``, ``kept``, ``skipped``), the versions, cohorts, rows, defaults, the
        calibration, and A/E of the fitting rows before and after (in-sample).
    """
    from kycc.modeling.calibration import calibration_metrics, recalibrate  # imports scikit-learn

    opts = options(params)
    month, decided = _months(opts, decisions)
    if month is None:
        return _skip(model, None, "no action decisions yet")
    if opts["models"] is not None and model not in opts["models"]:
        return _skip(model, month, f"not in recalibration.models {opts['models']}")
    row = _decision_row(decisions, decided)
    if row is None:
        return _skip(model, month, f"no action decision in {decided:%Y-%m}")
    if row["decision"] != "recalibrate":
        return _skip(model, month, f"decision in {decided:%Y-%m} was {row['decision']}, not recalibrate")
    judged = int(row["model_version"])
    base = {"decided_month": decided.isoformat(), "judged_version": judged}
    champion = registered.champion
    if champion is None:
        return _skip(model, month, "no champion", **base)
    existing = _already_recalibrated(champion.registered_model_name, judged, month)
    if existing is not None:  # a re-run of the month: the version made then
        logger.info("recalibration: %s %s: v%s already recalibrated as v%s", model, f"{month:%Y-%m}", judged,
                    existing)  # fmt: skip
        return {"model": model, "month": month.isoformat(), "status": "kept",
                "registered_model_name": champion.registered_model_name, "source_version": judged,
                "version": existing, "champion": champion.version == existing,
                "reason": f"already recalibrated at {month:%Y-%m} as v{existing}", **base}  # fmt: skip
    if champion.version != judged:
        origin = (champion.metadata.get("recalibrated_from") or {}).get("version")
        how = f", recalibrated from v{origin}" if origin is not None else ""
        return _skip(
            model, month,
            f"decided on v{judged}, the champion is now v{champion.version}{how}: nothing to recalibrate",
            champion_version=champion.version, **base,
        )  # fmt: skip
    name = champion.registered_model_name
    contract = dict(data_contract or {})
    label = contract.get("label_column", "label")
    rows, cohorts, left_out = matured_cohorts(
        model_input, month, opts["cohorts"],
        date_column=contract.get("date_column", "application_date"), label_column=label,
        label_date_column=contract.get("label_date_column", "label_date"),
        maturity_months=int(champion.windows.get("label_maturity_months", 6)), windows=champion.windows,
    )  # fmt: skip
    y = rows[label].astype(int).to_numpy() if len(rows) else None
    defaults = 0 if y is None else int(y.sum())
    if y is None or min(defaults, len(y) - defaults) < opts["min_defaults"]:
        return _skip(
            model, month,
            f"{len(rows)} matured rows, {defaults} defaults in {', '.join(cohorts) or 'no cohort'}: fewer than "
            f"recalibration.min_defaults = {opts['min_defaults']} of a class",
            cohorts=cohorts, **base,
        )  # fmt: skip
    bundle = champion.bundle
    pd_before = bundle.predict_proba(rows)[:, 1]
    before = calibration_metrics(y, pd_before)
    if opts["confirm"] and actions:
        rules = ActionRules.from_params(actions)
        pooled = calibration_evidence(defaults, len(y), float(pd_before.mean()), alpha=rules.calibration_alpha,
                                      level=rules.confidence)  # fmt: skip
        check = calibration_check(pooled, rules)
        if not check["fails"]:
            low, high = check["ae_band"]
            return _skip(
                model, month,
                f"not confirmed on the fitting rows: {', '.join(cohorts)} pooled ({len(y)} loans, {defaults} defaults) "
                f"A/E {check['ae_ratio']:.3f} [{check['ae_lower']:.3f}, {check['ae_upper']:.3f}] p "
                f"{check['pvalue']:.3f} ({check['status']}, band [{low:.2f}, {high:.2f}]): the judged cohort's level "
                "error is not shared by its neighbours (recalibration.confirm)",
                cohorts=cohorts, fitting_rows_before=_ae(before), **base,
            )  # fmt: skip
    new = recalibrate(bundle, rows, opts["method"], label_column=label)
    after = calibration_metrics(y, new.predict_proba(rows)[:, 1])
    key = next(iter(contract.get("id_columns") or ["loan_id"]))
    reference = _reference_frame(model_input, champion.reference, key)
    reason = f"recalibrate decided {decided:%Y-%m} on v{judged}"
    registered_out = register_recalibrated(
        name, judged, new, reason=reason, cohorts=cohorts, reference_frame=reference,
        extra_tags={RECALIBRATED_AT: month.isoformat(), f"{TAG_PREFIX}recalibration_decided": decided.isoformat()},
    )  # fmt: skip
    out = {
        "model": model,
        "month": month.isoformat(),
        "status": "ran",
        **base,
        "registered_model_name": name,
        "source_version": judged,
        "version": registered_out["version"],
        "champion": registered_out["champion"],
        "run_id": registered_out["run_id"],
        "method": opts["method"],
        "cohorts": cohorts,
        "cohorts_left_out_batch_lag": left_out,
        "n_samples": len(rows),
        "n_defaults": defaults,
        "calibration": registered_out["calibration"],
        "threshold_before": float(bundle.threshold),
        "threshold_after": float(new.threshold),
        "fitting_rows_before": _ae(before),
        "fitting_rows_after": _ae(after),
        "decision_ae": {k: row.get(k) for k in ("ae_ratio", "ae_lower", "ae_upper", "ae_pvalue")},
        "reference_rescored": reference is not None,
        "reason": reason,
    }
    logger.info(
        "recalibration: %s v%s -> v%s (champion) at %s on %s (%d rows, %d defaults): A/E of those rows %.3f -> "
        "%.3f", model, judged, out["version"], f"{month:%Y-%m}", ", ".join(cohorts), len(rows), defaults,
        before["ae_ratio"], after["ae_ratio"],
    )  # fmt: skip
    return json_safe(out)


def refresh_scorecard_calibration(
    scorecard_versions: dict[str, Any],
    gold_features: Any,
    gold_labels: Any,
    calibration: dict[str, Any],
    params: dict[str, Any],
    *results: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The active scorecard version's score -> PD calibration in force from ``recalibration.month``.

    Runs when a model was recalibrated this month (``recalibration.scorecard``): the same fit inference makes
    every ``scorecard.calibration.refresh_every_months`` (labels matured before the month, the latest
    ``scorecard.calibration.months``), stored with the version with ``fitted_on.valid_from`` = the month, so
    inference applies it from then on and its schedule counts from it. A calibration already in force from
    that month is kept (re-runs store nothing).

    Returns:
        ``{"version", "calibrations", "actor"}`` for ``rcl_scorecard_calibration_log`` and what was done.
    """
    from kycc.pipelines.scorecard.nodes import _calibration_options
    from kycc.scorecard.calibration import CalibrationError, fit_as_of, labelled_history
    from kycc.scorecard.definition import ScorecardDefinition

    opts = options(params)
    active = (scorecard_versions or {}).get("active")
    nothing = {"version": active, "calibrations": []}
    done = [r for r in results if r.get("status") in {"ran", "kept"}]
    month = next((to_month(r["month"]) for r in results if r.get("month")), None)
    if not opts["scorecard"]:
        return nothing, {"status": "skipped", "reason": "recalibration.scorecard is false"}
    if not done or month is None:
        return nothing, {"status": "skipped", "reason": "no model recalibrated"}
    if not active:
        return nothing, {"status": "skipped", "reason": "no active scorecard version"}
    record = scorecard_versions["versions"][active]
    definition = ScorecardDefinition.from_dict(record["definition"], version=record["version"])
    fingerprint = definition.fingerprint()
    stored = (scorecard_versions.get("calibrations") or {}).get(active, [])
    for c in stored:
        valid = (c.get("fitted_on") or {}).get("valid_from")
        if valid == month.isoformat() and c.get("definition_fingerprint", fingerprint) == fingerprint:
            return nothing, {"status": "kept", "version": active, "month": month.isoformat(),
                             "reason": f"a calibration of {active} is already in force from {month:%Y-%m}",
                             "calibration": _describe(c)}  # fmt: skip
    cal = _calibration_options(calibration)
    history = labelled_history(gold_features, gold_labels, definition.feature_names)
    why = "recalibrate: " + ", ".join(f"{r['model']} v{r['source_version']} -> v{r['version']}" for r in done)
    try:
        fitted = fit_as_of(
            definition, history, month, window_months=cal["months"], min_samples=cal["min_samples"],
            min_defaults=cal["min_defaults"],
        )  # fmt: skip
    except CalibrationError as err:
        return nothing, {"status": "skipped", "version": active, "month": month.isoformat(),
                         "reason": f"refit failed ({err}): the calibration in force is kept"}  # fmt: skip
    fitted = {**fitted, "refresh_reason": why}
    logger.info("recalibration: scorecard %s calibration in force from %s refitted on %s (%s)", active,
                f"{month:%Y-%m}", fitted["fitted_on"]["months"], why)  # fmt: skip
    summary = {"status": "ran", "version": active, "month": month.isoformat(), "reason": why,
               "calibration": _describe(fitted)}  # fmt: skip
    return {"version": active, "calibrations": [fitted], "actor": "recalibration"}, json_safe(summary)


def _describe(calibration: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("method", "intercept", "slope", "rows", "defaults", "roc_auc", "fitted_on", "refresh_reason")
    return json_safe({k: calibration.get(k) for k in keys if k in calibration})


def summarise_recalibration(scorecard: dict[str, Any], *results: dict[str, Any]) -> tuple[dict, dict]:
    """``rpt_recalibration_summary`` (this run) and the month's entry of ``rpt_recalibration_reports``."""
    month = next((r["month"] for r in results if r.get("month")), None)
    summary = json_safe({"month": month, "models": {r["model"]: r for r in results}, "scorecard": scorecard})
    lines = [f"Recalibration {month[:7] if month else ''}:"]
    for r in results:
        if r["status"] == "ran":
            before, after = r["fitting_rows_before"], r["fitting_rows_after"]
            lines.append(
                f"  {r['model']}: v{r['source_version']} -> v{r['version']} (champion), {r['method']} on "
                f"{', '.join(r['cohorts'])} ({r['n_samples']} rows, {r['n_defaults']} defaults); A/E there "
                f"{before['ae_ratio']:.3f} -> {after['ae_ratio']:.3f}"
            )
        else:
            lines.append(f"  {r['model']}: {r['status']} ({r.get('reason')})")
    lines.append(f"  scorecard: {scorecard.get('status')} ({scorecard.get('reason')})")
    logger.info("\n".join(lines))
    reports = {f"recalibration_{month[:7].replace('-', '_')}": summary} if month else {}
    return summary, reports
