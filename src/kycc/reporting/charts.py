"""Monitoring charts (matplotlib ``Figure`` objects, no pyplot state): trends, PSI, confusion matrices, models.

Every function takes the combined tables of all models (a ``model`` column) and returns one figure; an empty
table gives a figure that says there is nothing to show yet, never an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from kycc.monitoring.psi import DEFAULT_LEVELS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "confusion_matrix_figure",
    "feature_psi_figure",
    "model_comparison_figure",
    "performance_trend_figure",
    "prediction_drift_figure",
    "psi_trend_figure",
]

PALETTE = ["#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f"]
BAND_COLORS = ["#1b5e20", "#66bb6a", "#fdd835", "#fb8c00", "#c62828", "#6d4c41", "#424242"]


def _color(models: list[str], model: str) -> str:
    return PALETTE[models.index(model) % len(PALETTE)]


def _empty(fig: Figure, message: str) -> Figure:
    ax = fig.subplots()
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=11, color="#555", wrap=True)
    return fig


def _months(frame: pd.DataFrame, column: str = "snapshot_date") -> pd.Series:
    return pd.to_datetime(frame[column])


def _month_axis(ax, months: pd.Series) -> None:
    ticks = sorted(pd.to_datetime(months).unique())
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{pd.Timestamp(t):%Y-%m}" for t in ticks], rotation=45, ha="right", fontsize=8)


def performance_trend_figure(metrics: pd.DataFrame, thresholds: Mapping[str, Mapping[str, float]]) -> Figure:
    """ROC-AUC, accuracy and F1 per monitoring month and model, with the business and data-science lines."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 4.6))
    if metrics.empty:
        return _empty(fig, "No monitored month yet: monitoring needs predictions made 6 months before.")
    axes = fig.subplots(1, 3, sharex=True)
    models = sorted(metrics["model"].unique())
    for ax, metric, title in zip(axes, ("roc_auc", "accuracy", "f1"), ("ROC-AUC (P0)", "Accuracy (P1)", "F1 (P2)"),
                                 strict=True):  # fmt: skip
        for model in models:
            part = metrics[metrics["model"] == model].sort_values("snapshot_date")
            ax.plot(_months(part), part[metric], marker="o", color=_color(models, model), label=model)
            base = part.get(f"baseline_{metric}")
            if base is not None and base.notna().any():
                ax.plot(_months(part), base, linestyle=":", color=_color(models, model), alpha=0.7,
                        label=f"{model} OOT baseline")  # fmt: skip
        rule = thresholds.get(metric) or {}
        if rule.get("business") is not None:
            ax.axhline(rule["business"], color="#c62828", linestyle="--", linewidth=1, label="business")
        if rule.get("data_science") is not None:
            ax.axhline(
                rule["data_science"], color="#ef6c00", linestyle="--", linewidth=1, label="data science"
            )
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        _month_axis(ax, metrics["snapshot_date"])
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), fontsize=8, frameon=False)
    fig.suptitle("Performance by monitoring month (labels maturing that month, predictions made 6 months before)",
                 fontsize=10)  # fmt: skip
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def psi_trend_figure(
    metrics: pd.DataFrame,
    moderate: float = DEFAULT_LEVELS["moderate"],
    major: float = DEFAULT_LEVELS["major"],
) -> Figure:
    """Score PSI against the OOT reference and the largest feature PSI, per month and model."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 4))
    if metrics.empty:
        return _empty(fig, "No monitored month yet: no PSI to show.")
    ax = fig.subplots()
    models = sorted(metrics["model"].unique())
    for model in models:
        part = metrics[metrics["model"] == model].sort_values("cohort_month")
        x = _months(part, "cohort_month")
        ax.plot(x, part["psi_score"], marker="o", color=_color(models, model), label=f"{model} score PSI")
        ax.plot(x, part["psi_feature_max"], marker=".", linestyle=":", color=_color(models, model),
                label=f"{model} largest feature PSI")  # fmt: skip
    ax.axhline(moderate, color="#ef6c00", linestyle="--", linewidth=1, label=f"moderate shift ({moderate})")
    ax.axhline(major, color="#c62828", linestyle="--", linewidth=1, label=f"major shift ({major})")
    ax.set(title="Population stability of the monitored cohorts vs each model's OOT reference",
           xlabel="cohort (application month)", ylabel="PSI")  # fmt: skip
    _month_axis(ax, metrics["cohort_month"])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def confusion_matrix_figure(metrics: pd.DataFrame) -> Figure:
    """The latest month's confusion matrix of every model (counts and shares)."""
    from matplotlib.figure import Figure

    if metrics.empty:
        return _empty(Figure(figsize=(8, 3.5)), "No monitored month yet: no confusion matrix.")
    models = sorted(metrics["model"].unique())
    fig = Figure(figsize=(4.2 * len(models), 3.8))
    axes = np.atleast_1d(fig.subplots(1, len(models)))
    for ax, model in zip(axes, models, strict=True):
        row = metrics[metrics["model"] == model].sort_values("snapshot_date").iloc[-1]
        cm = np.array([[row["tn"], row["fp"]], [row["fn"], row["tp"]]], dtype=float)
        total = cm.sum() or 1.0
        ax.imshow(cm, cmap="Blues")
        for i in range(2):
            for j in range(2):
                ax.text(j, i, f"{int(cm[i, j])}\n{cm[i, j] / total:.0%}", ha="center", va="center",
                        color="white" if cm[i, j] > cm.max() / 2 else "black", fontsize=10)  # fmt: skip
        ax.set_xticks([0, 1], ["repaid", "default"])
        ax.set_yticks([0, 1], ["repaid", "default"])
        ax.set(xlabel="predicted", ylabel="observed (MOB 6)",
               title=f"{model} v{int(row['model_version'])} — {pd.Timestamp(row['snapshot_date']):%Y-%m}")  # fmt: skip
        ax.title.set_fontsize(9)
    fig.tight_layout()
    return fig


