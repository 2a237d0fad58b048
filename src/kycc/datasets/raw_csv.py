"""``RawCsvDataset``: a lender's CSV export read as text, with its header checked and bad lines kept aside."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from kedro.io import AbstractDataset, DatasetError

__all__ = ["RAW_META_COLUMNS", "RawCsvDataset"]

# Columns the dataset adds to every row: where it came from and, for a line that could not be split into the
# header's fields, the parse error and the raw text (the row is quarantined in silver, never dropped).
RAW_META_COLUMNS = ("_source_file", "_parse_error")
_ISO_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")


class RawCsvDataset(AbstractDataset[None, pa.Table]):
    """Read a raw CSV export as an Arrow table of strings.

    * Every column is read as text (dirty numbers such as ``"34847.84_"`` must survive to silver); an empty
      field is a missing value (null).
    * A missing file, an empty file or a header lacking a required column raises one ``DatasetError``
      naming the file and the column(s).
    * A line with the wrong number of fields becomes a row with null fields, ``_parse_error`` set to the
      problem and the raw text, and ``snapshot_date`` recovered from the line when it holds one, so the
      silver layer can quarantine it with its reason.

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
        bad_lines: list[tuple[int | None, str, str]] = []

        def on_invalid(row: pacsv.InvalidRow) -> str:
            problem = f"expected {row.expected_columns} fields, got {row.actual_columns}"
            bad_lines.append((row.number, problem, row.text))
            return "skip"

        try:
            table = pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(block_size=16 << 20),
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
        n = table.num_rows
        table = table.append_column("_source_file", pa.array([path.name] * n, pa.string()))
        table = table.append_column("_parse_error", pa.nulls(n, pa.string()))
        if bad_lines:
            table = pa.concat_tables([table, self._bad_rows(table.schema, path.name, bad_lines)])
        return table

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
                    [f"malformed line {num}: {problem}: {text[:300]}" for num, problem, text in bad],
                    pa.string(),
                )
            else:
                columns[field.name] = pa.nulls(len(bad), pa.string())
        return pa.table(columns, schema=schema)


def _read_header(path: Path) -> list[str]:
    try:
        with path.open("r", encoding="utf-8", newline="") as handle:
            first = handle.readline()
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not a UTF-8 text CSV ({exc})") from exc
    if not first.strip():
        raise DatasetError(f"{path}: the file is empty (no header line)")
    return [c.strip().strip('"') for c in first.rstrip("\r\n").split(",")]
