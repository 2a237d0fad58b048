"""The scorecard pipeline: in memory (SequentialRunner) and end to end on a generated world (KedroSession).

model_1's artifacts are fitted here with the training code's own classes (WoE ``CreditPreprocessor`` +
logistic regression) and saved in the training pipeline's format (``data/06_models/model_1/``): the
refinement is tested without depending on a full training run (which needs 23 months of history).
"""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner
from sklearn.linear_model import LogisticRegression

from kycc.datasets.scorecard import ScorecardDraftDataset, ScorecardVersionsDataset
from kycc.modeling.preprocessing import CreditPreprocessor
from kycc.pipelines.scorecard import create_pipeline
from kycc.scorecard.definition import ScorecardDefinition
from kycc.scorecard.points import score_applications
from kycc.scorecard.refinement import RefinementError
from kycc.scorecard.store import ScorecardStore
from tests.scorecard.conftest import scorecard_params, v1_like_rows

GATE_PASSED = {"passed": True, "reasons": []}

#: The expert version activated on a new store (scorecard.initial_version) and refined; v1 is legacy: stored for
#: the record (its age points for over-65s break the fair-lending rule), never activated.
EXPERT = "v1_1"


def fit_model_1(labelled: pd.DataFrame, features: list[str], categorical: list[str]) -> tuple[Any, Any]:
    """WoE preprocessing + logistic regression, as training.models.model_1 configures them."""
    prep = CreditPreprocessor(
        kind="woe",
        features=features,
        categorical=categorical,
        options={"max_bins": 6, "min_bin_share": 0.05, "monotonic": True, "min_iv": 0.02},
    )
    y = labelled["label"].to_numpy()
    X = prep.fit(labelled, y).transform(labelled)
    return prep, LogisticRegression(C=0.1, max_iter=1000).fit(X, y)


def metadata(gate: dict[str, Any] = GATE_PASSED) -> dict[str, Any]:
    return {
        "model": "model_1",
        "registered_model_name": "kycc_model_1",
        "estimator": "logistic_regression",
        "training_date": "2024-01-01",
        "quality_gate": gate,
        "metrics": {"oot": {"roc_auc": 0.75}, "test": {"roc_auc": 0.74}},
        "data_fingerprint": "sha256:test",
    }


# ---------------------------------------------------------------------------------------------------------
# in memory
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world():
    """Applications over 6 months with every feature of the expert version, labels drawn from its score, and
    model_1."""
    params = scorecard_params()
    assert params["initial_version"] == EXPERT
    expert = ScorecardDefinition.from_dict(params["versions"][EXPERT], version=EXPERT)
    frames = []
    for i, month in enumerate(pd.date_range("2024-01-01", periods=6, freq="MS")):
        rows = v1_like_rows(expert, n=300, seed=10 + i).assign(application_date=month)
        rows["loan_id"] = rows["loan_id"] + f"_{i}"
        frames.append(rows)
    features = pd.concat(frames, ignore_index=True)
    rng = np.random.default_rng(5)
    score = score_applications(features, expert)["score"].to_numpy()
    pd_true = 1 / (1 + np.exp(-(9.0 - 0.0165 * score)))
    labels = pd.DataFrame(
        {"loan_id": features["loan_id"], "label": (rng.random(len(score)) < pd_true).astype(int)}
    )
    labelled = features.merge(labels, on="loan_id")
    cats = [f.name for f in expert.features if f.kind == "categorical" and f.name != "kyc_verified"]
    prep, model = fit_model_1(labelled, expert.feature_names, cats)
    return params, features, labels, prep, model


def _catalog(tmp_path: Path, world, refinement: dict | None = None, gate=GATE_PASSED) -> DataCatalog:
    params, features, labels, prep, model = world
    url = f"sqlite:///{tmp_path / 'scorecard.db'}"
    catalog = DataCatalog()
    catalog["feat_gold_features"] = features
    catalog["feat_gold_labels"] = labels
    catalog["model_1.mdl_model"] = model
    catalog["model_1.mdl_preprocessing"] = prep
    catalog["model_1.mdl_metadata"] = metadata(gate)
    catalog["mdl_scorecard_versions"] = ScorecardVersionsDataset(url=url)
    catalog["mdl_scorecard_draft"] = ScorecardDraftDataset(url=url)
    p = copy.deepcopy(params)
    p["refinement"].update(refinement or {})
    for key in ("versions", "initial_version", "refinement", "reference", "calibration", "checks"):
        catalog[f"params:scorecard.{key}"] = p[key]
    return catalog


