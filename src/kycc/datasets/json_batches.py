"""``JsonBatchesDataset``: the monthly ``{BATCH_ID}_profiles.json`` / ``{BATCH_ID}_labels.json`` files.

Every file is checked against the batch schema (pydantic, :func:`validate_batch`) when it is loaded, before any
of its rows is used. A structural problem — a section of the wrong JSON type (``loans`` as a string, a loan
record as a list, ``attributes`` as a list, ``relationships`` as a string, ``profiles`` as an object), a missing
or malformed ``snapshot_date``, a ``snapshot_date`` or ``batch_id`` that contradicts the file name — raises one
``DatasetError`` naming the file, the batch, the record index, the field and the problem. Problems inside a
record (a value of the wrong type, a record-level ``snapshot_date`` that contradicts its batch) are not
structural: ``kycc.medallion.bronze.batch_rows`` sends those records to quarantine with the reason.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any, NotRequired

from kedro.io import AbstractDataset, DatasetError
from pydantic import ConfigDict, InstanceOf, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

__all__ = [
    "BATCH_ID_PATTERN",
    "LabelsBatch",
    "ProfilesBatch",
    "JsonBatchesDataset",
    "batch_snapshot_date",
    "json_type",
    "validate_batch",
]

BATCH_ID_PATTERN = re.compile(r"^BATCH_(\d{4})_(\d{2})$")
KINDS = ("profiles", "labels")
_SECTIONS = ("attributes", "financials", "clickstream")


_STRICT = ConfigDict(strict=True, extra="ignore")  # a list of pairs is not an object, a number not a string


# A record is any JSON object; its values are checked per record (bad ones are quarantined, not fatal).
# InstanceOf: checked without copying the record.
Record = InstanceOf[dict]


@with_config(_STRICT)
class Profile(TypedDict):
    """One party of a profiles batch: a section is an object (one record) or null; relationships a list."""

    attributes: NotRequired[Record | None]
    financials: NotRequired[Record | None]
    clickstream: NotRequired[Record | None]
    relationships: NotRequired[list[Record] | None]


@with_config(_STRICT)
class ProfilesBatch(TypedDict):
    """``{"batch_id", "snapshot_date", "profiles": [Profile, …]}``."""

    batch_id: NotRequired[str | None]
    snapshot_date: str
    profiles: list[Profile]


@with_config(_STRICT)
class LabelsBatch(TypedDict):
    """``{"batch_id", "snapshot_date", "loans": [{…LMS columns…}, …]}``."""

    batch_id: NotRequired[str | None]
    snapshot_date: str
    loans: list[Record]


# TypedDicts (not models) and InstanceOf records: a 20,000-profile batch is checked in a fraction of a second
_SCHEMAS = {"profiles": TypeAdapter(ProfilesBatch), "labels": TypeAdapter(LabelsBatch)}
#: Set on a payload by ``JsonBatchesDataset`` once it passed ``validate_batch`` (``batch_rows`` skips the check).
VALIDATED = "_validated"
# bool before number: True is an int in Python
_JSON_TYPES = ((bool, "a boolean"), (int | float, "a number"), (str, "a string"), (list | tuple, "an array"),
               (dict, "an object"))  # fmt: skip


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages (``an array``, ``a string`` …)."""
    if value is None:
        return "null"
    for types, name in _JSON_TYPES:
        if isinstance(value, types):
            return name
    return type(value).__name__


def batch_snapshot_date(batch_id: str) -> dt.date:
    """``BATCH_2024_11`` -> 2024-11-01 (``ValueError`` for anything else)."""
    match = BATCH_ID_PATTERN.match(batch_id)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"batch id {batch_id!r} is not of the form BATCH_YYYY_MM")
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def validate_batch(kind: str, batch_id: str, payload: Any, file: str | Path | None = None) -> None:
    """Check one batch payload's structure; raise one ``DatasetError`` for the first problem found.

    Args:
        kind: ``profiles`` or ``labels``.
        batch_id: The batch id from the file name (``BATCH_2024_11``).
        payload: The parsed JSON document.
        file: The file, for the message (default: the batch id).
    """
    where = f"{file or batch_id}: batch {batch_id}"
    if not isinstance(payload, dict):
        raise DatasetError(f"{where}: expected a JSON object with 'snapshot_date', got {json_type(payload)}")
    try:
        expected = batch_snapshot_date(batch_id)
    except ValueError as exc:
        raise DatasetError(f"{file or batch_id}: {exc}") from None
    try:
        _SCHEMAS[kind].validate_python(payload)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        more = f" (and {len(errors) - 1} more problem(s) in this file)" if len(errors) > 1 else ""
        raise DatasetError(f"{where}: {_describe(errors[0])}{more}") from None
    try:
        date = dt.date.fromisoformat(payload["snapshot_date"].strip())
    except ValueError:
        raise DatasetError(
            f"{where}: field 'snapshot_date': {payload['snapshot_date']!r} is not an ISO date like {expected}"
        ) from None
    if date != expected:
        raise DatasetError(
            f"{where}: field 'snapshot_date': {payload['snapshot_date']!r} contradicts the file name "
            f"(batch {batch_id} is {expected}); rename the file or fix the date"
        )
    if payload.get("batch_id") is not None and payload["batch_id"].strip() != batch_id:
        raise DatasetError(
            f"{where}: field 'batch_id': {payload['batch_id']!r} contradicts the file name ({batch_id})"
        )


def _describe(error: dict[str, Any]) -> str:
    """``record loans[2]: expected an object, got an array`` from one pydantic error."""
    loc = [str(p) for p in error["loc"]]
    parts = []
    if len(loc) >= 2 and loc[0] in ("loans", "profiles") and loc[1].isdigit():
        parts.append(f"record {loc[0]}[{loc[1]}] (record index {loc[1]})")
        field_path = loc[2:]
    else:
        field_path = loc
    if field_path:
        name = field_path[0] + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in field_path[1:])
        parts.append(f"field {name!r}")
    kind, value = error["type"], error.get("input")
    nullable = bool(field_path) and field_path[-1] in (*_SECTIONS, "relationships")
    if kind == "missing":
        problem = "missing (required)"
    elif kind in ("dict_type", "model_type", "model_attributes_type", "typed_dict_type", "is_instance_of"):
        problem = f"expected an object{' or null' if nullable else ''}, got {json_type(value)}"
    elif kind == "list_type":
        problem = f"expected an array{' or null' if nullable else ''}, got {json_type(value)}"
    elif kind == "string_type":
        problem = f"expected a string, got {json_type(value)}"
    else:
        problem = str(error["msg"])
    return ", ".join(parts) + f": {problem}"


class JsonBatchesDataset(AbstractDataset[None, dict[str, dict]]):
    """Load every batch file of one kind from a folder as ``{batch_id: payload}``.

    A missing folder or no matching file loads as an empty dict (no batches have arrived). A file whose name
    is not a valid ``BATCH_YYYY_MM``, whose JSON cannot be parsed or whose structure breaks the batch schema
    (:func:`validate_batch`) raises one ``DatasetError`` naming it. Each payload gets ``_source_file``.
    """

    def __init__(self, path: str, kind: str, metadata: dict[str, Any] | None = None) -> None:
        if kind not in KINDS:
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
                payload = json.loads(file.read_text(encoding="utf-8-sig"))  # a BOM is not an error
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise DatasetError(f"{file}: not valid JSON ({exc})") from exc
            validate_batch(self._kind, batch_id, payload, file)
            payload["_source_file"] = file.name
            payload[VALIDATED] = True
            batches[batch_id] = payload
        return batches
