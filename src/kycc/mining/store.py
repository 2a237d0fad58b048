"""The issue_mining DuckDB store: bronze / silver / gold schemas, the seed's tables, and safe writes.

Writes are transactions (a failed save leaves the earlier rows in place) of three kinds (a
``DatePartition(..., keep=True)`` writes nothing):

- ``replace_partition``: delete the rows of one partition value (``collection_date`` / ``cluster_date``), insert
  the new ones: re-running a date replaces that date.
- ``upsert``: ``INSERT … ON CONFLICT (key) DO UPDATE`` (embeddings cached by ``url_hash``).
- ``update_partition``: set the given columns to NULL for one partition value, then update them by key
  (cluster assignments of ``silver.items``, summaries of ``silver.clusters``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DDL", "TABLES", "DatePartition", "connect", "ensure_schema", "read_table", "write_table"]

logger = logging.getLogger(__name__)

EMBEDDING_DIM = 384

TABLES: dict[str, dict[str, Any]] = {
    "bronze.raw_items": {
        "columns": {
            "url_hash": "VARCHAR NOT NULL",
            "source": "VARCHAR NOT NULL",
            "collection_date": "DATE NOT NULL",
            "url": "VARCHAR NOT NULL",
            "title": "VARCHAR NOT NULL",
            "body": "VARCHAR",
            "created_at": "TIMESTAMP",
            "external_id": "VARCHAR",
            "query": "VARCHAR",
        },
        "key": ["url_hash"],
    },
    "bronze.quarantine": {
        "columns": {
            "collection_date": "DATE NOT NULL",
            "source": "VARCHAR NOT NULL",
            "external_id": "VARCHAR",
            "reason": "VARCHAR NOT NULL",
            "payload": "VARCHAR",
        },
        "key": [],
    },
    "silver.items": {
        "columns": {
            "url_hash": "VARCHAR NOT NULL",
            "embedding": f"FLOAT[{EMBEDDING_DIM}] NOT NULL",
            "embedding_date": "DATE NOT NULL",
            "cluster_date": "DATE",
            "cluster_id": "INTEGER",
            "centroid_similarity": "DOUBLE",  # cosine similarity to its cluster's centroid
        },
        "key": ["url_hash"],
        "added": ["centroid_similarity"],
    },
    "silver.clusters": {
        "columns": {
            "cluster_date": "DATE NOT NULL",
            "cluster_id": "INTEGER NOT NULL",
            "cluster_size": "INTEGER NOT NULL",
            "confidence": "DOUBLE",
            "summary": "VARCHAR",
            "silhouette": "DOUBLE",  # mean silhouette (cosine) of the cluster's items
            "poor_quality": "BOOLEAN",  # silhouette below clustering.min_silhouette
        },
        "key": ["cluster_date", "cluster_id"],
        "added": ["silhouette", "poor_quality"],
    },
    "gold.issues": {
        "columns": {
            "cluster_date": "DATE NOT NULL",
            "cluster_id": "INTEGER NOT NULL",
            "canonical_title": "VARCHAR NOT NULL",
            "category": "VARCHAR NOT NULL",
            "description": "VARCHAR NOT NULL",
            "would_pay_signal": "BOOLEAN NOT NULL",
            "impact_level": "VARCHAR NOT NULL",
            "cluster_size": "INTEGER NOT NULL",
            "labeller": "VARCHAR",
            "labelled_at": "TIMESTAMP",
        },
        "key": ["cluster_date", "cluster_id"],
        "checks": [
            "CHECK (category IN ('ai','finance','compliance','logistics','healthtech','devtools',"
            "'ecommerce','other'))",
            "CHECK (impact_level IN ('low','medium','high'))",
            "CHECK (length(canonical_title) <= 120)",
        ],
    },
    "gold.issue_evidence": {
        "columns": {
            "cluster_date": "DATE NOT NULL",
            "cluster_id": "INTEGER NOT NULL",
            "url_hash": "VARCHAR NOT NULL",
            "source": "VARCHAR NOT NULL",
            "url": "VARCHAR NOT NULL",
            "title": "VARCHAR",
            "body": "VARCHAR",
            "posted_at": "TIMESTAMP",
        },
        "key": ["cluster_date", "cluster_id", "url_hash"],
    },
    "gold.label_failures": {
        "columns": {
            "cluster_date": "DATE NOT NULL",
            "cluster_id": "INTEGER NOT NULL",
            "labeller": "VARCHAR",
            "error_kind": "VARCHAR NOT NULL",
            "error": "VARCHAR",
            "attempts": "INTEGER",
            "failed_at": "TIMESTAMP",
        },
        "key": ["cluster_date", "cluster_id"],
    },
    "gold.live_issues": {
        "columns": {
            "cluster_date": "DATE NOT NULL",
            "cluster_id": "INTEGER NOT NULL",
            "issue_id": "VARCHAR NOT NULL",
            "synced_at": "TIMESTAMP",
            "content_hash": "VARCHAR",
            "evidence_count": "INTEGER",
        },
        "key": ["cluster_date", "cluster_id"],
    },
}


def _ddl(table: str, spec: dict[str, Any]) -> str:
    parts = [f'"{name}" {kind}' for name, kind in spec["columns"].items()]
    if spec["key"]:
        parts.append("PRIMARY KEY (" + ", ".join(f'"{k}"' for k in spec["key"]) + ")")
    parts.extend(spec.get("checks", []))
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  " + ",\n  ".join(parts) + "\n)"


DDL: list[str] = [
    "CREATE SCHEMA IF NOT EXISTS bronze",
    "CREATE SCHEMA IF NOT EXISTS silver",
    "CREATE SCHEMA IF NOT EXISTS gold",
    *(_ddl(name, spec) for name, spec in TABLES.items()),
    # Columns added after the first release: files written by an earlier version get them (null) when opened.
    *(
        f'ALTER TABLE {name} ADD COLUMN IF NOT EXISTS "{column}" {spec["columns"][column]}'
        for name, spec in TABLES.items()
        for column in spec.get("added", [])
    ),
]


@dataclass(frozen=True)
class DatePartition:
    """The rows of one date partition; saving it replaces that date's rows (even with no rows).

    ``keep=True`` means "leave the stored rows of this date as they are": saving writes nothing (a failed step
    never replaces published rows); ``frame`` then holds the stored rows, for the reader's information.
    """

    value: date
    frame: pd.DataFrame
    keep: bool = False

    def __len__(self) -> int:
        return len(self.frame)


def connect(filepath: str | Path, read_only: bool = False):  # noqa: ANN201
    """Open the DuckDB file (creating folder, schemas and tables when writing)."""
    import duckdb

    path = Path(filepath)
    if read_only and not path.exists():
        con = duckdb.connect(":memory:")
        ensure_schema(con)
        return con
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    ensure_schema(con)
    return con


def ensure_schema(con: Any) -> None:
    for statement in DDL:
        con.execute(statement)


def _spec(table: str) -> dict[str, Any]:
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; known: {sorted(TABLES)}")
    return TABLES[table]


def _arrow(frame: pd.DataFrame, table: str, columns: Sequence[str]):  # noqa: ANN202
    """The frame as an Arrow table with the store's column types (embeddings as fixed-size float32 lists)."""
    import pyarrow as pa

    spec = _spec(table)["columns"]
    arrays = []
    for name in columns:
        kind = spec[name].split()[0]
        values = frame[name] if name in frame.columns else pd.Series([None] * len(frame))
        if kind.startswith("FLOAT["):
            matrix = np.asarray([np.asarray(v, dtype=np.float32) for v in values], dtype=np.float32)
            if len(values) and matrix.shape != (len(values), EMBEDDING_DIM):
                raise ValueError(
                    f"{table}.{name}: expected vectors of {EMBEDDING_DIM} floats, got {matrix.shape}"
                )
            flat = pa.array(matrix.reshape(-1), type=pa.float32())
            arrays.append(pa.FixedSizeListArray.from_arrays(flat, EMBEDDING_DIM))
        elif kind == "DATE":
            arrays.append(
                pa.array([None if pd.isna(v) else pd.Timestamp(v).date() for v in values], type=pa.date32())
            )
        elif kind == "TIMESTAMP":
            arrays.append(
                pa.array(
                    [
                        None
                        if pd.isna(v)
                        else pd.Timestamp(v).tz_localize(None).to_pydatetime()
                        if pd.Timestamp(v).tzinfo
                        else pd.Timestamp(v).to_pydatetime()
                        for v in values
                    ],
                    type=pa.timestamp("us"),
                )
            )
        elif kind == "INTEGER":
            arrays.append(pa.array([None if pd.isna(v) else int(v) for v in values], type=pa.int32()))
        elif kind == "DOUBLE":
            arrays.append(pa.array([None if pd.isna(v) else float(v) for v in values], type=pa.float64()))
        elif kind == "BOOLEAN":
            arrays.append(pa.array([None if pd.isna(v) else bool(v) for v in values], type=pa.bool_()))
        else:
            arrays.append(
                pa.array(
                    [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values],
                    type=pa.string(),
                )
            )
    return pa.Table.from_arrays(arrays, names=list(columns))


