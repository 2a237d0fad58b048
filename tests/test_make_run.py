"""`make run` on an empty data folder generates the synthetic world, builds the gold tables and trains."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.kedro_run import PROJECT_ROOT, gold

pytestmark = pytest.mark.slow


def test_make_run_generates_data_and_builds_gold_tables(tmp_path):
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "KYCC_MLFLOW_URI": f"sqlite:///{tmp_path / 'm.db'}",
           "KYCC_MLFLOW_ARTIFACTS": str(tmp_path / "mlruns")}
    args = [
        "make",
        "-C",
        str(PROJECT_ROOT),
        "run",
        f"DATA_ROOT={tmp_path}",
        "GENERATE_ARGS=--customers 600",
    ]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (tmp_path / "01_raw" / "_generation_manifest.json").is_file()
    assert len(gold(tmp_path, "gold_labels")) > 0
    assert len(gold(tmp_path, "gold_features")) > 100
    assert (tmp_path / "05_model_input" / "model_input.parquet").is_file()
    assert (tmp_path / "08_reporting" / "training" / "training_summary.json").is_file()
    # a second `make run` keeps the existing raw data
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert again.returncode == 0
    assert "already has data: not generating" in again.stdout
