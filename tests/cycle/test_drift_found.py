"""Monitoring finds the drift the generator planted: PSI above 0.1 in the drifted cohorts, below before."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from kycc.datasets.tables import MonthPartitionedPandasDataset

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cycle")]

# The generator's feature shift in drift months: credit utilisation +3 points, one more credit inquiry.
PLANTED_FEATURES = ("credit_utilization_ratio", "num_credit_inquiries")


def _split(root, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    manifest = json.loads((root / "01_raw" / "_generation_manifest.json").read_text())
    drift_start = pd.Timestamp(manifest["drift"]["start_month"])
    cohort = pd.to_datetime(frame["cohort_month"])
    stable, drifted = frame[cohort < drift_start], frame[cohort >= drift_start]
    assert len(stable) >= 2 and len(drifted) >= 3, "the monitored cohorts must straddle the drift start"
    return stable, drifted


def test_score_psi_separates_the_drifted_cohorts(catch_up):
    metrics = MonthPartitionedPandasDataset(
        str(catch_up.root / "07_model_output/monitoring/model_1/metrics")
    ).load()
    stable, drifted = _split(catch_up.root, metrics)
    assert (stable["psi_score"] < 0.1).all(), stable[["cohort_month", "psi_score"]]
    assert (drifted["psi_score"] > 0.1).all(), drifted[["cohort_month", "psi_score"]]
    assert (drifted["pd_mean"] > stable["pd_mean"].max()).all()  # the drifted cohorts are riskier


@pytest.mark.parametrize("model", ["model_1", "model_2"])
def test_feature_psi_finds_the_planted_feature_shift(catch_up, model):
    psi = MonthPartitionedPandasDataset(
        str(catch_up.root / f"07_model_output/monitoring/{model}/feature_psi")
    ).load()
    for feature in PLANTED_FEATURES:
        stable, drifted = _split(catch_up.root, psi[psi["feature"] == feature])
        assert (stable["psi"] < 0.1).all(), (feature, stable[["cohort_month", "psi"]])
        assert (drifted["psi"] > 0.1).all(), (feature, drifted[["cohort_month", "psi"]])
