"""Model factory and hyperparameter selection on the validation window.

``estimator`` in a model's parameters is a short name (``logistic_regression``, ``hist_gradient_boosting``,
``random_forest``, ``extra_trees``, ``gradient_boosting``) or the import path of any scikit-learn classifier
with ``predict_proba`` (``sklearn.neighbors.KNeighborsClassifier``): a new model is configuration only.
"""

from __future__ import annotations

import importlib
import logging
import os
import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import ParameterGrid
from threadpoolctl import threadpool_limits

from kycc.modeling.metrics import SELECTION_METRICS, score

logger = logging.getLogger(__name__)

__all__ = ["ESTIMATORS", "build_estimator", "check_search", "resolve_n_threads", "select_hyperparameters"]

ESTIMATORS: dict[str, type] = {
    "logistic_regression": LogisticRegression,
    "hist_gradient_boosting": HistGradientBoostingClassifier,
    "random_forest": RandomForestClassifier,
    "extra_trees": ExtraTreesClassifier,
    "gradient_boosting": GradientBoostingClassifier,
}


def _resolve_class(name: str) -> type:
    if name in ESTIMATORS:
        return ESTIMATORS[name]
    if "." in name:
        module, _, cls = name.rpartition(".")
        try:
            return getattr(importlib.import_module(module), cls)
        except (ImportError, AttributeError) as err:
            raise ValueError(f"Cannot import estimator {name!r}: {err}") from err
    raise ValueError(
        f"Unknown estimator {name!r}: use one of {sorted(ESTIMATORS)} or an import path such as "
        f"'sklearn.ensemble.AdaBoostClassifier'"
    )


def build_estimator(name: str, params: dict[str, Any] | None = None) -> Any:
    """An unfitted classifier ``name`` with ``params`` (an unknown parameter gives a clear error)."""
    cls = _resolve_class(name)
    params = dict(params or {})
    valid = set(cls().get_params())
    unknown = sorted(set(params) - valid)
    if unknown:
        raise ValueError(f"Estimator {name!r} has no parameter(s) {unknown}; valid: {sorted(valid)}")
    estimator = cls(**params)
    if not hasattr(estimator, "predict_proba"):
        raise ValueError(f"Estimator {name!r} has no predict_proba: a probability of default is required")
    return estimator


def _candidates(
    grid: dict[str, list] | list[dict[str, list]] | None, max_candidates: int | None, seed: int
) -> list[dict[str, Any]]:
    if not grid:
        return [{}]
    grids = grid if isinstance(grid, list) else [grid]
    for g in grids:
        for key, values in g.items():
            if not isinstance(values, list | tuple) or not values:
                raise ValueError(
                    f"Hyperparameter grid entry {key!r} must be a non-empty list, got {values!r}"
                )
    candidates = list(ParameterGrid(grids))
    if max_candidates and len(candidates) > max_candidates:
        rng = np.random.default_rng(seed)
        chosen = sorted(rng.choice(len(candidates), size=max_candidates, replace=False))
        candidates = [candidates[i] for i in chosen]
    return candidates


def _better(value: float, best: float, higher_is_better: bool) -> bool:
    if np.isnan(value):
        return False
    if np.isnan(best):
        return True
    return value > best if higher_is_better else value < best


SEARCH_METHODS = ("grid", "halving")
EARLY_STOPPING = ("validation", "internal")
SEARCH_KEYS = {"method", "max_candidates", "sample_rows", "halving_factor", "min_rows", "early_stopping",
               "n_iter_no_change", "validation_fraction"}  # fmt: skip


def resolve_n_threads(value: Any) -> int | None:
    """``training.fitting.n_threads``: an integer >= 1, null (the libraries' default) or ``auto`` (the CPUs
    this process may use)."""
    if value is None:
        return None
    if value == "auto":
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not Linux
            return max(1, os.cpu_count() or 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"training.fitting.n_threads must be an integer >= 1, null or 'auto', got {value!r}")
    return value


