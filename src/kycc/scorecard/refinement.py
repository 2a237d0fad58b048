"""Refine a scorecard from model_1: the model's coefficients become data-driven weights, blended with the base.

model_1 is a logistic regression on Weight-of-Evidence (WoE) features (``kycc.modeling``): one coefficient
``β_f`` per original feature, on a feature whose values are the WoE of its bins (positive WoE = safer, so a
sensible ``β_f`` is negative: the model predicts default). The ML weight of a scorecard feature is its share of
the model's importance over the scorecard's features::

    importance_f = |β_f| × std(WoE_f)        (importance: woe_std, the default: the spread of the feature's
                                             contribution to the log-odds, from the WoE bins' training shares)
    importance_f = |β_f|                     (importance: abs_coef)
    ML_f         = importance_f / Σ_{g in scorecard} importance_g      (sums to 1, like the base weights)
    new_f        = (1 − blend_factor) · base_f + blend_factor · ML_f

A scorecard feature the model does not use (dropped for a low information value, or not a model feature) and a
feature whose coefficient has the wrong sign (safer bins → more defaults) get ML weight 0; both are flagged in
the weights table. ``blend_factor`` 0 reproduces the base weights exactly, 1 gives the ML weights. Only the
weights change: bins, points, range and bands are the base version's.

For other linear models (``standard`` preprocessing, or any fitted estimator with ``coef_``) the columns of one
original feature (a one-hot group) are aggregated: importance = the L2 norm of their coefficients; no sign check.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from kycc.scorecard.definition import ScorecardDefinition

logger = logging.getLogger(__name__)

__all__ = [
    "IMPORTANCE_METHODS",
    "RefinementError",
    "blend_weights",
    "check_model_metadata",
    "choose_fair_blend",
    "extract_model_coefficients",
    "ml_weights_table",
    "refine_definition",
]

IMPORTANCE_METHODS = ("woe_std", "abs_coef")
#: Name a refined definition carries until the version store gives it its version name (ml_v2, …).
DRAFT_NAME = "draft"


class RefinementError(ValueError):
    """The model cannot refine the scorecard (not linear, failed gates, no overlap with the scorecard…)."""


def _unpack(model: Any, preprocessing: Any) -> tuple[Any, Any]:
    """(estimator, preprocessing) from a ``CreditRiskModel`` bundle or the two training artifacts."""
    if hasattr(model, "estimator") and hasattr(model, "preprocessor") and not hasattr(model, "coef_"):
        return model.estimator, preprocessing if preprocessing is not None else model.preprocessor
    return model, preprocessing


def _woe_std(binning: Any) -> float:
    """Standard deviation of a feature's WoE over its training rows (from the binning table's shares)."""
    table = getattr(binning, "table", None)
    if table is None or table.empty:
        return math.nan
    share = table["share"].to_numpy(dtype="float64")
    woe = table["woe"].to_numpy(dtype="float64")
    if share.sum() <= 0:
        return math.nan
    share = share / share.sum()
    mean = float((share * woe).sum())
    return float(math.sqrt(max((share * (woe - mean) ** 2).sum(), 0.0)))


def extract_model_coefficients(model: Any, preprocessing: Any = None) -> pd.DataFrame:
    """Per-feature coefficients of a fitted linear model_1 (the adapter over the training artifacts).

    Args:
        model: The fitted estimator (``data/06_models/model_1/model.pkl``, a scikit-learn classifier with
            ``coef_``) or the registered bundle (``CreditRiskModel``: preprocessing + estimator).
        preprocessing: The fitted ``CreditPreprocessor`` (``preprocessing.pkl``); optional for the bundle.

    Returns:
        One row per original feature the model uses: ``feature``, ``model_columns`` (its model inputs),
        ``coefficient`` (β for a one-column feature, else the L2 norm), ``woe_std`` (NaN unless WoE),
        ``information_value`` (NaN unless WoE), ``sign`` (``ok``, ``wrong`` or ``n/a``).
    """
    estimator, prep = _unpack(model, preprocessing)
    coef = getattr(estimator, "coef_", None)
    if coef is None:
        raise RefinementError(
            f"model_1 ({type(estimator).__name__}) has no coefficients (coef_): scorecard refinement needs a "
            "linear model such as the logistic regression of training.models.model_1"
        )
    coef = np.asarray(coef, dtype="float64")
    if coef.ndim == 2:
        if coef.shape[0] != 1:
            raise RefinementError(f"model_1 must be a binary classifier; coef_ has shape {coef.shape}")
        coef = coef[0]
    names = getattr(estimator, "feature_names_in_", None)
    if names is None and prep is not None:
        names = getattr(prep, "feature_names_out_", None)
    if names is None or len(names) != len(coef):
        raise RefinementError(
            "cannot tell which coefficient belongs to which feature: the model has no feature_names_in_ and "
            "the preprocessing gives no matching feature_names_out_"
        )
    names = [str(n) for n in names]
    kind = getattr(prep, "kind", None)
    if kind == "woe":
        binner = prep.transformer_
        iv = getattr(prep, "iv_", {}) or {}
        rows = []
        for name, beta in zip(names, coef, strict=True):
            binning = binner.binnings_.get(name) if hasattr(binner, "binnings_") else None
            rows.append(
                {
                    "feature": name,
                    "model_columns": [name],
                    "coefficient": float(beta),
                    "woe_std": _woe_std(binning) if binning is not None else math.nan,
                    "information_value": float(iv.get(name, math.nan)),
                    # WoE > 0 is safer: a model of P(default) should have a negative coefficient
                    "sign": "ok" if beta < 0 else "wrong" if beta > 0 else "ok",
                }
            )
        return pd.DataFrame(rows)
    originals = [str(f) for f in getattr(prep, "features", None) or []] if prep is not None else []
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        owner = name
        if name not in originals:
            matches = [f for f in originals if name.startswith(f + "_")]
            owner = max(matches, key=len) if matches else name
        groups.setdefault(owner, []).append(i)
    rows = []
    for feature, idx in groups.items():
        values = coef[idx]
        rows.append(
            {
                "feature": feature,
                "model_columns": [names[i] for i in idx],
                "coefficient": float(values[0]) if len(idx) == 1 else float(np.linalg.norm(values)),
                "woe_std": math.nan,
                "information_value": math.nan,
                "sign": "n/a",
            }
        )
    return pd.DataFrame(rows)


def check_model_metadata(
    metadata: Mapping[str, Any] | None, require_quality_gate: bool = True
) -> dict[str, Any]:
    """The model's provenance for the new version; refuses a model that failed its quality gates.

    Args:
        metadata: ``data/06_models/model_1/metadata.json`` (may be None for a hand-made model).
        require_quality_gate: Refuse when ``metadata.quality_gate.passed`` is false.
    """
    metadata = dict(metadata or {})
    gate = metadata.get("quality_gate") or {}
    if require_quality_gate and gate and not gate.get("passed", False):
        reasons = "; ".join(gate.get("reasons") or []) or "no reason recorded"
        raise RefinementError(
            f"{metadata.get('model', 'model_1')} failed its quality gates ({reasons}): it is not a candidate and "
            "cannot refine the scorecard. Retrain it, or set scorecard.refinement.require_quality_gate: false "
            "to refine anyway."
        )
    metrics = metadata.get("metrics") or {}
    oot = metrics.get("oot") or {}
    return {
        "model": metadata.get("model", "model_1"),
        "registered_model_name": metadata.get("registered_model_name"),
        "estimator": metadata.get("estimator"),
        "best_params": metadata.get("best_params"),
        "training_date": metadata.get("training_date"),
        "data_fingerprint": metadata.get("data_fingerprint"),
        "quality_gate_passed": gate.get("passed"),
        "oot_roc_auc": oot.get("roc_auc"),
        "test_roc_auc": (metrics.get("test") or {}).get("roc_auc"),
    }


def ml_weights_table(
    coefficients: pd.DataFrame, definition: ScorecardDefinition, importance: str = "woe_std"
) -> pd.DataFrame:
    """ML weight of every scorecard feature from the model's coefficients (see the module docstring).

    Returns:
        One row per scorecard feature (definition order): ``feature``, ``group``, ``base_weight``,
        ``in_model``, ``coefficient``, ``woe_std``, ``information_value``, ``importance``, ``ml_weight``,
        ``note``. ``attrs["outside_share"]`` is the share of the model's importance on features the
        scorecard does not use.
    """
    if importance not in IMPORTANCE_METHODS:
        raise RefinementError(f"importance must be one of {IMPORTANCE_METHODS}, got {importance!r}")
    required = {"feature", "coefficient"}
    if not isinstance(coefficients, pd.DataFrame) or not required <= set(coefficients.columns):
        raise RefinementError(f"coefficients must be a DataFrame with columns {sorted(required)}")
    coefs = coefficients.set_index("feature")

    def importance_of(row: pd.Series) -> float:
        beta = abs(float(row["coefficient"]))
        if importance == "abs_coef":
            return beta
        spread = row.get("woe_std", math.nan)
        return beta * (1.0 if spread is None or math.isnan(float(spread)) else float(spread))

    all_importance = {f: importance_of(r) for f, r in coefs.iterrows()}
    rows = []
    for rule in definition.features:
        row: dict[str, Any] = {
            "feature": rule.name,
            "group": rule.group,
            "base_weight": rule.weight,
            "in_model": rule.name in coefs.index,
            "coefficient": math.nan,
            "woe_std": math.nan,
            "information_value": math.nan,
            "importance": 0.0,
            "note": "",
        }
        if rule.name not in coefs.index:
            row["note"] = (
                "not used by the model (dropped for a low information value, or not a model feature)"
            )
        else:
            c = coefs.loc[rule.name]
            row["coefficient"] = float(c["coefficient"])
            row["woe_std"] = float(c.get("woe_std", math.nan))
            row["information_value"] = float(c.get("information_value", math.nan))
            if c.get("sign", "ok") == "wrong":
                row["note"] = "wrong sign: the model sees more defaults in the safer bins; ML weight 0"
            else:
                row["importance"] = all_importance[rule.name]
        rows.append(row)
    table = pd.DataFrame(rows)
    total = float(table["importance"].sum())
    if total <= 0:
        raise RefinementError(
            f"the model gives no usable weight to any feature of scorecard {definition.version!r} "
            f"({', '.join(definition.feature_names)}): nothing to refine"
        )
    table["ml_weight"] = table["importance"] / total
    model_total = float(sum(all_importance.values()))
    table.attrs["outside_share"] = 1.0 - total / model_total if model_total > 0 else 0.0
    for _, r in table[table["note"] != ""].iterrows():
        logger.info("ML weight 0 for %s: %s", r["feature"], r["note"])
    return table


def blend_weights(
    base: Mapping[str, float], ml: Mapping[str, float], blend_factor: float
) -> dict[str, float]:
    """``(1 − blend_factor) · base + blend_factor · ML`` per feature (0 → base exactly, 1 → ML exactly)."""
    if (
        isinstance(blend_factor, bool)
        or not isinstance(blend_factor, int | float)
        or not 0 <= blend_factor <= 1
    ):
        raise RefinementError(f"blend_factor must be a number between 0 and 1, got {blend_factor!r}")
    if set(base) != set(ml):
        raise RefinementError(
            f"base and ML weights cover different features: only base {sorted(set(base) - set(ml))}, "
            f"only ML {sorted(set(ml) - set(base))}"
        )
    b = float(blend_factor)
    # exact at the ends in floating point: (1 − 0)·x + 0·y == x and (1 − 1)·x + 1·y == y
    return {f: (1.0 - b) * float(base[f]) + b * float(ml[f]) for f in base}


def refine_definition(
    base: ScorecardDefinition,
    ml_weights: Mapping[str, float],
    blend_factor: float = 0.5,
    version: str = DRAFT_NAME,
) -> ScorecardDefinition:
    """The base version with blended weights (bins, points, range and bands unchanged)."""
    weights = blend_weights(base.weights, ml_weights, blend_factor)
    return base.with_weights(
        weights,
        version=version,
        description=f"{base.version} refined from model_1 coefficients (blend_factor {float(blend_factor):g})",
    )


def choose_fair_blend(
    base: ScorecardDefinition,
    ml_weights: Mapping[str, float],
    labelled: pd.DataFrame,
    characteristics: Mapping[str, Mapping[str, Any]],
    *,
    gini_tolerance: float = 0.01,
    grid: int = 11,
    min_group_size: int = 30,
    label_column: str = "label",
) -> dict[str, Any]:
    """The blend factor with the least disparity whose Gini is within ``gini_tolerance`` of the best Gini.

    For each blend factor of ``linspace(0, 1, grid)`` the refined version scores and decides (its policy) the
    labelled sample: Gini = 2 × ROC-AUC − 1 of the score against default; disparity = 1 − the lowest
    approval-rate ratio of any group of ``characteristics`` with at least ``min_group_size`` applicants
    (:func:`kycc.scorecard.fairness.adverse_impact`). Among the factors with Gini >= best − tolerance, the least
    disparity wins (ties: the higher Gini, then the smaller factor).

    Returns:
        ``{"blend_factor", "gini_tolerance", "best_gini", "candidates": [{blend_factor, gini, disparity,
        eligible}]}``.
    """
    from sklearn.metrics import roc_auc_score

    from kycc.scorecard.decision import decide_applications
    from kycc.scorecard.fairness import adverse_impact
    from kycc.scorecard.points import score_applications

    if base.policy is None:
        raise RefinementError(
            f"blend_factor: fair needs a decision policy in {base.version!r} (approvals to compare)"
        )
    absent = [c for c in characteristics if c not in labelled.columns]
    if absent or labelled.empty:
        raise RefinementError(
            f"blend_factor: fair needs a labelled sample with the characteristics {list(characteristics)}"
        )
    y = labelled[label_column].to_numpy()
    candidates = []
    for factor in np.linspace(0.0, 1.0, int(grid)):
        draft = refine_definition(base, ml_weights, float(factor))
        scored = score_applications(labelled, draft, with_points=True)
        gini = 2 * float(roc_auc_score(y, -scored["score"].to_numpy())) - 1
        decided = decide_applications(labelled, scored, draft)
        frame = labelled[list(characteristics)].assign(
            snapshot_date="2000-01-01", decision=decided["decision"].to_numpy()
        )
        report = adverse_impact(frame, characteristics, min_group_size=min_group_size)
        ratios = report.loc[~report["small_group"], "impact_ratio"].dropna()
        disparity = float(1 - ratios.min()) if len(ratios) else 0.0
        candidates.append({"blend_factor": round(float(factor), 6), "gini": gini, "disparity": disparity})
    best = max(c["gini"] for c in candidates)
    for c in candidates:
        c["eligible"] = c["gini"] >= best - gini_tolerance
    chosen = min(
        (c for c in candidates if c["eligible"]),
        key=lambda c: (c["disparity"], -c["gini"], c["blend_factor"]),
    )
    logger.info(
        "Fair blend: %.2f (Gini %.3f vs best %.3f, disparity %.3f)",
        chosen["blend_factor"], chosen["gini"], best, chosen["disparity"],
    )  # fmt: skip
    return {"blend_factor": chosen["blend_factor"], "gini_tolerance": float(gini_tolerance), "best_gini": best,
            "candidates": candidates}  # fmt: skip
