"""Scoring-time stability: how far this month's scored population moved from a development reference.

No labels are needed: every number compares the applications scored in month ``M`` with a reference of more
than one month (see docs/monitoring.md, "Scoring-time stability"). Each comparison is a pair of count vectors
over the same bins and gives one :class:`StabilityMetric`:

* ``value`` — PSI (or, for a missing rate, the shift ``share_now - share_ref``);
* ``floor`` — the sampling floor: PSI of two samples of the SAME population is about
  ``(k - 1) * (1/n_ref + 1/n_now)`` for ``k`` bins (its expected value under no shift: PSI ≈ χ²/n);
* ``p_value`` — the χ² test of homogeneity of the 2 × k table (no continuity correction);
* ``verdict`` — ``stable`` / ``moderate`` / ``major`` from the ONE level set ``psi_levels``, and the noise: a value
  at or below its floor, or with ``p_value >= alpha``, is ``stable`` whatever its level (``undefined`` without
  data).

Characteristic analysis (:func:`characteristic_analysis`) splits the shift of the mean weighted points of a
scorecard into its features: ``sum over bins (share_now - share_ref) * weight * points_bin``. Because a row's
weighted points are the sum of its features' ``weight * points``, the features' contributions add up to the shift
of the mean weighted points exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from kycc.monitoring.psi import DEFAULT_EPS, DEFAULT_LEVELS, psi_from_counts, psi_level, quantile_edges
from kycc.scorecard.definition import POINTS_MAX, FeatureRule, ScorecardDefinition, category_key

__all__ = [
    "VERDICTS",
    "StabilityLevels",
    "StabilityMetric",
    "chi2_p_value",
    "characteristic_analysis",
    "compare_counts",
    "compare_missing_rate",
    "compare_values",
    "psi_floor",
    "rule_bin_index",
    "scorecard_bin_counts",
    "binning_counts",
    "verdict",
    "woe_binnings",
    "worst_verdict",
]

#: Verdicts from best to worst (``undefined``: no data on one side).
VERDICTS = ("stable", "moderate", "major", "undefined")
_RANK = {"undefined": -1, "stable": 0, "moderate": 1, "major": 2}


@dataclass(frozen=True)
class StabilityLevels:
    """The one set of PSI levels (``psi_levels``) and the noise rule of the verdicts.

    Attributes:
        moderate, major: PSI at which a shift is moderate / major.
        alpha: A shift is only called when the χ² p-value is below ``alpha`` (and the PSI above its floor).
        missing_moderate, missing_major: Absolute missing-rate shift (share points) at which it is moderate /
            major.
    """

    moderate: float = DEFAULT_LEVELS["moderate"]
    major: float = DEFAULT_LEVELS["major"]
    alpha: float = 0.01
    missing_moderate: float = 0.05
    missing_major: float = 0.15

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> StabilityLevels:
        """``params`` (``psi_levels``; missing keys from conf/base) validated by
        :class:`kycc.params.monitoring.PsiLevels`, the one home of its rules (``0 < moderate < major`` …); a bad
        value raises :class:`kycc.params.validate.ParameterError` (a ``ValueError``) naming the key."""
        from kycc.params.sections import load_section

        levels = load_section("psi_levels", params)
        return cls(**{k: float(v) for k, v in levels.model_dump().items()})

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class StabilityMetric:
    """One comparison: value, sizes, bins, sampling floor, χ² p-value and verdict."""

    value: float
    n_ref: int
    n_now: int
    bins: int
    floor: float
    p_value: float
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def psi_floor(bins: int, n_ref: int, n_now: int) -> float:
    """The PSI that sampling noise alone gives on ``bins`` bins: ``(bins - 1) * (1/n_ref + 1/n_now)``."""
    if n_ref <= 0 or n_now <= 0:
        return math.nan
    return max(int(bins) - 1, 0) * (1.0 / n_ref + 1.0 / n_now)


def chi2_p_value(reference_counts: Sequence[float], current_counts: Sequence[float]) -> float:
    """p-value of the χ² test of homogeneity of the 2 × k table (bins empty on both sides are left out)."""
    from scipy.stats import chi2

    table = np.vstack([np.asarray(reference_counts, "float64"), np.asarray(current_counts, "float64")])
    table = table[:, table.sum(axis=0) > 0]
    n_ref, n_now = table.sum(axis=1)
    if n_ref <= 0 or n_now <= 0:
        return math.nan
    if table.shape[1] < 2:
        return 1.0
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    return float(chi2.sf(statistic, table.shape[1] - 1))


def _noisy(value: float, floor: float, p_value: float, levels: StabilityLevels) -> bool:
    return (not math.isnan(floor) and abs(value) <= floor) or (
        not math.isnan(p_value) and p_value >= levels.alpha
    )


def verdict(value: float, floor: float, p_value: float, levels: StabilityLevels) -> str:
    """``stable`` / ``moderate`` / ``major`` from the PSI levels, ``stable`` when the value is within the noise."""
    if value is None or math.isnan(value):
        return "undefined"
    level = psi_level(value, levels.moderate, levels.major)
    if level != "stable" and _noisy(value, floor, p_value, levels):
        return "stable"
    return level


def worst_verdict(verdicts: Sequence[str]) -> str:
    """The worst of ``verdicts`` (``undefined`` only when nothing else is known)."""
    known = [v for v in verdicts if v in _RANK]
    if not known:
        return "undefined"
    return max(known, key=lambda v: _RANK[v])


def compare_counts(
    reference_counts: Sequence[float],
    current_counts: Sequence[float],
    levels: StabilityLevels,
    *,
    eps: float = DEFAULT_EPS,
) -> StabilityMetric:
    """PSI, floor, p-value and verdict of two count vectors over the same bins."""
    ref = np.asarray(reference_counts, dtype="float64")
    cur = np.asarray(current_counts, dtype="float64")
    used = (ref + cur) > 0
    ref, cur = ref[used], cur[used]
    n_ref, n_now = int(ref.sum()), int(cur.sum())
    if n_ref == 0 or n_now == 0:
        return StabilityMetric(math.nan, n_ref, n_now, int(used.sum()), math.nan, math.nan, "undefined")
    value = psi_from_counts(ref, cur, eps=eps).value
    k = len(ref)
    floor = psi_floor(k, n_ref, n_now)
    p = chi2_p_value(ref, cur)
    return StabilityMetric(value, n_ref, n_now, k, floor, p, verdict(value, floor, p, levels))


def compare_values(
    reference: Sequence[float] | np.ndarray | pd.Series,
    current: Sequence[float] | np.ndarray | pd.Series,
    levels: StabilityLevels,
    *,
    bins: int = 10,
    edges: Sequence[float] | None = None,
) -> StabilityMetric:
    """A numeric variable (score, PD) on the reference's quantile bins (or ``edges``), missing values apart."""
    ref = np.asarray(pd.to_numeric(pd.Series(reference), errors="coerce"), dtype="float64")
    cur = np.asarray(pd.to_numeric(pd.Series(current), errors="coerce"), dtype="float64")
    inner = np.unique(np.asarray(edges, "float64")) if edges is not None else quantile_edges(ref, bins)
    k = len(inner) + 1

    def counts(values: np.ndarray) -> np.ndarray:
        present = values[~np.isnan(values)]
        idx = np.searchsorted(inner, present, side="left")
        return np.append(np.bincount(idx, minlength=k), np.isnan(values).sum())

    return compare_counts(counts(ref), counts(cur), levels)


