"""Shared fixtures (an Ibis DuckDB connection, the project root, the shared cycle state) and the test tiers.

Tiers (docs/testing.md): every test is in exactly one, decided here from its path, markers and fixtures, never in
the test files. ``--tier`` selects them (repeatable; default: all three, so a plain ``pytest`` runs everything):

* ``test``   — everything else: what every change must pass (``make test``);
* ``e2e``    — the monthly cycle end to end: tests on the shared cycle state (fixtures ``catch_up`` /
  ``cycle_world``), the slow runs in tests/cycle/, ``make run`` itself, the PySpark engine (``make test-e2e``);
* ``deploy`` — orchestration and serving: Airflow DAGs, Dagster definitions, the training gate, the notebook tour,
  real ``kycc serve`` processes (``make test-deploy``).

Each selected test also gets the marker of its tier (``-m e2e`` / ``-m deploy`` / ``-m "not e2e and not deploy"``
select the same tests, but collect every module first; ``--tier`` does not even import the deploy modules when
the deploy tier is not selected).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests import project_state

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM must not fetch prices at import
os.environ.setdefault("HF_HUB_OFFLINE", "1")

TIERS = ("test", "e2e", "deploy")
#: Paths (relative to tests/) whose tests are all deploy tests: folders end with "/".
DEPLOY_PATHS = ("orchestration/", "notebooks/", "api/test_serve.py", "api/test_runs_restart.py")
#: The shared monthly-cycle state (tests/project_state.py): a test that uses it is an e2e test.
SHARED_STATE = ("catch_up", "cycle_world")
#: Slow tests in these paths are e2e tests (whole monthly cycles through kycc backfill / make run).
E2E_SLOW_PATHS = ("cycle/", "test_make_run.py")
#: Single e2e tests elsewhere ("path::name"): the data pipelines run month by month over a year (12 Kedro runs,
#: the longest test of the test tier by far; the cycle's own catch-up == month by month is e2e too).
E2E_TESTS = (
    "pipelines/test_generated_world.py::test_catch_up_equals_month_by_month",
    # a whole label+feature store run killed at 4 swap steps and re-run: 10 Kedro runs, 4 of them subprocesses
    "datasets/test_run_killed_midway.py::test_a_run_killed_in_its_swaps_and_run_again_equals_the_uninterrupted_run",
    # the early read's catch-up == month by month: one catch-up run and one Kedro run per month
    "pipelines/early_read/test_pipeline.py::test_catch_up_equals_month_by_month",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--tier",
        action="append",
        choices=TIERS,
        help="run only this tier (repeatable): test, e2e, deploy; default all (docs/testing.md)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # registered here, not in pyproject.toml: a pyproject change makes `make test` reinstall the venv
    config.addinivalue_line("markers", "e2e: the e2e tier, set by tests/conftest.py (make test-e2e)")
    config.addinivalue_line("markers", "deploy: the deploy tier, set by tests/conftest.py (make test-deploy)")


def _selected(config: pytest.Config) -> set[str]:
    return set(config.getoption("tier") or TIERS)


def _relative(path: Path) -> str | None:
    """``path`` relative to tests/, a folder's with a trailing "/"."""
    try:
        relative = path.resolve().relative_to(TESTS).as_posix()
    except ValueError:
        return None
    return f"{relative}/" if path.is_dir() else relative


def _under(relative: str | None, paths: tuple[str, ...]) -> bool:
    return relative is not None and any(
        relative.startswith(p) if p.endswith("/") else relative == p for p in paths
    )


def tier_of(item: pytest.Item) -> str:
    relative = _relative(item.path)
    if _under(relative, DEPLOY_PATHS):
        return "deploy"
    if set(SHARED_STATE) & set(item.fixturenames) or item.get_closest_marker("spark"):
        return "e2e"
    if item.get_closest_marker("slow") and _under(relative, E2E_SLOW_PATHS):
        return "e2e"
    if f"{relative}::{getattr(item, 'originalname', item.name)}" in E2E_TESTS:
        return "e2e"
    return "test"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The deploy modules are not imported (dagster, nbformat) when the deploy tier is not selected."""
    if "deploy" not in _selected(config) and _under(_relative(collection_path), DEPLOY_PATHS):
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the selected tiers, mark each test with its tier, and order them for two workers.

    With a small ``--maxschedchunk`` xdist hands the tests out in this order: first the tests on the shared state
    that also build a session-wide state of their own (``_builds_own_session_state``), then the tests not on the
    shared state, the other tests on the shared state last — it is built in the background from the first test on (``_shared_state_in_background``) while
    the workers run the others, and they ask for it after their own fixtures, which are thereby built while the
    background build runs. Within each group the modules with slow tests first, so that the fast ones fill both
    workers' ends; a module stays in one piece, so its module fixtures are built once. Otherwise the collection
    order.
    """
    selected, keep, deselected = _selected(config), [], []
    for item in items:
        tier = tier_of(item)
        if tier in selected:
            if tier != "test":
                item.add_marker(tier)
            keep.append(item)
        else:
            deselected.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
    for item in keep:
        names = item.fixturenames
        for name in SHARED_STATE:
            if name in names:
                names.remove(name)
                names.append(name)
    slow = {item.path for item in keep if item.get_closest_marker("slow")}
    items[:] = sorted(keep, key=lambda item: (_group(item), item.path not in slow))


def _on_shared_state(item: pytest.Item) -> bool:
    return bool(set(SHARED_STATE) & set(item.fixturenames))


def _builds_own_session_state(item: pytest.Item) -> bool:
    """A session-scoped fixture defined below tests/ (a test module or a folder's conftest), e.g.
    ``month_by_month``."""
    definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    return any(
        d.scope == "session" and d.baseid not in ("", "tests")
        for name in item.fixturenames
        for d in definitions.get(name, ())
    )


def _group(item: pytest.Item) -> int:
    if not _on_shared_state(item):
        return 1
    # on the shared state with a state of its own (month_by_month): first, its state is built while the shared one
    return 0 if _builds_own_session_state(item) else 2


@pytest.fixture(scope="session", autouse=True)
def _shared_state_in_background(request: pytest.FixtureRequest, tmp_path_factory):
    """Start building the shared cycle state in a process of its own when a selected test needs it (once per
    session, across xdist workers); the worker that started it waits for it at the end of its tests."""
    needed = any(_on_shared_state(item) for item in request.session.items)
    process = project_state.build_in_background(tmp_path_factory) if needed else None
    yield
    if process is not None:
        if request.session.shouldfail or request.session.shouldstop:
            project_state._stop(process)
        else:
            process.wait()


@pytest.fixture(autouse=True)
def _no_mlflow_run_outlives_its_test():
    """Every test starts without an active MLflow run: a run left active in this process (a Kedro session that
    stopped between kedro-mlflow's hooks, a test that failed inside ``start_run``) would otherwise become the
    parent of the next test's runs on the same xdist worker — an order-dependent failure far from its cause."""
    yield
    fluent = sys.modules.get("mlflow.tracking.fluent")  # never imports mlflow for a test that did not
    if fluent is None:
        return
    stack = fluent._active_run_stack.get()
    while stack:
        try:
            fluent.end_run()
        except Exception:  # noqa: BLE001 - its store may be a deleted temporary folder: drop it from the stack
            stack.pop()
    os.environ.pop("MLFLOW_RUN_ID", None)


@pytest.fixture(scope="session")
def con():
    """The default in-memory DuckDB backend, which executes (and caches) expressions built on memtables."""
    import ibis

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
