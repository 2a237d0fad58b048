"""Performance plots of one model: ROC curves and calibration (reliability) per window.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot state, no backend switch): the catalog saves
them (``matplotlib.MatplotlibDataset``) and logs them to MLflow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["calibration_figure", "roc_figure"]

COLORS = {"train": "#9e9e9e", "validation": "#7b1fa2", "test": "#1565c0", "oot": "#c62828"}


def roc_figure(predictions: pd.DataFrame, model: str, windows: list[str]) -> Figure:
    """ROC curves of ``windows`` from a frame with ``window``, ``label`` and ``pd`` columns."""
    from matplotlib.figure import Figure
    from sklearn.metrics import roc_auc_score, roc_curve

    fig = Figure(figsize=(5.5, 5))
    ax = fig.subplots()
    for w in windows:
        part = predictions[predictions["window"] == w]
        if part["label"].nunique() < 2:
            continue
        fpr, tpr, _ = roc_curve(part["label"], part["pd"])
        auc = roc_auc_score(part["label"], part["pd"])
        ax.plot(fpr, tpr, color=COLORS.get(w), label=f"{w} (AUC {auc:.3f}, n={len(part)})")
    ax.plot([0, 1], [0, 1], color="black", linestyle=":", linewidth=1, label="random")
    ax.set(
        xlabel="False positive rate",
        ylabel="True positive rate (defaults caught)",
        title=f"{model}: ROC",
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def calibration_figure(predictions: pd.DataFrame, model: str, windows: list[str], bins: int = 10) -> Figure:
    """Mean predicted PD vs observed default rate per PD decile, for ``windows``."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 5))
    ax = fig.subplots()
    top = 0.0
    for w in windows:
        part = predictions[predictions["window"] == w]
        if part.empty:
            continue
        q = min(bins, part["pd"].nunique())
        if q < 2:
            continue
        groups = pd.qcut(part["pd"], q=q, duplicates="drop")
        table = part.groupby(groups, observed=True).agg(pd_mean=("pd", "mean"), rate=("label", "mean"))
        ax.plot(table["pd_mean"], table["rate"], marker="o", color=COLORS.get(w), label=w)
        top = max(top, float(table[["pd_mean", "rate"]].to_numpy().max()))
    top = min(1.0, max(top * 1.1, 0.05))
    ax.plot([0, top], [0, top], color="black", linestyle=":", linewidth=1, label="perfect calibration")
    ax.set(
        xlabel="Mean predicted PD",
        ylabel="Observed default rate",
        title=f"{model}: calibration",
        xlim=(0, top),
        ylim=(0, top),
    )
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig
