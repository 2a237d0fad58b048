"""``JsonBatchesDataset``: the monthly ``{BATCH_ID}_profiles.json`` / ``{BATCH_ID}_labels.json`` files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

__all__ = ["BATCH_ID_PATTERN", "JsonBatchesDataset"]

BATCH_ID_PATTERN = re.compile(r"^BATCH_(\d{4})_(\d{2})$")


class JsonBatchesDataset(AbstractDataset[None, dict[str, dict]]):
    """Load every batch file of one kind from a folder as ``{batch_id: payload}``.

    A missing folder or no matching file loads as an empty dict (no batches have arrived). A file whose name
    is not a valid ``BATCH_YYYY_MM`` or whose JSON cannot be parsed raises one ``DatasetError`` naming it.
    """

    def __init__(self, path: str, kind: str, metadata: dict[str, Any] | None = None) -> None:
        if kind not in {"profiles", "labels"}:
            raise ValueError(f"kind must be 'profiles' or 'labels', got {kind!r}")
        self._path = Path(path)
        self._kind = kind
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "kind": self._kind}

    def save(self, data: dict[str, dict]) -> None:
        raise DatasetError(f"{self._path}: batch files are read-only inputs")

    def load(self) -> dict[str, dict]:
        if not self._path.is_dir():
            return {}
        batches: dict[str, dict] = {}
        for file in sorted(self._path.glob(f"*_{self._kind}.json")):
            batch_id = file.name[: -len(f"_{self._kind}.json")]
            if not BATCH_ID_PATTERN.match(batch_id):
                raise DatasetError(f"{file}: batch id {batch_id!r} is not of the form BATCH_YYYY_MM")
            try:
                payload = json.loads(file.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise DatasetError(f"{file}: not valid JSON ({exc})") from exc
            if not isinstance(payload, dict):
                raise DatasetError(
                    f"{file}: expected a JSON object with 'snapshot_date', got {type(payload)}"
                )
            payload["_source_file"] = file.name
            batches[batch_id] = payload
        return batches