def check_search(search: dict[str, Any] | None, where: str = "search") -> dict[str, Any]:
    """Validate the search options (``training.fitting.search`` merged with ``training.models.<m>.search``);
    every error names the key."""
    s = {"method": "grid", "max_candidates": None, "sample_rows": None, "halving_factor": 3, "min_rows": None,
         "early_stopping": None, "n_iter_no_change": 10, "validation_fraction": 0.1, **(search or {})}  # fmt: skip
    unknown = sorted(set(s) - SEARCH_KEYS)
    if unknown:
        raise ValueError(f"Unknown key(s) in {where}: {unknown}; valid: {sorted(SEARCH_KEYS)}")
    if s["method"] not in SEARCH_METHODS:
        raise ValueError(f"{where}.method must be one of {SEARCH_METHODS}, got {s['method']!r}")
    for key, low in (("max_candidates", 1), ("sample_rows", 100), ("min_rows", 100)):
        v = s[key]
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < low):
            raise ValueError(f"{where}.{key} must be null or an integer >= {low}, got {v!r}")
    f = s["halving_factor"]
    if isinstance(f, bool) or not isinstance(f, int | float) or f <= 1:
        raise ValueError(f"{where}.halving_factor must be a number > 1, got {f!r}")
    if s["early_stopping"] not in (None, False, *EARLY_STOPPING):
        raise ValueError(
            f"{where}.early_stopping must be null, 'validation' (stop on the validation window) or 'internal' "
            f"(the estimator's own split of the train rows), got {s['early_stopping']!r}"
        )
    n = s["n_iter_no_change"]
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{where}.n_iter_no_change must be an integer >= 1, got {n!r}")
    v = s["validation_fraction"]
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < 1:
        raise ValueError(f"{where}.validation_fraction must be in (0, 1), got {v!r}")
    return s


def stratified_sample(y: np.ndarray, n_rows: int, seed: int) -> np.ndarray:
    """Sorted positions of at most ``n_rows`` rows of ``y`` keeping each class's share (seeded)."""
    y = np.asarray(y)
    if n_rows >= len(y):
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    picked = []
    for cls in np.unique(y):
        where = np.flatnonzero(y == cls)
        k = max(1, round(n_rows * len(where) / len(y)))
        picked.append(rng.choice(where, size=min(k, len(where)), replace=False))
    return np.sort(np.concatenate(picked))


def _n_iter(model: Any) -> int | None:
    n = getattr(model, "n_iter_", None)
    if n is None:
        return None
    return int(np.max(n))


