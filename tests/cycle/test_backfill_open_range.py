"""``kycc backfill --end X`` without ``--start`` runs from the first month with data to X, and ``--start X``
without ``--end`` from X to the last month, as the help text says (#15.4). Through the real CLI on a tiny world
(no month is trainable: data, scorecard decisions and reporting only)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kycc.cli.main import main
from kycc.datasets.tables import MonthPartitionedPandasDataset
from kycc.synthetic import generate
from tests.kedro_run import PROJECT_ROOT
from tests.project_state import isolated

pytestmark = [pytest.mark.slow]


def _backfill(root: Path, *args: str):
    with isolated(root), contextlib.chdir(PROJECT_ROOT):
        return CliRunner().invoke(main, ["backfill", "--env", "test", *args])


def _recorded(root: Path) -> list[str]:
    return sorted(p.stem for p in (root / "08_reporting/cycle/months").glob("*.json"))


def test_end_without_start_runs_from_the_first_month_and_start_without_end_to_the_last(tmp_path):
    generate(
        tmp_path / "01_raw", n_customers=300, start="2023-01-01", end="2023-06-01", seed=11, json_months=0
    )
    result = _backfill(tmp_path, "--end", "2023-03-01")
    assert result.exit_code == 0, result.output
    assert "Monthly cycle: 3 month(s)" in result.output
    assert _recorded(tmp_path) == ["2023-01", "2023-02", "2023-03"]
    decisions = MonthPartitionedPandasDataset(str(tmp_path / "07_model_output/scorecard_decisions"))
    assert decisions.months() == ["2023-01", "2023-02", "2023-03"]

    result = _backfill(tmp_path, "--start", "2023-05-01")
    assert result.exit_code == 0, result.output
    assert "Monthly cycle: 2 month(s)" in result.output
    assert _recorded(tmp_path) == ["2023-01", "2023-02", "2023-03", "2023-05", "2023-06"]
    assert decisions.months() == ["2023-01", "2023-02", "2023-03", "2023-05", "2023-06"]
    record = json.loads((tmp_path / "08_reporting/cycle/months/2023-06.json").read_text())
    assert record["inference"]["scorecard"]["applications"] > 0
