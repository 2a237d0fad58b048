"""Quality gates: a real model on shuffled labels fails the AUC gate; too few samples fail the sample gate."""

from __future__ import annotations

import numpy as np
import pytest

from kycc.modeling.estimators import select_hyperparameters
from kycc.modeling.gates import GateConfig, evaluate_gates
from kycc.modeling.metrics import classification_metrics
from kycc.modeling.preprocessing import CreditPreprocessor
from kycc.modeling.sample_data import make_model_input

FEATURES = ["debt_to_income", "num_of_delayed_payment", "interest_rate", "credit_mix", "occupation", "fe_3"]
CATEGORICAL = ["credit_mix", "occupation"]


def _train_and_measure(frame, seed=0):
    """Fit WoE + logistic regression on the first 12 months, measure train/test/oot like the pipeline."""
    months = frame["application_date"].dt.to_period("M")
    first = months.min()
    windows = {
        "train": months < first + 12,
        "test": (months >= first + 12) & (months < first + 15),
        "oot": months == first + 15,
    }
    train = frame[windows["train"]]
    prep = CreditPreprocessor("woe", FEATURES, CATEGORICAL).fit(train, train["label"])
    model, _ = select_hyperparameters(
        prep.transform(train),
        train["label"],
        prep.transform(train),
        train["label"],
        estimator="logistic_regression",
        params={"max_iter": 500},
        random_state=seed,
    )
    return {
        w: classification_metrics(frame.loc[m, "label"], model.predict_proba(prep.transform(frame[m]))[:, 1])
        for w, m in windows.items()
    }


@pytest.fixture(scope="module")
def frame():
    return make_model_input(4800, n_months=16, seed=3)


def test_a_real_model_passes_every_gate(frame):
    result = evaluate_gates(_train_and_measure(frame), GateConfig())
    assert result["passed"], result["reasons"]
    assert {c["gate"] for c in result["checks"]} == {"min_samples", "default_rate", "min_roc_auc"}


def test_shuffled_labels_fail_the_auc_gate(frame):
    shuffled = frame.assign(label=np.random.default_rng(0).permutation(frame["label"].to_numpy()))
    metrics = _train_and_measure(shuffled)
    result = evaluate_gates(metrics, GateConfig())
    assert not result["passed"]
    failed = {(c["gate"], c["window"]) for c in result["checks"] if not c["passed"]}
    assert ("min_roc_auc", "oot") in failed or ("min_roc_auc", "test") in failed
    assert all(gate == "min_roc_auc" for gate, _ in failed)  # samples and default rate are fine
    assert any("ROC-AUC" in r and "< 0.6" in r for r in result["reasons"])


def test_too_few_samples_fail_the_sample_gate(frame):
    small = frame.groupby(frame["application_date"].dt.to_period("M")).head(25)  # 25 loans a month
    result = evaluate_gates(_train_and_measure(small), GateConfig())
    failed = [c for c in result["checks"] if not c["passed"]]
    assert not result["passed"]
    assert {("min_samples", "test"), ("min_samples", "oot")} <= {(c["gate"], c["window"]) for c in failed}
    assert "oot: 25 labelled samples < 100 (training.quality_gates.min_samples)" in result["reasons"]


def test_default_rate_outside_the_range_fails():
    metrics = {
        w: {"n_samples": 1000.0, "default_rate": 0.6, "roc_auc": 0.8} for w in ("train", "test", "oot")
    }
    result = evaluate_gates(metrics, GateConfig())
    assert [c["window"] for c in result["checks"] if c["gate"] == "default_rate" and not c["passed"]] == [
        "train",
        "test",
        "oot",
    ]
    assert "default rate 60.0% outside 5%..50%" in result["reasons"][0]


def test_undefined_auc_fails_with_a_reason():
    metrics = {
        w: {"n_samples": 500.0, "default_rate": 0.1, "roc_auc": float("nan")}
        for w in ("train", "test", "oot")
    }
    result = evaluate_gates(metrics, GateConfig(min_samples=100))
    assert "test: ROC-AUC undefined (a single class)" in result["reasons"]


def test_gate_config_validation():
    with pytest.raises(ValueError, match="Unknown keys"):
        GateConfig.from_params({"min_auc": 0.6})
    with pytest.raises(ValueError, match="min_default_rate <= max_default_rate"):
        GateConfig.from_params({"min_default_rate": 0.6, "max_default_rate": 0.5})
    assert GateConfig.from_params({"windows": ["oot"]}).windows == ("oot",)


def test_a_low_default_portfolio_is_told_which_parameter_to_lower():
    # lending_club-like: 3.2 % bad rate on train, 5.2 % on test and OOT
    metrics = {
        "train": {"n_samples": 5000.0, "default_rate": 0.032, "roc_auc": 0.7},
        "test": {"n_samples": 900.0, "default_rate": 0.052, "roc_auc": 0.7},
        "oot": {"n_samples": 450.0, "default_rate": 0.052, "roc_auc": 0.7},
    }
    result = evaluate_gates(metrics, GateConfig())
    assert result["reasons"] == [
        "train: default rate 3.2% outside 5%..50%: below training.quality_gates.min_default_rate = 0.05; a "
        "low-default portfolio lowers it in conf/local/parameters_training.yml (e.g. min_default_rate: 0.03), "
        "see docs/training.md"
    ]
    # lowered as the message says, the same metrics pass
    assert evaluate_gates(metrics, GateConfig.from_params({"min_default_rate": 0.03}))["passed"]
    high = evaluate_gates({w: {**m, "default_rate": 0.6} for w, m in metrics.items()}, GateConfig())
    assert "above training.quality_gates.max_default_rate = 0.5" in high["reasons"][0]
