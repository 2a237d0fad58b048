"""Inference: score a month's applications with the active scorecard (the decision) and the champion models
(the advice), under the batch-lag rule.

* :mod:`kycc.inference.registry` — the registered versions (champion, earlier ones) with their training
  metadata, OOT reference and fitted bundle;
* :mod:`kycc.inference.scoring` — applications of a month, scorecard decisions, champion predictions;
* :mod:`kycc.inference.datasets` — the Kedro datasets (registry, month-partitioned pandas tables).

User documentation: ``docs/monitoring.md``.
"""

from kycc.inference.registry import ModelCard, RegisteredModel
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
    "ModelCard",
    "RegisteredModel",
    "resolve_months",
    "score_scorecard",
    "score_with_model",
]
