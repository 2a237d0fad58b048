"""Action evaluation: the 3-tier governance decision per model and month, decided on evidence.

Two threshold levels per metric (``actions.thresholds`` in ``conf/base/parameters_actions.yml``):

* **business** — the minimum the business accepts (ROC-AUC 0.75, accuracy 0.70);
* **data science** — an early-warning level above it (ROC-AUC 0.80, accuracy 0.75).

Priorities: P0 ROC-AUC, P1 accuracy (these decide), P2 F1, P3 precision and recall (reported only, unless
``decision_priorities`` says otherwise).

**The rule on intervals** (``actions.evidence.decide_on: interval``, the default). Each deciding metric comes
with its confidence interval ``[lower, upper]`` at ``evidence.confidence`` (DeLong for ROC-AUC, Jeffreys for
accuracy/precision/recall, a seeded bootstrap for F1; :func:`kycc.monitoring.metrics.metric_intervals`):

* ``retrain`` — a deciding metric is *shown* below its business threshold: ``upper < business``;
* ``monitor`` — every deciding metric is *shown* to clear its data-science threshold (``lower >= data_science``;
  the business threshold when a metric has no data-science one) and none is shown degraded;
* ``active_monitoring`` — everything in between: the interval reaches below the data-science threshold but not
  entirely below the business one (the evidence does not settle it), the metric is undefined (a single class),
  or it is shown degraded from the model's OOT baseline (``upper < baseline - max_drop``).

A metric without an interval (no cohort rows to compute it from) falls back to the point rule below, and its
evidence says so. **The point rule** (``decide_on: point``, the seeds' rule) compares the value itself: a metric
*meets* a threshold when ``value >= threshold``; retrain below business, active_monitoring below data science or
degraded by strictly more than ``max_drop``, else monitor.

Degradation can raise ``monitor`` to ``active_monitoring``, never to ``retrain``.

**Calibration: the ``recalibrate`` tier** (``actions.calibration``). Actual / expected defaults of the cohort with
its Jeffreys interval and two-sided test (:func:`calibration_evidence`). When the ranking holds (no deciding
metric sends the model to ``retrain``) but the PD level fails — by default (``rule:
significant_outside_band``) the A/E point estimate is outside ``ae_band`` ([0.9, 1.1]) *and* the Jeffreys test
rejects A/E = 1 (the interval excludes 1, p < ``evidence.calibration_alpha``) — the decision is ``recalibrate``:
refit the post-hoc calibration on the latest matured cohorts, same estimator (the monthly cycle does it,
:mod:`kycc.cycle.recalibration`). ``rule: interval_outside_band`` asks for the whole interval outside the band
(stricter); ``rule: point`` for the point estimate only. The order of the tiers is ``monitor`` <
``active_monitoring`` < ``recalibrate`` < ``retrain``: retrain outranks recalibrate (a refit model gets a new
calibration anyway), and a model whose calibration fails is recalibrated even when its ranking evidence is
inconclusive. The all-good classifier's accuracy is reported beside the decision.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kycc.monitoring.backtest import band_test

__all__ = [
    "DECISIONS",
    "ActionRules",
    "CalibrationRule",
    "MetricRule",
    "calibration_check",
    "calibration_evidence",
    "evaluate_action",
    "render_action_report",
]

DECISIONS = ("monitor", "active_monitoring", "recalibrate", "retrain")  # in rank order
CALIBRATION_RULES = ("significant_outside_band", "interval_outside_band", "point")
PRIORITIES = ("P0", "P1", "P2", "P3")
DECIDE_ON = ("interval", "point")

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
    "recalibrate": [
        "Refit the post-hoc PD calibration on the latest matured cohorts (same estimator, ranking unchanged).",
        "Register the recalibrated model as a new version and move the champion to it.",
        "Refresh the scorecard's score -> PD mapping at the same time.",
        "Notify the Risk team: PD levels (expected losses, pricing) change.",
    ],
    "retrain": [
        "Start the retraining workflow now (within one week).",
        "Investigate the root cause: data quality, model drift, label issues.",
        "Notify the Risk and Product teams.",
        "Prepare a rollback plan.",
    ],
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

    @property
    def monitor_bar(self) -> float | None:
        """The level a metric must clear for ``monitor``: data science, else business."""
        return self.data_science if self.data_science is not None else self.business


EVIDENCE_KEYS = {"decide_on", "confidence", "n_boot", "seed", "calibration_alpha"}
CALIBRATION_KEYS = {"enabled", "ae_band", "rule"}


@dataclass(frozen=True)
class CalibrationRule:
    """``actions.calibration``: when a model's PD level fails (the ``recalibrate`` tier).

    Args:
        enabled: False: A/E is reported only (it never changes the tier). ``actions.calibration`` absent
            altogether is disabled; ``conf/base`` enables it.
        ae_band: The A/E a committee accepts, ``(low, high)`` around 1.
        rule: ``significant_outside_band`` (A/E outside the band and its Jeffreys test rejects A/E = 1),
            ``interval_outside_band`` (the whole Jeffreys interval outside the band) or ``point`` (A/E outside
            the band).
    """

    enabled: bool = True
    ae_band: tuple[float, float] = (0.9, 1.1)
    rule: str = "significant_outside_band"

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> CalibrationRule:
        """``actions.calibration``; absent (None): disabled, A/E is evidence only (the rule before the tier)."""
        if params is None:
            return cls(enabled=False)
        params = dict(params)
        unknown = set(params) - CALIBRATION_KEYS
        if unknown:
            raise ValueError(
                f"Unknown keys in actions.calibration: {sorted(unknown)}; allowed: {sorted(CALIBRATION_KEYS)}"
            )
        band = params.get("ae_band", (0.9, 1.1))
        if (
            not isinstance(band, list | tuple)
            or len(band) != 2  # noqa: PLR2004 - a band has two ends
            or any(isinstance(b, bool) or not isinstance(b, int | float) for b in band)
            or not 0 < band[0] <= 1 <= band[1]
        ):
            raise ValueError(
                f"actions.calibration.ae_band must be [low, high] with 0 < low <= 1 <= high, got {band!r}"
            )
        rule = params.get("rule", "significant_outside_band")
        if rule not in CALIBRATION_RULES:
            raise ValueError(f"actions.calibration.rule must be one of {CALIBRATION_RULES}, got {rule!r}")
        enabled = params.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ValueError(f"actions.calibration.enabled must be true or false, got {enabled!r}")
        return cls(enabled, (float(band[0]), float(band[1])), rule)


@dataclass(frozen=True)
class ActionRules:
    """``actions`` parameters: thresholds per metric, deciding priorities, degradation limits, evidence."""

    rules: tuple[MetricRule, ...]
    decision_priorities: tuple[str, ...] = ("P0", "P1")
    max_drop: Mapping[str, float] = field(default_factory=dict)
    decide_on: str = "interval"
    confidence: float = 0.95
    n_boot: int = 2000
    seed: int = 0
    calibration_alpha: float = 0.05
    calibration: CalibrationRule = field(default_factory=lambda: CalibrationRule(enabled=False))

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
        evidence = dict(params.get("evidence") or {})
        unknown = set(evidence) - EVIDENCE_KEYS
        if unknown:
            raise ValueError(
                f"Unknown keys in actions.evidence: {sorted(unknown)}; allowed: {sorted(EVIDENCE_KEYS)}"
            )
        decide_on = evidence.get("decide_on", "interval")
        if decide_on not in DECIDE_ON:
            raise ValueError(f"actions.evidence.decide_on must be one of {DECIDE_ON}, got {decide_on!r}")
        for key, default in (("confidence", 0.95), ("calibration_alpha", 0.05)):
            value = evidence.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
                raise ValueError(f"actions.evidence.{key} must be a number in (0, 1), got {value!r}")
        for key, default, minimum in (("n_boot", 2000, 100), ("seed", 0, 0)):
            value = evidence.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"actions.evidence.{key} must be a whole number >= {minimum}, got {value!r}")
        return cls(
            tuple(rules),
            deciding,
            max_drop,
            decide_on=decide_on,
            confidence=float(evidence.get("confidence", 0.95)),
            n_boot=int(evidence.get("n_boot", 2000)),
            seed=int(evidence.get("seed", 0)),
            calibration_alpha=float(evidence.get("calibration_alpha", 0.05)),
            calibration=CalibrationRule.from_params(params.get("calibration")),
        )


def _is_nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _num(value: Any) -> float | None:
    return None if _is_nan(value) else float(value)


def _point_status(value: float | None, rule: MetricRule) -> str:
    if rule.business is None and rule.data_science is None:
        return "info"
    if value is None:
        return "undefined"
    if rule.business is not None and value < rule.business:
        return "below_business"
    if rule.data_science is not None and value < rule.data_science:
        return "below_data_science"
    return "ok"


def _interval_status(value: float | None, lower: float, upper: float, rule: MetricRule) -> str:
    """``below_business`` (upper < business), ``ok`` (lower clears the monitor bar) or ``inconclusive``."""
    if rule.business is None and rule.data_science is None:
        return "info"
    if value is None:
        return "undefined"
    if rule.business is not None and upper < rule.business:
        return "below_business"
    bar = rule.monitor_bar
    if lower >= bar:
        return "ok"
    if rule.data_science is not None and upper < rule.data_science:
        return "below_data_science"
    return "inconclusive"


def _interval_text(check: Mapping[str, Any]) -> str:
    n = f", n={check['n']}" if check.get("n") is not None else ""
    return f"{check['value']:.4f} [{check['lower']:.4f}, {check['upper']:.4f}] ({check['method']}{n})"


def _interval_reason(check: Mapping[str, Any], rule: MetricRule) -> str | None:
    pri, metric, status, shown = rule.priority, rule.metric, check["status"], _interval_text(check)
    if status == "below_business":
        return f"{pri} {metric} {shown}: upper bound < business threshold {rule.business:.2f}"
    below_business = rule.business is not None and check["value"] < rule.business
    if status == "below_data_science":
        return f"{pri} {metric} {shown}: upper bound < data-science threshold {rule.data_science:.2f}" + (
            ""
            if rule.business is None
            else f"; point estimate below business {rule.business:.2f} but not shown below it"
            if below_business
            else f", not shown below business {rule.business:.2f}"
        )
    if status != "inconclusive":
        return None
    name = "data-science" if rule.data_science is not None else "business"
    if below_business:
        point = f"point estimate below business {rule.business:.2f}, but the upper bound is not"
    else:
        point = f"lower bound < {name} threshold {rule.monitor_bar:.2f}"
    beneath = f", not shown below business {rule.business:.2f}" if rule.business is not None else ""
    return f"{pri} {metric} {shown}: {point} (not shown to clear {name} {rule.monitor_bar:.2f}{beneath})"


def _reason(check: Mapping[str, Any], rule: MetricRule) -> str | None:
    """The reason line of one deciding metric that is not ``ok`` (None when it is)."""
    pri, metric, status = rule.priority, rule.metric, check["status"]
    if status == "undefined":
        return f"{pri} {metric} is undefined for this cohort (e.g. a single class)"
    if check["basis"] == "interval":
        return _interval_reason(check, rule)
    value, note = check["value"], "" if check["basis"] == "point" else f" ({check['basis']})"
    if status == "below_business":
        return f"{pri} {metric} {value:.4f} < business threshold {rule.business:.2f}{note}"
    if status == "below_data_science":
        above = f" (>= business {rule.business:.2f})" if rule.business is not None else ""
        return f"{pri} {metric} {value:.4f} < data-science threshold {rule.data_science:.2f}{above}{note}"
    return None


def evaluate_action(
    metrics: Mapping[str, Any],
    rules: ActionRules,
    baseline: Mapping[str, Any] | None = None,
    intervals: Mapping[str, Mapping[str, Any]] | None = None,
    calibration: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The decision for one model and month.

    Args:
        metrics: The month's metrics (``roc_auc``, ``accuracy``, ``f1``, ``precision``, ``recall``, …).
        rules: Thresholds, deciding priorities, degradation limits and the evidence settings.
        baseline: The model's OOT metrics (same names), for the degradation check; None to skip it.
        intervals: Per metric ``{lower, upper, n, events, method}`` (:func:`kycc.monitoring.metrics.
            metric_intervals`); a metric without one is decided on its point estimate (so does everything with
            ``decide_on: point``).
        calibration: The cohort's A/E evidence (:func:`calibration_evidence`); None: not judged. When
            ``rules.calibration`` says it fails and no deciding metric says ``retrain``, the decision is
            ``recalibrate``.

    Returns:
        ``decision``, ``reasons`` (why, one line each), ``evidence`` (per metric: value, lower, upper, n, events,
        method, basis, priority, thresholds, status, baseline, change, degraded, decides), ``degraded``,
        ``decide_on`` and ``calibration_check`` (:func:`calibration_check`: A/E, interval, n, band, rule,
        status, ``fails``).
    """
    evidence = []
    reasons: list[str] = []
    tier = 0  # the index in DECISIONS: 0 monitor, 1 active_monitoring, 2 recalibrate, 3 retrain
    intervals = intervals or {}
    for rule in rules.rules:
        value = _num(metrics.get(rule.metric))
        ci = dict(intervals.get(rule.metric) or {})
        lower, upper = _num(ci.get("lower")), _num(ci.get("upper"))
        has_interval = value is not None and lower is not None and upper is not None
        if rules.decide_on == "interval" and has_interval:
            basis = "interval"
            status = _interval_status(value, lower, upper, rule)
        else:
            basis = "point" if rules.decide_on == "point" else "point (no interval)"
            status = _point_status(value, rule)
        base = None if baseline is None else _num(baseline.get(rule.metric))
        change = None if value is None or base is None else value - base
        drop_limit = rules.max_drop.get(rule.metric)
        if change is None or drop_limit is None:
            degraded = False
        elif basis == "interval":
            degraded = upper < base - float(drop_limit)
        else:
            degraded = -change > float(drop_limit)
        check = {
            "metric": rule.metric,
            "priority": rule.priority,
            "value": value,
            "lower": lower,
            "upper": upper,
            "confidence": rules.confidence if has_interval else None,
            "method": ci.get("method"),
            "n": None if ci.get("n") is None else int(ci["n"]),
            "events": None if ci.get("events") is None else int(ci["events"]),
            "basis": basis,
            "business_threshold": rule.business,
            "data_science_threshold": rule.data_science,
            "status": status,
            "baseline_oot": base,
            "change_vs_baseline": change,
            "max_drop": drop_limit,
            "degraded": degraded,
            "decides": rule.priority in rules.decision_priorities,
        }
        evidence.append(check)
        if not check["decides"]:
            continue
        if status == "below_business":
            tier = max(tier, 3)
        elif status in {"below_data_science", "inconclusive", "undefined"}:
            tier = max(tier, 1)
        line = _reason(check, rule)
        if line:
            reasons.append(line)
        if degraded:
            tier = max(tier, 1)
            how = f"upper bound {upper:.4f}" if basis == "interval" else f"dropped {-change:.4f}"
            reasons.append(
                f"{rule.priority} {rule.metric} {how} vs its OOT baseline {base:.4f} "
                f"(shown more than {float(drop_limit):.2f} below it)"
                if basis == "interval"
                else f"{rule.priority} {rule.metric} {how} from its OOT baseline {base:.4f} "
                f"(more than {float(drop_limit):.2f})"
            )
    check = calibration_check(calibration, rules)
    if check["fails"]:
        line = _calibration_reason(check)
        if tier == 3:  # noqa: PLR2004 - retrain
            reasons.append(f"{line} (retrain outranks recalibrate: the refit model gets a new calibration)")
        else:
            tier = 2
            reasons.insert(0, f"{line}: the ranking is not shown to fail, the PD level is")
    if tier == 0:
        deciding = [c["metric"] for c in evidence if c["decides"] and c["status"] != "info"]
        shown = "are shown to clear" if rules.decide_on == "interval" else "meet"
        reasons.append(
            f"all deciding metrics {shown} their data-science thresholds"
            + (f" ({', '.join(deciding)})" if deciding else "")
            + " and none degraded from the OOT baseline"
        )
    return {
        "decision": DECISIONS[tier],
        "reasons": reasons,
        "evidence": evidence,
        "degraded": [c["metric"] for c in evidence if c["degraded"]],
        "decision_priorities": list(rules.decision_priorities),
        "decide_on": rules.decide_on,
        "calibration_check": check,
    }


