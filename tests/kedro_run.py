"""Run the project's Kedro pipelines in-process against a temporary data root (env ``test``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ibis
import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def env_vars(**values: str) -> Iterator[None]:
    """Set environment variables for the block, then restore them (or remove the ones that were not set)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_kedro(
    data_root: Path, pipelines: list[str], params: dict[str, Any] | None = None, env: str = "test"
) -> None:
    """``kedro run --env <env> --pipelines … --params …`` with every dataset under ``data_root``."""
    # imported by the tests that run Kedro, not at collection
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    with env_vars(KYCC_DATA_ROOT=str(data_root), KYCC_MLFLOW_URI=f"sqlite:///{data_root / 'mlflow.db'}"):
        bootstrap_project(PROJECT_ROOT)
        with KedroSession.create(project_path=PROJECT_ROOT, env=env, runtime_params=params or {}) as session:
            session.run(pipeline_names=pipelines)


def read_table(path: Path) -> pd.DataFrame:
    """A month-partitioned gold/silver table as a pandas frame, sorted for comparison."""
    con = ibis.duckdb.connect()
    table = con.read_parquet(str(path / "batch_month=*" / "*.parquet"))
    frame = table.drop("batch_month").execute() if "batch_month" in table.columns else table.execute()
    keys = [c for c in ("loan_id", "customer_id", "snapshot_date") if c in frame.columns]
    return frame.sort_values(keys).reset_index(drop=True)


def gold(data_root: Path, name: str, engine: str = "duckdb") -> pd.DataFrame:
    return read_table(data_root / "04_feature" / engine / name)
