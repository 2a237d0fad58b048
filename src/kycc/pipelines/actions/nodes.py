"""Nodes of the actions pipeline: the governance decision per model and month (rules in ``kycc.monitoring.actions``)
and the delivery of its notifications (``kycc.monitoring.notify``).

``evaluate_actions`` (per model, pure) → ``deliver_notifications`` (the side effect: webhook / SMTP; its output is
the delivery log) → ``summarise_actions``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from kycc.inference.scoring import InferenceError, resolve_months
from kycc.jsonsafe import json_safe
from kycc.monitoring.actions import ActionRules, calibration_evidence, evaluate_action, render_action_report
from kycc.monitoring.metrics import confusion_intervals, metric_intervals
from kycc.monitoring.notify import LOG_COLUMNS, NotificationSettings, notify
from kycc.monitoring.psi import psi_level
from kycc.monitoring.stability import StabilityLevels
from kycc.params.sections import load_section
from kycc.pipelines.monitoring.nodes import select_maturing_labels


def _plain(value: Any) -> Any:
    """JSON-safe, timestamps as their date (action records are month-level)."""
    return json_safe(value, date_only=True)


logger = logging.getLogger(__name__)

DRIFT_KEYS = (
    "psi_score",
    "psi_feature_max",
    "psi_feature_max_name",
    "pd_mean",
    "pd_mean_reference",
    "pd_ks",
)
DECISION_COLUMNS = [
    "snapshot_date",
    "model",
    "registered_model_name",
    "model_version",
    "decision",
    "reasons",
    "decide_on",
    "roc_auc",
    "roc_auc_lower",
    "roc_auc_upper",
    "accuracy",
    "accuracy_lower",
    "accuracy_upper",
    "all_good_accuracy",
    "f1",
    "precision",
    "recall",
    "n_samples",
    "n_defaults",
    "ae_ratio",
    "ae_lower",
    "ae_upper",
    "ae_pvalue",
    "calibration_failed",
    "psi_score",
    "retrain_requested",
    "recalibrate_requested",
]
#: Numeric columns of the decisions table (float64 even when a month has no value).
FLOAT_COLUMNS = [
    c
    for c in DECISION_COLUMNS[7:]
    if c
    not in {"n_samples", "n_defaults", "calibration_failed", "retrain_requested", "recalibrate_requested"}
]


def _options(options: dict[str, Any] | None) -> dict[str, Any]:
    """``actions`` parameters as given, once :class:`kycc.params.actions.ActionsParams` accepts them (completed
    from conf/base: an unknown or ill-typed key is refused naming it)."""
    load_section("actions", options)
    return dict(options or {})


def _levels(psi_levels: Mapping[str, Any] | None) -> dict[str, float]:
    """The PSI levels a decision cites (``moderate``, ``major``) from the one validated set."""
    levels = StabilityLevels.from_params(psi_levels)
    return {"moderate": levels.moderate, "major": levels.major}


def _count(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _cohorts(
    labels: ir.Table | pd.DataFrame, predictions: pd.DataFrame, months: list[pd.Timestamp], rows: dict
) -> dict[pd.Timestamp, pd.DataFrame]:
    """Per month: the labels maturing then joined with the cohort's predictions (``label``, ``probability``)."""
    if not months or predictions is None or predictions.empty:
        return {}
    matured, _ = (
        select_maturing_labels(labels, {"start_month": months[0].date().isoformat(),
                                        "end_month": months[-1].date().isoformat()})
        if isinstance(labels, ir.Table) else (labels, None)
    )  # fmt: skip
    pred_month = pd.to_datetime(predictions["snapshot_date"])
    out = {}
    for month in months:
        row = rows.get(month)
        if row is None:
            continue
        cohort = predictions.loc[pred_month == pd.Timestamp(row["cohort_month"]), ["loan_id", "probability"]]
        month_labels = matured.loc[pd.to_datetime(matured["snapshot_date"]) == month, ["loan_id", "label"]]
        out[month] = cohort.merge(month_labels, on="loan_id", how="inner")
    return out


