"""Bring-your-own defaults and the training refusals: what a refused or gate-failed run leaves behind."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import mlflow
import pytest
from kedro.config import OmegaConfigLoader
from kedro.framework.startup import bootstrap_project
from kedro.io import DataCatalog, DatasetError
from kedro.runner import SequentialRunner

from kycc.modeling.sample_data import make_model_input
from kycc.modeling.tracking import Candidate, MlflowCandidateArtifactDataset
from kycc.pipelines.training import create_pipeline, nodes
from kycc.temporal import InsufficientHistoryError
from tests.kedro_run import env_vars
from tests.pipelines.training.conftest import PROJECT_ROOT, SHARED_PARAMETER_KEYS, training_params


def _byo_contract() -> dict:
    contract = copy.deepcopy(training_params()["data_contract"])
    contract["label_date_column"] = None
    return contract


def test_exactly_17_application_months_without_label_dates_train_at_the_default_date():
    # the 17 months docs/training.md says suffice (12 + 2 + 2 + 1), no label-date column, no training date
    table = make_model_input(3000, start="2023-01-01", n_months=17, seed=4).drop(columns=["label_date"])
    data, spec = nodes.validate_model_input(table, _byo_contract())
    windows, flat = nodes.compute_training_windows(data, spec, training_params()["windows"], None)
    # the latest cohort (2024-05) matured at 2024-11: it is the OOT window of T = 2024-12
    assert windows["training_date"] == "2024-12-01"
    assert (windows["train"]["start"], windows["train"]["end"]) == ("2023-01-01", "2023-12-01")
    assert (windows["oot"]["start"], windows["oot"]["end"]) == ("2024-05-01", "2024-05-01")
    assert flat["window.training_date"] == "2024-12-01"
    # every application month is used: nothing is left out after OOT
    _, profile = nodes.split_by_windows(data, spec, windows)
    assert profile["rows_left_out"] == {"before_train": 0, "after_oot": 0, "between_windows": 0}
    assert profile["rows_used"] == len(data)


# -- a refused or gate-failed run leaves data/06_models and the model input as they were (issue 15) ------------
def _project_catalog(data_root: Path, params: dict) -> DataCatalog:
    """The project's real catalog (conf/base, env test) under ``data_root``, MLflow logging off, plus params."""
    from kedro.framework.project import settings
    from kedro_mlflow.io.catalog.switch_catalog_logging import switch_catalog_logging

    bootstrap_project(PROJECT_ROOT)
    with env_vars(KYCC_DATA_ROOT=str(data_root)):
        loader = OmegaConfigLoader(
            conf_source=str(PROJECT_ROOT / "conf"), env="test", **settings.CONFIG_LOADER_ARGS
        )
        catalog = DataCatalog.from_config(loader["catalog"], credentials=loader["credentials"])
    switch_catalog_logging(catalog, False)  # what kedro-mlflow does for a run without tracking
    for key in SHARED_PARAMETER_KEYS:
        catalog[f"params:training.{key}"] = copy.deepcopy(params[key])
    for name, options in params["models"].items():
        catalog[f"params:training.models.{name}"] = copy.deepcopy(options)
    return catalog


