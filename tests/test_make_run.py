"""`make run` on an empty data folder generates the synthetic world and builds the gold tables."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.kedro_run import PROJECT_ROOT, gold

pytestmark = pytest.mark.slow


def test_make_run_generates_data_and_builds_gold_tables(tmp_path):
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "KYCC_MLFLOW_URI": f"sqlite:///{tmp_path / 'm.db'}"}
    args = [
        "make",
        "-C",
        str(PROJECT_ROOT),
        "run",
        f"DATA_ROOT={tmp_path}",
        "GENERATE_ARGS=--customers 200 --end 2023-09-01",
    ]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (tmp_path / "01_raw" / "_generation_manifest.json").is_file()
    assert len(gold(tmp_path, "gold_labels")) > 0
    assert len(gold(tmp_path, "gold_features")) > 100
    # a second `make run` keeps the existing raw data
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert again.returncode == 0
    assert "already has data: not generating" in again.stdout
