"""Shared fixtures: an Ibis DuckDB connection and the project root."""

from __future__ import annotations

import os
from pathlib import Path

import ibis
import pytest

from tests import project_state

PROJECT_ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM must not fetch prices at import
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def con():
    """The default in-memory DuckDB backend, which executes (and caches) expressions built on memtables."""
    return ibis.get_backend()  # the default DuckDB backend: memtables and cached tables live there


@pytest.fixture(scope="session", name="cycle_world")
def _cycle_world(tmp_path_factory) -> Path:
    """The generated raw files of the shared cycle world (tests/project_state.py)."""
    return project_state.cycle_world(tmp_path_factory)


@pytest.fixture(scope="session", name="catch_up")
def _catch_up(tmp_path_factory, cycle_world) -> project_state.CycleRun:
    """One catch-up run of the monthly cycle over the whole range (read-only: copy it before changing it)."""
    return project_state.catch_up(tmp_path_factory, cycle_world)


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT
