"""Reporting of the monitoring: PNG charts (:mod:`kycc.reporting.charts`) and the self-contained HTML dashboard
(:mod:`kycc.reporting.dashboard`) in ``data/08_reporting/``."""

from kycc.reporting.charts import (
    confusion_matrix_figure,
    feature_psi_figure,
    model_comparison_figure,
    performance_trend_figure,
    prediction_drift_figure,
    psi_trend_figure,
)
from kycc.reporting.dashboard import figure_png, render_dashboard

__all__ = [
    "confusion_matrix_figure",
    "feature_psi_figure",
    "figure_png",
    "model_comparison_figure",
    "performance_trend_figure",
    "prediction_drift_figure",
    "psi_trend_figure",
    "render_dashboard",
]
