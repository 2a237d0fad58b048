"""``RawCsvDataset``: a lender's CSV export read as text, with its header checked and bad lines kept aside."""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from kedro.io import AbstractDataset, DatasetError

logger = logging.getLogger(__name__)

__all__ = ["RAW_META_COLUMNS", "RECORDS_METADATA_KEY", "RawCsvDataset", "count_records"]

# Columns the dataset adds to every row: where it came from and, for a line that could not be split into the
# header's fields, the parse error and the raw text (the row is quarantined in silver, never dropped).
RAW_META_COLUMNS = ("_source_file", "_parse_error")
#: Schema metadata key of the loaded table: the file's record count, taken from its lines (not the parser).
RECORDS_METADATA_KEY = b"kycc.records"
_ISO_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")
_BOM = "\ufeff"


class RawCsvDataset(AbstractDataset[None, pa.Table]):
    """Read a raw CSV export as an Arrow table of strings, one row per record of the file.

    * A record is one physical line (a quoted value cannot span lines); blank lines are not records. The
      records are counted from the lines, independently of the CSV parser, and the table always has
      exactly one row per record (the count is in the schema metadata, ``kycc.records``).
    * Every column is read as text (dirty numbers such as ``"34847.84_"`` must survive to silver); an empty
      field is a missing value (null).
    * The header is normalised before the required-column check: a UTF-8 byte-order mark and spaces around
      names are removed, with a warning naming the file and what was changed.
    * A missing file, an empty file, a header lacking a required column or naming a column twice raises one
      ``DatasetError`` naming the file and the column(s). A header without data rows is a warning.
    * A line with the wrong number of fields, or an unbalanced quote, becomes a row with null fields,
      ``_parse_error`` set to ``malformed line <n>: <problem>: <the full raw text>``, and ``snapshot_date``
      recovered from the line when it holds one, so the silver layer can quarantine it with its reason. An
      unbalanced quote never swallows the lines after it.

    The dataset is read-only: raw data is never written by a pipeline.
    """

    def __init__(
        self,
        filepath: str,
        required_columns: list[str] | None = None,
        date_column: str = "snapshot_date",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._filepath = Path(filepath)
        self._required = list(required_columns or [])
        self._date_column = date_column
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "required_columns": self._required}

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def save(self, data: pa.Table) -> None:
        raise DatasetError(f"{self._filepath}: raw exports are read-only; pipelines never write raw data")

    def load(self) -> pa.Table:
        path = self._filepath
        if not path.is_file():
            raise DatasetError(
                f"{path}: raw file not found. Generate synthetic data with `kycc generate` "
                f"(or `make run`), or place the export there."
            )
        header = _read_header(path)
        missing = [c for c in self._required if c not in header]
        if missing:
            raise DatasetError(
                f"{path}: missing required column(s) {', '.join(repr(c) for c in missing)}; "
                f"the header has {header}. Fix the export or its column names."
            )
        records = count_records(path)
        if records == 0:
            logger.warning("%s: the file has a header but no data rows; it contributes no rows", path)
        table, bad_lines = self._parse_fast(path, header)
        if table.num_rows + len(bad_lines) != records:
            # Fewer rows than lines: a quote ran away and folded lines together. Split by lines instead.
            logger.warning(
                "%s: the CSV parser read %d row(s) from %d record line(s) (an unbalanced quote?); "
                "reading it line by line so that only the bad lines are quarantined",
                path,
                table.num_rows + len(bad_lines),
                records,
            )
            table, bad_lines = _parse_by_line(path, header)
        else:
            bad_lines = _number_bad_lines(path, bad_lines)
        n = table.num_rows
        table = table.append_column("_source_file", pa.array([path.name] * n, pa.string()))
        table = table.append_column("_parse_error", pa.nulls(n, pa.string()))
        if bad_lines:
            table = pa.concat_tables([table, self._bad_rows(table.schema, path.name, bad_lines)])
        if table.num_rows != records:  # cannot happen by construction; never let rows vanish silently
            raise DatasetError(f"{path}: {records} record line(s) but {table.num_rows} row(s) read")
        return table.replace_schema_metadata({RECORDS_METADATA_KEY: str(records).encode()})

    def _parse_fast(
        self, path: Path, header: list[str]
    ) -> tuple[pa.Table, list[tuple[int | None, str, str]]]:
        bad_lines: list[tuple[int | None, str, str]] = []

        def on_invalid(row: pacsv.InvalidRow) -> str:
            problem = f"expected {row.expected_columns} fields, got {row.actual_columns}"
            bad_lines.append((row.number, problem, row.text))
            return "skip"

        try:
            table = pacsv.read_csv(
                path,
                # the header is read (and normalised) by _read_header; a BOM is skipped by Arrow
                read_options=pacsv.ReadOptions(block_size=16 << 20, column_names=header, skip_rows=1),
                parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
                # empty fields are missing values (whitespace is trimmed in silver, inside the engine)
                convert_options=pacsv.ConvertOptions(
                    column_types={c: pa.string() for c in header},
                    strings_can_be_null=True,
                    null_values=[""],
                    quoted_strings_can_be_null=True,
                ),
            )
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise DatasetError(f"{path}: cannot be parsed as CSV: {exc}") from exc
        return table, bad_lines

    def _bad_rows(self, schema: pa.Schema, name: str, bad: list[tuple[int | None, str, str]]) -> pa.Table:
        columns: dict[str, pa.Array] = {}
        for field in schema:
            if field.name == self._date_column:
                dates = [(_ISO_DATE.findall(text) or [None])[-1] for _, _, text in bad]
                columns[field.name] = pa.array(dates, pa.string())
            elif field.name == "_source_file":
                columns[field.name] = pa.array([name] * len(bad), pa.string())
            elif field.name == "_parse_error":
                columns[field.name] = pa.array(
                    [f"malformed line {num}: {problem}: {text}" for num, problem, text in bad], pa.string()
                )
            else:
                columns[field.name] = pa.nulls(len(bad), pa.string())
        return pa.table(columns, schema=schema)


