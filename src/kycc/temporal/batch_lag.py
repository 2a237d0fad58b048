"""The batch-lag rule (temporal safety of scoring).

A month may never be scored by a model whose training or validation windows include that month: its
predictions there would be in-sample and monitoring would overrate the model. The windows are the ones a
training run records (``TrainingWindows.to_dict()`` in the model's metadata and MLflow params).
"""

from __future__ import annotations

from typing import Any

from kycc.temporal.months import format_months, to_month
from kycc.temporal.windows import TrainingWindows

__all__ = ["BatchLagViolation", "check_batch_lag", "violates_batch_lag"]

# Windows whose months a model has learnt from (fitted on, or chosen its hyperparameters on).
LEARNT_WINDOWS = ("train", "validation")


class BatchLagViolation(ValueError):
    """A model would score a month it was trained or validated on."""


def violates_batch_lag(windows: TrainingWindows | dict[str, Any], month: Any) -> str | None:
    """The name of the learnt window (train/validation) holding ``month``, or None when scoring is safe."""
    tw = windows if isinstance(windows, TrainingWindows) else TrainingWindows.from_dict(windows)
    name = tw.window_of(to_month(month))
    return name if name in LEARNT_WINDOWS else None


def check_batch_lag(windows: TrainingWindows | dict[str, Any], month: Any, model: str) -> None:
    """Raise :class:`BatchLagViolation` naming model, windows and month when ``model`` may not score ``month``."""
    tw = windows if isinstance(windows, TrainingWindows) else TrainingWindows.from_dict(windows)
    name = violates_batch_lag(tw, month)
    if name is not None:
        raise BatchLagViolation(
            f"Batch-lag rule: model {model!r} may not score {to_month(month):%Y-%m}: the month is in its "
            f"{name} window (train {format_months(tw.train.months)}, validation "
            f"{format_months(tw.validation.months)}). Score a month after "
            f"{tw.validation.end:%Y-%m} or use a model trained earlier."
        )