def _intervals(row: Mapping[str, Any], cohort: pd.DataFrame | None, rules: ActionRules) -> dict[str, Any]:
    """DeLong/Jeffreys/bootstrap intervals from the cohort rows; from the metrics row's confusion matrix when the
    rows are not available (then ROC-AUC has no interval)."""
    kwargs = {"level": rules.confidence, "n_boot": rules.n_boot, "seed": rules.seed}
    if cohort is not None and len(cohort) and len(cohort) == _count(row.get("n_matched")):
        return metric_intervals(cohort["label"], cohort["probability"], float(row["threshold"]), **kwargs)
    if cohort is not None and len(cohort):
        logger.warning(
            "actions: %s rows rejoined for %s but monitoring matched %s: intervals from the confusion matrix only",
            len(cohort), row.get("snapshot_date"), row.get("n_matched"),
        )  # fmt: skip
    cells = [row.get(k) for k in ("tn", "fp", "fn", "tp")]
    if any(c is None or pd.isna(c) for c in cells):
        return {}
    return confusion_intervals(*cells, **kwargs)


def evaluate_actions(  # noqa: PLR0913, PLR0917 - a Kedro node: inputs arrive positionally
    model: str,
    metrics: pd.DataFrame,
    feature_psi: pd.DataFrame,
    predictions: pd.DataFrame,
    labels: ir.Table,
    options: dict[str, Any],
    psi_levels: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, str], dict[str, Any], list[dict[str, Any]]]:
    """The decision (monitor / active_monitoring / recalibrate / retrain) of each month, on the evidence of its
    cohort (ranking and accuracy on their intervals, the PD level on its A/E).

    Args:
        model: The model's namespace.
        metrics: ``<model>.out_monitoring_metrics`` (every monitored month).
        feature_psi: ``<model>.out_feature_psi`` (features at or above ``psi_levels.major`` are counted).
        predictions: ``<model>.out_predictions`` (the cohorts' PDs, for DeLong's interval).
        labels: ``feat_gold_labels`` (the labels maturing in each month).
        options: ``actions`` parameters (months, thresholds, priorities, degradation, evidence, notifications).
        psi_levels: The one set of PSI levels (``params:psi_levels``).

    Returns:
        The decisions table (one row per month), the JSON and text reports (keyed ``<model>_action_YYYY_MM_DD``),
        a summary, and the alerts (one per decision) for the delivery node. A month without metrics is a logged
        skip.
    """
    opts = _options(options)
    rules = ActionRules.from_params(opts)
    levels = _levels(psi_levels)
    channels_of = dict((opts.get("notifications") or {}).get("levels") or {})
    trigger = bool(opts.get("trigger_training", False))
    trigger_recalibration = bool(opts.get("trigger_recalibration", False))
    available = [] if metrics.empty else list(pd.to_datetime(metrics["snapshot_date"]).unique())
    try:
        months = resolve_months(
            opts.get("start_month"), opts.get("end_month"), available, "actions", "actions"
        )
    except InferenceError as err:
        raise ValueError(str(err)) from err
    by_month = (
        {}
        if metrics.empty
        else {pd.Timestamp(m): r.iloc[0].to_dict() for m, r in metrics.groupby("snapshot_date")}
    )
    present = [m for m in months if pd.Timestamp(m) in by_month]
    cohorts = _cohorts(labels, predictions, [pd.Timestamp(m) for m in present], by_month) if present else {}
    psi_dates = (
        pd.to_datetime(feature_psi["snapshot_date"]) if feature_psi is not None and len(feature_psi) else None
    )
    rows, reports, texts, status, alerts = [], {}, {}, [], []
    for month in months:
        row = by_month.get(pd.Timestamp(month))
        if row is None:
            reason = f"no monitoring metrics for {month:%Y-%m} (monitoring skipped that month)"
            logger.info("actions: %s %s skipped: %s", model, f"{month:%Y-%m}", reason)
            status.append({"month": month.date().isoformat(), "status": "skipped", "reason": reason})
            continue
        baseline = {k[len("baseline_") :]: v for k, v in row.items() if k.startswith("baseline_")}
        intervals = _intervals(row, cohorts.get(pd.Timestamp(month)), rules)
        calibration = calibration_evidence(
            row.get("n_defaults"), row.get("n_matched"), row.get("mean_pd"),
            alpha=rules.calibration_alpha, level=rules.confidence,
        )  # fmt: skip
        result = evaluate_action(row, rules, baseline, intervals, calibration)
        default_rate = row.get("default_rate")
        all_good = None if default_rate is None or pd.isna(default_rate) else 1.0 - float(default_rate)
        drift = {k: row.get(k) for k in DRIFT_KEYS}
        drift["psi_level"] = psi_level(row.get("psi_score"), levels["moderate"], levels["major"])
        if psi_dates is not None:
            month_psi = feature_psi.loc[psi_dates == pd.Timestamp(month), "psi"]
            drift["n_features_psi_moderate"] = int(
                ((month_psi >= levels["moderate"]) & (month_psi < levels["major"])).sum()
            )
            drift["n_features_psi_major"] = int((month_psi >= levels["major"]).sum())
        decision = result["decision"]
        retrain = decision == "retrain"
        recalibrate = decision == "recalibrate"
        record = _plain(
            {
                "model": model,
                "month": month.date().isoformat(),
                "cohort_month": row.get("cohort_month"),
                "registered_model_name": row.get("registered_model_name"),
                "model_version": row.get("model_version"),
                "model_training_date": row.get("model_training_date"),
                "n_samples": _count(row.get("n_matched")),
                "n_defaults": _count(row.get("n_defaults")),
                "default_rate": default_rate,
                "confidence": rules.confidence,
                **result,
                "all_good_accuracy": all_good,
                "calibration": calibration,
                "drift": drift,
                "psi_levels": levels,
                "notification_channels": list(channels_of.get(decision) or []),
                "retrain_requested": retrain,
                "training_triggered": retrain and trigger,
                "trigger_training": trigger,
                "recalibrate_requested": recalibrate,
                "recalibration_triggered": recalibrate and trigger_recalibration,
                "trigger_recalibration": trigger_recalibration,
            }
        )
        key = f"{model}_action_{month:%Y_%m_%d}"
        reports[key] = record
        texts[key] = render_action_report(record)
        alerts.append({**record, "level": decision, "text": texts[key]})
        by_metric = {c["metric"]: c for c in result["evidence"]}
        rows.append(
            {
                "snapshot_date": pd.Timestamp(month),
                "model": model,
                "registered_model_name": row.get("registered_model_name"),
                "model_version": row.get("model_version"),
                "decision": decision,
                "reasons": "; ".join(result["reasons"]),
                "decide_on": rules.decide_on,
                **{k: row.get(k) for k in ("roc_auc", "accuracy", "f1", "precision", "recall", "psi_score")},
                **{
                    f"{metric}_{bound}": (by_metric.get(metric) or {}).get(bound)
                    for metric in ("roc_auc", "accuracy")
                    for bound in ("lower", "upper")
                },
                "all_good_accuracy": all_good,
                "n_samples": _count(row.get("n_matched")),
                "n_defaults": _count(row.get("n_defaults")),
                "ae_ratio": calibration.get("ae_ratio"),
                "ae_lower": calibration.get("ae_lower"),
                "ae_upper": calibration.get("ae_upper"),
                "ae_pvalue": calibration.get("jeffreys_pvalue_two_sided"),
                "calibration_failed": bool(calibration.get("calibration_failed")),
                "retrain_requested": retrain,
                "recalibrate_requested": recalibrate,
            }
        )
        status.append({"month": month.date().isoformat(), "status": "evaluated", "decision": decision})
        logger.info("actions: %s %s → %s (%s)", model, f"{month:%Y-%m}", decision.upper(),
                    "; ".join(result["reasons"]))  # fmt: skip
    decisions = pd.DataFrame(rows, columns=DECISION_COLUMNS)
    for column in FLOAT_COLUMNS:
        decisions[column] = pd.to_numeric(decisions[column], errors="coerce").astype("float64")
    return decisions, reports, texts, {"model": model, "months": status}, alerts


