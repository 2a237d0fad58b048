"""Quality gates: a model is registered only when every gate passes (thresholds in ``training.quality_gates``).

* enough labelled samples (``min_samples``) and a plausible default rate (``min_default_rate`` ..
  ``max_default_rate``) in each of ``windows`` (default train, test and OOT): otherwise the metrics mean little;
* ROC-AUC of at least ``min_roc_auc`` in each of ``auc_windows`` (default test and OOT).

A failing model is recorded (metadata, MLflow run) with every failed check as a reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["PARAMS", "GateConfig", "evaluate_gates"]

#: Where the thresholds live (named in every failure reason, so the user knows what to change).
PARAMS = "training.quality_gates"


@dataclass(frozen=True)
class GateConfig:
    min_roc_auc: float = 0.60
    min_samples: int = 100
    min_default_rate: float = 0.05
    max_default_rate: float = 0.50
    windows: tuple[str, ...] = ("train", "test", "oot")
    auc_windows: tuple[str, ...] = ("test", "oot")

    @classmethod
    def from_params(cls, params: dict[str, Any] | None) -> GateConfig:
        params = dict(params or {})
        unknown = set(params) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"Unknown keys in training.quality_gates: {sorted(unknown)}")
        for key in ("windows", "auc_windows"):
            if key in params:
                params[key] = tuple(params[key])
        config = cls(**params)
        if not 0 <= config.min_default_rate <= config.max_default_rate <= 1:
            raise ValueError(
                "training.quality_gates: need 0 <= min_default_rate <= max_default_rate <= 1, got "
                f"{config.min_default_rate} and {config.max_default_rate}"
            )
        return config


def _pct(value: float) -> str:
    return f"{value * 100:g}%"


def _default_rate_reason(window: str, rate: float, config: GateConfig) -> str:
    """Why the default rate fails, naming the parameter to change (a low-default portfolio lowers the minimum)."""
    text = (
        f"{window}: default rate {'undefined' if math.isnan(rate) else f'{rate:.1%}'} outside "
        f"{_pct(config.min_default_rate)}..{_pct(config.max_default_rate)}"
    )
    if not math.isnan(rate) and rate < config.min_default_rate:
        return (
            f"{text}: below {PARAMS}.min_default_rate = {config.min_default_rate:g}; a low-default portfolio "
            f"lowers it in conf/local/parameters_training.yml (e.g. min_default_rate: "
            f"{math.floor(rate * 200) / 200:g}), see docs/training.md"
        )
    if not math.isnan(rate) and rate > config.max_default_rate:
        return (
            f"{text}: above {PARAMS}.max_default_rate = {config.max_default_rate:g}; raise it in "
            "conf/local/parameters_training.yml if this portfolio's default rate is really that high"
        )
    return text


def evaluate_gates(metrics: dict[str, dict[str, float]], config: GateConfig) -> dict[str, Any]:
    """Check the metrics of each window against the gates.

    Args:
        metrics: ``{window: classification_metrics(...)}``.
        config: The thresholds.

    Returns:
        ``{"passed": bool, "reasons": [str], "checks": [{gate, window, value, threshold, passed}]}``.
    """
    checks: list[dict[str, Any]] = []

    def check(gate: str, window: str, value: float, threshold: Any, *, ok: bool, reason: str) -> None:
        checks.append(
            {
                "gate": gate,
                "window": window,
                "value": value,
                "threshold": threshold,
                "passed": bool(ok),
                "reason": None if ok else reason,
            }
        )

    for window in config.windows:
        m = metrics.get(window)
        if m is None:
            check(
                "min_samples", window, math.nan, config.min_samples, ok=False, reason=f"{window}: no metrics"
            )
            continue
        n = m.get("n_samples", 0.0)
        check(
            "min_samples",
            window,
            n,
            config.min_samples,
            ok=n >= config.min_samples,
            reason=f"{window}: {int(n)} labelled samples < {config.min_samples} ({PARAMS}.min_samples)",
        )
        rate = m.get("default_rate", math.nan)
        ok = not math.isnan(rate) and config.min_default_rate <= rate <= config.max_default_rate
        check(
            "default_rate",
            window,
            rate,
            [config.min_default_rate, config.max_default_rate],
            ok=ok,
            reason=_default_rate_reason(window, rate, config),
        )
    for window in config.auc_windows:
        auc = metrics.get(window, {}).get("roc_auc", math.nan)
        ok = not math.isnan(auc) and auc >= config.min_roc_auc
        reason = (
            f"{window}: ROC-AUC undefined (a single class)"
            if math.isnan(auc)
            else f"{window}: ROC-AUC {auc:.3f} < {config.min_roc_auc} ({PARAMS}.min_roc_auc)"
        )
        check("min_roc_auc", window, auc, config.min_roc_auc, ok=ok, reason=reason)
    reasons = [c["reason"] for c in checks if not c["passed"]]
    return {"passed": not reasons, "reasons": reasons, "checks": checks}
