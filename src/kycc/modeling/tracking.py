"""Datasets that log to the active MLflow run: ``MlflowParamsDataset`` and ``MlflowCandidateArtifactDataset``.

``MlflowParamsDataset`` logs a flat dict as parameters of the active MLflow run. kedro-mlflow logs the
``params:`` inputs of nodes, but values a node *computes* — the temporal windows counted back from the training
date — have no dataset that logs them as run parameters. This dataset fills that gap so the node stays free of
MLflow calls::

    mdl_training_window_params:
      type: kycc.modeling.tracking.MlflowParamsDataset

``MlflowCandidateArtifactDataset`` keeps a model's local artefacts (``data/06_models/<model>/``) for models that
passed their quality gates: it saves a :class:`Candidate` (the value and whether its model passed). A passing
model's file replaces the local one (written beside it, then renamed: never half-written) and is logged to the
run; a failing model's file is logged to the run only, and the local file — the last passing model, which the
scorecard refinement reads — stays as it was::

    "{model}.mdl_model":
      type: kycc.modeling.tracking.MlflowCandidateArtifactDataset
      artifact_path: "{model}/artifacts"
      dataset: {type: pickle.PickleDataset, filepath: data/06_models/{model}/model.pkl}

Saving outside an MLflow run (plugin off, unit tests) logs nothing. The class names start with ``Mlflow`` so
kedro-mlflow's switch (``_logging_activated``) turns them off with the plugin's other datasets.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

logger = logging.getLogger(__name__)

__all__ = [
    "Candidate",
    "MlflowCandidateArtifactDataset",
    "MlflowParamsDataset",
    "MlflowScoringModelDataset",
    "input_example",
    "scoring_model_log_args",
]

#: Rows of model input logged with a model as its MLflow input example.
INPUT_EXAMPLE_ROWS = 5


class MlflowParamsDataset(AbstractDataset[dict[str, Any], dict[str, Any]]):
    """Log ``{name: value}`` as parameters of the active MLflow run; load them back from that run."""

    def __init__(self, prefix: str | None = None, metadata: dict[str, Any] | None = None) -> None:
        self._prefix = prefix
        self._logging_activated = True
        self._last: dict[str, Any] | None = None
        self.metadata = metadata

    @property
    def _logging_activated(self) -> bool:
        return self.__logging_activated

    @_logging_activated.setter
    def _logging_activated(self, flag: bool) -> None:
        if not isinstance(flag, bool):
            raise ValueError(f"_logging_activated must be a boolean, got {type(flag)}")
        self.__logging_activated = flag

    def _key(self, name: str) -> str:
        return f"{self._prefix}.{name}" if self._prefix else name

    def save(self, data: dict[str, Any]) -> None:
        if not isinstance(data, dict):
            raise DatasetError(f"MlflowParamsDataset saves a dict, got {type(data).__name__}")
        self._last = {self._key(k): v for k, v in data.items()}
        if not self._logging_activated:
            return
        import mlflow

        run = mlflow.active_run()
        if run is None:
            logger.debug("No active MLflow run: %d parameter(s) not logged", len(data))
            return
        mlflow.log_params({k: str(v) for k, v in self._last.items()})

    def load(self) -> dict[str, Any]:
        import mlflow

        run = mlflow.active_run()
        if run is not None:
            params = mlflow.get_run(run.info.run_id).data.params
            keys = self._last.keys() if self._last else params.keys()
            return {k: params[k] for k in keys if k in params}
        if self._last is not None:
            return dict(self._last)
        raise DatasetError("No active MLflow run and nothing saved yet")

    def _describe(self) -> dict[str, Any]:
        return {"prefix": self._prefix}


@dataclass(frozen=True)
class Candidate:
    """A model artefact and whether its model passed the quality gates (what a candidate dataset saves)."""

    value: Any
    passed: bool
    model: str = ""


class MlflowCandidateArtifactDataset(AbstractDataset[Candidate, Any]):
    """A local file that holds the latest *passing* model's artefact; every run's copy goes to MLflow.

    Args:
        dataset: The local dataset (``type`` and ``filepath``, any file dataset of kedro-datasets).
        artifact_path: Folder of the MLflow run's artifacts to log the file under.
        metadata: Kedro-viz metadata.
    """

    def __init__(
        self,
        dataset: dict[str, Any] | str,
        artifact_path: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        config = {"type": dataset} if isinstance(dataset, str) else dict(dataset)
        if not config.get("filepath"):
            raise DatasetError("MlflowCandidateArtifactDataset needs dataset.filepath (a local file)")
        self._config = config
        self._filepath = Path(str(config["filepath"]))
        self._dataset = AbstractDataset.from_config("candidate", dict(config))
        self._artifact_path = artifact_path
        self._logging_activated = True
        self.metadata = metadata

    @property
    def _logging_activated(self) -> bool:
        return self.__logging_activated

    @_logging_activated.setter
    def _logging_activated(self, flag: bool) -> None:
        if not isinstance(flag, bool):
            raise ValueError(f"_logging_activated must be a boolean, got {type(flag)}")
        self.__logging_activated = flag

    def _write(self, value: Any, path: Path) -> None:
        AbstractDataset.from_config("candidate", {**self._config, "filepath": str(path)}).save(value)

    def _log(self, path: Path) -> None:
        if not self._logging_activated:
            return
        import mlflow

        if mlflow.active_run() is None:
            logger.debug("No active MLflow run: %s not logged", path.name)
            return
        mlflow.log_artifact(str(path), self._artifact_path)

    def save(self, data: Candidate) -> None:
        if not isinstance(data, Candidate):
            raise DatasetError(
                "MlflowCandidateArtifactDataset saves a kycc.modeling.tracking.Candidate (the value and whether "
                f"its model passed the quality gates), got {type(data).__name__}"
            )
        if data.passed:
            self._filepath.parent.mkdir(parents=True, exist_ok=True)
            staging = self._filepath.with_name(f".{self._filepath.name}.{os.getpid()}.tmp")
            try:
                self._write(data.value, staging)
                os.replace(staging, self._filepath)  # atomic: the old file or the new one, never half of it
            finally:
                staging.unlink(missing_ok=True)
            self._log(self._filepath)
            return
        logger.info(
            "%s failed its quality gates: %s keeps the last passing model's file; this run's copy is in MLflow",
            data.model or "the model",
            self._filepath,
        )
        with tempfile.TemporaryDirectory(prefix="kycc-rejected-") as folder:
            path = Path(folder) / self._filepath.name
            self._write(data.value, path)
            self._log(path)

    def load(self) -> Any:
        return self._dataset.load()

    def _exists(self) -> bool:
        return self._dataset.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "artifact_path": self._artifact_path}


def input_example(frame: Any, features: list[str], rows: int = INPUT_EXAMPLE_ROWS) -> Any:
    """The first ``rows`` rows of ``features`` (of the train window when ``frame`` has a ``_window`` column).

    Integer and boolean columns become float64 and the rest stays as it is: the signature must accept a missing
    value, which model input has in any numeric column (an int64 schema would make MLflow's pyfunc refuse
    them).
    """
    from kycc.modeling.contract import WINDOW_COLUMN

    picked = frame
    if WINDOW_COLUMN in frame.columns and (frame[WINDOW_COLUMN] == "train").any():
        picked = frame.loc[frame[WINDOW_COLUMN] == "train"]
    example = picked[list(features)].head(rows).reset_index(drop=True).copy()
    for column in example.columns:
        kind = example[column].dtype.kind
        if kind in "iub":
            example[column] = example[column].astype("float64")
    return example


def scoring_model_log_args(model: Any, example: Any | None) -> dict[str, Any]:
    """``log_model`` arguments (flavor :mod:`kycc.registry.flavor`) that make a logged scoring model readable:
    given an example, the signature (the example's columns in, the pyfunc's ``pd`` and ``prediction`` out) and
    the input example."""
    args: dict[str, Any] = {}
    if example is not None and len(example):
        import warnings

        from mlflow.models import infer_signature

        from kycc.registry.flavor import pd_frame

        with warnings.catch_warnings():  # the 0/1 class is an integer output column: no missing value to hold
            warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column")
            args["signature"] = infer_signature(example, pd_frame(model, example))
        args["input_example"] = example
    return args


def _mlflow_model_tracking_dataset() -> type:
    from kedro_mlflow.io.models import MlflowModelTrackingDataset

    return MlflowModelTrackingDataset


class MlflowScoringModelDataset(_mlflow_model_tracking_dataset()):  # type: ignore[misc]
    """kedro-mlflow's ``MlflowModelTrackingDataset`` for the scoring bundle, logged with a signature and an input
    example (:func:`scoring_model_log_args`); with ``flavor: kycc.registry.flavor`` its pyfunc returns the PD.

    The example comes from the bundle's ``input_example_`` attribute (set by the ``package_model`` node), which
    is removed before the model is pickled::

        "{model}.mdl_mlflow_model":
          type: kycc.modeling.tracking.MlflowScoringModelDataset
          flavor: kycc.registry.flavor
          save_args: {name: "{model}", serialization_format: cloudpickle}
    """

    def _save(self, model: Any) -> None:
        example = getattr(model, "input_example_", None)
        if example is not None:
            del model.input_example_
        if not self._logging_activated:
            return
        configured = dict(self._save_args)
        self._save_args = {**configured, **scoring_model_log_args(model, example)}
        try:
            super()._save(model)
        finally:
            self._save_args = configured
