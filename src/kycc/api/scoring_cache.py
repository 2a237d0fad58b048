"""What online scoring reads once and keeps: the active scorecard version, the champions, the decision-log store.

``POST /api/scoring/score`` used to rebuild the Kedro data catalog three times per request (``context.catalog``
re-reads and re-resolves the whole configuration), open the scorecard store (configuration read, engine, schema
check, config-version sync) and ask the registry for each champion: ~1.6 s of server CPU for milliseconds of
arithmetic (issue #19). :class:`ScoringCache` loads all of it **once**, on the first scoring request, and keeps
it in the app's service (``app.state.service.scoring``):

* the **catalog** is built once: it names each model's registered model and alias (``<model>.mdl_registered_
  model``); ``training.models`` (the models) is read from the parameters once;
* the **scorecard store** is opened once (as ``kycc scorecard`` opens it) and stays open; the decision log is
  appended through it;
* the **active scorecard version** — its record (definition, policy, bands) with the PD calibration in force
  (the version's latest calibration, as ``mdl_scorecard_versions`` gives it to batch inference);
* each model's **champion** — the :class:`~kycc.registry.read.ModelCard` of the version its alias points
  to, with the fitted bundle (preprocessing + estimator + calibration + threshold) loaded.

When it is reloaded (the rule, docs/api.md "Online scoring: what is cached"):

* **scorecard** — checked on **every request** by one indexed query on the open store: the active version's
  name, fingerprint and latest calibration id. Any change (an activation through the API, ``kycc scorecard
  activate`` / ``rollback`` in another process, a new calibration) reloads the record before the request is
  scored: the next answer uses it.
* **champions** — each alias is looked up in the MLflow registry at most every ``KYCC_API_MODEL_CHECK_SECONDS``
  seconds (default 5; 0 = on every request); a version that differs from the cached one is loaded (a version
  once loaded is kept by :mod:`kycc.registry.read`, versions never change once registered).
* ``invalidate()`` forces a full reload (catalog, store, parameters) on the next request.

A request is scored with the native thread pools (OpenMP, BLAS) limited to one thread
(:func:`one_native_thread`): a single row has nothing to parallelise, and model_2's gradient boosting otherwise
opens a parallel region per tree (150 fork/joins per row, most of a request on a busy machine). The results do
not depend on it (each row's prediction is computed the same way whatever the number of threads).

The counters in :attr:`ScoringCache.stats` count what was actually built or loaded (catalog builds, scorecard
record loads, model version loads, registry checks); the tests read them to show a second request loads
nothing.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["MODEL_CHECK_ENV", "ScoringCache", "ScoringState", "one_native_thread"]

#: Seconds between two registry checks of the champion aliases (0: every request).
MODEL_CHECK_ENV = "KYCC_API_MODEL_CHECK_SECONDS"
DEFAULT_MODEL_CHECK_SECONDS = 5.0


def model_check_seconds_from_env() -> float:
    """``KYCC_API_MODEL_CHECK_SECONDS`` (default 5; a bad value is refused, naming the variable)."""
    raw = os.environ.get(MODEL_CHECK_ENV)
    if raw in (None, ""):
        return DEFAULT_MODEL_CHECK_SECONDS
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{MODEL_CHECK_ENV} must be a number of seconds, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{MODEL_CHECK_ENV} must be >= 0, got {raw!r}")
    return value


_threads_lock = threading.Lock()
_threads_users = 0
_threads_limiter: Any = None
_threads_controller: Any = None


@contextmanager
def one_native_thread() -> Iterator[None]:
    """The native thread pools (OpenMP, BLAS) at one thread while the block runs.

    The limit is process-wide (threadpoolctl), so concurrent requests share it: the first one in sets it, the last
    one out restores what was there before.
    """
    global _threads_users, _threads_limiter, _threads_controller  # noqa: PLW0603 - one process-wide limit
    with _threads_lock:
        if _threads_users == 0:
            from threadpoolctl import ThreadpoolController

            if _threads_controller is None:
                _threads_controller = ThreadpoolController()  # inspects the loaded libraries once
            _threads_limiter = _threads_controller.limit(limits=1)
        _threads_users += 1
    try:
        yield
    finally:
        with _threads_lock:
            _threads_users -= 1
            if _threads_users == 0 and _threads_limiter is not None:
                _threads_limiter.restore_original_limits()
                _threads_limiter = None


@dataclass
class ScoringState:
    """One consistent view for scoring a request (replaced as a whole on change, never mutated by a request).

    Attributes:
        active: The active scorecard version (None: the store has none).
        record: Its record (``VersionRecord.to_dict()``: definition, calibration in force, provenance).
        definition: The parsed definition (``ScorecardDefinition``).
        scorecard_token: What the per-request check compares (name, fingerprint, latest calibration id).
        models: Model → its champion card (None: no champion).
        registered: Model → (registered model name, alias).
    """

    active: str | None
    record: dict[str, Any] | None
    definition: Any
    scorecard_token: tuple[Any, ...]
    models: dict[str, Any] = field(default_factory=dict)
    registered: dict[str, tuple[str, str]] = field(default_factory=dict)


class ScoringCache:
    """The scoring state of one server (see the module docstring).

    Args:
        context: Callable returning the project's Kedro context (created once by the service).
        open_store: Callable opening the project's scorecard store (kept open until :meth:`close`).
        model_check_seconds: Seconds between two registry checks of the champion aliases (None: the
            ``KYCC_API_MODEL_CHECK_SECONDS`` environment variable, default 5).
    """

    def __init__(
        self,
        context: Callable[[], Any],
        open_store: Callable[[], Any],
        model_check_seconds: float | None = None,
    ) -> None:
        self._context = context
        self._open_store = open_store
        self.model_check_seconds = (
            model_check_seconds if model_check_seconds is not None else model_check_seconds_from_env()
        )
        self._lock = threading.Lock()
        self._store: Any = None
        self._model_names: list[str] | None = None
        self._state: ScoringState | None = None
        self._models_checked_at = -float("inf")
        self.stats = {
            "catalog_builds": 0,
            "store_opens": 0,
            "scorecard_loads": 0,
            "model_loads": 0,
            "registry_checks": 0,
            "scorecard_checks": 0,
        }

    # ---------------------------------------------------------------------------------------------------
    @property
    def store(self) -> Any:
        """The open scorecard store (the decision log is written through it)."""
        with self._lock:
            return self._ensure_store()

    @property
    def model_names(self) -> list[str]:
        """The models of ``training.models``, read once."""
        with self._lock:
            self._ensure_loaded()
            return list(self._model_names or [])

    def current(self) -> ScoringState:
        """The state to score a request with: checked (scorecard always, aliases when due), reloaded on change."""
        with self._lock:
            self._ensure_loaded()
            assert self._state is not None
            token = self._scorecard_token()
            if token != self._state.scorecard_token:
                logger.info(
                    "API scoring: scorecard changed (%s -> %s): reloading",
                    self._state.scorecard_token,
                    token,
                )
                self._state = self._with_scorecard(self._state)
            if time.monotonic() - self._models_checked_at >= self.model_check_seconds:
                self._state = self._with_champions(self._state)
            return self._state

    def invalidate(self) -> None:
        """Reload everything (catalog, parameters, store, scorecard, champions) on the next request."""
        with self._lock:
            self._close_store()
            self._state = None
            self._model_names = None
            self._models_checked_at = -float("inf")

    def close(self) -> None:
        with self._lock:
            self._close_store()

    # ---------------------------------------------------------------------------------------------------
    def _ensure_store(self) -> Any:
        if self._store is None:
            self._store = self._open_store()
            self.stats["store_opens"] += 1
        return self._store

    def _close_store(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def _ensure_loaded(self) -> None:
        if self._state is not None:
            return
        context = self._context()
        catalog = context.catalog  # the one catalog build of this state
        self.stats["catalog_builds"] += 1
        params = context.params
        self._model_names = list((params.get("training") or {}).get("models") or {})
        registered = {}
        for model in self._model_names:
            entry = catalog.load(f"{model}.mdl_registered_model")
            registered[model] = (entry.registered_model_name, entry.alias)
        self._ensure_store()
        state = ScoringState(None, None, None, (), {}, registered)
        state = self._with_scorecard(state)
        self._state = self._with_champions(state)

    def _scorecard_token(self) -> tuple[Any, ...]:
        """The active version's name, fingerprint and latest calibration id: one query on the open store."""
        from sqlalchemy import func, select

        from kycc.scorecard.schema import calibrations_table, versions_table

        latest = (
            select(func.max(calibrations_table.c.id))
            .where(calibrations_table.c.version == versions_table.c.version)
            .scalar_subquery()
        )
        query = select(versions_table.c.version, versions_table.c.fingerprint, latest).where(
            versions_table.c.status == "active"
        )
        store = self._ensure_store()
        with store._engine.connect() as conn:  # a plain read: no transaction, no write lock
            row = conn.execute(query).first()
        self.stats["scorecard_checks"] += 1
        return tuple(row) if row else ()

    def _with_scorecard(self, state: ScoringState) -> ScoringState:
        store = self._ensure_store()
        token = self._scorecard_token()
        active = store.active()
        self.stats["scorecard_loads"] += 1
        if active is None:
            return ScoringState(None, None, None, token, state.models, state.registered)
        logger.info("API scoring: scorecard %s loaded", active.version)
        return ScoringState(
            active.version, active.to_dict(), active.definition, token, state.models, state.registered
        )

    def _with_champions(self, state: ScoringState) -> ScoringState:
        from kycc.registry.read import mlflow_registered_model

        models = dict(state.models)
        for model, (name, alias) in state.registered.items():
            registered = mlflow_registered_model(model, name, alias)
            version = registered.champion_version  # one registry query
            self.stats["registry_checks"] += 1
            cached = models.get(model)
            if version is None:
                models[model] = None
            elif cached is None or cached.version != version:
                card = registered.version(version)
                _ = card.bundle  # the fitted model, loaded now rather than inside a request's timing
                self.stats["model_loads"] += 1
                logger.info("API scoring: %s loaded", card.label)
                models[model] = card
        self._models_checked_at = time.monotonic()
        return ScoringState(
            state.active, state.record, state.definition, state.scorecard_token, models, state.registered
        )
