"""The API on a real project state: a copy of the shared monthly-cycle run (trained champions in an sqlite MLflow,
scorecard versions, predictions), served through FastAPI's test client."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kycc.api import create_app, load_api_settings
from tests.project_state import PROJECT_ROOT, CycleRun, isolated

API_KEY = "test-key-0123456789abcdef"


@dataclass
class Served:
    client: TestClient
    root: Path  # the copied data root
    auth: dict[str, str]


@pytest.fixture(scope="module")
def served(tmp_path_factory, catch_up: CycleRun) -> Iterator[Served]:
    """The API over a private copy of the cycle's data root (activations and runs change the copy only)."""
    root = tmp_path_factory.mktemp("api_state") / "data"
    shutil.copytree(catch_up.root, root)
    with isolated(root), pytest.MonkeyPatch.context() as mp:
        mp.setenv("KEDRO_ENV", "test")
        mp.delenv("KYCC_API_KEY", raising=False)
        settings = load_api_settings(env="test", project_root=PROJECT_ROOT, api_key=API_KEY)
        assert settings.data_root == root
        with TestClient(create_app(settings)) as client:
            yield Served(client, root, {"X-API-Key": API_KEY})
