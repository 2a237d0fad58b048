"""`make run` on an empty data folder generates the synthetic world and runs the monthly cycle end to end."""

from __future__ import annotations

import os
import subprocess

import pytest

from kycc.datasets.tables import MonthPartitionedPandasDataset
from tests.kedro_run import PROJECT_ROOT, gold

pytestmark = pytest.mark.slow


def test_make_run_generates_data_and_runs_the_monthly_cycle(tmp_path):
    env = {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "1",
        "KYCC_MLFLOW_URI": f"sqlite:///{tmp_path / 'm.db'}",
        "KYCC_MLFLOW_ARTIFACTS": str(tmp_path / "mlruns"),
    }
    # a small world (2,000 customers, 30 months): smaller quality gates so that models register and get monitored
    args = [
        "make",
        "-C",
        str(PROJECT_ROOT),
        "run",
        f"DATA_ROOT={tmp_path}",
        "GENERATE_ARGS=--customers 2000 --end 2025-06-01",
        "BACKFILL_ARGS=--params training.quality_gates.min_samples=40",
    ]  # fmt: skip
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (tmp_path / "01_raw" / "_generation_manifest.json").is_file()
    assert len(gold(tmp_path, "gold_labels")) > 0
    assert len(gold(tmp_path, "gold_features")) > 100
    assert (tmp_path / "05_model_input" / "model_input.parquet").is_file()
    assert (tmp_path / "08_reporting" / "training" / "training_summary.json").is_file()
    # the cycle: a summary line per month, monitoring after the first training, the dashboard's path printed
    dashboard = tmp_path / "08_reporting" / "monitoring_dashboard.html"
    assert f"Dashboard: {dashboard}" in result.stdout and dashboard.is_file()
    assert "Monthly cycle: 30 month(s)" in result.stdout and "2025-06" in result.stdout
    metrics = MonthPartitionedPandasDataset(
        str(tmp_path / "07_model_output/monitoring/model_1/metrics")
    ).load()
    assert len(metrics) >= 6
    # a second `make run` keeps the existing raw data (`run` depends on `data`)
    again = subprocess.run(
        ["make", "-C", str(PROJECT_ROOT), "data", f"DATA_ROOT={tmp_path}"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert again.returncode == 0
    assert "already has data: not generating" in again.stdout
