"""Shared fixtures: an Ibis DuckDB connection and the project root."""

from __future__ import annotations

import os
from pathlib import Path

import ibis
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM must not fetch prices at import
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def con():
    """The default in-memory DuckDB backend, which executes (and caches) expressions built on memtables."""
    return ibis.get_backend()  # the default DuckDB backend: memtables and cached tables live there


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT
