"""The orchestrators' month, compared with ``kycc backfill``'s: a project state, its copies, their outputs.

The smallest world that trains (tests/cycle/test_backfill_idempotent.py's): 2,000 customers over 2023-01..2024-12.
``kycc backfill`` runs 2023-01..2024-11 once per test session (:func:`before_the_month`, shared by the xdist
workers), then each test copies that state and runs the month 2024-12 — the first training, its seed backfill
2024-04..2024-11, the first monitored month — through its orchestrator; :func:`backfill_month` runs the same month
with ``kycc backfill --start 2024-12 --end 2024-12`` on another copy, once per session. :func:`month_outputs` reads
what a month leaves (gold tables, predictions, decisions, monitoring, actions, the month record) for comparison.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.kedro_run import PROJECT_ROOT, read_table
from tests.project_state import isolated, shared

WORLD = {"n_customers": 2000, "start": "2023-01-01", "end": "2024-12-01", "seed": 5, "json_months": 0}
#: The month every orchestrator runs: the first training, its seed backfill, the first monitored month.
MONTH = "2024-12-01"
#: ``kycc backfill --params`` of every run (one hyperparameter candidate: the month trains once, fast).
PARAMS = "training.models.model_2.grid.learning_rate=[0.1],training.models.model_2.grid.max_depth=[3]"
#: The same parameters as a nested dict (Dagster's run config, ``run_backfill(params=...)``).
PARAMS_DICT = {"training": {"models": {"model_2": {"grid": {"learning_rate": [0.1], "max_depth": [3]}}}}}
ENV = "test"
MODELS = ("model_1", "model_2")
GOLD = ("gold_features", "gold_labels")
#: Month-partitioned output tables (folders under the data root).
TABLES = (
    "07_model_output/scorecard_decisions",
    *(f"07_model_output/predictions/{m}" for m in MODELS),
    *(f"07_model_output/monitoring/{m}/{t}" for m in MODELS for t in ("metrics", "feature_psi")),
    *(f"07_model_output/actions/{m}" for m in MODELS),
    "07_model_output/monitoring/scorecard/backtest",
    "07_model_output/monitoring/estimated_performance",
)


def kycc_backfill(root: Path, *args: str):
    """``kycc backfill --env test --params PARAMS ARGS`` through the real CLI, on the data root ``root``."""
    from click.testing import CliRunner

    from kycc.cli.main import main

    with isolated(root), contextlib.chdir(PROJECT_ROOT):
        return CliRunner().invoke(main, ["backfill", "--env", ENV, "--params", PARAMS, *args])


@pytest.fixture(scope="session")
def before_the_month(tmp_path_factory) -> Path:
    """The project state before :data:`MONTH`: the world's raw files and the cycle 2023-01..2024-11 (read-only)."""

    def build(root: Path) -> Path:
        from kycc.synthetic import generate

        generate(root / "01_raw", **WORLD)
        result = kycc_backfill(root, "--start", WORLD["start"], "--end", "2024-11-01")
        assert result.exit_code == 0, result.output
        return root

    return shared(tmp_path_factory, "orchestration_before_the_month", build)


def copy_state(state: Path, target: Path) -> Path:
    """A copy of a project state (the data root with its MLflow store): the runs on it leave ``state`` as it is.

    The MLflow store keeps the experiment's artifact folder as an absolute path, so the copy's runs would write
    their artifacts into ``state``'s folder: it is pointed at the copy's own.
    """
    import sqlite3

    shutil.copytree(state, target)
    db = sqlite3.connect(target / "mlflow.db")
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for column in db.execute(f"PRAGMA table_info({table})").fetchall():
                if column[2].upper().startswith(("VARCHAR", "TEXT")):
                    db.execute(
                        f"UPDATE {table} SET {column[1]} = replace({column[1]}, ?, ?)",  # noqa: S608
                        (str(state), str(target)),
                    )
        db.commit()
    finally:
        db.close()
    return target


@pytest.fixture(scope="session")
def backfill_month(tmp_path_factory, before_the_month) -> Path:
    """The state after ``kycc backfill --start 2024-12 --end 2024-12`` on a copy of :func:`before_the_month`."""

    def build(folder: Path) -> Path:
        root = copy_state(before_the_month, folder / "data")
        result = kycc_backfill(root, "--start", MONTH, "--end", MONTH)
        assert result.exit_code == 0, result.output
        return root

    return shared(tmp_path_factory, "orchestration_backfill_month", build)


def _without_timings(entry: Any) -> Any:
    if isinstance(entry, dict):
        return {k: _without_timings(v) for k, v in entry.items() if k != "seconds"}
    if isinstance(entry, list):
        return [_without_timings(v) for v in entry]
    return entry


def month_outputs(root: Path, month: str = MONTH) -> dict[str, Any]:
    """What a run of ``month`` leaves under the data root ``root``, comparable between two runs.

    The gold tables, the month-partitioned outputs (predictions, decisions, monitoring, actions), the action
    reports and the month record (its timings left out).
    """
    from kycc.datasets.tables import MonthPartitionedPandasDataset

    out: dict[str, Any] = {name: read_table(root / "04_feature" / "duckdb" / name) for name in GOLD}
    for table in TABLES:
        out[table] = MonthPartitionedPandasDataset(str(root / table)).load()
    reports = root / "08_reporting" / "actions"
    for path in sorted(reports.rglob("*_action_*")):
        out[str(path.relative_to(root))] = path.read_text(encoding="utf-8")
    record = root / "08_reporting" / "cycle" / "months" / f"{month[:7]}.json"
    out["record"] = _without_timings(json.loads(record.read_text(encoding="utf-8")))
    return out


def assert_same_month(got: Path, expected: Path, month: str = MONTH) -> None:
    """The month's outputs under ``got`` equal those under ``expected`` (tables exactly, texts byte for byte)."""
    import pandas as pd

    a, b = month_outputs(got, month), month_outputs(expected, month)
    assert sorted(a) == sorted(b)
    for name, value in b.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(a[name], value, obj=name)
        else:
            assert a[name] == value, name
    month_rows = b["07_model_output/scorecard_decisions"]
    assert (pd.to_datetime(month_rows["snapshot_date"]) == pd.Timestamp(month)).any()  # the month was decided
    for model in MODELS:  # the first training's seed backfill and the month itself were scored
        predictions = b[f"07_model_output/predictions/{model}"]
        assert (pd.to_datetime(predictions["snapshot_date"]) == pd.Timestamp(month)).any(), model
    record = b["record"]
    assert record["training"]["status"] == "ran"
    assert record["seed_backfill"]["status"] == "ran"
    assert record["monitoring"]["status"] == "ran"
