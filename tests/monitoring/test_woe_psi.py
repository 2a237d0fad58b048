"""Scoring-time stability of a WoE model: per-feature PSI on the model's own WoE bins (issue #13, item 1)."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from kycc.modeling.model import CreditRiskModel
from kycc.modeling.preprocessing import CreditPreprocessor
from kycc.monitoring.psi import psi_from_counts
from kycc.monitoring.stability import binning_counts, woe_binnings
from kycc.pipelines.stability.nodes import model_stability
from kycc.registry.read import ModelCard, RegisteredModel
from kycc.temporal import windows_from_training_date
from tests.inference.cards import CATEGORICAL, FEATURES, TRAINING_DATE, make_world

LEVELS = {"moderate": 0.1, "major": 0.25, "alpha": 0.01, "missing_moderate": 0.05, "missing_major": 0.15}
SCORED = ["2024-05-01", "2024-06-01"]  # 2024-06: interest_rate raised by 60 % (a shift in one feature)


@pytest.fixture(scope="module")
def woe_world():
    world = make_world(seed=3)
    data = world.data.copy()
    months = data["application_date"].dt.to_period("M").dt.to_timestamp()
    shifted = months == pd.Timestamp(SCORED[1])
    data.loc[shifted, "interest_rate"] = data.loc[shifted, "interest_rate"] * 1.6
    train = data.loc[windows_from_training_date(TRAINING_DATE).assign(data["application_date"]) == "train"]
    prep = CreditPreprocessor(kind="woe", features=FEATURES, categorical=CATEGORICAL).fit(
        train, train["label"]
    )
    estimator = LogisticRegression(max_iter=500).fit(prep.transform(train), train["label"])
    bundle = CreditRiskModel(prep, estimator, 0.2, "model_1")
    card = ModelCard("model_1", "kycc_model_1", 1, world.card.metadata, world.card.reference, bundle, "test")
    features = data.drop(columns=["label", "label_date"]).assign(snapshot_date=data["application_date"])
    scored = data.loc[months.isin(pd.to_datetime(SCORED))]
    predictions = pd.DataFrame(
        {
            "snapshot_date": scored["application_date"].dt.to_period("M").dt.to_timestamp().to_numpy(),
            "loan_id": scored["loan_id"].to_numpy(),
            "probability": bundle.predict_proba(scored)[:, 1],
            "model_version": 1,
        }
    )
    table = model_stability(
        "model_1", SCORED, predictions, ibis.memtable(features),
        RegisteredModel.in_memory("model_1", [card], champion=1), {}, LEVELS,
    )  # fmt: skip
    return data, months, bundle, table


def test_every_woe_feature_has_a_psi_on_the_model_bins_with_its_noise(woe_world):
    data, months, bundle, table = woe_world
    binnings = woe_binnings(bundle)
    assert set(binnings) == set(bundle.preprocessor.feature_names_out_) and binnings
    woe = table[table["family"] == "woe_psi"]
    assert set(woe["feature"]) == set(binnings)
    assert len(woe) == len(binnings) * len(SCORED)
    # the reference is the version's pooled test + OOT windows (2024-03..2024-05)
    reference = data.loc[months.isin(pd.to_datetime(["2024-03-01", "2024-04-01", "2024-05-01"]))]
    for _, row in woe[woe["snapshot_date"] == pd.Timestamp(SCORED[1])].iterrows():
        binning = binnings[row["feature"]]
        now = data.loc[months == pd.Timestamp(SCORED[1]), row["feature"]]
        ref_counts, now_counts = (
            binning_counts(binning, reference[row["feature"]]),
            binning_counts(binning, now),
        )
        used = (ref_counts + now_counts) > 0
        assert row["value"] == pytest.approx(
            psi_from_counts(ref_counts[used], now_counts[used]).value, abs=1e-12
        )
        assert row["n_ref"] == len(reference) and row["n_now"] == len(now) and row["bins"] == used.sum()
        assert row["floor"] == pytest.approx((row["bins"] - 1) * (1 / row["n_ref"] + 1 / row["n_now"]))
        assert 0 <= row["p_value"] <= 1 and row["verdict"] in {"stable", "moderate", "major"}
    assert "test + OOT" in woe["reference"].iloc[0]


def test_the_shifted_feature_is_flagged_on_its_woe_bins_and_the_others_are_not(woe_world):
    _, _, bundle, table = woe_world
    # the world is seeded: the shifted feature is always binned (an assertion, not a skip)
    assert "interest_rate" in woe_binnings(bundle)
    woe = table[table["family"] == "woe_psi"].set_index(["snapshot_date", "feature"])
    shifted = woe.loc[(pd.Timestamp(SCORED[1]), "interest_rate")]
    assert shifted["verdict"] in {"moderate", "major"} and shifted["p_value"] < 1e-6
    assert woe.loc[(pd.Timestamp(SCORED[0]), "interest_rate"), "verdict"] == "stable"
    others = woe.drop(index="interest_rate", level="feature")
    assert (others["verdict"] == "stable").mean() >= 0.9


def test_a_model_without_woe_bins_has_no_woe_rows():
    assert woe_binnings(make_world(seed=1).card.bundle) == {}


def test_missing_and_unseen_categories_have_their_own_slots(woe_world):
    _, _, bundle, _ = woe_world
    binning = woe_binnings(bundle).get("credit_mix") or next(
        b for b in woe_binnings(bundle).values() if b.kind == "categorical"
    )
    known = next(iter(binning.categories))
    counts = binning_counts(binning, pd.Series([known, None, "never seen", known], dtype="object"))
    k = len(binning.woe)
    assert len(counts) == k + 2 and counts[binning.categories[known]] == 2
    assert counts[k] == 1 and counts[k + 1] == 1  # missing, unseen
