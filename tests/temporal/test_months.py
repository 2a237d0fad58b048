"""kycc.temporal.months: the one rule for a month a user gives, and the month helpers."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from kycc.inference.scoring import InferenceError, resolve_months
from kycc.medallion.window import RunWindow
from kycc.temporal.months import batch_id, month_keys, month_label, month_starts, parse_month


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-06-01", dt.date(2024, 6, 1)),
        ("2024-06", dt.date(2024, 6, 1)),
        (dt.date(2024, 6, 1), dt.date(2024, 6, 1)),
        (pd.Timestamp("2024-06-01"), dt.date(2024, 6, 1)),
        (None, None),
        ("", None),
    ],
)
def test_a_month_is_yyyy_mm_01_or_yyyy_mm(value, expected):
    assert parse_month(value, "run.start_month") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2024-06-15", r"run.start_month=2024-06-15 is not the first of a month: .*\(e.g. 2024-06-01\)"),
        (dt.date(2024, 6, 15), "is not the first of a month"),
        ("June", r"run.start_month='June' is not an ISO date"),
        ("2024-13-01", "is not an ISO date"),
        (pd.Timestamp("2024-06-01 12:00"), "is not a month"),
    ],
)
def test_a_mid_month_or_malformed_date_is_refused_naming_the_parameter(value, message):
    with pytest.raises(ValueError, match=message):
        parse_month(value, "run.start_month")


def test_every_month_parameter_follows_the_one_rule():
    """The run window, the scoring/monitoring month range and the CLI refuse a mid-month date alike."""
    with pytest.raises(ValueError, match="run.end_month=2024-02-10 is not the first of a month"):
        RunWindow.from_params({"start_month": "2024-01-01", "end_month": "2024-02-10"})
    with pytest.raises(InferenceError, match="inference.start_month=2024-03-02 is not the first of a month"):
        resolve_months("2024-03-02", None, [], "scoring", "inference")
    assert resolve_months("2024-03", "2024-04-01", [], "scoring", "inference") == [
        pd.Timestamp("2024-03-01"),
        pd.Timestamp("2024-04-01"),
    ]


def test_the_month_helpers():
    frame = pd.DataFrame({"snapshot_date": pd.to_datetime(["2024-06-17", "2024-07-01"])})
    assert month_keys(frame).tolist() == ["2024-06-01", "2024-07-01"]
    assert month_starts(frame["snapshot_date"]).tolist() == [
        pd.Timestamp("2024-06-01"),
        pd.Timestamp("2024-07-01"),
    ]
    assert month_label("2024-06-17") == "2024-06" and batch_id(dt.date(2024, 6, 1)) == "BATCH_2024_06"
