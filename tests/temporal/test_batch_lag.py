"""The batch-lag rule: never score a month a model was trained or validated on."""

from __future__ import annotations

import pytest

from kycc.temporal import BatchLagViolation, check_batch_lag, violates_batch_lag, windows_from_training_date


@pytest.fixture
def windows():
    return windows_from_training_date("2024-12-01")  # train 2023-01..2023-12, validation 2024-01..02


@pytest.mark.parametrize(
    ("month", "window"),
    [
        ("2023-01-01", "train"),
        ("2023-12-01", "train"),
        ("2024-02-01", "validation"),
        ("2024-03-01", None),
        ("2024-05-01", None),
        ("2024-12-01", None),
        ("2022-12-01", None),
    ],
)
def test_learnt_windows_are_flagged(windows, month, window):
    assert violates_batch_lag(windows, month) == window
    assert violates_batch_lag(windows.to_dict(), month) == window  # as stored in the model's metadata


def test_violation_names_model_windows_and_month(windows):
    with pytest.raises(BatchLagViolation) as err:
        check_batch_lag(windows, "2024-01-01", "model_1")
    text = str(err.value)
    assert "model_1" in text and "2024-01" in text and "validation" in text and "2023-01..2023-12" in text


def test_scoring_after_validation_is_allowed(windows):
    check_batch_lag(windows, "2024-03-01", "model_1")
