"""Which months a backfill covers (an open side runs to the data's first / last month) and which are done."""

from __future__ import annotations

import datetime as dt

from kycc.cycle.backfill import _done, _select_months
from kycc.temporal import month_range

DATA = month_range("2023-01-01", "2023-06-01")


def test_an_open_side_runs_to_the_first_or_last_month_with_data():
    assert _select_months(None, "2023-03-01", DATA) == month_range("2023-01-01", "2023-03-01")
    assert _select_months("2023-05-01", None, DATA) == [dt.date(2023, 5, 1), dt.date(2023, 6, 1)]
    assert _select_months(None, None, DATA) == DATA
    assert _select_months("2023-02-01", "2023-02-01", DATA) == [dt.date(2023, 2, 1)]
    assert _select_months("2024-01-01", "2024-02-01", DATA) == month_range("2024-01-01", "2024-02-01")
    assert _select_months("2024-01-01", None, DATA) == []


def test_a_month_is_done_once_its_record_says_inference_ran():
    assert _done({"month": "2023-01-01", "inference": {"status": "ran"}})
    assert not _done(None) and not _done({}) and not _done({"inference": {"status": "skipped"}})