def deliver_notifications(
    history: pd.DataFrame, secrets: dict[str, Any], options: dict[str, Any], *alerts: list[dict[str, Any]]
) -> pd.DataFrame:
    """Send each model's alerts on the channels of its level, de-duplicated against the delivery log.

    The one side-effect node of the pipeline (webhook POSTs, SMTP). A failed delivery is a ``failed`` row with its
    error, never an exception.

    Args:
        history: ``act_alert_delivery_history`` (the delivery log so far; the same files as the output).
        secrets: ``act_notification_secrets`` (``kycc_notifications`` credentials, placeholders dropped).
        options: ``actions`` parameters (``notifications``).
        *alerts: Each model's alerts (``act_model_alerts_<model>``).

    Returns:
        ``out_alert_delivery_log`` rows of the months evaluated: the rows those months already held (a re-run keeps
        them) followed by this run's.
    """
    settings = NotificationSettings.from_params(_options(options).get("notifications"), secrets)
    every = [a for model_alerts in alerts for a in model_alerts]
    new = notify(every, history, settings)
    if new.empty:
        return pd.DataFrame(columns=LOG_COLUMNS)
    months = set(pd.to_datetime(new["snapshot_date"]))
    kept = (
        history.loc[pd.to_datetime(history["snapshot_date"]).isin(months)].reindex(columns=LOG_COLUMNS)
        if history is not None and len(history)
        else pd.DataFrame(columns=LOG_COLUMNS)
    )
    log = pd.concat([kept, new], ignore_index=True) if len(kept) else new
    log["snapshot_date"] = pd.to_datetime(log["snapshot_date"])
    return log.reset_index(drop=True)


