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

**Calibration first.** The estimate is only as good as the PDs are calibrated. A model's raw PDs need not be
(a class-weighted or regularised fit compresses them), so, as NannyML's CBPE does, a monotone (isotonic)
calibrator is fitted on the model version's **reference** — its own PDs of its test + OOT windows with their
matured labels, months it never trained or tuned on — and applied to the PDs of the months judged; the ranking
stays the raw PD. The judged months are never used to fit it (a scored month inside the reference window gets
no estimate). :class:`PdCalibrator` is that map.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["PdCalibrator", "expected_default_rate", "expected_pair_sums", "expected_roc_auc"]

#: Fewest defaults (and non-defaults) in the reference for a calibrator; fewer: the raw PDs are used.
MIN_CLASS_ROWS = 20


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


class PdCalibrator:
    """Isotonic map raw PD → calibrated PD, fitted on a reference with matured labels (NannyML CBPE's step).

    Args:
        pds: Raw PDs of the reference rows.
        labels: Their 0/1 labels.
        source: What the reference is (shown in the tables).

    A reference with fewer than :data:`MIN_CLASS_ROWS` defaults or non-defaults gives the identity map
    (``fitted`` False, the reason in ``description``).
    """

    def __init__(self, pds: Any, labels: Any, source: str) -> None:
        from sklearn.isotonic import IsotonicRegression

        p, y = np.asarray(pds, dtype="float64"), np.asarray(labels, dtype="float64")
        if p.shape != y.shape:
            raise ValueError(f"PdCalibrator: {p.size} PDs but {y.size} labels")
        ok = ~(np.isnan(p) | np.isnan(y))
        p, y = p[ok], y[ok]
        self.n, self.defaults = int(p.size), int(y.sum())
        self.fitted = min(self.defaults, self.n - self.defaults) >= MIN_CLASS_ROWS
        self._iso = (
            IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y) if self.fitted else None
        )
        what = f"{source} ({self.n} loans, {self.defaults} defaults)"
        self.description = (
            f"isotonic on {what}" if self.fitted else f"none: too few defaults/non-defaults in {what}"
        )

    def __call__(self, pds: Any) -> np.ndarray:
        p = np.asarray(pds, dtype="float64")
        return p if self._iso is None else np.clip(self._iso.predict(p), 0.0, 1.0)