def calibration_check(calibration: Mapping[str, Any] | None, rules: ActionRules) -> dict[str, Any]:
    """Whether a cohort's A/E (:func:`calibration_evidence`) fails ``rules.calibration`` (the recalibrate tier).

    Returns:
        ``ae_ratio``, ``ae_lower``, ``ae_upper``, ``confidence``, ``pvalue``, ``alpha``, ``n``,
        ``actual_defaults``, ``expected_defaults``, ``ae_band``, ``rule``, ``status`` (``ok``, ``outside_band``
        (failing), ``outside_band_not_significant``, ``interval_reaches_band``, ``significant_inside_band``,
        ``no data``, ``disabled``) and ``fails``.
    """
    rule = rules.calibration
    cal = dict(calibration or {})
    ae, lower, upper = _num(cal.get("ae_ratio")), _num(cal.get("ae_lower")), _num(cal.get("ae_upper"))
    pvalue = _num(cal.get("jeffreys_pvalue_two_sided"))
    low, high = rule.ae_band
    out = {
        "ae_ratio": ae,
        "ae_lower": lower,
        "ae_upper": upper,
        "confidence": _num(cal.get("confidence")),
        "pvalue": pvalue,
        "alpha": rules.calibration_alpha,
        "n": cal.get("n"),
        "actual_defaults": cal.get("actual_defaults"),
        "expected_defaults": _num(cal.get("expected_defaults")),
        "verdict": cal.get("verdict"),
        "ae_band": [low, high],
        "rule": rule.rule,
        "enabled": rule.enabled,
    }
    if ae is None or lower is None or upper is None:
        return {**out, "status": "no data", "fails": False}
    outside = ae < low or ae > high
    significant = pvalue is not None and pvalue < rules.calibration_alpha
    if rule.rule == "interval_outside_band":
        fails = upper < low or lower > high
        status = "outside_band" if fails else ("interval_reaches_band" if outside else "ok")
    elif rule.rule == "point":
        fails = outside
        status = "outside_band" if fails else "ok"
    else:
        fails = outside and significant
        status = (
            "outside_band"
            if fails
            else "outside_band_not_significant"
            if outside
            else "significant_inside_band"
            if significant
            else "ok"
        )
    if not rule.enabled:
        return {**out, "status": "disabled" if fails else status, "fails": False}
    return {**out, "status": status, "fails": fails}


