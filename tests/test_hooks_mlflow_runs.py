"""MLflow runs named with their month (kycc.hooks.run_months / run_title)."""

from __future__ import annotations

from kycc.hooks import run_months, run_title


def test_a_run_is_named_with_the_month_of_its_runtime_parameters():
    assert run_title(["training"], {"training": {"training_date": "2024-12-01"}}) == "training 2024-12"
    cycle = {
        "inference": {"start_month": "2025-01-01", "end_month": "2025-01-01"},
        "monitoring": {"start_month": "2025-01-01", "end_month": "2025-01-01"},
    }
    assert run_title(["inference", "monitoring", "actions"], cycle) == "inference+monitoring+actions 2025-01"


def test_a_window_is_named_first_to_last_month_and_a_run_without_month_by_its_pipelines():
    window = {"run": {"start_month": "2024-03-01", "end_month": "2023-01-01"}}
    assert run_months(window) == "2023-01..2024-03"
    assert run_title(None, {}) == "__default__"
    assert run_title(["training"], {"training": {"quality_gates": {"min_roc_auc": 0.7}}}) == "training"
    assert run_months({"inference": {"start_month": None}}) is None
