"""Kedro datasets of inference and monitoring.

``RegisteredModelDataset`` (``"{model}.mdl_registered_model"``, read-only)
    The champion and earlier versions of a registered model, from the MLflow registry of the run
    (:class:`kycc.registry.read.RegisteredModel`, loaded lazily). Nodes get an object, not MLflow calls.

``MonthPartitionedPandasDataset`` (predictions, scorecard decisions, monitoring metrics, action decisions)
    :class:`kycc.datasets.MonthPartitionedIbisDataset` with pandas on both sides: *save* replaces exactly the
    months present in the frame (staged and swapped in, other months untouched), so a catch-up run and
    month-by-month runs build the same table; *load* returns every month (an empty frame before the first
    save, so "nothing yet" is a logged skip downstream, not an error). With ``append_only: true`` (the
    decisions and predictions: decisions are history) a month once written is never replaced: saving a month
    the table already holds is refused.

``DecisionSetsDataset`` (``out_scorecard_rescores``, ``<model>.out_prediction_rescores``)
    The append-only store of the decision sets written by ``inference.rescore``: one parquet file per month
    and decision set (``<path>/batch_month=YYYY-MM/decision_set=0002.parquet``), created once and never
    replaced or removed; *load* returns every set.

``MonthRecordDataset`` (``inf_decision_record``, ``<model>.inf_prediction_record``, read-only)
    What a decision or prediction table (and its decision sets) already holds, as a
    :class:`kycc.inference.history.MonthRecord`: the inference pipeline reads it to keep decided months as
    they are (a node cannot read the table it writes).
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from kycc.datasets import MonthPartitionedIbisDataset
from kycc.datasets.partitioned_ibis import PARTITION_COLUMN

logger = logging.getLogger(__name__)

__all__ = [
    "DecisionSetsDataset",
    "MonthPartitionedPandasDataset",
    "MonthRecordDataset",
    "RegisteredModelDataset",
]

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
        from kycc.registry.read import mlflow_registered_model

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
        append_only: Refuse to replace a month the table already holds (decisions are history).
    """

    def __init__(  # noqa: PLR0913 - Kedro passes the catalog entry's keys
        self,
        path: str,
        date_column: str = "snapshot_date",
        connection: dict[str, Any] | None = None,
        save_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        append_only: bool = False,
    ) -> None:
        super().__init__(path, date_column, connection or {"backend": "duckdb"}, save_args, metadata)
        self._append_only = bool(append_only)

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
        if self._append_only:
            months = set(pd.to_datetime(data[self._date_column]).dt.strftime("%Y-%m"))
            recorded = sorted(months & set(self.months()))
            if recorded:
                raise DatasetError(
                    f"{self._path}: {', '.join(recorded)} already recorded: this table is append-only "
                    "(decisions are history) and a recorded month is never replaced. Score it again as a new "
                    "decision set with inference.rescore=true and inference.rescore_reason (docs/monitoring.md)."
                )
        super().save(ibis.memtable(data))


class DecisionSetsDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """Append-only decision sets: one parquet file per month and ``decision_set``, never replaced.

    Args:
        path: Folder of the store (``<path>/batch_month=YYYY-MM/decision_set=NNNN.parquet``).
        date_column: The date whose month partitions the rows.
    """

    SET_COLUMN = "decision_set"

    def __init__(
        self, path: str, date_column: str = "snapshot_date", metadata: dict[str, Any] | None = None
    ) -> None:
        self._path = Path(path)
        self._date_column = date_column
        self.metadata = metadata

    def _files(self) -> list[Path]:
        if not self._path.is_dir():
            return []
        return sorted(self._path.glob(f"{PARTITION_COLUMN}=*/{self.SET_COLUMN}=*.parquet"))

    def months(self) -> list[str]:
        """The months holding at least one decision set (``YYYY-MM``)."""
        return sorted({f.parent.name.split("=", 1)[1] for f in self._files()})

    def sets(self) -> dict[str, list[int]]:
        """Month (``YYYY-MM``) -> the decision set numbers recorded for it."""
        out: dict[str, list[int]] = {}
        for f in self._files():
            out.setdefault(f.parent.name.split("=", 1)[1], []).append(int(f.stem.split("=", 1)[1]))
        return {m: sorted(v) for m, v in sorted(out.items())}

    def load(self) -> pd.DataFrame:
        files = self._files()
        if not files:
            return pd.DataFrame()
        frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        keys = [self._date_column, self.SET_COLUMN, *(k for k in SORT_KEYS if k in frame.columns)]
        return frame.sort_values(keys, kind="stable").reset_index(drop=True)

    def save(self, data: pd.DataFrame) -> None:
        if not isinstance(data, pd.DataFrame):
            raise DatasetError(f"{self._path}: expected a pandas DataFrame, got {type(data).__name__}")
        if data.empty:
            return
        for column in (self._date_column, self.SET_COLUMN):
            if column not in data.columns or data[column].isna().any():
                raise DatasetError(f"{self._path}: every row needs a {column!r}")
        months = pd.to_datetime(data[self._date_column]).dt.strftime("%Y-%m")
        targets = {}
        for (month, number), part in data.groupby([months, data[self.SET_COLUMN].astype("int64")]):
            target = self._path / f"{PARTITION_COLUMN}={month}" / f"{self.SET_COLUMN}={number:04d}.parquet"
            if target.exists():
                raise DatasetError(
                    f"{target}: decision set {number} of {month} is already recorded (append-only store)"
                )
            targets[target] = part.reset_index(drop=True)
        for target, part in targets.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = target.with_name(f".staging-{uuid.uuid4().hex[:12]}-{target.name}")
            try:
                part.to_parquet(staging, index=False)
                os.link(staging, target)  # fails if the set appeared meanwhile: never replaces a file
            except FileExistsError as err:
                raise DatasetError(f"{target}: already recorded (append-only store)") from err
            finally:
                staging.unlink(missing_ok=True)
        logger.info("%s: recorded %d decision set(s)", self._path, len(targets))

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "date_column": self._date_column}


class MonthRecordDataset(AbstractDataset[None, Any]):
    """Read-only view of what a table already holds (see :class:`kycc.inference.history.MonthRecord`).

    Args:
        path: The month-partitioned table (decisions or a model's predictions).
        rescores_path: Its decision sets (a :class:`DecisionSetsDataset` folder).
    """

    def __init__(
        self,
        path: str,
        rescores_path: str | None = None,
        date_column: str = "snapshot_date",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._table = MonthPartitionedIbisDataset(path, date_column)
        self._rescores = DecisionSetsDataset(rescores_path, date_column) if rescores_path else None
        self._path = path
        self._date_column = date_column
        self.metadata = metadata

    def load(self) -> Any:
        from kycc.inference.history import MonthRecord

        table, rescores, date = self._table, self._rescores, self._date_column

        def frame(months: list[str]) -> pd.DataFrame:
            wanted = sorted(set(months) & set(table.months()))
            if not wanted:
                return pd.DataFrame()
            t = table.load()
            rows = t.filter(t[date].cast("date").strftime("%Y-%m").isin(wanted)).to_pandas()
            keys = [date, *(k for k in SORT_KEYS if k in rows.columns)]
            return rows.sort_values(keys, kind="stable").reset_index(drop=True)

        return MonthRecord(
            months=[m for m in table.months() if m[:1].isdigit()],
            frame=frame,
            sets=rescores.sets() if rescores is not None else {},
        )

    def save(self, data: Any) -> None:
        raise DatasetError(f"{self._path}: this record is read-only (the inference nodes write the table)")

    def _describe(self) -> dict[str, Any]:
        return {"path": self._path}
