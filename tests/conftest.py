"""Shared fixtures: an Ibis DuckDB connection and the project root."""

from __future__ import annotations

import os
from pathlib import Path

import ibis
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")


@pytest.fixture(scope="session")
def con():
    """An in-memory DuckDB backend to execute Ibis expressions."""
    return ibis.duckdb.connect()


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT
