"""Registry and champion logic against a real sqlite MLflow registry in a temporary folder."""

from __future__ import annotations

import math

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

from kycc.modeling.compare import PromotionSettings
from kycc.registry.write import RegistrySettings, register_candidate

OWN_OOT = PromotionSettings(method="own_oot")  # the former rule, kept for comparison

NAME = "kycc_test_model"


@pytest.fixture(scope="module")
def _store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("registry-test", artifact_location=str(folder / "artifacts"))
    mlflow.set_tracking_uri(previous)
    return uri, experiment


@pytest.fixture
def tracking(_store):
    """Point MLflow at this module's registry for each test: other tests in the same worker move it."""
    uri, experiment = _store
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    yield experiment
    mlflow.set_tracking_uri(previous)


def _card(value: float, passed: bool = True) -> dict:
    return {
        "model": "model_1",
        "registered_model_name": NAME,
        "logged_model_name": "model_1",
        "gate": {"passed": passed, "reasons": [] if passed else ["oot: ROC-AUC 0.550 < 0.6"]},
        "metrics": {"oot": {"roc_auc": value}},
        "training_date": "2024-12-01",
        "data_fingerprint": "sha256:x",
    }


def _train_and_register(experiment: str, value: float, passed: bool = True, **settings) -> dict:
    X = np.random.default_rng(0).normal(size=(50, 2))
    model = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    with mlflow.start_run(experiment_id=experiment):
        mlflow.sklearn.log_model(model, name="model_1", pip_requirements=["scikit-learn"])
        return register_candidate(_card(value, passed), RegistrySettings(**settings), OWN_OOT)


def _aliases() -> dict:
    return MlflowClient().get_registered_model(NAME).aliases


def test_own_oot_rule_moves_the_champion_on_recorded_values(tracking):
    first = _train_and_register(tracking, 0.70)
    assert first["status"] == "registered" and first["version"] == 1 and first["champion"]
    assert _aliases() == {"champion": 1}

    worse = _train_and_register(tracking, 0.65)
    assert worse["status"] == "registered" and worse["version"] == 2 and not worse["champion"]
    assert worse["champion_version"] == 1 and worse["champion_value"] == pytest.approx(0.70)
    assert "does not beat champion v1" in worse["reason"]
    assert _aliases() == {"champion": 1}

    better = _train_and_register(tracking, 0.80)
    assert better["champion"] and better["previous_champion_version"] == 1
    assert _aliases() == {"champion": 3, "previous_champion": 1}
    version = MlflowClient().get_model_version(NAME, "3")
    assert version.tags["kycc.champion_metric_value"] == repr(0.80)
    assert mlflow.sklearn.load_model(f"models:/{NAME}@previous_champion") is not None

    failing = _train_and_register(tracking, 0.90, passed=False)
    assert failing["status"] == "rejected" and failing["version"] is None
    assert "ROC-AUC 0.550 < 0.6" in failing["reason"]
    run = MlflowClient().get_run(failing["run_id"])
    assert run.data.tags["model_1.quality_gate"].startswith("failed: oot: ROC-AUC")

    manual = _train_and_register(tracking, 0.95, auto_promote_champion=False)
    assert manual["status"] == "registered" and not manual["champion"]
    assert "automatic promotion is off" in manual["reason"]
    assert _aliases() == {"champion": 3, "previous_champion": 1}


def test_min_improvement_and_undefined_metric(tracking):
    # a champion at 0.80 (registered here, or already there from the test above) — 0.805 is not enough with
    # min_improvement 0.01
    _train_and_register(tracking, 0.80)
    result = _train_and_register(tracking, 0.805, min_improvement=0.01)
    assert not result["champion"]
    result = _train_and_register(tracking, math.nan)
    assert not result["champion"] and "undefined" in result["reason"]


def test_without_an_active_run_nothing_is_registered(tracking):
    result = register_candidate(_card(0.99), RegistrySettings())
    assert result["status"] == "skipped" and "tracking is off" in result["reason"]


def test_settings_validation():
    with pytest.raises(ValueError, match="Unknown keys"):
        RegistrySettings.from_params({"promote": True})
    with pytest.raises(ValueError, match="<window>.<metric>"):
        RegistrySettings.from_params({"champion_metric": "roc_auc"})
    with pytest.raises(ValueError, match="Unknown keys in training.promotion"):
        PromotionSettings.from_params({"test": "delong"})
    with pytest.raises(ValueError, match="training.promotion.method must be one of"):
        PromotionSettings.from_params({"method": "bootstrap"})