def compare_missing_rate(
    reference: pd.Series | Sequence[Any], current: pd.Series | Sequence[Any], levels: StabilityLevels
) -> StabilityMetric:
    """Shift of the missing share (now − reference); floor = 2 standard errors; χ² p-value of the 2 × 2 table."""
    ref = pd.Series(list(reference), dtype="object")
    cur = pd.Series(list(current), dtype="object")
    n_ref, n_now = len(ref), len(cur)
    if n_ref == 0 or n_now == 0:
        return StabilityMetric(math.nan, n_ref, n_now, 2, math.nan, math.nan, "undefined")
    m_ref, m_now = int(ref.isna().sum()), int(cur.isna().sum())
    shift = m_now / n_now - m_ref / n_ref
    pooled = (m_ref + m_now) / (n_ref + n_now)
    floor = 2.0 * math.sqrt(pooled * (1 - pooled) * (1.0 / n_ref + 1.0 / n_now))
    p = chi2_p_value([m_ref, n_ref - m_ref], [m_now, n_now - m_now])
    size = abs(shift)
    level = (
        "stable" if size < levels.missing_moderate else "moderate" if size < levels.missing_major else "major"
    )
    if level != "stable" and _noisy(shift, floor, p, levels):
        level = "stable"
    return StabilityMetric(float(shift), n_ref, n_now, 2, floor, p, level)