def select_hyperparameters(  # noqa: C901, PLR0912, PLR0915 - one search loop, its options checked up front
    X_train: pd.DataFrame,
    y_train: np.ndarray,
    X_valid: pd.DataFrame,
    y_valid: np.ndarray,
    *,
    estimator: str,
    params: dict[str, Any] | None = None,
    grid: dict[str, list] | list[dict[str, list]] | None = None,
    metric: str = "roc_auc",
    max_candidates: int | None = None,
    random_state: int = 0,
    n_threads: int | str | None = None,
    search: dict[str, Any] | None = None,
    search_key: str = "search",
) -> tuple[Any, list[dict[str, Any]]]:
    """Fit one model per grid candidate on train, score it on validation, keep the best.

    Returns:
        The best fitted estimator and one record per candidate (params, validation score, fit and CPU seconds,
        rows fitted on, iterations ``n_iter`` for iterative estimators, ``best`` flag), in the order tried. The
        best record also holds ``refit_rows`` / ``refit_n_iter`` / ``refit_seconds`` when the chosen candidate
        was refitted on every train row (``sample_rows`` or ``halving``).

    ``n_threads`` caps the OpenMP/BLAS threads of a fit (None = the libraries' default, ``auto`` = the CPUs this
    process may use). On a shared 2-core machine 1 is often faster: HistGradientBoosting measured 4x slower
    with 2 threads than with 1 while other jobs ran.

    ``search`` (see :func:`check_search`; all off by default: every candidate on every train row):

    * ``method``: ``grid`` (every candidate) or ``halving`` (successive halving: every candidate on a stratified
      sample of ``min_rows`` train rows, the best ``1/halving_factor`` kept and given ``halving_factor`` times
      more rows, until one is left; it is then fitted on every train row if it was not already. ``min_rows``
      null: chosen so that the last round fits on every train row, as scikit-learn's ``exhaust``).
    * ``max_candidates``: a seeded random subset of the grid (same seed, same subset).
    * ``sample_rows``: candidates are fitted on a stratified (seeded) sample of at most this many train rows;
      the chosen one is refitted on every train row.
    * ``early_stopping``: ``validation`` (estimators with ``early_stopping``: stop when the validation window's
      loss has not improved for ``n_iter_no_change`` iterations; HistGradientBoosting's ``X_val``) or
      ``internal`` (the estimator's own ``validation_fraction`` split of the train rows).
    """
    if metric not in SELECTION_METRICS:
        raise ValueError(f"selection metric must be one of {sorted(SELECTION_METRICS)}, got {metric!r}")
    s = check_search(search, search_key)
    if max_candidates is not None:
        s["max_candidates"] = max_candidates
    threads = resolve_n_threads(n_threads)
    higher_is_better = SELECTION_METRICS[metric]
    base = build_estimator(estimator, params)
    if "random_state" in base.get_params() and (params or {}).get("random_state") is None:
        base.set_params(random_state=random_state)
    fit_kwargs: dict[str, Any] = {}
    if s["early_stopping"]:
        if "early_stopping" not in base.get_params():
            raise ValueError(
                f"{search_key}.early_stopping: estimator {estimator!r} has no early_stopping parameter "
                "(HistGradientBoosting has)"
            )
        base.set_params(early_stopping=True, n_iter_no_change=s["n_iter_no_change"])
        if s["early_stopping"] == "validation":
            fit_kwargs = {"X_val": X_valid, "y_val": y_valid}
        else:
            base.set_params(validation_fraction=s["validation_fraction"])
    candidates = _candidates(grid, s["max_candidates"], random_state)
    models = []
    for candidate in candidates:
        try:
            models.append(clone(base).set_params(**candidate))
        except ValueError as err:
            raise ValueError(f"Invalid hyperparameter in the grid of {estimator!r}: {err}") from err
    y_train = np.asarray(y_train)
    n_train = len(y_train)

    def fit(model: Any, rows: np.ndarray | None) -> tuple[Any, float, float]:
        X, y = (X_train, y_train) if rows is None else (X_train.iloc[rows], y_train[rows])
        wall, cpu = time.perf_counter(), time.process_time()
        with threadpool_limits(limits=threads):
            model.fit(X, y, **fit_kwargs)
        return model, time.perf_counter() - wall, time.process_time() - cpu

    # rounds: (candidate positions, train rows or None = all)
    if s["method"] == "halving":
        f = s["halving_factor"]
        # min_rows null: as scikit-learn's 'exhaust', the last round fits on every train row
        rounds = 1 + int(np.floor(np.log(max(len(candidates), 1)) / np.log(f) + 1e-9))
        first = s["min_rows"] or int(np.ceil(n_train / f ** (rounds - 1)))
        rows_per_round = [min(n_train, max(first, 100))]
        alive = len(candidates)
        while alive > 1 and rows_per_round[-1] < n_train:
            alive = max(1, int(np.ceil(alive / s["halving_factor"])))
            if alive == 1:
                break
            rows_per_round.append(min(n_train, int(np.ceil(rows_per_round[-1] * f))))
    else:
        rows_per_round = [min(n_train, s["sample_rows"] or n_train)]
    results: list[dict[str, Any]] = []
    alive_idx = list(range(len(candidates)))
    best_i, best_model = 0, None
    for round_no, n_rows in enumerate(rows_per_round):
        rows = None if n_rows >= n_train else stratified_sample(y_train, n_rows, random_state + round_no)
        scored = []
        for i in alive_idx:
            model, seconds, cpu = fit(clone(models[i]), rows)
            with threadpool_limits(
                limits=threads
            ):  # unlimited OpenMP predict spins: 1.3 vs 0.05 CPU s, loaded
                proba = model.predict_proba(X_valid)[:, 1]
            value = score(metric, y_valid, proba)
            results.append(
                {
                    "candidate": i + 1,
                    "params": candidates[i],
                    f"validation_{metric}": value,
                    "fit_seconds": round(seconds, 3),
                    "cpu_seconds": round(cpu, 3),
                    "rows": n_train if rows is None else len(rows),
                    "round": round_no + 1,
                    "n_iter": _n_iter(model),
                }
            )
            logger.info(
                "  candidate %d/%d %s on %d rows: validation %s = %.4f (%.1fs%s)",
                i + 1, len(candidates), candidates[i], results[-1]["rows"], metric, value, seconds,
                f", {results[-1]['n_iter']} iterations" if results[-1]["n_iter"] is not None else "",
            )  # fmt: skip
            scored.append((i, value, model))
        ranked = sorted(
            scored,
            key=lambda t: (np.isnan(t[1]), -t[1] if higher_is_better else t[1], t[0]),
        )
        keep = max(1, int(np.ceil(len(ranked) / s["halving_factor"]))) if s["method"] == "halving" else 1
        alive_idx = sorted(i for i, _, _ in ranked[:keep])
        best_i, _, best_model = ranked[0]
        if len(alive_idx) == 1:
            break
    # the chosen record: the last one of the winning candidate
    chosen = max(k for k, r in enumerate(results) if r["candidate"] == best_i + 1)
    for k, r in enumerate(results):
        r["best"] = k == chosen
    if results[chosen]["rows"] < n_train:
        best_model, seconds, cpu = fit(clone(models[best_i]), None)
        results[chosen].update(
            refit_rows=n_train, refit_seconds=round(seconds, 3), refit_cpu_seconds=round(cpu, 3),
            refit_n_iter=_n_iter(best_model),
        )  # fmt: skip
        logger.info("  refitted candidate %d on all %d train rows (%.1fs)", best_i + 1, n_train, seconds)
    return best_model, results
