"""Credit-risk classification metrics of a probability of default (PD).

Ranking: ROC-AUC, Gini (= 2·AUC − 1), KS (largest gap between the score distributions of defaults and
non-defaults). Calibration: Brier score, mean PD vs default rate. Decisions at a threshold: accuracy,
precision, recall, F1. Counts: rows, defaults, default rate. Undefined values (e.g. AUC on a window with a
single class) are NaN, never an exception: the quality gates turn them into a failure with a reason.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["SELECTION_METRICS", "best_f1_threshold", "classification_metrics", "ks_statistic", "score"]

# metric -> higher is better
SELECTION_METRICS = {"roc_auc": True, "gini": True, "ks": True, "brier": False, "log_loss": False}


def _two_classes(y: np.ndarray) -> bool:
    return len(np.unique(y)) == 2


def ks_statistic(y_true: Any, proba: Any) -> float:
    """Kolmogorov–Smirnov statistic: max |TPR − FPR| over thresholds (NaN with a single class)."""
    from sklearn.metrics import roc_curve

    y = np.asarray(y_true)
    if not _two_classes(y):
        return math.nan
    fpr, tpr, _ = roc_curve(y, np.asarray(proba))
    return float(np.max(np.abs(tpr - fpr)))


def score(metric: str, y_true: Any, proba: Any) -> float:
    """One threshold-free metric (``roc_auc``, ``gini``, ``ks``, ``brier``, ``log_loss``)."""
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    y = np.asarray(y_true)
    p = np.asarray(proba, dtype=float)
    if metric in ("roc_auc", "gini"):
        if not _two_classes(y):
            return math.nan
        auc = float(roc_auc_score(y, p))
        return auc if metric == "roc_auc" else 2 * auc - 1
    if metric == "ks":
        return ks_statistic(y, p)
    if metric == "brier":
        return float(brier_score_loss(y, p)) if len(y) else math.nan
    if metric == "log_loss":
        return float(log_loss(y, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1])) if len(y) else math.nan
    raise ValueError(f"Unknown metric {metric!r}")


def best_f1_threshold(y_true: Any, proba: Any) -> float:
    """The PD threshold that maximises F1 (0.5 when undefined, e.g. a single class)."""
    from sklearn.metrics import precision_recall_curve

    y = np.asarray(y_true)
    if not _two_classes(y):
        return 0.5
    precision, recall, thresholds = precision_recall_curve(y, np.asarray(proba, dtype=float))
    f1 = np.divide(
        2 * precision * recall,
        precision + recall,
        out=np.zeros_like(precision),
        where=(precision + recall) > 0,
    )[:-1]
    return float(thresholds[int(np.argmax(f1))])


def classification_metrics(y_true: Any, proba: Any, threshold: float = 0.5) -> dict[str, float]:
    """Every metric of one window: counts, ranking, calibration and the decisions at ``threshold``."""
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    y = np.asarray(y_true).astype(int)
    p = np.asarray(proba, dtype=float)
    n = len(y)
    n_defaults = int(y.sum())
    out: dict[str, float] = {
        "n_samples": float(n),
        "n_defaults": float(n_defaults),
        "default_rate": n_defaults / n if n else math.nan,
        "mean_pd": float(p.mean()) if n else math.nan,
        "roc_auc": score("roc_auc", y, p),
        "gini": score("gini", y, p),
        "ks": ks_statistic(y, p),
        "brier": score("brier", y, p),
        "log_loss": score("log_loss", y, p),
        "threshold": float(threshold),
    }
    if n:
        pred = (p >= threshold).astype(int)
        out.update(
            accuracy=float(accuracy_score(y, pred)),
            precision=float(precision_score(y, pred, zero_division=0)),
            recall=float(recall_score(y, pred, zero_division=0)),
            f1=float(f1_score(y, pred, zero_division=0)),
            predicted_default_rate=float(pred.mean()),
        )
    else:
        out.update(
            accuracy=math.nan,
            precision=math.nan,
            recall=math.nan,
            f1=math.nan,
            predicted_default_rate=math.nan,
        )
    return out
