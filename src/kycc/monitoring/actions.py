"""Action evaluation: the 3-tier governance decision per model and month.

Two threshold levels per metric (``actions.thresholds`` in ``conf/base/parameters_actions.yml``):

* **business** — the minimum the business accepts (ROC-AUC 0.75, accuracy 0.70);
* **data science** — an early-warning level above it (ROC-AUC 0.80, accuracy 0.75).

Priorities: P0 ROC-AUC, P1 accuracy (these decide), P2 F1, P3 precision and recall (reported only, unless
``decision_priorities`` says otherwise).

The rule — a metric *meets* a threshold when ``value >= threshold`` (so exactly 0.80 meets the data-science
ROC-AUC threshold and exactly 0.75 meets the business one):

* ``retrain`` — any deciding metric is below its business threshold;
* ``active_monitoring`` — otherwise, any deciding metric is below its data-science threshold, is undefined
  (e.g. ROC-AUC of a cohort with a single class), or has degraded from the model's OOT baseline by more than
  ``degradation.max_drop`` (strictly more);
* ``monitor`` — every deciding metric meets its data-science threshold and none degraded.

Degradation against the OOT baseline can raise ``monitor`` to ``active_monitoring``, never to ``retrain``:
retraining is decided by the business thresholds alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DECISIONS",
    "ActionRules",
    "MetricRule",
    "evaluate_action",
    "render_action_report",
]

DECISIONS = ("monitor", "active_monitoring", "retrain")
PRIORITIES = ("P0", "P1", "P2", "P3")

#: What each decision asks people to do (from the governance framework of the seeds).
ACTION_STEPS = {
    "monitor": [
        "Continue the normal monthly monitoring cycle.",
        "Monthly report to the ML team (informational).",
    ],
    "active_monitoring": [
        "Increase monitoring frequency (weekly instead of monthly).",
        "Investigate the root cause: data drift, feature quality, population shift.",
        "Prepare a retraining plan as contingency.",
        "Set up additional alerting for further degradation.",
    ],
    "retrain": [
        "Start the retraining workflow now (within one week).",
        "Investigate the root cause: data quality, model drift, label issues.",
        "Notify the Risk and Product teams.",
        "Prepare a rollback plan.",
    ],
}
NOTIFICATION = {
    "monitor": "Monthly email report to the ML team",
    "active_monitoring": "Slack alert + email to the ML team",
    "retrain": "PagerDuty + Slack + email (ML team and Risk team)",
}


@dataclass(frozen=True)
class MetricRule:
    """Thresholds of one metric (None: no threshold at that level)."""

    metric: str
    priority: str
    business: float | None = None
    data_science: float | None = None

    def __post_init__(self) -> None:
        if self.priority not in PRIORITIES:
            raise ValueError(f"actions.thresholds.{self.metric}.priority must be one of {PRIORITIES}")
        for level in ("business", "data_science"):
            value = getattr(self, level)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise TypeError(f"actions.thresholds.{self.metric}.{level} must be a number or null")
        if self.business is not None and self.data_science is not None and self.data_science < self.business:
            raise ValueError(
                f"actions.thresholds.{self.metric}: the data-science threshold ({self.data_science}) must not be "
                f"below the business threshold ({self.business}): it is the early warning above it"
            )


@dataclass(frozen=True)
class ActionRules:
    """``actions`` parameters: thresholds per metric, which priorities decide, degradation limits."""

    rules: tuple[MetricRule, ...]
    decision_priorities: tuple[str, ...] = ("P0", "P1")
    max_drop: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ActionRules:
        params = dict(params or {})
        thresholds = params.get("thresholds")
        if not isinstance(thresholds, Mapping) or not thresholds:
            raise ValueError("actions.thresholds must map metrics to {priority, business, data_science}")
        rules = []
        for metric, spec in thresholds.items():
            if not isinstance(spec, Mapping):
                raise TypeError(f"actions.thresholds.{metric} must be a mapping")
            unknown = set(spec) - {"priority", "business", "data_science"}
            if unknown:
                raise ValueError(f"Unknown keys in actions.thresholds.{metric}: {sorted(unknown)}")
            rules.append(
                MetricRule(
                    str(metric), str(spec.get("priority")), spec.get("business"), spec.get("data_science")
                )
            )
        deciding = tuple(params.get("decision_priorities") or ("P0", "P1"))
        bad = [p for p in deciding if p not in PRIORITIES]
        if bad:
            raise ValueError(f"actions.decision_priorities: unknown priorities {bad}; use {PRIORITIES}")
        degradation = dict(params.get("degradation") or {})
        max_drop = dict(degradation.get("max_drop") or {})
        for metric, value in max_drop.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(
                    f"actions.degradation.max_drop.{metric} must be a number >= 0, got {value!r}"
                )
        return cls(tuple(rules), deciding, max_drop)


def _is_nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _status(value: Any, rule: MetricRule) -> str:
    if rule.business is None and rule.data_science is None:
        return "info"
    if _is_nan(value):
        return "undefined"
    if rule.business is not None and value < rule.business:
        return "below_business"
    if rule.data_science is not None and value < rule.data_science:
        return "below_data_science"
    return "ok"


def evaluate_action(
    metrics: Mapping[str, Any], rules: ActionRules, baseline: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The decision for one model and month.

    Args:
        metrics: The month's metrics (``roc_auc``, ``accuracy``, ``f1``, ``precision``, ``recall``, …).
        rules: Thresholds, deciding priorities and degradation limits.
        baseline: The model's OOT metrics (same names), for the degradation check; None to skip it.

    Returns:
        ``decision``, ``reasons`` (why, one line each), ``checks`` (per metric: value, priority, thresholds,
        status, baseline, change) and ``degraded`` (metrics that dropped more than allowed).
    """
    checks = []
    reasons: list[str] = []
    tier = 0  # 0 monitor, 1 active_monitoring, 2 retrain
    for rule in rules.rules:
        value = metrics.get(rule.metric)
        value = None if _is_nan(value) else float(value)
        status = _status(value, rule)
        base = None if baseline is None else baseline.get(rule.metric)
        base = None if _is_nan(base) else float(base)
        change = None if value is None or base is None else value - base
        drop_limit = rules.max_drop.get(rule.metric)
        degraded = change is not None and drop_limit is not None and -change > float(drop_limit)
        checks.append(
            {
                "metric": rule.metric,
                "priority": rule.priority,
                "value": value,
                "business_threshold": rule.business,
                "data_science_threshold": rule.data_science,
                "status": status,
                "baseline_oot": base,
                "change_vs_baseline": change,
                "max_drop": drop_limit,
                "degraded": degraded,
                "decides": rule.priority in rules.decision_priorities,
            }
        )
        if rule.priority not in rules.decision_priorities:
            continue
        if status == "below_business":
            tier = max(tier, 2)
            reasons.append(
                f"{rule.priority} {rule.metric} {value:.4f} < business threshold {rule.business:.2f}"
            )
        elif status == "below_data_science":
            tier = max(tier, 1)
            reasons.append(
                f"{rule.priority} {rule.metric} {value:.4f} < data-science threshold {rule.data_science:.2f} "
                f"(>= business {rule.business:.2f})"
                if rule.business is not None
                else f"{rule.priority} {rule.metric} {value:.4f} < data-science threshold {rule.data_science:.2f}"
            )
        elif status == "undefined":
            tier = max(tier, 1)
            reasons.append(
                f"{rule.priority} {rule.metric} is undefined for this cohort (e.g. a single class)"
            )
        if degraded:
            tier = max(tier, 1)
            reasons.append(
                f"{rule.priority} {rule.metric} dropped {-change:.4f} from its OOT baseline {base:.4f} "
                f"(more than {float(drop_limit):.2f})"
            )
    if tier == 0:
        deciding = [c["metric"] for c in checks if c["decides"] and c["status"] != "info"]
        reasons.append(
            "all deciding metrics meet their data-science thresholds"
            + (f" ({', '.join(deciding)})" if deciding else "")
            + " and none degraded from the OOT baseline"
        )
    return {
        "decision": DECISIONS[tier],
        "reasons": reasons,
        "checks": checks,
        "degraded": [c["metric"] for c in checks if c["degraded"]],
        "decision_priorities": list(rules.decision_priorities),
    }