def _calibration_reason(check: Mapping[str, Any]) -> str:
    low, high = check["ae_band"]
    how = {
        "significant_outside_band": f"outside the band [{low:.2f}, {high:.2f}] and Jeffreys two-sided p "
        f"{check['pvalue']:.4f} < {check['alpha']:.2f}",
        "interval_outside_band": f"the whole interval outside the band [{low:.2f}, {high:.2f}]",
        "point": f"outside the band [{low:.2f}, {high:.2f}]",
    }[check["rule"]]
    side = "PD too low" if check["ae_ratio"] > 1 else "PD too high"
    expected = check.get("expected_defaults")
    counts = (
        f", {check['actual_defaults']} defaults vs {expected:.1f} expected"
        if expected is not None and check.get("actual_defaults") is not None
        else ""
    )
    level = f"Jeffreys {check['confidence']:.0%}" if check.get("confidence") else "Jeffreys"
    return (
        f"calibration A/E {check['ae_ratio']:.3f} [{check['ae_lower']:.3f}, {check['ae_upper']:.3f}] "
        f"({level}, n={check['n']}{counts}): {how} ({side})"
    )


def calibration_evidence(
    n_defaults: Any, n: Any, mean_pd: Any, *, alpha: float = 0.05, level: float = 0.95
) -> dict[str, Any]:
    """Actual / expected defaults of one cohort with the Jeffreys test of its observed rate vs the mean PD.

    Expected defaults = Σ PD = ``mean_pd · n``. A/E's interval is the Jeffreys interval of the default rate
    divided by the mean PD; ``verdict`` is ``pd too low`` / ``pd too high`` when the two-sided Jeffreys p-value
    is below ``alpha`` (:func:`kycc.monitoring.backtest.band_test`), ``consistent`` otherwise; ``calibration_
    failed`` says whether it is not consistent.
    """
    d, total, pd_mean = _num(n_defaults), _num(n), _num(mean_pd)
    if d is None or total is None or pd_mean is None or total <= 0 or not 0 < pd_mean < 1:
        return {"actual_defaults": d, "expected_defaults": None, "n": total, "ae_ratio": None,
                "verdict": "no data", "calibration_failed": False}  # fmt: skip
    test = band_test(int(d), int(total), pd_mean, alpha=alpha, level=level)
    expected = pd_mean * total
    return {
        "actual_defaults": int(d),
        "expected_defaults": expected,
        "n": int(total),
        "mean_pd": pd_mean,
        "observed_default_rate": test["observed_default_rate"],
        "ae_ratio": d / expected,
        "ae_lower": test["jeffreys_lower"] / pd_mean,
        "ae_upper": test["jeffreys_upper"] / pd_mean,
        "confidence": level,
        "jeffreys_pvalue_two_sided": test["jeffreys_pvalue_two_sided"],
        "binomial_pvalue": test["binomial_pvalue"],
        "alpha": alpha,
        "method": f"Jeffreys {level:.0%} (rate vs mean PD)",
        "verdict": test["verdict"],
        "calibration_failed": test["verdict"] in {"pd too low", "pd too high"},
    }


def _fmt(value: Any, digits: int = 4) -> str:
    return "n/a" if _is_nan(value) else f"{value:.{digits}f}"


def _bounds(c: Mapping[str, Any]) -> str:
    if _is_nan(c.get("lower")) or _is_nan(c.get("upper")):
        return "n/a"
    return f"[{c['lower']:.3f}, {c['upper']:.3f}]"


def render_action_report(record: Mapping[str, Any]) -> str:
    """The human-readable report of one decision (``record`` is the JSON the actions pipeline writes)."""
    decision = record["decision"]
    notify = record.get("notification_channels")
    lines = [
        f"KYCC model monitoring action report: {record['model']} — {record['month']}",
        "=" * 78,
        f"Decision:          {decision.upper()}",
        f"Model version:     {record.get('registered_model_name')} v{record.get('model_version')}"
        f" (trained {record.get('model_training_date')})",
        f"Monitored cohort:  applications of {record.get('cohort_month')} scored then, labels matured "
        f"{record['month']} ({record.get('n_samples')} loans, {record.get('n_defaults')} defaults)",
        f"Decided on:        {record.get('decide_on', 'point')} evidence"
        + (
            f" ({_fmt(record.get('confidence'), 2)} intervals: retrain when the upper bound is below the business "
            "threshold, monitor when the lower bound clears the data-science threshold)"
            if record.get("decide_on") == "interval"
            else " (a metric meets a threshold when value >= threshold)"
        ),
        "Notification:      " + (", ".join(notify) if notify else "no channel configured for this level"),
        "",
        "Why:",
        *[f"  - {r}" for r in record["reasons"]],
        "",
        "Evidence:",
        f"  {'pri':<4}{'metric':<11}{'value':>8}  {'interval':<17}{'n':>6}{'business':>10}{'data sci':>10}"
        f"{'OOT base':>10}  status",
    ]
    for c in record["evidence"]:
        lines.append(
            f"  {c['priority']:<4}{c['metric']:<11}{_fmt(c['value']):>8}  {_bounds(c):<17}"
            f"{c['n'] if c.get('n') is not None else 'n/a':>6}{_fmt(c['business_threshold'], 2):>10}"
            f"{_fmt(c['data_science_threshold'], 2):>10}{_fmt(c['baseline_oot']):>10}"
            f"  {c['status']}{' DEGRADED' if c['degraded'] else ''}{'' if c['decides'] else ' (reported)'}"
        )
    methods = sorted({c["method"] for c in record["evidence"] if c.get("method")})
    if methods:
        lines.append(f"  intervals: {'; '.join(methods)}")
    all_good = record.get("all_good_accuracy")
    if all_good is not None:
        accuracy = next((c["value"] for c in record["evidence"] if c["metric"] == "accuracy"), None)
        lines.append(
            f"  accuracy {_fmt(accuracy)} vs {_fmt(all_good)} for the all-good classifier (predicts no default)"
            f" on the same cohort (default rate {_fmt(record.get('default_rate'))})"
        )
    cal = record.get("calibration") or {}
    check = record.get("calibration_check") or {}
    if cal.get("ae_ratio") is not None:
        band = check.get("ae_band")
        rule = (
            f"recalibrate rule {check.get('rule')}, band [{band[0]:.2f}, {band[1]:.2f}]"
            if band and check.get("enabled", True)
            else "reported only (actions.calibration.enabled: false)"
        )
        lines += [
            "",
            f"Calibration ({rule}):",
            f"  actual / expected defaults {cal['actual_defaults']} / {cal['expected_defaults']:.1f} = A/E "
            f"{cal['ae_ratio']:.3f} [{cal['ae_lower']:.3f}, {cal['ae_upper']:.3f}] ({cal['method']}); "
            f"two-sided p {_fmt(cal['jeffreys_pvalue_two_sided'])}: {cal['verdict']}"
            + (" — CALIBRATION FAILED" if cal.get("calibration_failed") else "")
            + (f"; status {check['status']}" if check.get("status") else "")
            + (" → RECALIBRATE" if check.get("fails") and decision == "recalibrate" else ""),
        ]
    drift = record.get("drift") or {}
    if drift:
        levels = record.get("psi_levels") or {}
        lines += [
            "",
            f"Drift (PSI levels: moderate >= {_fmt(levels.get('moderate'), 2)}, major >= "
            f"{_fmt(levels.get('major'), 2)}):",
            f"  score PSI vs OOT reference: {_fmt(drift.get('psi_score'))} ({drift.get('psi_level', 'n/a')})",
            f"  largest feature PSI: {drift.get('psi_feature_max_name') or 'n/a'} "
            f"{_fmt(drift.get('psi_feature_max'))}; features with PSI >= {_fmt(levels.get('major'), 2)}: "
            f"{drift.get('n_features_psi_major', 'n/a')}",
            f"  mean PD {_fmt(drift.get('pd_mean'))} vs reference {_fmt(drift.get('pd_mean_reference'))}",
        ]
    lines += ["", "Next steps:", *[f"  - {s}" for s in ACTION_STEPS[decision]]]
    if record.get("training_triggered"):
        lines.append(
            "  - Retraining is triggered automatically by the monthly cycle (actions.trigger_training)."
        )
    if record.get("recalibration_triggered"):
        lines.append(
            "  - The monthly cycle recalibrates the champion next month on the latest matured cohorts "
            "(actions.trigger_recalibration)."
        )
    return "\n".join(lines) + "\n"