def read_table(
    filepath: str | Path, table: str, columns: Sequence[str] | None = None, where: str | None = None
) -> pd.DataFrame:
    """All rows (or ``where``) of ``table`` as a DataFrame; embeddings as float32 numpy arrays."""
    spec = _spec(table)
    cols = list(columns or spec["columns"])
    unknown = set(cols) - set(spec["columns"])
    if unknown:
        raise ValueError(f"{table}: unknown columns {sorted(unknown)}")
    order = ", ".join(f'"{k}"' for k in spec["key"] if k in cols)
    query = f"SELECT {', '.join(f'{chr(34)}{c}{chr(34)}' for c in cols)} FROM {table}"
    if where:
        query += f" WHERE {where}"
    if order:
        query += f" ORDER BY {order}"
    con = connect(filepath, read_only=True)
    try:
        result = con.execute(query)
        # duckdb 1.5 has both (fetch_arrow_table deprecated); 2.0 only to_arrow_table.
        arrow = result.to_arrow_table() if hasattr(result, "to_arrow_table") else result.fetch_arrow_table()
    finally:
        con.close()
    frame = arrow.to_pandas()
    for name in cols:
        kind = spec["columns"][name].split()[0]
        if kind.startswith("FLOAT[") and len(frame):
            flat = arrow.column(name).combine_chunks().flatten().to_numpy(zero_copy_only=False)
            matrix = flat.astype(np.float32).reshape(len(frame), EMBEDDING_DIM)
            frame[name] = list(matrix)
        elif kind == "DATE":
            frame[name] = [None if v is None or pd.isna(v) else v for v in frame[name]]
    return frame


