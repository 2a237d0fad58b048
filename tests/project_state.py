"""One generated world run through the whole monthly cycle (``run_backfill``): the "real project state" (trained
models in an sqlite MLflow, scorecard versions, predictions, the dashboard) shared by the cycle, API and notebook
tests. The fixtures ``cycle_world`` and ``catch_up`` are registered in ``tests/conftest.py``.

10,000 customers over 2023-01..2025-06 (drift planted from 2024-09): enough loans per month (≈ 300–550) for the
quality gates and for PSI to separate drift from sampling noise. First training 2024-12, seed backfill
2024-04..2024-11, 7 monitored months (2024-12..2025-06). About a minute on 2 cores.

The runs are built once per test session even under pytest-xdist (the first worker builds, the others wait on a
file lock and reuse the folder): ``--dist loadgroup`` does not keep ``xdist_group`` tests together with
pytest 9 + xdist 3.8 (the group suffix never reaches the node ids), so a plain session fixture would run the
cycle once per worker. So that no worker sits waiting on that lock, ``tests/conftest.py`` starts the build in a
background process (``python -m tests.project_state <session folder>``, log in ``shared_state.log`` of the
session folder) as soon as a selected test needs ``catch_up``, and runs the tests that need it last; a worker
that asks before it is done waits on the lock, and if the background build failed the worker builds it again
itself, so its error is reported by the test that needed it (docs/testing.md).
"""

from __future__ import annotations

import atexit
import fcntl
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.kedro_run import PROJECT_ROOT, env_vars

if TYPE_CHECKING:  # kycc.cycle and mlflow are imported when a run is built: collection stays light
    from kycc.cycle import CycleReport

START, END = "2023-01-01", "2025-06-01"
WORLD = {"n_customers": 10_000, "start": START, "end": END, "seed": 42, "json_months": 0}
# model_2 with one hyperparameter candidate (the cycle trains several times). Two gold features are left out of
# training: their values differ in the last bits between a catch-up and a month-by-month data run (DuckDB float
# sums in another order, ~1e-14 relative; see test_catch_up_equals_month_by_month) and gradient boosting's
# binning turns that into a different model_2, hence different champions and schedules downstream.
NOISY_FEATURES = ["click_fe_mean_lookback", "net_weighted_exposure"]
FAST = {
    "training": {
        "models": {"model_2": {"grid": {"learning_rate": [0.1], "max_depth": [3], "min_samples_leaf": [50]}}},
        "data_contract": {"exclude_columns": ["label_def", *NOISY_FEATURES]},
    }
}


@dataclass
class CycleRun:
    root: Path  # the data root (01_raw … 08_reporting); MLflow in root/mlflow.db and root/mlruns
    report: CycleReport


@contextmanager
def isolated(root: Path) -> Iterator[None]:
    """Every dataset, the MLflow store and its artifacts under ``root`` while the cycle runs."""
    import mlflow
    from mlflow.tracking import fluent

    uri = mlflow.get_tracking_uri()
    experiment = fluent._active_experiment_id  # kedro-mlflow sets the active experiment of the process
    try:
        with env_vars(
            KYCC_DATA_ROOT=str(root),
            KYCC_MLFLOW_URI=f"sqlite:///{root / 'mlflow.db'}",
            KYCC_MLFLOW_ARTIFACTS=str(root / "mlruns"),
        ):
            yield
    finally:
        mlflow.set_tracking_uri(uri)
        fluent._active_experiment_id = experiment


def backfill(
    root: Path, start: str | None, end: str | None, params: dict[str, Any] | None = None
) -> CycleReport:
    from kycc.cycle import run_backfill

    with isolated(root):
        return run_backfill(
            start, end, project_path=PROJECT_ROOT, env="test", params={**FAST, **(params or {})}
        )


def session_dir(tmp_path_factory) -> Path:
    """The test session's temporary folder, shared by the xdist workers (each worker has its own below it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def shared(tmp_path_factory, name: str, build):
    """``build(folder)`` once per test session, across xdist workers (a file lock; the result is pickled)."""
    return _shared(session_dir(tmp_path_factory), name, build)


def _shared(base: Path, name: str, build):
    done = base / f"{name}.result.pkl"
    with open(base / f"{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if done.is_file():
                return pickle.loads(done.read_bytes())
            folder = base / name
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            result = build(folder)
            done.write_bytes(pickle.dumps(result))
            return result
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _cycle_world(base: Path) -> Path:
    def build(folder: Path) -> Path:
        from kycc.synthetic import generate

        generate(folder / "01_raw", **WORLD)
        return folder / "01_raw"

    return _shared(base, "cycle_raw", build)


def _catch_up(base: Path, cycle_world: Path) -> CycleRun:
    def build(root: Path) -> CycleRun:
        shutil.copytree(cycle_world, root / "01_raw")
        return CycleRun(root, backfill(root, START, END))

    return _shared(base, "catch_up", build)


def cycle_world(tmp_path_factory) -> Path:
    """The generated raw files (each run copies them)."""
    return _cycle_world(session_dir(tmp_path_factory))


def catch_up(tmp_path_factory, cycle_world) -> CycleRun:
    """One catch-up run of the cycle over the whole range."""
    return _catch_up(session_dir(tmp_path_factory), cycle_world)


def build_in_background(tmp_path_factory) -> subprocess.Popen | None:
    """Start building ``cycle_world`` and ``catch_up`` in a process of their own, once per test session.

    Returns the process to the caller that started it (None to every other caller). The workers meanwhile run
    the tests that do not need the state; the first that needs it waits on its lock (see ``_shared``).
    """
    base = session_dir(tmp_path_factory)
    with open(base / "shared_state.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            started = base / "shared_state.started"
            if started.exists() or (base / "catch_up.result.pkl").is_file():
                return None
            started.touch()
            with open(base / "shared_state.log", "ab") as log:
                process = subprocess.Popen(  # noqa: S603 - this interpreter, this module
                    [sys.executable, "-m", "tests.project_state", str(base)],
                    cwd=PROJECT_ROOT,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    atexit.register(_stop, process)  # an interrupted session does not leave the build running
    return process


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":  # python -m tests.project_state <session folder>: what build_in_background runs
    import importlib

    # the module under its own name: the pickled CycleRun must be tests.project_state's, not __main__'s
    module = importlib.import_module("tests.project_state")
    session = Path(sys.argv[1])
    module._catch_up(session, module._cycle_world(session))