def test_pipeline_creates_a_calibrated_draft_its_comparison_and_report(tmp_path, world):
    catalog = _catalog(tmp_path, world, {"author": "Carol Modeller"})
    outputs = SequentialRunner().run(create_pipeline(), catalog)

    report = outputs["rpt_scorecard_comparison"].load()
    assert set(report) == {"v1_1_vs_ml_v2.html", "v1_1_vs_ml_v2.md"}
    assert "# Scorecard comparison v1_1 → ml_v2" in report["v1_1_vs_ml_v2.md"]

    with ScorecardStore(f"sqlite:///{tmp_path / 'scorecard.db'}") as store:
        draft = store.get("ml_v2")
        assert (
            draft.status == "draft" and draft.base_version == EXPERT and draft.created_by == "Carol Modeller"
        )
        assert store.active().version == EXPERT  # the draft is never active automatically
        legacy = store.get("v1")
        assert (
            legacy.status == "draft"  # stored, never activated
            and legacy.activated_at is None
            and legacy.provenance.get("legacy") is True
            and legacy.calibration is None
        )
        base = store.get(EXPERT)
        ml = {r["feature"]: r["ml_weight"] for r in draft.provenance["ml_weights"]}
        assert sum(ml.values()) == pytest.approx(1.0)
        for f in base.definition.feature_names:
            assert draft.definition.weights[f] == pytest.approx(
                0.5 * base.definition.weights[f] + 0.5 * ml[f]
            )
        # the draft keeps the base's bins and points: the fair-lending age points (over-65s: 90, not v1's 70)
        assert draft.definition.feature("age").points == base.definition.feature("age").points
        assert draft.definition.feature("age").points[-1] == 90
        assert draft.calibration["slope"] < 0 and base.calibration["slope"] < 0  # both versions calibrated
        assert draft.provenance["model"]["oot_roc_auc"] == 0.75 and draft.provenance["blend_factor"] == 0.5
        assert store.latest_comparison("v1", "ml_v2") is None  # compared with its base only
        comparison = store.latest_comparison(EXPERT, "ml_v2")
        assert comparison["reference"]["label"] == "2024-06" and comparison["reference"]["rows"] == 300
        assert [(e.action, e.version) for e in store.history()] == [
            ("create", "v1"),  # legacy, from configuration
            ("create", EXPERT),  # from configuration
            ("activate", EXPERT),  # bootstrap: scorecard.initial_version
            ("create", "ml_v2"),
            ("calibrate", "ml_v2"),
            ("calibrate", EXPERT),  # the base had none
            ("compare", "ml_v2"),  # v1_1 → ml_v2
        ]
        created = {e.version: e.reason for e in store.history() if e.action == "create"}
        assert created[EXPERT].startswith("fair lending: v1 gave applicants over 65 fewer age points")
        assert "legacy" in created["v1"]
    scores = outputs["out_scorecard_reference_scores"].load()
    assert len(scores) == 300 and {"base_score", "new_score", "base_band", "new_band", "new_pd"} <= set(
        scores
    )
    assert set(scores["base_version"]) == {EXPERT} and set(scores["new_version"]) == {"ml_v2"}


def test_blend_factor_0_gives_a_draft_with_the_base_weights_that_passes_every_check(tmp_path, world):
    catalog = _catalog(tmp_path, world, {"blend_factor": 0.0})
    SequentialRunner().run(create_pipeline(), catalog)
    with ScorecardStore(f"sqlite:///{tmp_path / 'scorecard.db'}") as store:
        assert store.get("ml_v2").definition.weights == store.get(EXPERT).definition.weights
        comparison = store.latest_comparison(EXPERT, "ml_v2")
        assert comparison["passed"] and comparison["scores"]["pearson"] == pytest.approx(1.0)
        # a second run refines the active version again: ml_v3
    SequentialRunner().run(create_pipeline(), _catalog(tmp_path, world, {"blend_factor": 1.0}))
    with ScorecardStore(f"sqlite:///{tmp_path / 'scorecard.db'}") as store:
        assert [r.version for r in store.list_versions()] == ["v1", EXPERT, "ml_v2", "ml_v3"]
        assert store.get("ml_v3").base_version == EXPERT and store.active().version == EXPERT


