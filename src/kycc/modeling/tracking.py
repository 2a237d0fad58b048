"""``MlflowParamsDataset``: log a flat dict as parameters of the active MLflow run.

kedro-mlflow logs the ``params:`` inputs of nodes, but values a node *computes* — the temporal windows counted
back from the training date — have no dataset that logs them as run parameters. This dataset fills that gap
so the node stays free of MLflow calls::

    mdl_training_window_params:
      type: kycc.modeling.tracking.MlflowParamsDataset

Saving outside an MLflow run (plugin off, unit tests) logs nothing. Its class name starts with ``Mlflow`` so
kedro-mlflow's switch (``_logging_activated``) turns it off with the plugin's other datasets.
"""

from __future__ import annotations

import logging
from typing import Any

from kedro.io import AbstractDataset, DatasetError

logger = logging.getLogger(__name__)

__all__ = ["MlflowParamsDataset"]


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
