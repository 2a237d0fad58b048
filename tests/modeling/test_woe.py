"""WoE binning: bins, monotonicity, WoE/IV values, missing and unseen values, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kycc.modeling.woe import WoEBinner


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 4000
    x = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-2 + 1.2 * x)))).astype(int)  # higher x = riskier
    frame = pd.DataFrame(
        {
            "risk": x,
            "noise": rng.normal(size=n),
            "segment": np.where(x > 0.5, "high", np.where(x > -0.5, "mid", "low")),
        }
    )
    frame.loc[rng.random(n) < 0.05, "risk"] = np.nan
    return frame, y


def test_monotonic_bins_and_woe_direction(data):
    X, y = data
    binner = WoEBinner(max_bins=6, min_bin_share=0.05).fit(X, y)
    table = binner.binning_table("risk")
    bins = table[table["bin"] != "__missing__"]
    assert 2 <= len(bins) <= 6
    assert bins["default_rate"].is_monotonic_increasing  # risk rises across bins
    assert bins["woe"].is_monotonic_decreasing  # WoE = ln(good share / bad share): riskier = lower
    assert (bins["share"] >= 0.05).all()  # the missing bin is kept whatever its size
    assert "__missing__" in set(table["bin"])


def test_information_value_ranks_features(data):
    X, y = data
    binner = WoEBinner().fit(X, y)
    assert binner.iv_["risk"] > 0.3
    assert binner.iv_["noise"] < 0.02
    assert binner.iv_["segment"] > 0.1


def test_transform_matches_the_bins(data):
    X, y = data
    binner = WoEBinner().fit(X, y)
    out = binner.transform(X)
    assert list(out.columns) == ["risk", "noise", "segment"] and out.index.equals(X.index)
    assert out.notna().all().all()
    table = binner.binning_table("segment").set_index("bin")
    assert out.loc[X["segment"] == "high", "segment"].unique().tolist() == [table.loc["high", "woe"]]
    missing_woe = binner.binning_table("risk").set_index("bin").loc["__missing__", "woe"]
    assert np.allclose(out.loc[X["risk"].isna(), "risk"], missing_woe)


def test_unseen_category_and_unseen_missing_are_neutral(data):
    X, y = data
    binner = WoEBinner().fit(X.assign(noise=X["noise"].fillna(0)), y)
    new = pd.DataFrame({"risk": [0.0], "noise": [np.nan], "segment": ["brand-new"]})
    out = binner.transform(new)
    assert out.loc[0, "segment"] == 0.0 and out.loc[0, "noise"] == 0.0


def test_rare_categories_are_merged():
    rng = np.random.default_rng(1)
    cats = np.array(["a"] * 500 + ["b"] * 480 + ["rare1"] * 10 + ["rare2"] * 10)
    y = (rng.random(len(cats)) < np.where(cats == "a", 0.1, 0.3)).astype(int)
    binner = WoEBinner(min_bin_share=0.05).fit(pd.DataFrame({"c": cats}), y)
    table = binner.binning_table("c")
    assert len(table) <= 2
    assert all(share >= 0.05 for share in table["share"])


@pytest.mark.parametrize(
    ("kwargs", "X", "y", "error", "message"),
    [
        ({}, pd.DataFrame({"a": [1, 2, 3]}), [0, 0, 0], ValueError, "single class"),
        ({}, pd.DataFrame({"a": [1, 2, 3]}), [0, 1], ValueError, "rows but y has"),
        ({}, pd.DataFrame({"a": [1, 2, 3]}), [0, 1, 2], ValueError, "binary 0/1"),
        ({}, np.zeros((3, 1)), [0, 1, 0], TypeError, "pandas DataFrame"),
        ({"max_bins": 1}, pd.DataFrame({"a": [1, 2, 3]}), [0, 1, 0], ValueError, "max_bins"),
        ({"min_bin_share": 0.7}, pd.DataFrame({"a": [1, 2, 3]}), [0, 1, 0], ValueError, "min_bin_share"),
    ],
)
def test_bad_input(kwargs, X, y, error, message):
    with pytest.raises(error, match=message):
        WoEBinner(**kwargs).fit(X, y)


def test_transform_needs_the_fitted_columns(data):
    X, y = data
    binner = WoEBinner().fit(X, y)
    with pytest.raises(ValueError, match="missing for WoE transform: \\['segment'\\]"):
        binner.transform(X.drop(columns="segment"))