def _dedupe(frame: pd.DataFrame, key: Sequence[str], table: str) -> pd.DataFrame:
    if key and frame.duplicated(subset=list(key)).any():
        dupes = int(frame.duplicated(subset=list(key)).sum())
        raise ValueError(f"{table}: {dupes} rows repeat a key {list(key)} in one save")
    return frame


def write_table(
    filepath: str | Path,
    table: str,
    data: pd.DataFrame | DatePartition,
    mode: str,
    partition_column: str | None = None,
    *,
    columns: Sequence[str] | None = None,
) -> int:
    """Write rows to ``table`` in one transaction (see the module docstring for ``mode``).

    Returns:
        The number of rows written.

    Raises:
        ValueError: Unknown mode or table, a key repeated in the rows, or a partition save without a partition.
    """
    spec = _spec(table)
    key = spec["key"]
    if isinstance(data, DatePartition) and data.keep:
        logger.info("%s: rows of %s kept as they were (nothing written)", table, data.value)
        return 0
    if mode in {"replace_partition", "update_partition"}:
        if not isinstance(data, DatePartition) or not partition_column:
            raise ValueError(f"{table}: mode {mode!r} needs a DatePartition and a partition_column")
        frame, partition = data.frame, data.value
    elif mode == "upsert":
        frame = data.frame if isinstance(data, DatePartition) else data
        partition = None
        if not key:
            raise ValueError(f"{table}: upsert needs a primary key")
    else:
        raise ValueError(f"unknown save mode {mode!r}")
    frame = _dedupe(frame, key, table)
    cols = list(columns or [c for c in spec["columns"] if c in frame.columns or mode == "replace_partition"])
    if mode == "update_partition":
        cols = list(dict.fromkeys([*key, *cols]))
    arrow = _arrow(frame, table, cols)
    con = connect(filepath)
    quoted = ", ".join(f'"{c}"' for c in cols)
    try:
        con.execute("BEGIN TRANSACTION")
        con.register("incoming", arrow)
        if mode == "replace_partition":
            con.execute(f'DELETE FROM {table} WHERE "{partition_column}" = ?', [partition])
            if len(frame):
                con.execute(f"INSERT INTO {table} ({quoted}) SELECT {quoted} FROM incoming")
        elif mode == "upsert":
            updates = ", ".join(f'"{c}" = excluded."{c}"' for c in cols if c not in key)
            conflict = ", ".join(f'"{k}"' for k in key)
            action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
            if len(frame):
                con.execute(
                    f"INSERT INTO {table} ({quoted}) SELECT {quoted} FROM incoming "
                    f"ON CONFLICT ({conflict}) {action}"
                )
        else:
            value_cols = [c for c in cols if c not in key]
            nulls = ", ".join(f'"{c}" = NULL' for c in value_cols)
            con.execute(f'UPDATE {table} SET {nulls} WHERE "{partition_column}" = ?', [partition])
            if len(frame):
                sets = ", ".join(f'"{c}" = incoming."{c}"' for c in value_cols)
                match = " AND ".join(f'{table}."{k}" = incoming."{k}"' for k in key)
                con.execute(f"UPDATE {table} SET {sets} FROM incoming WHERE {match}")
        con.unregister("incoming")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()
    logger.debug("%s: %s %d rows", table, mode, len(frame))
    return len(frame)
