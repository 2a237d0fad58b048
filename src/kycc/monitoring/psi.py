"""Population Stability Index (PSI): how far a distribution moved from its reference.

For bins ``i`` holding the shares ``r_i`` of the reference and ``c_i`` of the current population::

    PSI = sum_i (c_i - r_i) * ln(c_i / r_i)

Conventions (the rules the tests check by hand):

* **Numeric values** are cut at the reference's quantiles ``1/bins, 2/bins, …`` (numpy's linear interpolation),
  repeated edges merged (a score with few distinct values gets fewer bins). Bins are right-closed:
  ``x <= e_1 | e_1 < x <= e_2 | … | x > e_k``. Missing values (NaN) have a bin of their own.
* **Categorical values**: one bin per category seen on either side, plus missing.
* **Empty bins**: a share of 0 (a bin empty on one side) is replaced by ``eps`` (1e-4) on that side before the
  formula, so that PSI stays finite. Only the terms of that bin change.
* Reading: < moderate stable, moderate–major moderate shift, >= major major shift. The levels are ONE parameter
  set, ``psi_levels`` (conf/base/parameters_monitoring.yml; default 0.1 / 0.25, the usual credit-risk rule of
  thumb), read by monitoring, scoring-time stability (:mod:`kycc.monitoring.stability`), actions and charts.

Sampling noise alone gives about ``(k - 1) * (1/n_ref + 1/n_cur)`` for ``k`` bins: with 10 bins and 100 rows per
side that is ≈ 0.18, so PSI is only meaningful on a few hundred rows per month (see docs/monitoring.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_EPS",
    "DEFAULT_LEVELS",
    "PsiResult",
    "psi",
    "psi_categorical",
    "psi_from_counts",
    "psi_level",
    "quantile_edges",
]

DEFAULT_EPS = 1e-4
MISSING = "missing"
#: The defaults of the one PSI-level set (``psi_levels`` in conf/base/parameters_monitoring.yml wins).
DEFAULT_LEVELS = {"moderate": 0.1, "major": 0.25}


@dataclass(frozen=True)
class PsiResult:
    """PSI and its bins: ``table`` has ``bin``, ``reference_share``, ``current_share``, ``term`` per bin."""

    value: float
    table: pd.DataFrame
    n_reference: int
    n_current: int


def _check(bins: Any, eps: Any) -> None:
    if not isinstance(bins, int) or isinstance(bins, bool) or bins < 2:
        raise ValueError(f"bins must be an integer >= 2, got {bins!r}")
    if not isinstance(eps, int | float) or isinstance(eps, bool) or not 0 < eps < 0.01:
        raise ValueError(f"eps must be a small positive number (0 < eps < 0.01), got {eps!r}")


def quantile_edges(reference: Sequence[float] | np.ndarray, bins: int = 10) -> np.ndarray:
    """Inner bin edges at the reference's quantiles ``1/bins … (bins-1)/bins`` (NaN ignored, repeats merged)."""
    _check(bins, DEFAULT_EPS)
    values = np.asarray(reference, dtype="float64")
    values = values[~np.isnan(values)]
    if values.size == 0:
        return np.asarray([], dtype="float64")
    return np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))


def _terms(ref_counts: np.ndarray, cur_counts: np.ndarray, eps: float) -> tuple[np.ndarray, ...]:
    n_ref, n_cur = ref_counts.sum(), cur_counts.sum()
    r = ref_counts / n_ref
    c = cur_counts / n_cur
    r_safe = np.where(r == 0, eps, r)
    c_safe = np.where(c == 0, eps, c)
    return r, c, (c_safe - r_safe) * np.log(c_safe / r_safe)


def _result(labels: list[str], ref_counts: np.ndarray, cur_counts: np.ndarray, eps: float) -> PsiResult:
    n_ref, n_cur = int(ref_counts.sum()), int(cur_counts.sum())
    if n_ref == 0 or n_cur == 0:
        empty = pd.DataFrame(columns=["bin", "reference_share", "current_share", "term"])
        return PsiResult(math.nan, empty, n_ref, n_cur)
    r, c, terms = _terms(ref_counts.astype("float64"), cur_counts.astype("float64"), eps)
    table = pd.DataFrame({"bin": labels, "reference_share": r, "current_share": c, "term": terms})
    return PsiResult(float(terms.sum()), table, n_ref, n_cur)


