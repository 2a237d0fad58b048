"""Inference: score a month's applications with the active scorecard (the decision) and the champion models
(the advice), under the batch-lag rule.

* :mod:`kycc.inference.scoring` — applications of a month, scorecard decisions, champion predictions;

The registered versions (champion, earlier ones) are read through :mod:`kycc.registry.read`; the Kedro datasets
inference writes are in :mod:`kycc.datasets.tables`.

User documentation: ``docs/monitoring.md``.
"""

from kycc.inference.scoring import (
    PREDICTION_COLUMNS,
    InferenceError,
    resolve_months,
    score_scorecard,
    score_with_model,
)

__all__ = [
    "PREDICTION_COLUMNS",
    "InferenceError",
    "resolve_months",
    "score_scorecard",
    "score_with_model",
]
