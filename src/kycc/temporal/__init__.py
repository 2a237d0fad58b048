"""Time arithmetic of the platform: training windows and the batch-lag rule of scoring."""

from kycc.temporal.batch_lag import BatchLagViolation, check_batch_lag, violates_batch_lag
from kycc.temporal.windows import (
    WINDOW_NAMES,
    InsufficientHistoryError,
    TrainingWindows,
    Window,
    WindowSizes,
    add_months,
    check_history,
    first_trainable_date,
    first_training_date_learning,
    fixed_windows,
    month_range,
    recent_windows,
    to_month,
    windows_from_config,
    windows_from_training_date,
)

__all__ = [
    "WINDOW_NAMES",
    "BatchLagViolation",
    "InsufficientHistoryError",
    "TrainingWindows",
    "Window",
    "WindowSizes",
    "add_months",
    "check_batch_lag",
    "check_history",
    "first_trainable_date",
    "first_training_date_learning",
    "recent_windows",
    "fixed_windows",
    "month_range",
    "to_month",
    "violates_batch_lag",
    "windows_from_config",
    "windows_from_training_date",
]
