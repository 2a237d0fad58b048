"""The ``recent`` retraining layout: time-ordered splits of the latest matured cohorts, batch-lag rule kept."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kycc.temporal import (
    BatchLagViolation,
    add_months,
    check_batch_lag,
    first_training_date_learning,
    violates_batch_lag,
    windows_from_config,
)

STANDARD = {"mode": "relative", "train_months": 12, "validation_months": 2, "test_months": 2, "oot_months": 1,
            "label_maturity_months": 6}  # fmt: skip
RECENT = {**STANDARD, "layout": "recent",
          "recent": {"window_months": 12, "validation_months": 1, "test_months": 1, "oot_months": 1}}  # fmt: skip


def test_recent_layout_windows_at_2025_06():
    tw = windows_from_config(RECENT, "2025-06-01")
    assert tw.layout == "recent" and tw.to_dict()["layout"] == "recent"
    assert (tw.train.start, tw.train.end) == (dt.date(2023, 12, 1), dt.date(2024, 8, 1))  # T-18 .. T-10
    assert (tw.validation.start, tw.test.start, tw.oot.start) == (
        dt.date(2024, 9, 1),
        dt.date(2024, 10, 1),
        dt.date(2024, 11, 1),  # the latest matured cohort T-7
    )
    assert tw.oot.end == add_months("2025-06-01", -7) and tw.history_months == 18
    standard = windows_from_config(STANDARD, "2025-06-01")
    assert standard.layout == "standard" and standard.train.end == dt.date(2024, 6, 1)  # T-12
    assert windows_from_config({**STANDARD, "layout": None}, "2025-06-01") == standard


def test_which_training_date_first_learns_the_drifted_cohorts():
    # the make-run world plants its drift from the 2024-09 cohort
    assert first_training_date_learning("2024-09-01", STANDARD) == dt.date(2025, 9, 1)
    assert first_training_date_learning("2024-09-01", RECENT) == dt.date(2025, 7, 1)
    for config, first in ((STANDARD, "2025-09-01"), (RECENT, "2025-07-01")):
        assert windows_from_config(config, first).train.contains("2024-09-01")
        assert not windows_from_config(config, add_months(first, -1)).train.contains("2024-09-01")
    # the retrain of 2025-06 (the make-run world's case): standard learns nothing after 2024-06, recent 2024-08
    assert windows_from_config(STANDARD, "2025-06-01").train.end == dt.date(2024, 6, 1)
    assert windows_from_config(RECENT, "2025-06-01").train.end == dt.date(2024, 8, 1)


@settings(max_examples=60, deadline=None)
@given(
    t=st.dates(min_value=dt.date(2022, 1, 1), max_value=dt.date(2030, 1, 1)),
    window=st.integers(4, 24),
    valid=st.integers(1, 3),
    test=st.integers(1, 3),
    oot=st.integers(1, 2),
    maturity=st.integers(0, 9),
)
def test_recent_layout_is_ordered_and_keeps_the_batch_lag_rule(t, window, valid, test, oot, maturity):  # noqa: PLR0913
    if window - valid - test - oot < 1:
        with pytest.raises(ValueError, match="leaves no train month"):
            windows_from_config({**RECENT, "label_maturity_months": maturity, "recent": {
                "window_months": window, "validation_months": valid, "test_months": test, "oot_months": oot}}, t)  # fmt: skip
        return
    config = {**RECENT, "label_maturity_months": maturity, "recent": {
        "window_months": window, "validation_months": valid, "test_months": test, "oot_months": oot}}  # fmt: skip
    tw = windows_from_config(config, t)
    months = [m for w in tw.windows for m in w.months]
    assert len(months) == len(set(months)) == window  # the window, split without overlap
    assert tw.oot.end == add_months(t, -(maturity + 1))  # the latest matured cohort
    assert (
        tw.train.end < tw.validation.start <= tw.validation.end < tw.test.start <= tw.test.end < tw.oot.start
    )
    for m in tw.train.months + tw.validation.months:
        assert violates_batch_lag(tw.to_dict(), m) in {"train", "validation"}
        with pytest.raises(BatchLagViolation):
            check_batch_lag(tw.to_dict(), m, "model_1")
    for m in (*tw.test.months, *tw.oot.months, t, add_months(t, 1)):
        assert violates_batch_lag(tw.to_dict(), m) is None


def test_recent_layout_refusals():
    with pytest.raises(ValueError, match="layout must be 'standard' or 'recent'"):
        windows_from_config({**STANDARD, "layout": "latest"}, "2025-06-01")
    with pytest.raises(ValueError, match="needs mode 'relative'"):
        windows_from_config({**RECENT, "mode": "fixed", "fixed": {}}, "2025-06-01")
    with pytest.raises(ValueError, match="Unknown keys in training.windows.recent"):
        windows_from_config({**RECENT, "recent": {"months": 12}}, "2025-06-01")
