"""Batch inference decides with the version's policy, logs every decision in the scorecard store (reproduced bit
for bit from the log), and the fair_lending pipeline reports adverse impact and override rates per month."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from kedro.runner import SequentialRunner

from kycc.datasets.scorecard import ScorecardDecisionLogDataset, ScorecardVersionsDataset
from kycc.inference.history import MonthRecord
from kycc.pipelines.fair_lending import create_pipeline as fair_lending_pipeline
from kycc.pipelines.inference import create_pipeline as inference_pipeline
from kycc.scorecard.decision_log import reproduce
from kycc.scorecard.store import ScorecardStore
from tests.inference.cards import SCORECARD, make_world, memory_catalog, registered

POLICY = {
    "cutoffs": {"approve": 700, "refer": 550},
    "rules": [{"id": "no_rate", "feature": "interest_rate", "missing": True, "decision": "refer", "code": "P1",
               "text": "Interest rate of the loan unknown"}],
    "reasons": {"catalogue": {"interest_rate": {"code": "R1", "text": "Interest rate is high"},
                              "credit_mix": {"code": "R2", "text": "Mix of credit is weak"}}},
}  # fmt: skip
CALIBRATION = {"months": 12, "min_samples": 50, "min_defaults": 5, "refresh_every_months": 3,
               "prior": {"score": 600, "pd": 0.1, "pdo": 60}}  # fmt: skip
FAIRNESS = {"characteristics": {"age": {"edges": [24, 39, 61]}, "occupation": {"categories": True}},
            "min_group_size": 30, "threshold": 0.8}  # fmt: skip


@pytest.fixture(scope="module")
def decided(tmp_path_factory):
    world = make_world(seed=6)
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'scorecard.db'}"
    spec = {k: v for k, v in SCORECARD.items() if k != "version"} | {"policy": POLICY}
    versions = ScorecardVersionsDataset(url=url)
    versions.save({"versions": {"t2": spec}, "initial_version": "t2"})
    pipeline = inference_pipeline(models=["model_1"])
    catalog = memory_catalog(
        pipeline,
        {
            "feat_gold_features": world.features_table(),
            "feat_gold_labels": world.labels_table(),
            "mdl_scorecard_versions": versions.load(),
            "model_1.mdl_registered_model": registered(world),
            "params:inference": {"start_month": "2024-05-01", "end_month": "2024-06-01"},
            "params:scorecard.calibration": CALIBRATION,
            "inf_decision_record": MonthRecord(),
            "model_1.inf_prediction_record": MonthRecord(),
        },
    )
    catalog["mdl_scorecard_decision_log"] = ScorecardDecisionLogDataset(url=url)
    SequentialRunner().run(pipeline, catalog)
    return world, url, catalog.load("out_scorecard_decisions")


def test_every_batch_decision_carries_decision_rule_and_reasons_and_is_logged(decided):
    _, url, decisions = decided
    assert len(decisions) > 300
    assert decisions["decision"].isin(["approve", "refer", "decline"]).all()
    assert (
        decisions["decided_by"]
        .str.match(r"^(rule:no_rate|cutoff:(approve>=700|refer>=550|decline<550))$")
        .all()
    )
    adverse = decisions.loc[decisions["decision"] != "approve"]
    assert len(adverse) and all(len(json.loads(r)) >= 1 for r in adverse["reasons"])
    with ScorecardStore(url) as store:
        log = store.decisions_frame()
        assert len(log) == len(decisions) and (log["channel"] == "batch").all()
        assert set(log["loan_id"]) == set(decisions["loan_id"])
        assert json.loads(log["model_versions"].iloc[0]) == {"model_1": 1}
        merged = log.merge(decisions, on="loan_id", suffixes=("_log", ""))
        assert (merged["decision_log"] == merged["decision"]).all() and (
            merged["score_log"] == merged["score"]
        ).all()
        assert (merged["pd_log"] == merged["pd"].map(lambda p: repr(float(p)))).all()  # the PD bit for bit
        for decision_id in (1, len(log) // 2, len(log)):
            result = reproduce(store, decision_id)
            assert result["identical"], result["differences"]
            assert result["logged"]["calibration"]["method"] in {"prior", "logistic"}


def test_fair_lending_reports_adverse_impact_and_override_rates_per_month(decided):
    world, url, decisions = decided
    with ScorecardStore(url) as store:
        declined = int(store.decisions_frame().query("decision == 'decline'")["id"].iloc[0])
        store.record_override(declined, "approve", "Jane Doe", "collateral offered")
    pipeline = fair_lending_pipeline()
    catalog = memory_catalog(
        pipeline,
        {
            "feat_gold_features": world.features_table(),
            "out_scorecard_decisions": decisions,
            "params:scorecard.fairness": FAIRNESS,
        },
    )
    catalog["mdl_scorecard_decision_log"] = ScorecardDecisionLogDataset(url=url)
    SequentialRunner().run(pipeline, catalog)
    report = catalog.load("rpt_adverse_impact")
    assert set(report["month"]) == {"2024-05-01", "2024-06-01"}
    assert set(report["characteristic"]) == {"age", "occupation"}
    for (_, _), part in report.groupby(["month", "characteristic"]):
        assert part["n"].sum() == (decisions["snapshot_date"] == pd.Timestamp(part["month"].iloc[0])).sum()
        big = part.loc[~part["small_group"]]
        assert (big["impact_ratio"] <= 1 + 1e-12).all() and (big["impact_ratio"].max() == 1.0)
        assert (
            (part["rate_low"] <= part["approval_rate"]) & (part["approval_rate"] <= part["rate_high"])
        ).all()
        assert (part.loc[part["small_group"], "flagged"] == False).all()  # noqa: E712
    rates = catalog.load("rpt_override_rates")
    assert rates["decisions"].sum() == len(decisions) and rates["overrides"].sum() == 1
    assert rates["low_side"].sum() == 1