def model_comparison_figure(metrics: pd.DataFrame) -> Figure:
    """model_1 vs model_2 (and any other): mean and latest metrics side by side, OOT baseline marked."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4))
    if metrics.empty:
        return _empty(fig, "No monitored month yet: nothing to compare.")
    names = ["roc_auc", "accuracy", "precision", "recall", "f1"]
    models = sorted(metrics["model"].unique())
    axes = fig.subplots(1, 2, sharey=True)
    width = 0.8 / len(models)
    x = np.arange(len(names))
    for ax, how in zip(axes, ("mean over monitored months", "latest month"), strict=True):
        for i, model in enumerate(models):
            part = metrics[metrics["model"] == model].sort_values("snapshot_date")
            values = part[names].mean() if how.startswith("mean") else part[names].iloc[-1]
            ax.bar(
                x + i * width, values.to_numpy(dtype=float), width, color=_color(models, model), label=model
            )
            base = [part[f"baseline_{n}"].iloc[-1] if f"baseline_{n}" in part else np.nan for n in names]
            ax.scatter(x + i * width, base, marker="_", s=300, color="black", zorder=3,
                       label="OOT baseline" if i == 0 else None)  # fmt: skip
        ax.set_xticks(x + width * (len(models) - 1) / 2, names, fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_title(how, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("Model comparison", fontsize=10)
    fig.tight_layout()
    return fig


def feature_psi_figure(feature_psi: pd.DataFrame, top: int = 12) -> Figure:
    """Heatmap of the features with the largest PSI (rows) by monitoring month (columns), per model."""
    from matplotlib.figure import Figure

    if feature_psi.empty:
        return _empty(Figure(figsize=(8, 3)), "No monitored month yet: no feature drift to show.")
    models = sorted(feature_psi["model"].unique())
    fig = Figure(figsize=(6.5 * len(models), 0.35 * top + 2))
    axes = np.atleast_1d(fig.subplots(1, len(models)))
    for ax, model in zip(axes, models, strict=True):
        part = feature_psi[feature_psi["model"] == model]
        grid = part.pivot_table(index="feature", columns="cohort_month", values="psi", aggfunc="max")
        grid = grid.loc[grid.max(axis=1).sort_values(ascending=False).index[:top]]
        image = ax.imshow(grid.to_numpy(dtype=float), cmap="OrRd", vmin=0, vmax=max(0.3, float(np.nanmax(grid))),
                          aspect="auto")  # fmt: skip
        ax.set_yticks(range(len(grid.index)), grid.index, fontsize=8)
        ax.set_xticks(range(len(grid.columns)), [f"{pd.Timestamp(c):%Y-%m}" for c in grid.columns], rotation=45,
                      ha="right", fontsize=8)  # fmt: skip
        ax.set_title(f"{model}: feature PSI by cohort (top {len(grid.index)})", fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.04)
    fig.tight_layout()
    return fig


def prediction_drift_figure(predictions: pd.DataFrame, decisions: pd.DataFrame) -> Figure:
    """Mean PD per scoring month and model (left) and the scorecard's band mix per month (right)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 4))
    if predictions.empty and decisions.empty:
        return _empty(fig, "Nothing scored yet.")
    ax_pd, ax_band = fig.subplots(1, 2)
    if not predictions.empty:
        models = sorted(predictions["model"].unique())
        mean = predictions.groupby(["model", "snapshot_date"])["probability"].mean().reset_index()
        for model in models:
            part = mean[mean["model"] == model]
            ax_pd.plot(
                _months(part), part["probability"], marker="o", color=_color(models, model), label=model
            )
        ax_pd.legend(fontsize=8)
        _month_axis(ax_pd, mean["snapshot_date"])
    ax_pd.set(title="Mean predicted PD by scoring month", ylabel="mean PD")
    ax_pd.grid(alpha=0.3)
    if not decisions.empty:
        shares = pd.crosstab(_months(decisions), decisions["band"], normalize="index").sort_index()
        bottom = np.zeros(len(shares))
        x = np.arange(len(shares))
        for i, band in enumerate(shares.columns):
            ax_band.bar(
                x, shares[band], bottom=bottom, color=BAND_COLORS[i % len(BAND_COLORS)], label=str(band)
            )
            bottom += shares[band].to_numpy()
        step = max(1, len(x) // 12)
        ax_band.set_xticks(x[::step], [f"{m:%Y-%m}" for m in shares.index[::step]], rotation=45, ha="right",
                           fontsize=8)  # fmt: skip
        ax_band.legend(fontsize=7, title="band", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax_band.set(title="Scorecard decisions: band mix by application month", ylabel="share")
    fig.tight_layout()
    return fig