def _fmt(value: Any, digits: int = 4) -> str:
    return "n/a" if _is_nan(value) else f"{value:.{digits}f}"


def render_action_report(record: Mapping[str, Any]) -> str:
    """The human-readable report of one decision (``record`` is the JSON the actions pipeline writes)."""
    decision = record["decision"]
    lines = [
        f"KYCC model monitoring action report: {record['model']} — {record['month']}",
        "=" * 78,
        f"Decision:          {decision.upper()}",
        f"Model version:     {record.get('registered_model_name')} v{record.get('model_version')}"
        f" (trained {record.get('model_training_date')})",
        f"Monitored cohort:  applications of {record.get('cohort_month')} scored then, labels matured "
        f"{record['month']} ({record.get('n_samples')} loans, {record.get('n_defaults')} defaults)",
        f"Notification:      {NOTIFICATION[decision]}",
        "",
        "Why:",
        *[f"  - {r}" for r in record["reasons"]],
        "",
        "Metrics (meets a threshold when value >= threshold):",
        f"  {'pri':<4}{'metric':<11}{'value':>8}{'business':>10}{'data sci':>10}{'OOT base':>10}{'change':>9}"
        f"  status",
    ]
    for c in record["checks"]:
        lines.append(
            f"  {c['priority']:<4}{c['metric']:<11}{_fmt(c['value']):>8}{_fmt(c['business_threshold'], 2):>10}"
            f"{_fmt(c['data_science_threshold'], 2):>10}{_fmt(c['baseline_oot']):>10}"
            f"{_fmt(c['change_vs_baseline']):>9}  {c['status']}{' DEGRADED' if c['degraded'] else ''}"
        )
    drift = record.get("drift") or {}
    if drift:
        lines += [
            "",
            "Drift:",
            f"  score PSI vs OOT reference: {_fmt(drift.get('psi_score'))} ({drift.get('psi_level', 'n/a')})",
            f"  largest feature PSI: {drift.get('psi_feature_max_name') or 'n/a'} "
            f"{_fmt(drift.get('psi_feature_max'))}; features with PSI >= 0.25: "
            f"{drift.get('n_features_psi_major', 'n/a')}",
            f"  mean PD {_fmt(drift.get('pd_mean'))} vs reference {_fmt(drift.get('pd_mean_reference'))}",
        ]
    lines += ["", "Next steps:", *[f"  - {s}" for s in ACTION_STEPS[decision]]]
    if record.get("training_triggered"):
        lines.append(
            "  - Retraining is triggered automatically by the monthly cycle (actions.trigger_training)."
        )
    return "\n".join(lines) + "\n"