# -- the scorecard's own bins ----------------------------------------------------------------------------------
def rule_bin_index(rule: FeatureRule, values: pd.Series) -> np.ndarray:
    """Index of each value's bin in ``rule.bins()`` (numeric bins…, or categories…, ``(other)``; missing last)."""
    n_bins = len(rule.bins())
    if rule.kind == "numeric":
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        idx = np.minimum(
            np.searchsorted(np.asarray(rule.edges, "float64"), x, side="left"), len(rule.points) - 1
        )
        return np.where(np.isnan(x), n_bins - 1, idx).astype("int64")
    position = {k: i for i, k in enumerate(rule.categories)}
    other = len(rule.categories)
    keys = [category_key(v) for v in values.tolist()]
    return np.asarray([n_bins - 1 if k is None else position.get(k, other) for k in keys], dtype="int64")


def scorecard_bin_counts(rule: FeatureRule, values: pd.Series) -> np.ndarray:
    """Rows per bin of ``rule.bins()`` (the bins the scorecard gives points to)."""
    return np.bincount(rule_bin_index(rule, values), minlength=len(rule.bins())).astype("float64")


def characteristic_analysis(
    reference: pd.DataFrame, current: pd.DataFrame, definition: ScorecardDefinition
) -> pd.DataFrame:
    """Per scorecard feature: ``sum_bins (share_now - share_ref) * weight * points_bin`` (weighted points).

    Args:
        reference: Feature rows of the reference applications (every scorecard feature column).
        current: Feature rows of the applications scored now.
        definition: The scorecard version.

    Returns:
        One row per feature (definition order): ``feature``, ``weight``, ``n_ref``, ``n_now``, ``points_ref``
        and ``points_now`` (mean weighted points of the feature), ``points_shift`` (their difference, the
        characteristic analysis), ``score_shift`` (the same in score units), ``top_bin`` (the bin whose share
        moved most) and its ``top_bin_share_shift``. The ``points_shift`` column sums to the shift of the mean
        weighted points.
    """
    rows = []
    scale = (definition.score_max - definition.score_min) / POINTS_MAX
    for rule in definition.features:
        points = np.asarray([b["points"] for b in rule.bins()], dtype="float64") * rule.weight
        labels = [b["bin"] for b in rule.bins()]
        ref_counts = scorecard_bin_counts(rule, reference[rule.name])
        cur_counts = scorecard_bin_counts(rule, current[rule.name])
        n_ref, n_now = int(ref_counts.sum()), int(cur_counts.sum())
        ref_share = ref_counts / n_ref if n_ref else np.full(len(points), np.nan)
        cur_share = cur_counts / n_now if n_now else np.full(len(points), np.nan)
        delta = cur_share - ref_share
        top = int(np.nanargmax(np.abs(delta))) if n_ref and n_now else None
        rows.append(
            {
                "feature": rule.name,
                "weight": rule.weight,
                "n_ref": n_ref,
                "n_now": n_now,
                "points_ref": float(ref_share @ points),
                "points_now": float(cur_share @ points),
                "points_shift": float(delta @ points),
                "score_shift": float(delta @ points) * scale,
                "top_bin": labels[top] if top is not None else None,
                "top_bin_share_shift": float(delta[top]) if top is not None else math.nan,
            }
        )
    return pd.DataFrame(rows)


def woe_binnings(bundle: Any) -> dict[str, Any]:
    """The WoE bins of a model bundle's features (``{feature: FeatureBinning}``; ``{}`` if not a WoE model).

    A ``kycc.modeling.model.CreditRiskModel`` whose preprocessing is ``woe`` keeps its fitted
    :class:`kycc.modeling.woe.WoEBinner`; the features the model uses are ``feature_names_out_`` (those above
    ``min_iv``).
    """
    pre = getattr(bundle, "preprocessor", None)
    if getattr(pre, "kind", None) != "woe" or not hasattr(pre, "transformer_"):
        return {}
    binnings = pre.transformer_.binnings_
    return {name: binnings[name] for name in getattr(pre, "feature_names_out_", list(binnings))}


def binning_counts(binning: Any, values: pd.Series) -> np.ndarray:
    """Counts per WoE bin (``binning.bin_index``): the fitted bins, then missing, then unseen categories."""
    k = len(binning.woe)
    idx = np.asarray(binning.bin_index(pd.Series(values).reset_index(drop=True)), dtype="int64")
    slots = np.where(idx == -1, k, np.where(idx == -2, k + 1, idx))  # noqa: PLR2004 - bin_index codes
    return np.bincount(slots, minlength=k + 2).astype("float64")
