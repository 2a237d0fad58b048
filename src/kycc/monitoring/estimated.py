"""Performance before labels mature (CBPE-style): expected ROC-AUC and default rate from calibrated PDs alone.

If the PDs are calibrated, each application defaults with probability ``p_i``, independently. Over the pairs
``i ≠ j`` the expected number of (default i, non-default j) pairs is ``Σ_{i≠j} p_i (1 − p_j)`` and the expected
number of those ranked right (``r_i > r_j``, ties ½) is ``Σ_{i≠j} p_i (1 − p_j) [r_i > r_j + ½ · 1(r_i = r_j)]``.
The **expected ROC-AUC** is their ratio (what NannyML's CBPE integrates from the expected TPR/FPR curve, here
without the self-pairs ``i = j``)::

    E_AUC = Σ_{i≠j} p_i (1 − p_j) · c(r_i, r_j)  /  Σ_{i≠j} p_i (1 − p_j),   c = 1 if r_i > r_j, ½ if equal, else 0

Both sums are exact expectations (tested against a Monte-Carlo draw of labels from the PDs); the ratio differs
from the mean of the realized AUC only by O(1/n). ``r`` is the ranking variable (the model's PD, or minus the
scorecard's score) and ``p`` the calibrated PD. The **expected default rate** is ``mean(p)``, with standard
deviation ``sqrt(Σ p (1 − p)) / n`` (Poisson-binomial) — the noise of the realized rate if the PDs are right.

Computed in O(n log n) on groups of equal ``r``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["expected_default_rate", "expected_roc_auc"]


def _arrays(pd_values: Any, rank: Any | None) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pd_values, dtype="float64")
    r = p if rank is None else np.asarray(rank, dtype="float64")
    if p.shape != r.shape:
        raise ValueError(f"{p.shape[0]} PDs but {r.shape[0]} ranking values")
    if np.isnan(p).any() or np.isnan(r).any():
        raise ValueError("PDs and ranking values must not be missing")
    if ((p < 0) | (p > 1)).any():
        raise ValueError("PDs must be probabilities in [0, 1]")
    return p, r


def expected_pair_sums(pd_values: Any, rank: Any | None = None) -> tuple[float, float]:
    """``(Σ_{i≠j} p_i(1−p_j)·c(r_i, r_j), Σ_{i≠j} p_i(1−p_j))``: expected concordant and default×non-default pairs."""
    p, r = _arrays(pd_values, rank)
    if p.size < 2:
        return 0.0, 0.0
    q = 1.0 - p
    groups = pd.DataFrame({"r": r, "p": p, "q": q, "pq": p * q}).groupby("r", sort=True).sum()
    pg, qg, selfg = (groups[c].to_numpy() for c in ("p", "q", "pq"))
    q_below = np.concatenate([[0.0], np.cumsum(qg)[:-1]])  # Σ (1 − p_j) over strictly lower r
    concordant = float((pg * q_below).sum() + 0.5 * (pg * qg - selfg).sum())
    total = float(p.sum() * q.sum() - (p * q).sum())
    return concordant, total


def expected_roc_auc(pd_values: Any, rank: Any | None = None) -> float:
    """Expected ROC-AUC of ``rank`` (higher = riskier; default: the PDs) if labels follow the PDs (NaN if undefined)."""
    concordant, total = expected_pair_sums(pd_values, rank)
    return concordant / total if total > 0 else math.nan


def expected_default_rate(pd_values: Any) -> tuple[float, float]:
    """``(mean PD, its standard deviation sqrt(Σ p(1−p))/n)``: the expected default rate and its noise."""
    p, _ = _arrays(pd_values, None)
    if p.size == 0:
        return math.nan, math.nan
    return float(p.mean()), float(math.sqrt((p * (1 - p)).sum()) / p.size)
