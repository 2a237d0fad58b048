"""``MonthPartitionedIbisDataset``: a parquet table partitioned by month, read and written through Ibis.

The same dataset serves both engines (DuckDB and PySpark) and both run modes:

* **save** replaces exactly the months present in the saved table (or, for a ``MonthlyTable``, the months
  it names, emptying those without rows) (dynamic partition overwrite) and leaves
  every other month untouched, so a catch-up run over a range and month-by-month incremental runs build the
  same table. Each month is written to a staging folder first and swapped in with a rename: a failure
  mid-write never leaves a half-written month in place of good data.
* **load** returns the whole table (every month) as an Ibis table on the pipeline's connection.

Layout: ``<path>/batch_month=YYYY-MM/*.parquet`` (``batch_month=undated`` holds rows whose month could not be
read, such as malformed lines).
"""

from __future__ import annotations

import logging
import shutil
import uuid
from copy import deepcopy
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from kedro.io import AbstractDataset, DatasetError
from kedro_datasets._utils import ConnectionMixin

if TYPE_CHECKING:
    import ibis.expr.types as ir

logger = logging.getLogger(__name__)

__all__ = ["PARTITION_COLUMN", "UNDATED", "MonthPartitionedIbisDataset", "MonthlyTable", "month_key"]

PARTITION_COLUMN = "batch_month"
UNDATED = "undated"
_SCHEMA_FILE = "_schema.parquet"


class MonthlyTable(NamedTuple):
    """A table together with the months it stands for (``YYYY-MM`` or ``undated``).

    Saving it replaces exactly those months: a month without rows in ``table`` is emptied, so re-running a
    month whose bad rows were fixed upstream leaves no stale quarantine (or silver, gold) rows behind.
    """

    table: ir.Table
    months: tuple[str, ...]


def month_key(date) -> str:
    """Partition key of a date: ``YYYY-MM`` (``undated`` for a missing date)."""
    import pandas as pd

    return UNDATED if date is None or pd.isna(date) else f"{date.year:04d}-{date.month:02d}"


class MonthPartitionedIbisDataset(ConnectionMixin, AbstractDataset["ir.Table", "ir.Table"]):
    """Month-partitioned parquet table on an Ibis backend (shares connections with ``kedro_datasets.ibis``).

    Args:
        path: Folder of the table.
        date_column: Date column whose month is the partition key (rows with a null date go to ``undated``).
        connection: Ibis connection config, e.g. ``{"backend": "duckdb"}`` or ``{"backend": "pyspark"}``.
        save_args: Extra writer arguments (Spark needs ``mode: overwrite``).
        metadata: Free-form metadata (kedro-viz layer).
    """

    _CONNECTION_GROUP: ClassVar[str] = "ibis"
    DEFAULT_CONNECTION_CONFIG: ClassVar[dict[str, Any]] = {"backend": "duckdb", "database": ":memory:"}

    def __init__(
        self,
        path: str,
        date_column: str = "snapshot_date",
        connection: dict[str, Any] | None = None,
        save_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._path = Path(path)
        self._date_column = date_column
        self._connection_config = dict(connection or self.DEFAULT_CONNECTION_CONFIG)
        if self._connection_config.get("backend") == "duckdb":
            self._connection_config.setdefault("database", ":memory:")
        self._save_args = dict(save_args or {})
        self.metadata = metadata

    def _connect(self):
        import ibis

        config = deepcopy(self._connection_config)
        backend = config.pop("backend")
        if backend == "pyspark":
            from kycc.engine import spark_session

            return ibis.pyspark.connect(spark_session())
        return getattr(ibis, backend).connect(**config)

    @property
    def backend_name(self) -> str:
        return self._connection_config["backend"]

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "backend": self.backend_name, "date_column": self._date_column}

    def months(self) -> list[str]:
        """The partitions present, as ``YYYY-MM`` strings (and ``undated``)."""
        if not self._path.is_dir():
            return []
        return sorted(
            p.name.split("=", 1)[1]
            for p in self._path.glob(f"{PARTITION_COLUMN}=*")
            if p.is_dir() and any(p.glob("*.parquet"))
        )

    def _exists(self) -> bool:
        return bool(self.months()) or self._schema_files() is not None

    def _schema_files(self) -> str | None:
        """The empty file written beside the partitions that keeps the schema of an empty table."""
        schema = self._path / _SCHEMA_FILE
        if schema.is_file():
            return str(schema)
        if schema.is_dir() and any(schema.glob("*.parquet")):
            return str(schema / "*.parquet")
        return None

    def load(self) -> ir.Table:
        if self.months():
            pattern = str(self._path / f"{PARTITION_COLUMN}=*" / "*.parquet")
        elif (pattern := self._schema_files()) is None:
            raise DatasetError(
                f"{self._path}: no data yet. Run the pipeline that builds it first "
                f"(e.g. `kedro run --pipelines label_store` before `feature_store`)."
            )
        table = self._connection.read_parquet(pattern)
        # DuckDB infers the hive partition column from the folder names, Spark does not: drop it on both.
        return table.drop(PARTITION_COLUMN) if PARTITION_COLUMN in table.columns else table

    def save(self, data: ir.Table | MonthlyTable) -> None:
        import ibis

        months: tuple[str, ...] = ()
        if isinstance(data, MonthlyTable):
            data, months = data.table, tuple(data.months)
        if self._date_column not in data.columns:
            raise DatasetError(f"{self._path}: the table to save has no {self._date_column!r} column")
        if PARTITION_COLUMN in data.columns:
            data = data.drop(PARTITION_COLUMN)
        month = data[self._date_column].cast("date").strftime("%Y-%m")
        data = data.mutate(**{PARTITION_COLUMN: ibis.coalesce(month, ibis.literal(UNDATED))})
        self._path.mkdir(parents=True, exist_ok=True)
        staging = self._path / f".staging-{uuid.uuid4().hex[:12]}"
        try:
            writer_args = {**self._save_args}
            if self.backend_name == "pyspark":
                writer_args["partitionBy"] = PARTITION_COLUMN
            else:
                writer_args["partition_by"] = PARTITION_COLUMN
            self._connection.to_parquet(data, str(staging), **writer_args)
            written = sorted(p for p in staging.glob(f"{PARTITION_COLUMN}=*") if p.is_dir())
            for part in written:
                self._swap_in(part)
            emptied = {f"{PARTITION_COLUMN}={m}" for m in months} - {p.name for p in written}
            for name in sorted(emptied):
                if (self._path / name).exists():
                    self._swap_in(None, name)
            # An empty file with the table's schema, so an empty table (e.g. no quarantined row yet) loads.
            schema_args = {k: v for k, v in self._save_args.items() if k == "mode"}
            self._connection.to_parquet(data.limit(0), str(staging / _SCHEMA_FILE), **schema_args)
            self._swap_in(staging / _SCHEMA_FILE)
            logger.debug("%s: wrote %d month(s)", self._path, len(written))
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _swap_in(self, part: Path | None, name: str | None = None) -> None:
        """Replace ``<path>/<name>`` by ``part`` (``None``: remove it), by renames."""
        name = name or part.name
        target = self._path / name
        old = self._path / f".old-{name}-{uuid.uuid4().hex[:8]}"
        if target.exists():
            target.rename(old)
        if part is not None:
            part.rename(target)
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        elif old.exists():
            old.unlink()
