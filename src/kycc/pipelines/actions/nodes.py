"""Nodes of the actions pipeline: the governance decision per model and month (rules in ``kycc.monitoring.actions``)."""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd

from kycc.inference.scoring import InferenceError, resolve_months
from kycc.monitoring.actions import ActionRules, evaluate_action, render_action_report

logger = logging.getLogger(__name__)

OPTION_KEYS = {
    "start_month",
    "end_month",
    "thresholds",
    "decision_priorities",
    "degradation",
    "trigger_training",
}
DRIFT_KEYS = (
    "psi_score",
    "psi_level",
    "psi_feature_max",
    "psi_feature_max_name",
    "n_features_psi_moderate",
    "n_features_psi_major",
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
    "roc_auc",
    "accuracy",
    "f1",
    "precision",
    "recall",
    "psi_score",
    "retrain_requested",
]


def _options(options: dict[str, Any] | None) -> dict[str, Any]:
    opts = dict(options or {})
    unknown = set(opts) - OPTION_KEYS
    if unknown:
        raise ValueError(
            f"Unknown keys in actions parameters: {sorted(unknown)}; allowed: {sorted(OPTION_KEYS)}"
        )
    return opts


def _plain(value: Any) -> Any:
    """JSON-safe: numpy scalars → Python, NaN → None, timestamps → ISO dates."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def _count(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def evaluate_actions(
    model: str, metrics: pd.DataFrame, options: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, str], dict[str, Any]]:
    """The decision (monitor / active_monitoring / retrain) of each month, also against the OOT baseline.

    Args:
        model: The model's namespace.
        metrics: ``<model>.out_monitoring_metrics`` (every monitored month).
        options: ``actions`` parameters (months, thresholds, priorities, degradation, trigger_training).

    Returns:
        The decisions table (one row per month), the JSON reports and the text reports (keyed
        ``<model>_action_YYYY_MM_DD``) and a summary. A month without metrics is a logged skip.
    """
    opts = _options(options)
    rules = ActionRules.from_params(opts)
    trigger = bool(opts.get("trigger_training", False))
    available = [] if metrics.empty else list(pd.to_datetime(metrics["snapshot_date"]).unique())
    try:
        months = resolve_months(
            opts.get("start_month"), opts.get("end_month"), available, "actions", "actions"
        )
    except InferenceError as err:
        raise ValueError(str(err)) from err
    rows, reports, texts, status = [], {}, {}, []
    by_month = {} if metrics.empty else {pd.Timestamp(m): r for m, r in metrics.groupby("snapshot_date")}
    for month in months:
        part = by_month.get(pd.Timestamp(month))
        if part is None or part.empty:
            reason = f"no monitoring metrics for {month:%Y-%m} (monitoring skipped that month)"
            logger.info("actions: %s %s skipped: %s", model, f"{month:%Y-%m}", reason)
            status.append({"month": month.date().isoformat(), "status": "skipped", "reason": reason})
            continue
        row = part.iloc[0].to_dict()
        baseline = {k[len("baseline_") :]: v for k, v in row.items() if k.startswith("baseline_")}
        result = evaluate_action(row, rules, baseline)
        retrain = result["decision"] == "retrain"
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
                **result,
                "drift": {k: row.get(k) for k in DRIFT_KEYS},
                "retrain_requested": retrain,
                "training_triggered": retrain and trigger,
                "trigger_training": trigger,
            }
        )
        key = f"{model}_action_{month:%Y_%m_%d}"
        reports[key] = record
        texts[key] = render_action_report(record)
        rows.append(
            {
                "snapshot_date": pd.Timestamp(month),
                "model": model,
                "registered_model_name": row.get("registered_model_name"),
                "model_version": row.get("model_version"),
                "decision": result["decision"],
                "reasons": "; ".join(result["reasons"]),
                **{k: row.get(k) for k in ("roc_auc", "accuracy", "f1", "precision", "recall", "psi_score")},
                "retrain_requested": retrain,
            }
        )
        status.append(
            {"month": month.date().isoformat(), "status": "evaluated", "decision": result["decision"]}
        )
        logger.info("actions: %s %s → %s (%s)", model, f"{month:%Y-%m}", result["decision"].upper(),
                    "; ".join(result["reasons"]))  # fmt: skip
    decisions = pd.DataFrame(rows, columns=DECISION_COLUMNS)
    return decisions, reports, texts, {"model": model, "months": status}


def summarise_actions(*models: dict[str, Any]) -> dict[str, Any]:
    """Decisions per model and month in the log and ``rpt_actions_summary``."""
    lines = ["Action summary:"]
    for m in models:
        for entry in m["months"]:
            text = entry.get("decision", "").upper() or f"skipped ({entry.get('reason')})"
            lines.append(f"  {m['model']} {entry['month'][:7]}: {text}")
    logger.info("\n".join(lines))
    return {"models": list(models)}