def psi_from_counts(
    reference_counts: Sequence[int] | np.ndarray,
    current_counts: Sequence[int] | np.ndarray,
    labels: Sequence[str] | None = None,
    *,
    eps: float = DEFAULT_EPS,
) -> PsiResult:
    """PSI of two count vectors over the same bins (e.g. a scorecard's own bins or its bands)."""
    _check(2, eps)
    ref = np.asarray(reference_counts, dtype="float64")
    cur = np.asarray(current_counts, dtype="float64")
    if ref.shape != cur.shape or ref.ndim != 1:
        raise ValueError(f"psi_from_counts: count vectors of different shapes {ref.shape} and {cur.shape}")
    if (ref < 0).any() or (cur < 0).any():
        raise ValueError("psi_from_counts: counts must be non-negative")
    names = [str(x) for x in labels] if labels is not None else [str(i) for i in range(len(ref))]
    if len(names) != len(ref):
        raise ValueError(f"psi_from_counts: {len(names)} labels for {len(ref)} bins")
    return _result(names, ref, cur, eps)


def psi(
    reference: Sequence[float] | np.ndarray | pd.Series,
    current: Sequence[float] | np.ndarray | pd.Series,
    bins: int = 10,
    *,
    edges: Sequence[float] | None = None,
    eps: float = DEFAULT_EPS,
) -> PsiResult:
    """PSI of a numeric variable (see the module docstring for the binning).

    Args:
        reference: The reference values (e.g. the model's OOT scores).
        current: The values of the population monitored now.
        bins: Number of quantile bins of the reference (ignored when ``edges`` is given).
        edges: Inner edges to use instead of the reference quantiles (e.g. fixed score bands).
        eps: Share used for an empty bin.

    Returns:
        The PSI (NaN when either side is empty) and its per-bin table.
    """
    _check(bins, eps)
    ref = np.asarray(pd.to_numeric(pd.Series(reference), errors="coerce"), dtype="float64")
    cur = np.asarray(pd.to_numeric(pd.Series(current), errors="coerce"), dtype="float64")
    inner = np.unique(np.asarray(edges, dtype="float64")) if edges is not None else quantile_edges(ref, bins)
    k = len(inner) + 1

    def counts(values: np.ndarray) -> np.ndarray:
        present = values[~np.isnan(values)]
        # side="left": index i holds e_{i-1} < x <= e_i (right-closed bins)
        idx = np.searchsorted(inner, present, side="left")
        return np.append(np.bincount(idx, minlength=k), np.isnan(values).sum())

    labels = []
    for i in range(k):
        lo = "-inf" if i == 0 else f"{inner[i - 1]:.6g}"
        hi = "inf" if i == k - 1 else f"{inner[i]:.6g}"
        labels.append(f"({lo}, {hi}]" if i < k - 1 else f"({lo}, {hi})")
    ref_counts, cur_counts = counts(ref), counts(cur)
    if ref_counts[-1] == 0 and cur_counts[-1] == 0:  # no missing values: no missing bin
        return _result(labels, ref_counts[:-1], cur_counts[:-1], eps)
    return _result([*labels, MISSING], ref_counts, cur_counts, eps)


def psi_categorical(
    reference: Sequence[Any] | pd.Series, current: Sequence[Any] | pd.Series, *, eps: float = DEFAULT_EPS
) -> PsiResult:
    """PSI of a categorical variable: one bin per category seen on either side, plus missing."""
    _check(2, eps)
    ref = pd.Series(list(reference), dtype="object")
    cur = pd.Series(list(current), dtype="object")
    ref_keys = ref.where(ref.notna(), MISSING).astype(str)
    cur_keys = cur.where(cur.notna(), MISSING).astype(str)
    categories = sorted(set(ref_keys) | set(cur_keys))
    ref_counts = ref_keys.value_counts().reindex(categories, fill_value=0).to_numpy()
    cur_counts = cur_keys.value_counts().reindex(categories, fill_value=0).to_numpy()
    return _result(categories, ref_counts, cur_counts, eps)


def psi_level(
    value: float, moderate: float = DEFAULT_LEVELS["moderate"], major: float = DEFAULT_LEVELS["major"]
) -> str:
    """``stable`` (< moderate), ``moderate`` (< major), ``major`` shift, or ``undefined`` for NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "undefined"
    if value < moderate:
        return "stable"
    return "moderate" if value < major else "major"
