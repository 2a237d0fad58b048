"""``kycc backfill`` run again over months already done is idempotent (#18.3): the same decisions, predictions,
metrics and month records, no new MLflow model version or metric row, exit 0 — and the full range a second time
does not stop on the batch-lag rule (the early months keep the decisions made before any model existed).
``--retrain`` processes done months again (new model versions) and still keeps the recorded decisions.

The smallest world that trains: 2,000 customers over 2023-01..2024-12 (first training 2024-12, seed backfill
2024-04..2024-11, one monitored month). Every run goes through the real CLI.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from kycc.cli.main import main
from kycc.datasets.tables import MonthPartitionedPandasDataset
from kycc.synthetic import generate
from tests.kedro_run import PROJECT_ROOT
from tests.project_state import isolated, shared

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cycle")]

WORLD = {"n_customers": 2000, "start": "2023-01-01", "end": "2024-12-01", "seed": 5, "json_months": 0}
GRID = "training.models.model_2.grid.learning_rate=[0.1],training.models.model_2.grid.max_depth=[3]"
HISTORY = ["07_model_output/scorecard_decisions", "07_model_output/predictions"]  # decisions are history
TABLES = [
    "07_model_output/scorecard_decisions",
    *(f"07_model_output/{t}/{m}" for m in ("model_1", "model_2") for t in ("predictions", "actions")),
    *(f"07_model_output/monitoring/{m}/metrics" for m in ("model_1", "model_2")),
]


def kycc_backfill(root: Path, *args: str):
    with isolated(root), contextlib.chdir(PROJECT_ROOT):
        return CliRunner().invoke(main, ["backfill", "--env", "test", "--params", GRID, *args])


def state(root: Path) -> dict:
    """What must not change: the history files byte for byte, the tables, month records, MLflow counts."""
    db = sqlite3.connect(root / "mlflow.db")
    try:
        counts = {
            t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("model_versions", "metrics")
        }  # noqa: S608
    finally:
        db.close()
    return {
        "files": {
            str(p.relative_to(root)): p.read_bytes()
            for folder in HISTORY
            for p in sorted((root / folder).rglob("*.parquet"))
        },
        "tables": {t: MonthPartitionedPandasDataset(str(root / t)).load() for t in TABLES},
        "records": {
            p.name: _without_timings(json.loads(p.read_text()))
            for p in sorted((root / "08_reporting/cycle/months").glob("*.json"))
        },
        "mlflow": counts,
    }


def _result(result) -> dict:
    """Exit code and the end of the output, with the exception (CliRunner keeps it apart from the output)."""
    error = "" if result.exception is None or result.exit_code == 0 else f"\n{result.exception!r}"
    headline = [line for line in result.output.splitlines() if line.startswith("Monthly cycle:")]
    return {
        "exit_code": result.exit_code,
        "headline": headline[-1] if headline else "",
        "batch_lag": "Batch-lag" in result.output,
        "output": result.output[-3000:] + error,
    }


def _without_timings(entry):
    if isinstance(entry, dict):
        return {k: _without_timings(v) for k, v in entry.items() if k != "seconds"}
    return entry


def assert_same(got: dict, expected: dict) -> None:
    assert got["mlflow"] == expected["mlflow"]
    assert got["files"].keys() == expected["files"].keys() and got["files"] == expected["files"]
    for table, frame in expected["tables"].items():
        assert got["tables"][table].equals(frame), table
    assert got["records"] == expected["records"]


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """First run over the whole range, then: a later range again, the whole range again, --retrain of 2024-12."""

    def build(root: Path) -> dict:
        generate(root / "01_raw", **WORLD)
        out = {"first": kycc_backfill(root)}
        assert out["first"].exit_code == 0, _result(out["first"])["output"]
        out["state"] = state(root)
        out["later_range"] = kycc_backfill(root, "--start", "2024-10-01", "--end", "2024-12-01")
        out["later_state"] = state(root)
        out["full_range"] = kycc_backfill(root)
        out["full_state"] = state(root)
        out["retrain"] = kycc_backfill(root, "--start", "2024-12-01", "--end", "2024-12-01", "--retrain")
        out["retrain_state"] = state(root)
        return {k: (v if isinstance(v, dict) else _result(v)) for k, v in out.items()}

    return shared(tmp_path_factory, "backfill_idempotent", build)


def test_the_first_run_trained_and_scored(runs):
    first = runs["state"]
    assert first["mlflow"]["model_versions"] >= 1 and first["mlflow"]["metrics"] > 0
    assert any(p.startswith("07_model_output/predictions/") for p in first["files"])
    assert json.dumps(first["records"]["2024-12.json"]["training"]).count('"status": "ran"') == 1


def test_a_later_range_twice_is_identical_with_no_new_model_version_or_metric(runs):
    assert runs["later_range"]["exit_code"] == 0, runs["later_range"]["output"]
    assert "3 month(s) (3 already done, kept as recorded)" in runs["later_range"]["headline"]
    assert_same(runs["later_state"], runs["state"])


def test_the_full_range_twice_is_identical_and_not_refused_by_the_batch_lag_rule(runs):
    result = runs["full_range"]
    assert result["exit_code"] == 0, result["output"]
    assert not result["batch_lag"] and "24 month(s) (24 already done, kept as recorded)" in result["headline"]
    assert_same(runs["full_state"], runs["state"])


def test_retrain_processes_a_done_month_again_and_keeps_its_decisions(runs):
    result, before, after = runs["retrain"], runs["state"], runs["retrain_state"]
    assert result["exit_code"] == 0, result["output"]
    assert after["mlflow"]["model_versions"] > before["mlflow"]["model_versions"]  # trained again: explicit
    assert after["files"] == before["files"]  # decisions and predictions made at the time
    assert after["records"]["2024-12.json"]["training"]["status"] == "ran"
    scorecard = before["records"]["2024-12.json"]["inference"]["scorecard"]
    assert (
        after["records"]["2024-12.json"]["inference"]["scorecard"]["applications"]
        == scorecard["applications"]
    )
