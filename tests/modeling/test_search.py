"""The bounded hyperparameter search (training.fitting.search / training.models.<m>.search): a seeded subset of
the grid, successive halving, candidates fitted on a stratified sample and the chosen one refitted on every train
row, early stopping with its iteration count recorded, and configuration errors that name the key."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid

from kycc.modeling.contract import WINDOW_COLUMN
from kycc.modeling.estimators import (
    build_estimator,
    check_search,
    resolve_n_threads,
    select_hyperparameters,
    stratified_sample,
)
from kycc.modeling.preprocessing import CreditPreprocessor
from kycc.modeling.sample_data import make_model_input
from kycc.pipelines.training import nodes

FEATURES = ["debt_to_income", "annual_income", "interest_rate", "fe_3", "credit_mix", "occupation"]
CATEGORICAL = ["credit_mix", "occupation"]
GRID = {"learning_rate": [0.05, 0.2], "max_depth": [2, 3], "min_samples_leaf": [20, 80]}
PARAMS = {"max_iter": 10, "early_stopping": False, "max_bins": 32}


@pytest.fixture(scope="module")
def data():
    frame = make_model_input(2400, n_months=10, seed=11)
    cut = frame["application_date"] < "2023-08-01"
    train, valid = frame[cut], frame[~cut]
    prep = CreditPreprocessor("native", FEATURES, CATEGORICAL).fit(train)
    return prep.transform(train), train["label"].to_numpy(), prep.transform(valid), valid["label"].to_numpy()


def _search(data, **kwargs):
    Xt, yt, Xv, yv = data
    kwargs.setdefault("params", PARAMS)
    kwargs.setdefault("grid", GRID)
    return select_hyperparameters(
        Xt, yt, Xv, yv, estimator="hist_gradient_boosting", random_state=3, n_threads=1, **kwargs
    )


def _proba(model, X):
    return model.predict_proba(X)[:, 1]


@pytest.mark.parametrize("search", [{"max_candidates": 3}, {"method": "halving", "min_rows": 200}])
def test_bounded_search_returns_a_grid_candidate_and_is_deterministic(data, search):
    model, results = _search(data, search=search)
    grid = list(ParameterGrid(GRID))
    best = [r for r in results if r["best"]]
    assert len(best) == 1 and best[0]["params"] in grid
    assert {k: model.get_params()[k] for k in GRID} == best[0]["params"]
    tried = {r["candidate"] for r in results}
    assert len(tried) < len(grid) if "max_candidates" in search else len(tried) == len(grid)
    again_model, again = _search(data, search=search)
    assert again == [r | {"fit_seconds": a["fit_seconds"], "cpu_seconds": a["cpu_seconds"],
                          **({"refit_seconds": a["refit_seconds"], "refit_cpu_seconds": a["refit_cpu_seconds"]}
                             if "refit_seconds" in a else {})}
                     for r, a in zip(results, again, strict=True)]  # fmt: skip
    assert np.array_equal(_proba(model, data[2]), _proba(again_model, data[2]))


def test_halving_gives_the_survivors_more_rows_and_fits_the_winner_on_every_row(data):
    Xt, yt, Xv, _ = data
    model, results = _search(data, search={"method": "halving", "min_rows": 200, "halving_factor": 3})
    rounds = sorted({r["round"] for r in results})
    assert len(rounds) >= 2
    per_round = {k: [r for r in results if r["round"] == k] for k in rounds}
    assert len(per_round[1]) == 8 and per_round[1][0]["rows"] == 200
    for k in rounds[1:]:
        assert (
            len(per_round[k]) < len(per_round[k - 1])
            and per_round[k][0]["rows"] > per_round[k - 1][0]["rows"]
        )
        assert {r["candidate"] for r in per_round[k]} <= {r["candidate"] for r in per_round[k - 1]}
    best = next(r for r in results if r["best"])
    assert best["rows"] == len(yt) or best["refit_rows"] == len(yt)
    reference = clone(build_estimator("hist_gradient_boosting", PARAMS)).set_params(
        random_state=3, **best["params"]
    )
    reference.fit(Xt, yt)
    assert np.allclose(_proba(model, Xv), _proba(reference, Xv))


def test_sampled_search_refits_the_chosen_candidate_on_every_train_row(data):
    Xt, yt, Xv, _ = data
    model, results = _search(data, search={"sample_rows": 400})
    assert all(r["rows"] <= 401 for r in results) and len(results) == 8
    best = next(r for r in results if r["best"])
    assert best["refit_rows"] == len(yt) > 400
    reference = build_estimator("hist_gradient_boosting", PARAMS).set_params(random_state=3, **best["params"])
    reference.fit(Xt, yt)
    assert np.allclose(_proba(model, Xv), _proba(reference, Xv))
    # no sampling: no refit record, every candidate on every row
    _, full = _search(data, search={"sample_rows": 10 * len(yt)})
    assert all(r["rows"] == len(yt) for r in full) and not any("refit_rows" in r for r in full)


def test_stratified_sample_keeps_class_shares_and_is_seeded():
    y = np.r_[np.ones(100), np.zeros(900)]
    rows = stratified_sample(y, 200, seed=1)
    assert len(rows) == 200 and y[rows].sum() == 20 and np.all(np.diff(rows) > 0)
    assert np.array_equal(rows, stratified_sample(y, 200, seed=1))
    assert not np.array_equal(rows, stratified_sample(y, 200, seed=2))
    assert np.array_equal(stratified_sample(y, 5000, seed=1), np.arange(1000))


@pytest.mark.parametrize("on", ["validation", "internal"])
def test_early_stopping_records_its_iterations(data, on):
    _, results = _search(data, params={"max_iter": 500, "learning_rate": 0.5}, grid={"max_depth": [3, 6]},
                         search={"early_stopping": on, "n_iter_no_change": 3})  # fmt: skip
    assert all(isinstance(r["n_iter"], int) and 1 <= r["n_iter"] < 500 for r in results)
    _, without = _search(data, params={"max_iter": 40}, grid={"max_depth": [3]})
    assert without[0]["n_iter"] == 40


def test_training_node_merges_fitting_and_model_search_and_records_iterations():
    frame = make_model_input(3000, n_months=18, seed=2)
    params = {
        "data_contract": {"label_column": "label", "date_column": "application_date",
                          "id_columns": ["loan_id", "customer_id"], "label_date_column": "label_date"},
        "windows": {"train_months": 6, "validation_months": 2, "test_months": 2, "oot_months": 1,
                    "label_maturity_months": 6},
    }  # fmt: skip
    data, spec = nodes.validate_model_input(frame, params["data_contract"])
    windows, _ = nodes.compute_training_windows(data, spec, params["windows"], None)
    windowed, _ = nodes.split_by_windows(data, spec, windows)
    options = {"estimator": "hist_gradient_boosting", "preprocessing": {"kind": "native"},
               "params": {"max_iter": 400, "learning_rate": 0.5}, "grid": {"max_depth": [2, 4]},
               "search": {"early_stopping": "validation", "n_iter_no_change": 3}}  # fmt: skip
    prep = nodes.fit_preprocessing("m", windowed, spec, options)
    features = nodes.apply_preprocessing(prep, windowed)
    fitting = {"random_state": 1, "n_threads": 1, "search": {"sample_rows": 500}}
    estimator, record = nodes.train_model("m", features, windowed, spec, options, fitting)
    assert all(c["rows"] <= 501 and c["n_iter"] < 400 for c in record["candidates"])
    best = next(c for c in record["candidates"] if c["best"])
    assert (
        best["refit_rows"] == int((windowed[WINDOW_COLUMN] == "train").sum())
        and best["refit_n_iter"] == estimator.n_iter_
    )
    with pytest.raises(ValueError, match=r"training\.models\.m\.search.*sample_rows"):
        nodes.train_model("m", features, windowed, spec, {**options, "search": {"sample_rows": 5}}, fitting)


@pytest.mark.parametrize(
    ("search", "match"),
    [
        ({"sample_row": 100}, r"Unknown key\(s\) in S: \['sample_row'\]"),
        ({"method": "random"}, r"S\.method must be one of"),
        ({"max_candidates": 0}, r"S\.max_candidates must be null or an integer >= 1"),
        ({"sample_rows": "all"}, r"S\.sample_rows must be null or an integer"),
        ({"min_rows": 10}, r"S\.min_rows"),
        ({"halving_factor": 1}, r"S\.halving_factor must be a number > 1"),
        ({"early_stopping": "test"}, r"S\.early_stopping must be null, 'validation'"),
        ({"n_iter_no_change": 0}, r"S\.n_iter_no_change"),
        ({"validation_fraction": 1.5}, r"S\.validation_fraction must be in \(0, 1\)"),
    ],
)
def test_search_errors_name_the_key(search, match):
    with pytest.raises(ValueError, match=match):
        check_search(search, "S")


def test_early_stopping_on_an_estimator_without_it_and_bad_n_threads_name_the_key(data):
    Xt, yt, Xv, yv = data
    with pytest.raises(
        ValueError, match=r"K\.early_stopping: estimator 'logistic_regression' has no early_stopping"
    ):
        select_hyperparameters(Xt.fillna(0), yt, Xv.fillna(0), yv, estimator="logistic_regression",
                               search={"early_stopping": "validation"}, search_key="K")  # fmt: skip
    with pytest.raises(ValueError, match=r"training\.fitting\.n_threads must be"):
        resolve_n_threads(0)
    assert resolve_n_threads(None) is None and resolve_n_threads(2) == 2 and resolve_n_threads("auto") >= 1


def test_default_search_is_the_full_grid_on_every_row(data):
    _, results = _search(data)
    assert len(results) == 8 and all(r["rows"] == len(data[1]) and r["round"] == 1 for r in results)
    assert pd.Series([r["candidate"] for r in results]).is_unique
