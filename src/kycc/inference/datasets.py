"""Kedro datasets of inference and monitoring.

``RegisteredModelDataset`` (``"{model}.mdl_registered_model"``, read-only)
    The champion and earlier versions of a registered model, from the MLflow registry of the run
    (:class:`kycc.inference.registry.RegisteredModel`, loaded lazily). Nodes get an object, not MLflow calls.

``MonthPartitionedPandasDataset`` (predictions, scorecard decisions, monitoring metrics, action decisions)
    :class:`kycc.datasets.MonthPartitionedIbisDataset` with pandas on both sides: *save* replaces exactly the
    months present in the frame (staged and swapped in, other months untouched), so scoring a month again
    replaces it and a catch-up run and month-by-month runs build the same table; *load* returns every month
    (an empty frame before the first save, so "nothing yet" is a logged skip downstream, not an error).
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from kycc.datasets import MonthPartitionedIbisDataset

logger = logging.getLogger(__name__)

__all__ = ["MonthPartitionedPandasDataset", "RegisteredModelDataset"]

SORT_KEYS = ("loan_id", "feature")


class RegisteredModelDataset(AbstractDataset[None, Any]):
    """Load the registered versions of one model (champion by ``alias``) from the MLflow registry.

    Args:
        model: The model's namespace (``model_1``).
        registered_model_name: Its registry name (default ``kycc_<model>``).
        alias: The alias inference scores with (``champion``).
    """

    def __init__(
        self,
        model: str,
        registered_model_name: str | None = None,
        alias: str = "champion",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._model = model
        self._name = registered_model_name or f"kycc_{model}"
        self._alias = alias
        self.metadata = metadata

    def load(self) -> Any:
        from kycc.inference.registry import mlflow_registered_model

        return mlflow_registered_model(self._model, self._name, self._alias)

    def save(self, data: Any) -> None:
        raise DatasetError(
            f"{self._name}@{self._alias} is read-only here: models are registered by the training pipeline"
        )

    def _describe(self) -> dict[str, Any]:
        return {"registered_model_name": self._name, "alias": self._alias}


class MonthPartitionedPandasDataset(MonthPartitionedIbisDataset):
    """A month-partitioned parquet table saved from and loaded as pandas (see the module docstring).

    Args:
        path: Folder of the table (``<path>/batch_month=YYYY-MM/*.parquet``).
        date_column: The date whose month partitions the rows.
        connection: Ibis connection that writes and reads the files (default: an in-memory DuckDB).
    """

    def __init__(
        self,
        path: str,
        date_column: str = "snapshot_date",
        connection: dict[str, Any] | None = None,
        save_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(path, date_column, connection or {"backend": "duckdb"}, save_args, metadata)

    def load(self) -> pd.DataFrame:
        if not self.months():
            return pd.DataFrame()
        frame = super().load().to_pandas()
        keys = [self._date_column, *(k for k in SORT_KEYS if k in frame.columns)]
        return frame.sort_values(keys, kind="stable").reset_index(drop=True)

    def save(self, data: pd.DataFrame) -> None:
        import ibis

        if not isinstance(data, pd.DataFrame):
            raise DatasetError(f"{self._path}: expected a pandas DataFrame, got {type(data).__name__}")
        if data.empty:
            logger.debug("%s: nothing to write (no rows)", self._path)
            return
        if self._date_column not in data.columns:
            raise DatasetError(f"{self._path}: the frame to save has no {self._date_column!r} column")
        if data[self._date_column].isna().any():
            raise DatasetError(
                f"{self._path}: {int(data[self._date_column].isna().sum())} row(s) have no date"
            )
        super().save(ibis.memtable(data))