def _files(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` and the SHA-256 of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _train(data_root: Path, params: dict) -> None:
    SequentialRunner().run(create_pipeline(["model_1"]), _project_catalog(data_root, params))


def _world(root: Path) -> None:
    """A model input (18 labelled application months from 2023-01) where the model_input pipeline puts it."""
    (root / "05_model_input").mkdir(parents=True)
    table = make_model_input(3000, start="2023-01-01", n_months=18, seed=1)
    table.to_parquet(root / "05_model_input" / "model_input.parquet")


def test_refused_and_gate_failed_runs_leave_the_models_and_the_model_input_as_they_were(tmp_path):
    root = tmp_path / "data"
    _world(root)
    _train(root, training_params())  # a good run: model_1 passes, data/06_models/model_1/ holds it
    models = root / "06_models" / "model_1"
    assert {"model.pkl", "preprocessing.pkl", "metadata.json", "features.json", "predictions.parquet"} <= set(
        _files(models)
    )
    assert json.loads((models / "metadata.json").read_text())["quality_gate"]["passed"]
    before = _files(root)

    # history too short: refused before anything is written, anywhere under the data root
    short = {**training_params(), "training_date": "2024-11-01"}
    with pytest.raises(InsufficientHistoryError, match="Not enough history"):
        _train(root, short)
    assert _files(root) == before

    # every model fails its gates: the run is recorded in 08_reporting, the models and the input are untouched
    strict = training_params()
    strict["quality_gates"]["min_roc_auc"] = 0.99
    _train(root, strict)
    after = _files(root)
    for layer in ("05_model_input", "06_models"):
        assert {k: v for k, v in after.items() if k.startswith(layer)} == {
            k: v for k, v in before.items() if k.startswith(layer)
        }, layer
    outcome = json.loads((root / "08_reporting" / "training" / "model_1" / "registry.json").read_text())
    assert outcome["status"] == "rejected" and any("ROC-AUC" in r for r in outcome["gate_reasons"])
    summary = json.loads((root / "08_reporting" / "training" / "training_summary.json").read_text())
    assert summary["models"][0]["gate_passed"] is False
    # the scorecard refinement still reads the last passing model
    catalog = _project_catalog(root, training_params())
    assert catalog.load("model_1.mdl_metadata")["quality_gate"]["passed"]


def test_a_candidate_dataset_replaces_its_file_only_for_a_passing_model(tmp_path):
    path = tmp_path / "06_models" / "model_1" / "metadata.json"
    dataset = MlflowCandidateArtifactDataset(dataset={"type": "json.JSONDataset", "filepath": str(path)})
    dataset.save(Candidate({"v": 1}, passed=True, model="model_1"))
    assert dataset.load() == {"v": 1}
    dataset.save(Candidate({"v": 2}, passed=False, model="model_1"))
    assert dataset.load() == {"v": 1} and json.loads(path.read_text()) == {"v": 1}
    assert [p.name for p in path.parent.iterdir()] == ["metadata.json"]  # no staging file left
    dataset.save(Candidate({"v": 3}, passed=True))
    assert dataset.load() == {"v": 3}
    with pytest.raises(DatasetError, match=r"saves a kycc.modeling.tracking.Candidate"):
        dataset.save({"v": 4})


# -- the same through `kedro run --pipelines training` with MLflow: registry aliases stay too ----------------
FAST_MODEL_2 = {"grid": {"max_depth": [3]}, "params": {"max_iter": 60}}


def _kedro_training(params: dict) -> None:
    from kedro.framework.session import KedroSession

    while mlflow.active_run():  # kedro-mlflow 2.0.3 leaves its run active after a session
        mlflow.end_run()
    bootstrap_project(PROJECT_ROOT)
    runtime = {"training": {**params, "models": {"model_2": FAST_MODEL_2}}}
    try:
        with KedroSession.create(project_path=PROJECT_ROOT, env="test", runtime_params=runtime) as session:
            session.run(pipeline_names=["training"])
    finally:
        while mlflow.active_run():
            mlflow.end_run()


def _registry(client) -> dict[str, tuple]:
    """Aliases and version numbers of every registered model."""
    return {
        m.name: (
            dict(m.aliases),
            sorted(int(v.version) for v in client.search_model_versions(f"name = '{m.name}'")),
        )
        for m in client.search_registered_models()
    }


@pytest.mark.slow
def test_kedro_run_refusals_leave_models_registry_aliases_and_model_input_as_they_were(tmp_path, monkeypatch):
    from mlflow import MlflowClient

    root = tmp_path / "data"
    _world(root)
    for name in ("KYCC_MLFLOW_URI", "KYCC_MLFLOW_ARTIFACTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KYCC_DATA_ROOT", str(root))  # MLflow in data/06_models/mlflow.db, artifacts beside it
    previous = mlflow.get_tracking_uri()
    try:
        _kedro_training({})
        client = MlflowClient(tracking_uri=f"sqlite:///{root / '06_models' / 'mlflow.db'}")
        registry = _registry(client)
        assert registry == {
            "kycc_model_1": ({"champion": 1}, [1]),
            "kycc_model_2": ({"champion": 1}, [1]),
        }
        models_before = _files(root / "06_models" / "model_1") | _files(root / "06_models" / "model_2")
        input_before = _files(root / "05_model_input")

        with pytest.raises(InsufficientHistoryError):
            _kedro_training({"training_date": "2024-11-01"})
        assert _registry(client) == registry

        _kedro_training({"quality_gates": {"min_roc_auc": 0.99}})
        assert _registry(client) == registry  # no new version, champion aliases where they were
        assert (
            _files(root / "06_models" / "model_1") | _files(root / "06_models" / "model_2") == models_before
        )
        assert _files(root / "05_model_input") == input_before
        # the failing run is on record in MLflow with its own artefacts
        experiment = client.get_experiment_by_name("kycc")
        runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"])
        parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)  # the last training run
        # its model's metrics and artifacts are in the model's child run
        last = next(
            r
            for r in runs
            if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id and r.info.run_name == "model_1"
        )
        assert last.data.metrics["model_1.quality_gate_passed"] == 0.0
        logged = {a.path for a in client.list_artifacts(last.info.run_id, "model_1/artifacts")}
        assert "model_1/artifacts/metadata.json" in logged and "model_1/artifacts/model.pkl" in logged
        metadata = json.loads(
            Path(client.download_artifacts(last.info.run_id, "model_1/artifacts/metadata.json")).read_text()
        )
        assert not metadata["quality_gate"]["passed"]
    finally:
        mlflow.set_tracking_uri(previous)