def _record_lines(path: Path, chunk_size: int = 16 << 20):
    """``(line number, bytes)`` of every non-blank line after the header (line 1); CR, LF or CRLF end a line.

    Streams the file (a partial line at a chunk's end, or a CR that may start a CRLF, waits for the next).
    """
    number, tail = 0, b""
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            lines = (tail + chunk).splitlines(keepends=True)
            tail = lines.pop() if lines and not lines[-1].endswith(b"\n") else b""
            for line in lines:
                number += 1
                content = line.rstrip(b"\r\n")
                if number > 1 and content:
                    yield number, content
    content = tail.rstrip(b"\r\n")
    if content and number >= 1:  # a last line without a line break (never the header)
        yield number + 1, content


def count_records(path: str | Path) -> int:
    """Records of a CSV file, counted from its lines without parsing: non-blank lines after the header."""
    return sum(1 for _ in _record_lines(Path(path)))


def _number_bad_lines(
    path: Path, bad: list[tuple[int | None, str, str]]
) -> list[tuple[int | None, str, str]]:
    """Give each malformed line reported by the parser its physical line number (Arrow gives none)."""
    if not bad:
        return bad
    wanted: dict[bytes, list[int]] = {}
    for _, _, text in bad:
        wanted.setdefault(text.encode("utf-8"), [])
    for number, line in _record_lines(path):
        if line in wanted:
            wanted[line].append(number)
    numbered = []
    for _, problem, text in bad:
        numbers = wanted.get(text.encode("utf-8")) or [None]
        numbered.append((numbers.pop(0) if len(numbers) > 1 else numbers[0], problem, text))
    return numbered


def _parse_by_line(path: Path, header: list[str]) -> tuple[pa.Table, list[tuple[int | None, str, str]]]:
    """Parse each line on its own (a quote cannot reach the next line): good rows and malformed lines."""
    good: list[list[str | None]] = []
    bad: list[tuple[int | None, str, str]] = []
    for number, raw in _record_lines(path):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{path}: line {number} is not UTF-8 text ({exc})") from exc
        try:
            (fields,) = list(csv.reader([text], strict=True))
        except (csv.Error, ValueError) as exc:
            problem = "unbalanced quote" if "end of data" in str(exc) else f"bad quoting ({exc})"
            bad.append((number, problem, text))
            continue
        if len(fields) != len(header):
            bad.append((number, f"expected {len(header)} fields, got {len(fields)}", text))
            continue
        good.append([f if f != "" else None for f in fields])
    columns = {name: pa.array([row[i] for row in good], pa.string()) for i, name in enumerate(header)}
    return pa.table(columns), bad


def _unquote(name: str) -> str:
    """``Customer_ID`` for ``"Customer_ID"``: a quoted name after a space is not unquoted by the CSV reader."""
    if len(name) >= 2 and name[0] == name[-1] == '"':
        return name[1:-1].replace('""', '"').strip()
    return name


def _read_header(path: Path) -> list[str]:
    """The header's column names, normalised (BOM and surrounding spaces removed, with a warning)."""
    try:
        with path.open("r", encoding="utf-8", newline="") as handle:
            first = handle.readline()
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not a UTF-8 text CSV ({exc})") from exc
    if not first.strip().lstrip(_BOM):
        raise DatasetError(f"{path}: the file is empty (no header line)")
    changes: list[str] = []
    if first.startswith(_BOM):
        first = first[len(_BOM) :]
        changes.append("removed a UTF-8 BOM")
    try:
        (raw_names,) = list(csv.reader([first.rstrip("\r\n")], strict=True))
    except (csv.Error, ValueError) as exc:
        raise DatasetError(f"{path}: the header line cannot be read as CSV ({exc})") from exc
    names = [_unquote(n.strip()) for n in raw_names]
    padded = [repr(raw) for raw, name in zip(raw_names, names, strict=True) if raw != name]
    if padded:
        changes.append(f"trimmed spaces (and quotes after a space) around {', '.join(padded)}")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DatasetError(
            f"{path}: the header names {', '.join(repr(n) for n in twice)} more than once "
            f"(after trimming spaces); each column must be named once."
        )
    if changes:
        logger.warning("%s: header normalised: %s", path, "; ".join(changes))
    return names
