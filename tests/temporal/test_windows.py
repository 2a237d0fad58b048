"""Window arithmetic on hand-made dates."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kycc.temporal import (
    InsufficientHistoryError,
    TrainingWindows,
    WindowSizes,
    add_months,
    check_history,
    first_trainable_date,
    fixed_windows,
    month_range,
    to_month,
    windows_from_config,
    windows_from_training_date,
)

D = dt.date
# Snapshots 2023-01 .. 2024-12 (the default history): loans applied 2023-01 .. 2024-06 have a MOB-6 label.
APPLICATION_MONTHS = month_range("2023-01-01", "2024-06-01")


def test_default_windows_at_2024_12_01():
    w = windows_from_training_date("2024-12-01")
    assert (w.train.start, w.train.end) == (D(2023, 1, 1), D(2023, 12, 1))
    assert (w.validation.start, w.validation.end) == (D(2024, 1, 1), D(2024, 2, 1))
    assert (w.test.start, w.test.end) == (D(2024, 3, 1), D(2024, 4, 1))
    assert (w.oot.start, w.oot.end) == (D(2024, 5, 1), D(2024, 5, 1))
    # the OOT cohort reaches MOB 6 at 2024-11, the last month before T
    assert add_months(w.oot.end, 6) == D(2024, 11, 1) == w.history_end
    assert w.history_months == 23 == WindowSizes().history_months


def test_first_trainable_date_for_data_from_2023_01_01():
    assert first_trainable_date("2023-01-01") == D(2024, 12, 1)
    check_history(windows_from_training_date("2024-12-01"), APPLICATION_MONTHS)  # no error


def test_2024_11_01_refuses_naming_months_available_and_needed():
    with pytest.raises(InsufficientHistoryError) as err:
        check_history(windows_from_training_date("2024-11-01"), APPLICATION_MONTHS)
    message = str(err.value)
    assert "2024-11-01" in message
    assert "23 months of history" in message and "2022-12..2024-10" in message  # needed
    assert "2023-01..2024-06 (18 months)" in message  # available
    assert "Missing: 2022-12" in message
    assert "2024-12-01" in message  # what to do: the first trainable date


def test_training_date_after_the_data_names_empty_windows():
    # T = 2025-03: OOT cohort 2024-08 has no labels yet in data ending at 2024-06
    with pytest.raises(InsufficientHistoryError, match=r"Missing: 2024-07..2024-08"):
        check_history(windows_from_training_date("2025-03-01"), APPLICATION_MONTHS)
    # the latest trainable date is still accepted
    check_history(windows_from_training_date("2025-01-01"), APPLICATION_MONTHS)


def test_no_data_at_all_is_a_clear_error():
    with pytest.raises(InsufficientHistoryError, match="no labelled loans"):
        check_history(windows_from_training_date("2024-12-01"), [])


def test_a_gap_inside_a_window_is_refused():
    months = [m for m in APPLICATION_MONTHS if m != D(2024, 3, 1)]
    with pytest.raises(InsufficientHistoryError, match="Missing: 2024-03"):
        check_history(windows_from_training_date("2024-12-01"), months)


@settings(max_examples=200, deadline=None)
@given(
    t=st.dates(min_value=D(2000, 1, 1), max_value=D(2100, 12, 31)),
    train=st.integers(1, 36),
    validation=st.integers(1, 6),
    test=st.integers(1, 6),
    oot=st.integers(1, 6),
    maturity=st.integers(0, 24),
)
def test_windows_never_overlap_and_are_strictly_ordered(t, train, validation, test, oot, maturity):  # noqa: PLR0917
    sizes = WindowSizes(train, validation, test, oot, maturity)
    w = windows_from_training_date(t, sizes)
    seen: dict[dt.date, str] = {}
    for window in w.windows:
        for month in window.months:
            assert month not in seen, f"{month} in {seen.get(month)} and {window.name}"
            seen[month] = window.name
    assert w.train.end < w.validation.start
    assert w.validation.end < w.test.start
    assert w.test.end < w.oot.start
    assert add_months(w.oot.end, maturity) < w.training_date == to_month(t)
    assert [x.n_months for x in w.windows] == [train, validation, test, oot]
    assert w.history_months == sizes.history_months
    assert first_trainable_date(w.history_start, sizes) == w.training_date


def test_assign_tags_dates_with_their_window():
    w = windows_from_training_date("2024-12-01")
    dates = pd.Series(
        pd.to_datetime(["2022-12-31", "2023-01-15", "2024-02-29", "2024-03-01", "2024-05-31", "2024-06-01"])
    )
    assert w.assign(dates).tolist() == [pd.NA, "train", "validation", "test", "oot", pd.NA]


def test_round_trip_and_flat_params():
    w = windows_from_training_date("2024-12-01")
    assert TrainingWindows.from_dict(w.to_dict()) == w
    flat = w.to_flat_dict()
    assert flat["window.oot.start"] == "2024-05-01" and flat["window.training_date"] == "2024-12-01"


def test_fixed_windows_from_config():
    config = {
        "mode": "fixed",
        "label_maturity_months": 6,
        "fixed": {
            "train": ["2023-01-01", "2023-09-01"],
            "validation": ["2023-10-01", "2023-12-01"],
            "test": ["2024-01-01", "2024-03-01"],
            "oot": ["2024-04-01", "2024-05-01"],
        },
    }
    w = windows_from_config(config, "2024-12-01")
    assert w.mode == "fixed" and w.train.n_months == 9 and w.oot.n_months == 2


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (
            {
                "train": ("2023-01-01", "2023-12-01"),
                "validation": ("2023-12-01", "2024-01-01"),
                "test": ("2024-02-01", "2024-03-01"),
                "oot": ("2024-04-01", "2024-04-01"),
            },
            "overlap or are out of order",
        ),
        (
            {
                "train": ("2023-01-01", "2023-06-01"),
                "validation": ("2024-01-01", "2024-01-01"),
                "test": ("2023-08-01", "2023-09-01"),
                "oot": ("2024-04-01", "2024-04-01"),
            },
            "overlap or are out of order",
        ),
        (
            {
                "train": ("2023-01-01", "2023-12-01"),
                "validation": ("2024-01-01", "2024-02-01"),
                "test": ("2024-03-01", "2024-04-01"),
                "oot": ("2024-06-01", "2024-06-01"),
            },
            "has not matured",
        ),
        (
            {
                "train": ("2023-12-01", "2023-01-01"),
                "validation": ("2024-01-01", "2024-02-01"),
                "test": ("2024-03-01", "2024-04-01"),
                "oot": ("2024-05-01", "2024-05-01"),
            },
            "ends .* before it starts",
        ),
    ],
)
def test_bad_fixed_windows_are_refused(pairs, message):
    with pytest.raises(ValueError, match=message):
        fixed_windows("2024-12-01", **pairs, label_maturity_months=6)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"train_months": 0}, "train_months must be"),
        ({"mode": "rolling"}, "must be 'relative' or 'fixed'"),
        ({"mode": "fixed"}, "training.windows.fixed is not set"),
        ({"trian_months": 12}, "Unknown keys"),
    ],
)
def test_bad_window_config(config, message):
    with pytest.raises(ValueError, match=message):
        windows_from_config(config, "2024-12-01")


def test_month_helpers():
    assert add_months("2023-11-15", 3) == D(2024, 2, 1)
    assert add_months(D(2024, 1, 1), -13) == D(2022, 12, 1)
    assert to_month(pd.Timestamp("2024-02-29 13:00")) == D(2024, 2, 1)
    assert month_range("2023-11-01", "2024-02-01") == [
        D(2023, 11, 1),
        D(2023, 12, 1),
        D(2024, 1, 1),
        D(2024, 2, 1),
    ]
    with pytest.raises(ValueError, match="Not a date"):
        to_month("yesterday")
