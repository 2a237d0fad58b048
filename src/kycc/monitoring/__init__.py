"""Model monitoring: PSI, performance and drift statistics per model and month, and the action rules.

* :mod:`kycc.monitoring.psi` — Population Stability Index (numeric and categorical, empty-bin rule);
* :mod:`kycc.monitoring.metrics` — ROC-AUC, accuracy, precision, recall, F1, confusion matrix, prediction drift;
* :mod:`kycc.monitoring.drift` — per-feature PSI;
* :mod:`kycc.monitoring.monitor` — one model and month: labels maturing now × predictions made 6 months before;
* :mod:`kycc.monitoring.actions` — the monitor / active_monitoring / retrain decision and its reports.

User documentation: ``docs/monitoring.md``.
"""

from kycc.monitoring.actions import DECISIONS, ActionRules, MetricRule, evaluate_action, render_action_report
from kycc.monitoring.drift import feature_psi
from kycc.monitoring.metrics import performance_metrics, prediction_drift
from kycc.monitoring.monitor import CohortResult, monitor_cohort
from kycc.monitoring.psi import PsiResult, psi, psi_categorical, psi_level, quantile_edges

__all__ = [
    "DECISIONS",
    "ActionRules",
    "CohortResult",
    "MetricRule",
    "PsiResult",
    "evaluate_action",
    "feature_psi",
    "monitor_cohort",
    "performance_metrics",
    "prediction_drift",
    "psi",
    "psi_categorical",
    "psi_level",
    "quantile_edges",
    "render_action_report",
]
