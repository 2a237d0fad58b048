"""``MonthPartitionedIbisDataset``: a parquet table partitioned by month, read and written through Ibis.

The same dataset serves both engines (DuckDB and PySpark) and both run modes:

* **save** replaces exactly the months present in the saved table (or, for a ``MonthlyTable``, the months
  it names, emptying those without rows, and with a run ``window`` every stored month inside the window that
  the run produced no rows for) (dynamic partition overwrite) and leaves every other month untouched, so a
  catch-up run over a range and month-by-month incremental runs build the same table.
* **load** returns the whole table (every month) as an Ibis table on the pipeline's connection.

Crash safety (one save = one recoverable swap):

1. every month of the save (and the schema file) is written to ``.staging-<id>/``; a crash here leaves the
   table as it was (the staging folder is removed by the next load or save);
2. the journal ``_swap_journal.json`` (the months to install and to empty) is written atomically: from this
   point the save is committed;
3. each month is moved aside to ``.old-<id>/`` and the staged one renamed in its place (renames only);
4. the journal is removed, then ``.staging-<id>`` and ``.old-<id>``.

The next load, save or ``months()`` of the table finishes a swap whose journal exists (step 3 is repeatable
from any point) and removes stale ``.staging*``/``.old*`` folders, so after a kill at any step the table
holds either every old or every new month of that save: never a missing month, never a mix. Saves and
recoveries of one table are serialised by an advisory lock on its folder.

Layout: ``<path>/batch_month=YYYY-MM/*.parquet`` (``batch_month=undated`` holds rows whose month could not be
read, such as malformed lines).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from copy import deepcopy
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from kedro.io import AbstractDataset, DatasetError
from kedro_datasets._utils import ConnectionMixin

try:  # POSIX advisory locks; without them (Windows) saves of one table must not run concurrently
    import fcntl
except ImportError:  # pragma: no cover - not on the platforms the project runs on
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from kycc.medallion.window import RunWindow

logger = logging.getLogger(__name__)

__all__ = ["PARTITION_COLUMN", "UNDATED", "MonthPartitionedIbisDataset", "MonthlyTable", "month_key"]

PARTITION_COLUMN = "batch_month"
UNDATED = "undated"
_SCHEMA_FILE = "_schema.parquet"
JOURNAL_FILE = "_swap_journal.json"
_STAGING = ".staging-"
_OLD = ".old-"

# Test hook: called with the name of each swap step as it completes (tests kill the process there).
swap_step_hook: Callable[[str], None] | None = None


def _step(name: str) -> None:
    if swap_step_hook is not None:
        swap_step_hook(name)


class MonthlyTable(NamedTuple):
    """A table together with the months it stands for (``YYYY-MM`` or ``undated``).

    Saving it replaces exactly those months: a month without rows in ``table`` is emptied, so re-running a
    month whose bad rows were fixed upstream leaves no stale quarantine (or silver, gold) rows behind.

    With ``window`` (the run window the table was built for), every month already stored inside the window
    that ``table`` has no rows for is emptied too, with a warning naming it: a month removed from every raw
    source does not survive silently. ``undated`` counts as inside every window (bronze carries the rows
    without a readable date into every run).
    """

    table: ir.Table
    months: tuple[str, ...]
    window: RunWindow | None = None


def month_key(date) -> str:
    """Partition key of a date: ``YYYY-MM`` (``undated`` for a missing date)."""
    import pandas as pd

    return UNDATED if date is None or pd.isna(date) else f"{date.year:04d}-{date.month:02d}"


def _in_window(month: str, window: RunWindow) -> bool:
    if month == UNDATED:
        return True
    start, end = getattr(window, "start", None), getattr(window, "end", None)
    return (start is None or month >= f"{start:%Y-%m}") and (end is None or month <= f"{end:%Y-%m}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class MonthPartitionedIbisDataset(ConnectionMixin, AbstractDataset["ir.Table", "ir.Table"]):
    """Month-partitioned parquet table on an Ibis backend (shares connections with ``kedro_datasets.ibis``).

    Args:
        path: Folder of the table.
        date_column: Date column whose month is the partition key (rows with a null date go to ``undated``).
        connection: Ibis connection config, e.g. ``{"backend": "duckdb"}`` or ``{"backend": "pyspark"}``.
        save_args: Extra writer arguments (Spark needs ``mode: overwrite``).
        metadata: Free-form metadata (kedro-viz layer).
        if_missing: ``error`` (default): loading a table nothing was ever saved to raises, naming the pipeline
            to run first; ``none``: it returns None, for a reader that says "not available yet" itself (the
            dashboard). A table saved empty loads as an empty table either way.
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
        if_missing: str = "error",
    ) -> None:
        if if_missing not in {"error", "none"}:
            raise DatasetError(f"{path}: if_missing must be 'error' or 'none', got {if_missing!r}")
        self._if_missing = if_missing
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
        """The partitions present, as ``YYYY-MM`` strings (and ``undated``), after recovering a crashed swap."""
        self.recover()
        return self._stored_months()

    def _stored_months(self) -> list[str]:
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

    def load(self) -> ir.Table | None:
        if self.months():
            pattern = str(self._path / f"{PARTITION_COLUMN}=*" / "*.parquet")
        elif (pattern := self._schema_files()) is None:
            if self._if_missing == "none":
                return None
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
        window = None
        if isinstance(data, MonthlyTable):
            data, months, window = data.table, tuple(data.months), data.window
        if self._date_column not in data.columns:
            raise DatasetError(f"{self._path}: the table to save has no {self._date_column!r} column")
        if PARTITION_COLUMN in data.columns:
            data = data.drop(PARTITION_COLUMN)
        month = data[self._date_column].cast("date").strftime("%Y-%m")
        data = data.mutate(**{PARTITION_COLUMN: ibis.coalesce(month, ibis.literal(UNDATED))})
        self._path.mkdir(parents=True, exist_ok=True)
        with self._lock():
            self._recover_locked()
            swap_id = uuid.uuid4().hex[:12]
            staging = self._path / f"{_STAGING}{swap_id}"
            try:
                writer_args = {**self._save_args}
                if self.backend_name == "pyspark":
                    writer_args["partitionBy"] = PARTITION_COLUMN
                else:
                    writer_args["partition_by"] = PARTITION_COLUMN
                self._connection.to_parquet(data, str(staging), **writer_args)
                _step("staged_months")
                # An empty file with the table's schema, so an empty table (e.g. no quarantined row yet) loads.
                schema_args = {k: v for k, v in self._save_args.items() if k == "mode"}
                self._connection.to_parquet(data.limit(0), str(staging / _SCHEMA_FILE), **schema_args)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            _step("staged")
            written = sorted(p.name for p in staging.glob(f"{PARTITION_COLUMN}=*") if p.is_dir())
            stored = set(self._stored_months())
            named = set(months)
            if window is not None:
                stale = (
                    {m for m in stored if _in_window(m, window)} - named - {_name_month(n) for n in written}
                )
                if stale:
                    logger.warning(
                        "%s: month(s) %s held rows but this run over %s produced none for them (their raw "
                        "rows are gone from every source): emptied",
                        self._path,
                        ", ".join(sorted(stale)),
                        window,
                    )
                named |= stale
            emptied = sorted(
                name
                for name in {f"{PARTITION_COLUMN}={m}" for m in named} - set(written)
                if (self._path / name).exists()
            )
            journal = {
                "id": swap_id,
                "staging": staging.name,
                "old": f"{_OLD}{swap_id}",
                "install": [*written, _SCHEMA_FILE],
                "remove": emptied,
            }
            self._write_journal(journal)
            _step("committed")
            self._roll_forward(journal)
        logger.debug("%s: wrote %d month(s), emptied %d", self._path, len(written), len(emptied))

    # -- the swap and its recovery ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Exclusive advisory lock on the table folder (released by the OS if the process dies)."""
        if fcntl is None:
            yield
            return
        fd = os.open(self._path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _write_journal(self, journal: dict[str, Any]) -> None:
        tmp = self._path / f"{JOURNAL_FILE}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(journal, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._path / JOURNAL_FILE)
        _fsync_dir(self._path)

    def _roll_forward(self, journal: dict[str, Any]) -> None:
        """Apply a committed swap; safe to repeat from any point (each step is one rename)."""
        staging, old = self._path / journal["staging"], self._path / journal["old"]
        old.mkdir(exist_ok=True)
        for name in journal["install"]:
            source, target, aside = staging / name, self._path / name, old / name
            if not (source.exists() or source.is_symlink()):
                continue  # installed before the crash
            if target.exists() or target.is_symlink():
                target.rename(aside)
                _step(f"aside:{name}")
            source.rename(target)
            _step(f"installed:{name}")
        for name in journal["remove"]:
            target = self._path / name
            if target.exists():
                target.rename(old / name)
                _step(f"removed:{name}")
        _fsync_dir(self._path)
        (self._path / JOURNAL_FILE).unlink()
        _step("journal_removed")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
        _step("cleaned")

    def recover(self) -> None:
        """Finish a swap interrupted by a crash and remove stale staging folders (no-op if there are none)."""
        if self._path.is_dir() and self._leftovers():
            with self._lock():
                self._recover_locked()

    def _leftovers(self) -> list[Path]:
        return [p for p in self._path.iterdir() if p.name.startswith((_STAGING, _OLD, JOURNAL_FILE))]

    def _recover_locked(self) -> None:
        journal_path = self._path / JOURNAL_FILE
        if journal_path.exists():
            try:
                journal = json.loads(journal_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise DatasetError(
                    f"{journal_path}: the journal of an interrupted month swap cannot be read ({exc}); "
                    f"inspect {self._path} by hand"
                ) from exc
            logger.warning(
                "%s: finishing a month swap interrupted by a crash (%d month(s) to install, %d to empty)",
                self._path,
                len(journal["install"]) - 1,
                len(journal["remove"]),
            )
            self._roll_forward(journal)
        for leftover in self._leftovers():
            name = leftover.name
            legacy = _legacy_old_target(name)
            if legacy and not (self._path / legacy).exists():
                # a swap of an earlier version crashed between its two renames: put the old month back
                logger.warning("%s: restoring %s from %s (crashed swap)", self._path, legacy, name)
                leftover.rename(self._path / legacy)
                continue
            logger.warning("%s: removing %s left by an interrupted save", self._path, name)
            _remove(leftover)


def _name_month(name: str) -> str:
    return name.split("=", 1)[1]


def _legacy_old_target(name: str) -> str | None:
    """``batch_month=2023-04`` for ``.old-batch_month=2023-04-1a2b3c4d`` (the pre-journal swap's naming)."""
    body = name[len(_OLD) :]
    if name.startswith(_OLD) and body.startswith((f"{PARTITION_COLUMN}=", _SCHEMA_FILE)) and "-" in body:
        head, _, tail = body.rpartition("-")
        if len(tail) == 8:
            return head
    return None
