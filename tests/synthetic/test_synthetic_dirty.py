"""Every dirty pattern is in the files, at about its rate, exactly as counted in the manifest."""

from __future__ import annotations

import io
import json
import math
import re

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from kycc.synthetic import CSV_FILES, DirtyRates, batch_id, generate
from kycc.synthetic.dirty import CELL_PATTERNS, PLACEHOLDERS

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_UNDERSCORED = re.compile(r"^(__-?\d+(\.\d+)?__|-?\d+(\.\d+)?_)$")
_DURATION = re.compile(r"^\d+ Years and \d+ Months$")


def _impossible(column: str, value: str) -> bool:
    if not _NUMBER.match(value):
        return False
    number = float(value)
    if column == "Age":
        return not 18 <= number <= 100
    return number < 0 or number > 100


DETECTORS = {
    "underscore_number": lambda column, value: bool(_UNDERSCORED.match(value)),
    "lms_underscore_number": lambda column, value: bool(_UNDERSCORED.match(value)),
    "placeholder": lambda column, value: value == PLACEHOLDERS[column],
    "impossible_value": _impossible,
    "missing": lambda column, value: value == "",
}


def _parse(path) -> tuple[pd.DataFrame, list[str]]:
    bad: list[str] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad.append(row.text)
        return "skip"

    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    table = pacsv.read_csv(
        path,
        parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in header}, strings_can_be_null=False
        ),
    )
    return table.to_pandas().fillna(""), bad


@pytest.fixture(scope="module")
def parsed(dirty_world):
    return {name: _parse(dirty_world.path / name) for name in CSV_FILES}


@pytest.mark.parametrize("name", CSV_FILES)
def test_row_patterns_match_manifest(dirty_world, parsed, name):
    entry = dirty_world.manifest["files"][name]
    frame, bad = parsed[name]
    planted = entry["planted"]
    assert len(bad) == planted["malformed_rows"] >= 1
    n_header = len(frame.columns)
    csv_months = set(dirty_world.manifest["csv_months"])
    for line in bad:
        fields = next(iter(pd.read_csv(io.StringIO(line), header=None, dtype=str).itertuples(index=False)))
        assert abs(len(fields) - n_header) == 1
        assert fields[-1] in csv_months  # the snapshot date stays last: the line can be attributed to a month
    duplicates = int(frame.duplicated().sum())
    assert duplicates == planted["duplicate_rows"]
    assert len(frame) + len(bad) == entry["rows"]
    assert len(frame) - duplicates == entry["distinct_rows"]
    expected = dirty_world.manifest["dirty_rates"]["duplicate_rows"] * entry["distinct_rows"]
    assert abs(duplicates - expected) <= 3 * math.sqrt(expected) + 2


@pytest.mark.parametrize("name", CSV_FILES)
def test_cell_patterns_match_manifest_and_rate(dirty_world, parsed, name):
    frame, _ = parsed[name]
    frame = frame.drop_duplicates()
    planted = dirty_world.manifest["files"][name]["planted"]
    rates = dirty_world.manifest["dirty_rates"]
    spec = CELL_PATTERNS[name]
    assert spec, name
    for pattern, columns in spec.items():
        assert set(planted[pattern]) == set(columns), (name, pattern)
        for column in columns:
            found = int(frame[column].map(lambda v, c=column, p=pattern: DETECTORS[p](c, v)).sum())
            assert found == planted[pattern][column], (name, pattern, column)
            expected = rates[pattern] * len(frame)
            assert abs(found - expected) <= 4 * math.sqrt(expected) + 2, (
                name,
                pattern,
                column,
                found,
                expected,
            )
            assert found > 0 or expected < 1


@pytest.mark.parametrize("name", CSV_FILES)
def test_keys_never_dirty(dirty_world, parsed, name):
    frame, _ = parsed[name]
    for column in ("Customer_ID", "source_customer_id", "target_customer_id"):
        if column in frame:
            assert frame[column].str.fullmatch(r"CUS_0x[0-9a-f]+").all()
    assert frame["snapshot_date"].isin(dirty_world.manifest["csv_months"]).all()
    if "loan_id" in frame:
        assert frame["loan_id"].str.fullmatch(r"LOAN_0x[0-9a-f]+_[12]").all()
        assert frame["installment_num"].str.fullmatch(r"\d+").all()


def test_credit_history_age_format(parsed):
    frame, _ = parsed["features_financials.csv"]
    values = frame["Credit_History_Age"]
    assert values[values != ""].str.match(_DURATION).all()
    assert (values == "").any()


def test_json_batches_carry_cell_patterns(dirty_world):
    planted = dirty_world.manifest["json_batches"]["planted"]
    found: dict[tuple[str, str, str], int] = {}
    for month in dirty_world.manifest["json_months"]:
        path = dirty_world.path / "batches" / f"{batch_id(month)}_profiles.json"
        for profile in json.loads(path.read_text(encoding="utf-8"))["profiles"]:
            for section, name in (
                ("attributes", "features_attributes.csv"),
                ("financials", "features_financials.csv"),
            ):
                for column, value in (profile[section] or {}).items():
                    for pattern, columns in CELL_PATTERNS[name].items():
                        if column in columns and DETECTORS[pattern](column, "" if value is None else value):
                            key = (name, pattern, column)
                            found[key] = found.get(key, 0) + 1
    expected = {
        (name, pattern, column): count
        for name in ("features_attributes.csv", "features_financials.csv")
        for pattern, by_column in planted[name].items()
        for column, count in by_column.items()
        if count
    }
    assert found == expected
    assert sum(expected.values()) > 20


def test_clean_has_no_dirt(clean_world):
    for name in CSV_FILES:
        entry = clean_world.manifest["files"][name]
        assert entry["planted"] == {"duplicate_rows": 0, "malformed_rows": 0}
        assert entry["rows"] == entry["distinct_rows"]
    fin = pd.read_csv(clean_world.path / "features_financials.csv", dtype=str, keep_default_na=False)
    assert not fin.isin(list(PLACEHOLDERS.values())).any().any()
    assert fin["Annual_Income"].str.match(_NUMBER).all()


def test_custom_rates_are_used(tmp_path):
    rates = DirtyRates(missing=0.1, duplicate_rows=0.0, malformed_rows=0.0)
    generate(tmp_path, n_customers=300, seed=1, dirty_rates=rates)
    manifest = json.loads((tmp_path / "_generation_manifest.json").read_text(encoding="utf-8"))
    assert manifest["dirty_rates"]["missing"] == 0.1
    click = manifest["files"]["feature_clickstream.csv"]
    assert click["planted"]["duplicate_rows"] == click["planted"]["malformed_rows"] == 0
    assert manifest["files"]["feature_clickstream.csv"]["planted"]["missing"]["fe_1"] == round(
        0.1 * click["rows"]
    )


@pytest.mark.parametrize("field", ["missing", "duplicate_rows"])
@pytest.mark.parametrize("value", [-0.01, 0.5])
def test_bad_rates_rejected(field, value):
    with pytest.raises(ValueError, match=field):
        DirtyRates(**{field: value})
