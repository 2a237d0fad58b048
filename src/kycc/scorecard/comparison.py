"""Compare two scorecard versions on a reference batch, with the governance checks.

What is compared (``compare_scorecards``):

* **weights** per feature: old, new and the change ``(new − old) / old × 100`` (%). A feature only in the new
  version (old weight 0) has an infinite change; one dropped by the new version changes by −100 %.
* **scores** of both versions on the same reference rows (the gold features of a month): summary statistics,
  the Pearson correlation (the check) and the Spearman rank correlation (shown).
* **bands**: each band's share of the reference rows under each version, its change in percentage points,
  and the band migration matrix (rows: old band, columns: new band).

The checks (thresholds in ``scorecard.checks``); activation is blocked when one fails:

=================  ==================================================================  ============
check              value                                                               passes when
=================  ==================================================================  ============
weight_change      max over features of |new − old| / old × 100                        < 50 (%)
score_correlation  Pearson correlation of old and new scores on the reference batch    > 0.8
band_shift         max over bands of |new share − old share| × 100 (percentage points)  < 10 (pp)
=================  ==================================================================  ============

The fourth check, ``shadow_gini`` (:mod:`kycc.scorecard.shadow`): on the matured cohorts NEW was scored in
shadow while OLD decided, Gini(OLD) − Gini(NEW) ≤ ``max_gini_drop`` (paired DeLong CI and p-value reported);
without such cohorts its status is ``no evidence`` (a pass only when ``require_shadow_evidence`` is false).

The total variation distance of the band distributions (½ Σ |Δ share|, in pp) and the share of applications
that change band are reported too; they are not checks.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from kycc.scorecard.definition import ScorecardDefinition
from kycc.scorecard.points import score_applications
from kycc.scorecard.shadow import shadow_gini_check

logger = logging.getLogger(__name__)

__all__ = ["CheckThresholds", "ComparisonError", "compare_scorecards", "failed_checks"]


class ComparisonError(ValueError):
    """The two versions cannot be compared (no reference rows, …)."""


@dataclass(frozen=True)
class CheckThresholds:
    """``scorecard.checks``."""

    max_weight_change_pct: float = 50.0
    min_score_correlation: float = 0.8
    max_band_shift_pct: float = 10.0
    #: the fourth check (shadow_gini): largest allowed Gini(OLD) − Gini(NEW) on the matured shadow cohorts
    max_gini_drop: float = 0.02
    #: fewer defaults (or non-defaults) than this in the matured shadow cohorts is no evidence
    min_shadow_defaults: int = 10
    #: no evidence blocks activation (true) or is reported and does not block (false)
    require_shadow_evidence: bool = False
    #: point: the drop itself; interval: the upper bound of its paired CI (non-inferiority)
    gini_decide_on: str = "point"

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> CheckThresholds:
        params = dict(params or {})
        unknown = set(params) - set(cls.__dataclass_fields__)
        if unknown:
            raise ComparisonError(
                f"Unknown keys in scorecard.checks: {sorted(unknown)}; allowed: {sorted(cls.__dataclass_fields__)}"
            )
        values: dict[str, Any] = {}
        for key, value in params.items():
            if key == "require_shadow_evidence":
                if not isinstance(value, bool):
                    raise ComparisonError(
                        f"scorecard.checks.require_shadow_evidence must be true or false, got {value!r}"
                    )
                values[key] = value
            elif key == "gini_decide_on":
                if value not in ("point", "interval"):
                    raise ComparisonError(
                        f"scorecard.checks.gini_decide_on must be point or interval, got {value!r}"
                    )
                values[key] = value
            elif key == "min_shadow_defaults":
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ComparisonError(
                        f"scorecard.checks.min_shadow_defaults must be a whole number >= 1, got {value!r}"
                    )
                values[key] = value
            else:
                values[key] = float(value)
        return cls(**values)


def _pct_change(old: float, new: float) -> float:
    if old == 0:
        return 0.0 if new == 0 else math.inf
    # rounded so that float noise cannot move a change of exactly 50 % under the limit
    return round((new - old) / old * 100.0, 6)


def _finite(value: float) -> float | None:
    """JSON-safe number (None for NaN/inf)."""
    return None if value is None or math.isnan(value) or math.isinf(value) else float(value)


def _summary(scores: pd.Series) -> dict[str, float | None]:
    if scores.empty:
        return dict.fromkeys(("mean", "std", "min", "p10", "p50", "p90", "max"))
    q = scores.quantile([0.1, 0.5, 0.9])
    return {
        "mean": float(scores.mean()),
        "std": float(scores.std(ddof=0)),
        "min": float(scores.min()),
        "p10": float(q.loc[0.1]),
        "p50": float(q.loc[0.5]),
        "p90": float(q.loc[0.9]),
        "max": float(scores.max()),
    }


def _correlation(a: pd.Series, b: pd.Series, method: str) -> float:
    if len(a) < 2 or a.nunique() < 2 or b.nunique() < 2:
        return math.nan
    return float(a.corr(b, method=method))


def compare_scorecards(
    old: ScorecardDefinition,
    new: ScorecardDefinition,
    reference: pd.DataFrame,
    thresholds: CheckThresholds | Mapping[str, Any] | None = None,
    *,
    reference_label: str | None = None,
    shadow: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Compare ``new`` with ``old`` on ``reference`` (gold feature rows) and run the checks.

    ``shadow``: the matured loans NEW scored in shadow while OLD decided
    (:func:`kycc.scorecard.shadow.shadow_evidence`); None or empty: the fourth check says there is no evidence.

    Returns:
        A JSON-friendly result: ``old_version``, ``new_version``, ``reference``, ``weights``, ``groups``,
        ``scores``, ``bands``, ``band_shift``, ``migration``, ``checks`` (one row per check with value,
        threshold and pass/fail) and ``passed`` (all checks pass).
    """
    if not isinstance(thresholds, CheckThresholds):
        thresholds = CheckThresholds.from_params(thresholds)
    if not isinstance(reference, pd.DataFrame) or reference.empty:
        raise ComparisonError(
            "The reference batch is empty: no gold feature rows to score (check scorecard.reference.month and "
            "that `kedro run` built feat_gold_features)"
        )

    # -- weights ------------------------------------------------------------------------------------------
    old_w, new_w = old.weights, new.weights
    groups = {f.name: f.group for f in old.features} | {f.name: f.group for f in new.features}
    features = list(dict.fromkeys([*old.feature_names, *new.feature_names]))
    weight_rows = []
    for name in features:
        o, n = float(old_w.get(name, 0.0)), float(new_w.get(name, 0.0))
        change = _pct_change(o, n)
        weight_rows.append(
            {
                "feature": name,
                "group": groups[name],
                "old_weight": o,
                "new_weight": n,
                "change_pct": _finite(change),
                "note": "added" if o == 0 and n > 0 else "removed" if n == 0 and o > 0 else "",
                "exceeds": abs(change) >= thresholds.max_weight_change_pct,
            }
        )
    group_rows = []
    for group in dict.fromkeys(groups.values()):
        members = [r for r in weight_rows if r["group"] == group]
        group_rows.append(
            {
                "group": group,
                "old_weight": sum(r["old_weight"] for r in members),
                "new_weight": sum(r["new_weight"] for r in members),
            }
        )
    max_change = max(abs(_pct_change(r["old_weight"], r["new_weight"])) for r in weight_rows)
    worst = max(weight_rows, key=lambda r: abs(_pct_change(r["old_weight"], r["new_weight"])))

    # -- scores and bands on the reference batch -----------------------------------------------------------
    old_scores = score_applications(reference, old)
    new_scores = score_applications(reference, new)
    a, b = old_scores["score"].astype("float64"), new_scores["score"].astype("float64")
    pearson, spearman = _correlation(a, b, "pearson"), _correlation(a, b, "spearman")
    band_names = list(dict.fromkeys([*old.band_names, *new.band_names]))
    n_rows = len(reference)
    old_share = old_scores["band"].value_counts().reindex(band_names, fill_value=0) / n_rows
    new_share = new_scores["band"].value_counts().reindex(band_names, fill_value=0) / n_rows
    band_rows = [
        {
            "band": band,
            "old_share": float(old_share[band]),
            "new_share": float(new_share[band]),
            "change_pp": float((new_share[band] - old_share[band]) * 100),
        }
        for band in band_names
    ]
    max_shift = max(abs(r["change_pp"]) for r in band_rows)
    worst_band = max(band_rows, key=lambda r: abs(r["change_pp"]))
    total_variation = float(np.abs(new_share - old_share).sum() / 2 * 100)
    migration = pd.crosstab(
        pd.Categorical(old_scores["band"], categories=band_names),
        pd.Categorical(new_scores["band"], categories=band_names),
        dropna=False,
    )
    moved = float((old_scores["band"].to_numpy() != new_scores["band"].to_numpy()).mean())

    # -- checks ---------------------------------------------------------------------------------------------
    worst_change = "+inf" if worst["change_pct"] is None else f"{worst['change_pct']:+.1f}"
    weight_detail = (
        f"{worst['feature']}: {worst['old_weight']:.4f} → {worst['new_weight']:.4f} ({worst_change} %)"
    )
    exceeding = [r["feature"] for r in weight_rows if r["exceeds"]]
    if exceeding:
        weight_detail += f"; {len(exceeding)} feature(s) at or above the limit: {', '.join(exceeding)}"
    # -- the checks -------------------------------------------------------------------------------------------
    checks = [
        {
            "check": "weight_change",
            "description": "largest |weight change| of a feature (%)",
            "value": _finite(max_change),
            "threshold": thresholds.max_weight_change_pct,
            "rule": f"< {thresholds.max_weight_change_pct:g} %",
            "passed": max_change < thresholds.max_weight_change_pct,
            "detail": weight_detail,
        },
        {
            "check": "score_correlation",
            "description": "Pearson correlation of the two versions' scores on the reference batch",
            "value": _finite(pearson),
            "threshold": thresholds.min_score_correlation,
            "rule": f"> {thresholds.min_score_correlation:g}",
            "passed": bool(not math.isnan(pearson) and pearson > thresholds.min_score_correlation),
            "detail": (
                f"{n_rows} applications; Spearman {spearman:.3f}"
                if not math.isnan(pearson)
                else f"cannot be computed on {n_rows} application(s) (constant scores)"
            ),
        },
        {
            "check": "band_shift",
            "description": "largest change of a band's share (percentage points)",
            "value": max_shift,
            "threshold": thresholds.max_band_shift_pct,
            "rule": f"< {thresholds.max_band_shift_pct:g} pp",
            "passed": max_shift < thresholds.max_band_shift_pct,
            "detail": (
                f"band {worst_band['band']}: {worst_band['old_share']:.1%} → {worst_band['new_share']:.1%}; "
                f"{moved:.1%} of applications change band"
            ),
        },
        shadow_gini_check(
            old.version,
            new.version,
            shadow,
            max_gini_drop=thresholds.max_gini_drop,
            min_defaults=thresholds.min_shadow_defaults,
            require_evidence=thresholds.require_shadow_evidence,
            decide_on=thresholds.gini_decide_on,
        ),
    ]
    result = {
        "old_version": old.version,
        "new_version": new.version,
        "old_fingerprint": old.fingerprint(),
        "new_fingerprint": new.fingerprint(),
        "reference": {"label": reference_label or "reference batch", "rows": n_rows},
        "weights": weight_rows,
        "groups": group_rows,
        "scores": {
            "old": _summary(a),
            "new": _summary(b),
            "pearson": _finite(pearson),
            "spearman": _finite(spearman),
            "mean_abs_diff": float((a - b).abs().mean()),
        },
        "bands": band_rows,
        "band_shift": {
            "max_abs_change_pp": max_shift,
            "total_variation_pp": total_variation,
            "moved_share": moved,
        },
        "migration": {"bands": band_names, "counts": migration.to_numpy().astype(int).tolist()},
        "thresholds": asdict(thresholds),
        "checks": checks,
        "passed": all(c["passed"] for c in checks),
        "fair_lending": _fair_lending(old, new, reference),
    }
    logger.info(
        "Compared %s → %s on %d applications: %s",
        old.version,
        new.version,
        n_rows,
        "; ".join(f"{c['check']} {c.get('status') or ('pass' if c['passed'] else 'FAIL')}" for c in checks),
    )
    return result


