"""``monitoring`` and ``psi_levels`` (``conf/base/parameters_monitoring.yml``)."""

from __future__ import annotations

from kycc.params.base import Month, Params


class Backtest(Params):
    alpha: float
    confidence: float


class MonitoringParams(Params):
    start_month: Month
    end_month: Month
    label_lag_months: int
    psi_bins: int
    backtest: Backtest


class PsiLevels(Params):
    moderate: float
    major: float
    alpha: float
    missing_moderate: float
    missing_major: float
