"""The names the registry's write side (:mod:`kycc.registry.write`) and read side (:mod:`kycc.registry.read`)
agree on: model-version tags, aliases and the artifact layout of a training run. One home for each; the catalog's
``artifact_path: "{model}/artifacts"`` (conf/base/catalog_training.yml) is the same layout as
:func:`artifact_dir`.
"""

from __future__ import annotations

TAG_PREFIX = "kycc."
"""Every tag the project sets on a model version starts with this."""

MODEL_TAG = f"{TAG_PREFIX}model"
"""The project's model name (``model_1``, ``model_2``) of a registered version; versions without it were not
registered by the training pipeline."""

CHAMPION_ALIAS = "champion"
PREVIOUS_CHAMPION_ALIAS = "previous_champion"

METADATA_FILE = "metadata.json"
"""The training card (windows, metrics, fingerprint) of a model, under :func:`artifact_dir`."""
PREDICTIONS_FILE = "predictions.parquet"
"""The model's predictions on its windows (the OOT rows are the monitoring reference), under :func:`artifact_dir`."""


def artifact_dir(model: str) -> str:
    """The run-relative folder of a model's artifacts: ``<model>/artifacts``."""
    return f"{model}/artifacts"


def tag(name: str) -> str:
    """The full tag name of ``name`` (``tag("training_date") == "kycc.training_date"``)."""
    return f"{TAG_PREFIX}{name}"
