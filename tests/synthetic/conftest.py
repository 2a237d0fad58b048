"""Shared generated worlds (session scope: each is generated once, in about a second)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kycc.synthetic import GenerationSummary, generate


@dataclass(frozen=True)
class World:
    path: Path
    summary: GenerationSummary
    manifest: dict[str, Any]


def _make(path: Path, **kwargs: Any) -> World:
    summary = generate(path, **kwargs)
    manifest = json.loads((path / "_generation_manifest.json").read_text(encoding="utf-8"))
    return World(path, summary, manifest)


@pytest.fixture(scope="session")
def dirty_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """Default dirty rates, last 2 months as JSON batches."""
    return _make(tmp_path_factory.mktemp("dirty"), n_customers=1500, seed=11, json_months=2, write_truth=True)


@pytest.fixture(scope="session")
def clean_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """Clean data, all months as CSV: for semantics, the model and drift."""
    return _make(tmp_path_factory.mktemp("clean"), n_customers=4000, seed=3, dirty=False, write_truth=True)


@pytest.fixture(scope="session")
def clean_world_json(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The same clean world as ``clean_world`` with the last 3 months as JSON batches."""
    return _make(tmp_path_factory.mktemp("clean_json"), n_customers=4000, seed=3, dirty=False, json_months=3)
