"""The world is learnable but not trivial, labels follow the label store's semantics, and late months drift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from synth_features import FEATURES, application_features, labels, psi, read_csv


@pytest.fixture(scope="module")
def applications(clean_world) -> pd.DataFrame:
    return application_features(clean_world.path)


def _logit() -> object:
    return make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=2000))


def _split(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Temporal split: the first 70 % of applications (by date) train, the rest test."""
    x = frame[FEATURES].to_numpy(float)
    y = frame["label"].to_numpy()
    cut = int(len(frame) * 0.7)
    return x[:cut], y[:cut], x[cut:], y[cut:]


def test_default_rate_matches_label_semantics(clean_world, applications):
    label = labels(clean_world.path)
    truth = clean_world.manifest["truth"]
    assert len(label) == truth["labelled_loans"] == clean_world.summary.n_labelled
    assert label["label"].mean() == pytest.approx(truth["default_rate"], abs=1e-6)
    assert 0.10 <= truth["default_rate"] <= 0.25
    assert len(applications) == len(label) > 2500


def test_latent_z_drives_defaults(clean_world, applications):
    truth = read_csv(clean_world.path / "_truth" / "latent.csv").set_index("Customer_ID")
    z = applications["Customer_ID"].map(truth["z"].astype(float))
    assert 0.75 < roc_auc_score(applications["label"], -z) < 0.92


def test_good_model_auc_in_realistic_range(applications):
    x_train, y_train, x_test, y_test = _split(applications)
    logit = _logit().fit(x_train, y_train)
    auc_logit = roc_auc_score(y_test, logit.predict_proba(x_test)[:, 1])
    boost = HistGradientBoostingClassifier(
        max_iter=150, learning_rate=0.05, max_leaf_nodes=15, random_state=0
    )
    auc_boost = roc_auc_score(y_test, boost.fit(x_train, y_train).predict_proba(x_test)[:, 1])
    assert 0.68 <= auc_logit <= 0.88
    assert 0.65 <= auc_boost <= 0.88


def test_shuffled_labels_give_chance_auc(applications):
    x_train, y_train, x_test, y_test = _split(applications)
    rng = np.random.default_rng(0)
    aucs = []
    for _ in range(5):
        model = _logit().fit(x_train, rng.permutation(y_train))
        aucs.append(roc_auc_score(rng.permutation(y_test), model.predict_proba(x_test)[:, 1]))
    assert abs(np.mean(aucs) - 0.5) < 0.05


def test_noise_features_are_noise(applications):
    """fe_1 is pure noise, fe_2 loads on z: only the latter separates defaults."""
    y = applications["label"]
    assert abs(roc_auc_score(y, applications["fe_1"].fillna(0)) - 0.5) < 0.05
    assert abs(roc_auc_score(y, applications["fe_2"].fillna(0)) - 0.5) > 0.06


def test_drift_late_vs_early_and_stable_early(clean_world):
    """PSI of scores/features of new applicants: early vs early < 0.1, early vs late (drift months) > 0.1."""
    import synth_features

    path = clean_world.path
    lms = read_csv(path / "lms_loan_daily.csv")
    all_loans = pd.DataFrame({"loan_id": lms["loan_id"].unique(), "label": 0})
    original = synth_features.labels
    synth_features.labels = lambda raw: all_loans  # every application, matured or not
    try:
        apps = application_features(path)
    finally:
        synth_features.labels = original
    labelled = application_features(path)
    months = clean_world.manifest["months"]
    drift_start = clean_world.manifest["drift"]["start_month"]
    assert drift_start == "2024-05-01" and clean_world.manifest["drift"]["months"] == months[16:]
    early = labelled[labelled["app_date"] < months[9]]
    model = _logit().fit(early[FEATURES].to_numpy(float), early["label"])
    apps["score"] = model.predict_proba(apps[FEATURES].to_numpy(float))[:, 1]
    a = apps[apps["app_date"] < months[6]]
    b = apps[(apps["app_date"] >= months[6]) & (apps["app_date"] < months[12])]
    late = apps[apps["app_date"] >= months[18]]
    assert min(len(a), len(b), len(late)) > 500
    for column in ("score", "Credit_Utilization_Ratio", "Num_Credit_Inquiries"):
        assert psi(a[column].dropna(), b[column].dropna()) < 0.1, column
        assert psi(a[column].dropna(), late[column].dropna()) > 0.1, column
    # drifted parties perform worse in the drift months
    truth = read_csv(path / "_truth" / "latent.csv").set_index("Customer_ID")
    drifted = labelled["Customer_ID"].map(truth["drifted"]) == "1"
    late_labels = labelled[labelled["app_date"] >= months[12]]
    late_drifted = drifted.loc[late_labels.index]
    assert (
        late_labels.loc[late_drifted, "label"].mean() > late_labels.loc[~late_drifted, "label"].mean() + 0.05
    )