def test_a_model_that_failed_its_quality_gates_stops_the_refinement(tmp_path, world):
    catalog = _catalog(tmp_path, world, gate={"passed": False, "reasons": ["oot: ROC-AUC 0.52 < 0.6"]})
    with pytest.raises(RefinementError, match="failed its quality gates"):
        SequentialRunner().run(create_pipeline(), catalog)
    with ScorecardStore(f"sqlite:///{tmp_path / 'scorecard.db'}") as store:
        # the configured versions were stored before the refinement stopped; no draft half-written
        assert [r.version for r in store.list_versions()] == ["v1", EXPERT]
        assert store.active().version == EXPERT


# ---------------------------------------------------------------------------------------------------------
# end to end: generated world → label_store, feature_store → model_1 artifacts → kedro run --pipelines scorecard
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_scorecard_pipeline_on_a_generated_world(tmp_path, monkeypatch):
    from kycc.cli.main import main
    from kycc.synthetic import generate
    from tests.kedro_run import gold, run_kedro

    monkeypatch.chdir(tmp_path)  # MLflow (kedro-mlflow tracks the run) writes ./mlruns here
    data = tmp_path / "data"
    generate(data / "01_raw", n_customers=300, start="2023-01-01", end="2024-01-01", seed=11, json_months=0)
    run_kedro(data, ["label_store", "feature_store"])

    # model_1 fitted on the gold tables and saved as the training pipeline saves it
    features, labels = gold(data, "gold_features"), gold(data, "gold_labels")
    labelled = features.merge(labels[["loan_id", "label"]], on="loan_id")
    skip = {"loan_id", "customer_id", "application_date", "snapshot_date"}
    names = [c for c in features.columns if c not in skip and not c.endswith("_as_of")]
    cats = [c for c in names if features[c].dtype == object or pd.api.types.is_string_dtype(features[c])]
    prep, model = fit_model_1(labelled, names, cats)
    folder = data / "06_models" / "model_1"
    folder.mkdir(parents=True)
    (folder / "model.pkl").write_bytes(pickle.dumps(model))
    (folder / "preprocessing.pkl").write_bytes(pickle.dumps(prep))
    (folder / "metadata.json").write_text(json.dumps(metadata()), encoding="utf-8")

    try:
        run_kedro(data, ["scorecard"])
    finally:
        while mlflow.active_run():  # kedro-mlflow leaves its run open after a session
            mlflow.end_run()

    with ScorecardStore(f"sqlite:///{data / '06_models' / 'scorecard' / 'scorecard.db'}") as store:
        assert store.active().version == EXPERT
        draft = store.get("ml_v2")
        assert draft.status == "draft" and draft.base_version == EXPERT and draft.calibration is not None
        comparison = store.latest_comparison(EXPERT, "ml_v2")
        assert comparison["reference"]["label"] == "2024-01" and comparison["reference"]["rows"] > 0
    reports = data / "08_reporting" / "scorecard"
    assert sorted(p.name for p in reports.iterdir()) == ["v1_1_vs_ml_v2.html", "v1_1_vs_ml_v2.md"]
    assert (data / "07_model_output" / "scorecard" / "reference_scores.parquet").is_file()
    assert (data / "06_models" / "scorecard" / "ml_weights.json").is_file()

    # the CLI finds the same store through the catalog (KYCC_DATA_ROOT)
    monkeypatch.setenv("KYCC_DATA_ROOT", str(data))
    listed = CliRunner().invoke(main, ["scorecard", "list"], catch_exceptions=False)
    assert listed.exit_code == 0 and "ml_v2" in listed.output and "* v1_1" in listed.output