def _delivery_summary(log: pd.DataFrame) -> dict[str, Any]:
    if log is None or log.empty:
        return {"counts": {}, "failed": [], "warnings": []}
    latest = log.drop_duplicates(["snapshot_date", "model", "level", "channel"], keep="last")
    counts = {str(k): int(v) for k, v in latest["status"].value_counts().items()}
    failed = latest.loc[latest["status"] == "failed"]
    items = [
        {"month": f"{r.snapshot_date:%Y-%m}", "model": r.model, "level": r.level, "channel": r.channel,
         "attempts": int(r.attempts), "error": r.error}
        for r in failed.itertuples()
    ]  # fmt: skip
    warnings = [
        f"alert not delivered: {i['model']} {i['month']} {i['level']} via {i['channel']} after {i['attempts']} "
        f"attempt(s): {i['error']} (out_alert_delivery_log)"
        for i in items
    ]
    return {"counts": counts, "failed": items, "warnings": warnings}


def summarise_actions(delivery_log: pd.DataFrame, *models: dict[str, Any]) -> dict[str, Any]:
    """Decisions per model and month, and the alert deliveries of those months, in the log and
    ``rpt_actions_summary``.

    ``warnings`` lists the failed deliveries (the run summary shows them).
    """
    lines = ["Action summary:"]
    for m in models:
        for entry in m["months"]:
            text = entry.get("decision", "").upper() or f"skipped ({entry.get('reason')})"
            lines.append(f"  {m['model']} {entry['month'][:7]}: {text}")
    # the delivery log dataset loads every month: keep this run's months
    months = {pd.Timestamp(e["month"]) for m in models for e in m["months"] if e["status"] == "evaluated"}
    if delivery_log is not None and len(delivery_log):
        delivery_log = delivery_log.loc[pd.to_datetime(delivery_log["snapshot_date"]).isin(months)]
    deliveries = _delivery_summary(delivery_log)
    if deliveries["counts"]:
        lines.append(
            "  alerts: " + ", ".join(f"{n} {status}" for status, n in sorted(deliveries["counts"].items()))
        )
    lines.extend(f"  WARNING {w}" for w in deliveries["warnings"])
    (logger.warning if deliveries["warnings"] else logger.info)("\n".join(lines))
    return {"models": list(models), "deliveries": deliveries, "warnings": deliveries["warnings"]}
