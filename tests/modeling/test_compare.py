"""Paired DeLong comparison and same-cohort champion/challenger against a real sqlite MLflow registry."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from kycc.modeling.compare import PromotionSettings, decide_promotion, paired_auc_delong
from kycc.monitoring.backtest import auc_delong
from kycc.registry.write import RegistrySettings, register_candidate

NAME = "kycc_same_cohort_test"


def _scores(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels and two correlated risk scores: ``a`` sees the signal better than ``b``."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(2 * signal - 1.5)))).astype(int)
    shared = rng.normal(size=n)
    a = signal + 0.6 * shared + 0.4 * rng.normal(size=n)
    b = signal + 0.6 * shared + 1.2 * rng.normal(size=n)
    return y, a, b


def test_paired_delong_matches_a_paired_bootstrap_and_the_single_model_delong():
    y, a, b = _scores(1500, seed=0)
    c = paired_auc_delong(y, a, b)
    assert c["candidate_auc"] == pytest.approx(auc_delong(y, a)["roc_auc"])
    assert c["champion_auc"] == pytest.approx(auc_delong(y, b)["roc_auc"])
    assert c["difference"] == pytest.approx(c["candidate_auc"] - c["champion_auc"])
    rng = np.random.default_rng(1)
    draws = []
    for _ in range(400):
        i = rng.integers(0, len(y), len(y))
        draws.append(auc_delong(y[i], a[i])["roc_auc"] - auc_delong(y[i], b[i])["roc_auc"])
    assert c["difference_se"] == pytest.approx(np.std(draws, ddof=1), rel=0.2)
    # pairing matters: the correlated scores make the difference far tighter than the two CIs suggest
    unpaired = np.hypot(auc_delong(y, a)["auc_se"], auc_delong(y, b)["auc_se"])
    assert c["difference_se"] < 0.8 * unpaired
    assert c["difference_lower"] > 0 and c["p_value_greater"] < 0.01 and c["n_samples"] == 1500

    same = paired_auc_delong(y, a, a)
    assert same["difference"] == 0 and same["p_value"] == 1.0 and same["p_value_greater"] == 0.5


def test_decide_promotion_rules():
    y, a, b = _scores(1500, seed=0)
    better = paired_auc_delong(y, a, b)
    assert decide_promotion(better, PromotionSettings())[0]
    assert decide_promotion(better, PromotionSettings(method="min_gain", min_gain=0.0))[0]
    assert not decide_promotion(better, PromotionSettings(method="min_gain", min_gain=0.2))[0]
    worse = paired_auc_delong(y, b, a)
    ok, why = decide_promotion(worse, PromotionSettings())
    assert not ok and "p >= alpha 0.05" in why and "n 1500" in why
    few = paired_auc_delong(y[:40], a[:40], b[:40])
    ok, why = decide_promotion(few, PromotionSettings(min_defaults=50))
    assert not ok and "too few rows" in why


# ---------------------------------------------------------------------------------------------------------
# register_candidate: champion/challenger on the candidate's OOT rows
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture
def tracking(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("same-cohort", artifact_location=str(tmp_path / "artifacts"))
    yield experiment
    mlflow.set_tracking_uri(previous)


def _world(n: int, seed: int, month: str) -> pd.DataFrame:
    """Loans of one month: ``strong`` carries most of the signal, ``weak`` a little; a label column."""
    rng = np.random.default_rng(seed)
    strong, weak = rng.normal(size=n), rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(2.0 * strong + 0.5 * weak - 1.5)))).astype(int)
    return pd.DataFrame(
        {"application_date": pd.Timestamp(month), "strong": strong, "weak": weak, "noise": rng.normal(size=n),
         "label": y}
    )  # fmt: skip


def _model(columns: list[str], train: pd.DataFrame):
    """A model that reads raw model-input rows (extra columns ignored), like the kycc bundle."""
    return make_pipeline(
        ColumnTransformer([("x", "passthrough", columns)]), LogisticRegression(max_iter=1000)
    ).fit(train, train["label"])


def _register(experiment, model, recorded_oot_auc: float, oot: pd.DataFrame | None, promotion, windows=None):
    card = {
        "model": "model_1",
        "registered_model_name": NAME,
        "logged_model_name": "model_1",
        "gate": {"passed": True, "reasons": []},
        "metrics": {"oot": {"roc_auc": recorded_oot_auc}},
        "training_date": "2025-06-01",
        "data_fingerprint": "sha256:x",
        "windows": windows or {"train": {"start": "2023-01-01", "end": "2023-12-01"},
                               "validation": {"start": "2024-01-01", "end": "2024-02-01"}},
    }  # fmt: skip
    evaluation = None
    if oot is not None:
        evaluation = {
            "frame": oot,
            "labels": oot["label"].to_numpy(),
            "candidate_pd": model.predict_proba(oot)[:, 1],
            "months": sorted(oot["application_date"].dt.strftime("%Y-%m").unique()),
            "rows": "the candidate's OOT window",
        }
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.sklearn.log_model(model, name="model_1", pip_requirements=["scikit-learn"])
        outcome = register_candidate(card, RegistrySettings(), promotion, evaluation)
    return outcome, run.info.run_id


def test_champion_changes_only_on_same_cohort_evidence(tracking):
    train = _world(3000, 0, "2023-06-01")
    weak_model = _model(["weak", "noise"], train)  # ranks poorly
    strong_model = _model(["strong", "weak"], train)  # ranks well
    paired = PromotionSettings()

    # v1: the weak model becomes champion (no champion yet); its recorded OOT AUC (another, easy month) 0.90
    first, _ = _register(tracking, weak_model, 0.90, None, paired)
    assert first["champion"] and first["reason"] == "no champion yet"

    # v2: the strong model; its own OOT month was hard (recorded 0.65 < 0.90, the old rule keeps v1) but on
    # its OOT rows scored by both it is far better -> promoted
    oot_b = _world(600, 1, "2024-11-01")
    second, run_b = _register(tracking, strong_model, 0.65, oot_b, paired)
    c = second["comparison"]["comparison"]
    assert second["champion"] and second["previous_champion_version"] == 1
    assert c["candidate_auc"] > c["champion_auc"] + 0.1 and c["p_value_greater"] < 0.001
    assert c["n_samples"] == 600 and second["comparison"]["months"] == ["2024-11"]
    assert "same rows (n 600" in second["reason"]
    # the comparison is kept with the decision: run metrics, run tag, artifact, version tags
    client = MlflowClient()
    run = client.get_run(run_b)
    assert run.data.metrics["model_1.promotion.candidate_auc"] == pytest.approx(c["candidate_auc"])
    assert run.data.metrics["model_1.promotion.champion_auc"] == pytest.approx(c["champion_auc"])
    assert run.data.metrics["model_1.promotion.promoted"] == 1.0
    assert run.data.tags["model_1.promotion_decision"] == second["reason"]
    path = mlflow.artifacts.download_artifacts(run_id=run_b, artifact_path="model_1/registry/comparison.json")
    with open(path, encoding="utf-8") as fh:
        stored = json.load(fh)
    assert stored["champion_version"] == 1 and stored["candidate_version"] == 2 and stored["promote"]
    tags = client.get_model_version(NAME, "2").tags
    assert tags["kycc.comparison.champion_version"] == "1" and tags["kycc.comparison.months"] == "2024-11"
    assert float(tags["kycc.comparison.difference"]) == pytest.approx(c["difference"])

    # v3: the weak model again, with a brilliant own OOT AUC (0.95 > 0.65: the old rule would promote it),
    # but on its own OOT rows scored by both it loses -> champion stays v2
    oot_c = _world(600, 2, "2024-12-01")
    third, _ = _register(
        tracking, _model(["weak", "noise"], _world(3000, 5, "2023-07-01")), 0.95, oot_c, paired
    )
    assert not third["champion"] and third["champion_version"] == 2
    assert third["comparison"]["comparison"]["difference"] < 0
    assert client.get_registered_model(NAME).aliases == {"champion": 2, "previous_champion": 1}

    # the same candidate under the former rule would have been promoted on its own month's value
    legacy, _ = _register(tracking, weak_model, 0.95, oot_c, PromotionSettings(method="own_oot"))
    assert legacy["champion"] and "different months" in legacy["reason"]


def test_a_champion_that_learnt_the_evaluation_months_is_not_compared(tracking):
    train = _world(2000, 0, "2024-11-01")
    learnt = {"train": {"start": "2024-06-01", "end": "2024-11-01"},
              "validation": {"start": "2024-12-01", "end": "2024-12-01"}}  # fmt: skip
    _register(tracking, _model(["weak"], train), 0.7, None, PromotionSettings(), windows=learnt)
    outcome, _ = _register(tracking, _model(["strong"], train), 0.8, _world(400, 3, "2024-11-01"),
                           PromotionSettings())  # fmt: skip
    assert not outcome["champion"] and "it learnt from 2024-11 in its train window" in outcome["reason"]
    missing, _ = _register(tracking, _model(["strong"], train), 0.8, None, PromotionSettings())
    assert not missing["champion"] and "no evaluation rows" in missing["reason"]