def _fair_lending(
    old: ScorecardDefinition, new: ScorecardDefinition, reference: pd.DataFrame
) -> dict[str, Any]:
    """Both versions' age-rule result and, on the reference batch, the approval rate of applicants under 62 and
    62+ under each version's policy (with the ratio to the more favoured group; ``kycc.scorecard.fairness``)."""
    from kycc.scorecard.decision import decide_applications
    from kycc.scorecard.fairness import ELDERLY_AGE, adverse_impact, age_rule_violations

    out: dict[str, Any] = {"age_rule": {}, "approval_by_age": {}}
    for definition in (old, new):
        out["age_rule"][definition.version] = age_rule_violations(definition)
        if definition.policy is None or "age" not in reference.columns:
            continue
        scored = score_applications(reference, definition, with_points=True)
        decided = decide_applications(reference, scored, definition)
        frame = pd.DataFrame(
            {
                "snapshot_date": "2000-01-01",
                "age": reference["age"].to_numpy(),
                "decision": decided["decision"],
            }
        )
        report = adverse_impact(frame, {"age": {"edges": [ELDERLY_AGE - 1]}}, min_group_size=1)
        out["approval_by_age"][definition.version] = [
            {k: r[k] for k in ("group", "n", "approval_rate", "rate_low", "rate_high", "impact_ratio")}
            for r in report.to_dict("records")
        ]
    return out


def failed_checks(comparison: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The failing checks of a comparison result."""
    return [c for c in comparison.get("checks", []) if not c.get("passed")]
