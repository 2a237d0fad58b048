"""Kedro datasets of the issue_mining pipeline (used from the catalog as ``kycc.mining.datasets.<Name>``).

- ``DuckDBTableDataset``: one table of the issue_mining DuckDB file (kedro-datasets has no DuckDB dataset that
  upserts; see ``kycc.mining.store`` for the save modes).
- ``ApiAccessDataset``, ``LLMAccessDataset``, ``PocketBaseAccessDataset``: load the connection settings and
  credentials (``credentials: issue_mining``) that the nodes hand to the clients, so nodes never read
  configuration or secrets themselves.
- ``EmbeddingModelDataset``: the sentence-transformers model, loaded lazily on first use.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from kycc.credentials import placeholder_reason
from kycc.mining.embeddings import Embedder
from kycc.mining.labelling import LLMAccess
from kycc.mining.pocketbase import PocketBaseAccess
from kycc.mining.sources import SourceAccess
from kycc.mining.store import TABLES, DatePartition, read_table, write_table

__all__ = [
    "ApiAccessDataset",
    "DuckDBTableDataset",
    "EmbeddingModelDataset",
    "LLMAccessDataset",
    "PocketBaseAccessDataset",
]

logger = logging.getLogger(__name__)

_SAVE_MODES = {"replace_partition", "upsert", "update_partition", "read_only"}


class DuckDBTableDataset(AbstractDataset[pd.DataFrame | DatePartition, pd.DataFrame]):
    """One table of the issue_mining DuckDB store.

    Example::

        issue_mining.bronze_raw_items:
          type: kycc.mining.datasets.DuckDBTableDataset
          filepath: data/03_primary/issue_mining.duckdb
          table: bronze.raw_items
          save_mode: replace_partition
          partition_column: collection_date

    Args:
        filepath: The DuckDB file (created with its schemas and tables on first use).
        table: ``schema.table``, one of the store's tables.
        save_mode: ``replace_partition``, ``upsert``, ``update_partition`` or ``read_only``.
        partition_column: The date column of the partition modes.
        columns: Columns written (``update_partition``, ``upsert``); all by default.
        load_args: ``columns`` (list) and ``where`` (SQL) to load a subset.
        metadata: Kedro-Viz and other metadata.
    """

    def __init__(
        self,
        *,
        filepath: str,
        table: str,
        save_mode: str = "replace_partition",
        partition_column: str | None = None,
        columns: list[str] | None = None,
        load_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if table not in TABLES:
            raise DatasetError(f"unknown issue_mining table {table!r}; known: {sorted(TABLES)}")
        if save_mode not in _SAVE_MODES:
            raise DatasetError(f"save_mode must be one of {sorted(_SAVE_MODES)}, got {save_mode!r}")
        if save_mode in {"replace_partition", "update_partition"} and not partition_column:
            raise DatasetError(f"{table}: save_mode {save_mode} needs partition_column")
        self._filepath = Path(filepath)
        self._table = table
        self._save_mode = save_mode
        self._partition_column = partition_column
        self._columns = columns
        self._load_args = dict(load_args or {})
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "table": self._table, "save_mode": self._save_mode}

    def load(self) -> pd.DataFrame:
        return read_table(
            self._filepath,
            self._table,
            columns=self._load_args.get("columns"),
            where=self._load_args.get("where"),
        )

    def save(self, data: pd.DataFrame | DatePartition) -> None:
        if self._save_mode == "read_only":
            raise DatasetError(f"{self._table} in {self._filepath} is declared read_only here")
        write_table(
            self._filepath, self._table, data, self._save_mode, self._partition_column, columns=self._columns
        )

    def _exists(self) -> bool:
        return self._filepath.exists()


class _AccessDataset(AbstractDataset[None, Any]):
    """Base of the read-only datasets that hand configuration and credentials to a node."""

    def __init__(
        self, credentials: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None
    ) -> None:
        self._credentials = dict(credentials or {})
        self.metadata = metadata

    def _section(self, name: str) -> dict[str, Any]:
        section = self._credentials.get(name) or {}
        if not isinstance(section, dict):
            raise DatasetError(
                f"credentials issue_mining.{name} must be a mapping, got {type(section).__name__}"
            )
        kept = {}
        for key, value in section.items():
            reason = placeholder_reason(value)
            if reason is None:
                kept[key] = value
            elif reason != "empty":
                # A copied template (ghp_xxx, change-me…) is no credential: never sent to a live service.
                logger.warning("credentials issue_mining.%s.%s is %s: treated as not set", name, key, reason)
        return kept

    def save(self, data: Any) -> None:
        raise DatasetError(f"{type(self).__name__} is read-only")

    def _describe(self) -> dict[str, Any]:
        # Never describe the credentials themselves, only which sections are set.
        return {"credentials_set": sorted(k for k, v in self._credentials.items() if v)}


class ApiAccessDataset(_AccessDataset):
    """Loads the ``SourceAccess`` of the collectors: per-source credentials, API roots, samples folder.

    Args:
        credentials: The ``issue_mining`` credentials; sections ``github``, ``stackexchange``, ``reddit``,
            ``hackernews`` are used.
        base_urls: Per source API root, when not the public API.
        samples_dir: Folder of the recorded responses (default: the ones shipped in ``kycc.mining.samples``).
        timeout_seconds: httpx timeout per request.
    """

    def __init__(
        self,
        credentials: dict[str, Any] | None = None,
        base_urls: dict[str, str] | None = None,
        samples_dir: str | None = None,
        timeout_seconds: float = 20.0,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(credentials, metadata)
        self._base_urls = dict(base_urls or {})
        self._samples_dir = samples_dir
        self._timeout = float(timeout_seconds)

    def load(self) -> SourceAccess:
        access = SourceAccess(
            credentials={s: self._section(s) for s in ("github", "stackexchange", "reddit", "hackernews")},
            base_urls=self._base_urls,
            timeout_seconds=self._timeout,
        )
        if self._samples_dir:
            access.samples_dir = Path(self._samples_dir)
        return access


class LLMAccessDataset(_AccessDataset):
    """Loads the ``LLMAccess`` (``issue_mining.llm.api_key`` / ``api_base``) of the LiteLLM labeller."""

    def load(self) -> LLMAccess:
        section = self._section("llm")
        return LLMAccess(api_key=section.get("api_key"), api_base=section.get("api_base"))


class PocketBaseAccessDataset(_AccessDataset):
    """Loads the ``PocketBaseAccess``: ``url`` from the catalog (or credentials), superuser from credentials.

    With no ``url`` (catalog ``null`` and none in the credentials), the sync starts the packaged PocketBase on
    127.0.0.1 with its data in ``embedded_dir`` and stops it afterwards (``PocketBaseAccess.session``).

    Args:
        url: Server root, e.g. ``http://127.0.0.1:8090`` (``issue_mining.pocketbase.url`` overrides it);
            empty: the embedded server.
        embedded_dir: Data folder of the embedded server, e.g.
            ``${globals:data_root}/03_primary/issue_mining/pocketbase``.
        timeout: Seconds per request.
        credentials: The ``issue_mining`` credentials; section ``pocketbase`` (``email``, ``password``, ``url``).
    """

    def __init__(
        self,
        url: str | None = None,
        embedded_dir: str | None = None,
        timeout: float = 10.0,
        credentials: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(credentials, metadata)
        self._url = url or None
        self._embedded_dir = embedded_dir or None
        self._timeout = float(timeout)

    def load(self) -> PocketBaseAccess:
        section = self._section("pocketbase")
        url = section.get("url") or self._url
        if not url and not self._embedded_dir:
            raise DatasetError(
                "issue_mining.pocketbase_access: no url and no embedded_dir: set one in the catalog "
                "(or issue_mining.pocketbase.url in the credentials)"
            )
        return PocketBaseAccess(
            url=url or None,
            email=section.get("email"),
            password=section.get("password"),
            timeout=self._timeout,
            embedded_dir=None if url else self._embedded_dir,
        )

    def _describe(self) -> dict[str, Any]:
        return {"url": self._url, "embedded_dir": self._embedded_dir, **super()._describe()}


class EmbeddingModelDataset(AbstractDataset[None, Embedder]):
    """Loads an ``Embedder`` (the weights themselves load on first ``embed``).

    Args:
        model_path: Local sentence-transformers folder; empty = the packaged all-MiniLM-L6-v2.
        max_seq_length: Tokens kept per text.
        encode_batch_size: Texts per forward pass.
        threads: torch CPU threads.
    """

    def __init__(
        self,
        model_path: str | None = None,
        max_seq_length: int = 256,
        encode_batch_size: int = 32,
        threads: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._kwargs = {
            "model_path": model_path,
            "max_seq_length": int(max_seq_length),
            "encode_batch_size": int(encode_batch_size),
            "threads": threads,
        }
        self.metadata = metadata

    def load(self) -> Embedder:
        return Embedder(**self._kwargs)

    def save(self, data: Embedder) -> None:
        raise DatasetError("EmbeddingModelDataset is read-only")

    def _describe(self) -> dict[str, Any]:
        return {k: v for k, v in self._kwargs.items() if v is not None}
