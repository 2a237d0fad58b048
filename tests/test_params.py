"""Parameters validated at session start (kycc.params): misspelt keys and pipeline names are one-line errors
naming the key and the file, raised before any node runs (docs/parameters.md)."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kedro.config import OmegaConfigLoader

from kycc.params.validate import SECTIONS, ParameterError, parameter_files, validate_parameters
from tests.kedro_run import PROJECT_ROOT, env_vars

CONF = PROJECT_ROOT / "conf"


def _loader(env: str, conf: Path = CONF) -> OmegaConfigLoader:
    from kycc import settings

    return OmegaConfigLoader(conf_source=str(conf), env=env, **settings.CONFIG_LOADER_ARGS)


@pytest.mark.parametrize("env", ["local", "test", "spark"])
def test_every_environment_passes_the_models(env):
    params = _loader(env)["parameters"]
    models = validate_parameters(params, config_params=params)
    assert set(models) == set(SECTIONS)
    assert models["inference"].rescore is False
    assert models["actions"].thresholds["roc_auc"].business == 0.75
    assert models["training"].registry.register_ is True


def _check(runtime: dict, params: dict) -> str:
    merged = copy.deepcopy(params)
    for section, values in runtime.items():
        if section in merged:
            merged[section] = {**merged[section], **values}
    with pytest.raises(ParameterError) as caught:
        validate_parameters(
            merged,
            runtime_params=runtime,
            config_params=params,
            files=parameter_files(CONF, ["local", "base"]),
            root=PROJECT_ROOT,
        )
    return str(caught.value)


def test_misspelt_keys_name_the_key_and_the_file():
    params = _loader("local")["parameters"]
    message = _check({"inference": {"strat_month": "2024-01-01"}}, params)
    assert message == (
        "unknown parameter 'inference.strat_month' (from --params); valid keys of inference: end_month, "
        "models, rescore, rescore_reason, start_month (see conf/base/parameters_inference.yml)"
    )
    message = _check({"training": {"trainig_date": "2024-12-01"}}, params)
    assert "unknown parameter 'training.trainig_date' (from --params)" in message
    assert "training_date" in message and "conf/base/parameters_training.yml" in message
    message = _check({"trainig": {"training_date": "2024-12-01"}}, params)
    assert message.startswith("unknown parameter section 'trainig' (from --params); sections: ")
    assert "training" in message
    message = _check({"monitoring": {"psi_bins": "ten"}}, params)
    assert message.startswith(
        "parameter 'monitoring.psi_bins' (from --params): Input should be a valid integer"
    )
    # a key below a free-form mapping (a metric's threshold) names the valid keys of that entry
    bad = copy.deepcopy(params)
    bad["actions"]["thresholds"]["roc_auc"]["prioirty"] = "P0"
    with pytest.raises(
        ParameterError,
        match=r"unknown parameter 'actions\.thresholds\.roc_auc\.prioirty' \(given\); valid keys of actions\.thresholds\.roc_auc: business, data_science, priority",
    ):
        validate_parameters(bad, config_params=params, files=[], root=PROJECT_ROOT)


def test_a_missing_key_names_where_its_default_belongs():
    params = _loader("local")["parameters"]
    bad = copy.deepcopy(params)
    del bad["monitoring"]["psi_bins"]
    files = parameter_files(CONF, ["local", "base"])
    with pytest.raises(ParameterError) as caught:
        validate_parameters(bad, config_params=params, files=files, root=PROJECT_ROOT)
    assert str(caught.value) == (
        "missing parameter 'monitoring.psi_bins' (its default belongs in conf/base/parameters_monitoring.yml)"
    )


@pytest.fixture
def conf_copy(tmp_path) -> Path:
    """A copy of the project's conf/ (base + test) to put a typo in."""
    conf = tmp_path / "conf"
    shutil.copytree(CONF / "base", conf / "base")
    shutil.copytree(CONF / "test", conf / "test")
    return conf


def _session_run(data_root: Path, pipelines: list[str], params: dict | None = None, conf: Path | None = None):
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    status = data_root / "status.json"
    with env_vars(
        KYCC_DATA_ROOT=str(data_root),
        KYCC_MLFLOW_URI=f"sqlite:///{data_root / 'mlflow.db'}",
        KYCC_RUN_STATUS_FILE=str(status),
    ):
        bootstrap_project(PROJECT_ROOT)
        with KedroSession.create(
            project_path=PROJECT_ROOT,
            env="test",
            runtime_params=params or {},
            conf_source=str(conf) if conf else None,
        ) as session:
            session.run(pipeline_names=pipelines)


def test_a_misspelt_runtime_parameter_fails_before_any_node(tmp_path):
    with pytest.raises(
        ParameterError, match=r"^unknown parameter 'inference\.strat_month' \(from --params\)"
    ):
        _session_run(tmp_path, ["inference"], {"inference": {"strat_month": "2024-01-01"}})
    # RunSummaryHooks writes the status file in before_pipeline_run: the pipeline never started
    assert not (tmp_path / "status.json").exists()
    assert not any(p.is_dir() for p in tmp_path.iterdir())  # no data layer was written


def test_a_misspelt_key_in_a_conf_file_names_the_file(tmp_path, conf_copy):
    (conf_copy / "test" / "parameters_monitoring.yml").write_text(
        yaml.safe_dump({"monitoring": {"psi_bin": 12}}), encoding="utf-8"
    )
    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(ParameterError) as caught:
        _session_run(data, ["monitoring"], conf=conf_copy)
    assert str(caught.value).startswith(
        "unknown parameter 'monitoring.psi_bin' (in conf/test/parameters_monitoring.yml); valid keys of "
        "monitoring: backtest, end_month, label_lag_months, psi_bins, start_month"
    )
    assert not (data / "status.json").exists()


def test_a_misspelt_pipeline_lists_the_available_ones(tmp_path):
    from kycc.pipeline_registry import UnknownPipelineError, available_pipelines

    assert {"training", "inference", "monitoring", "actions"} <= set(available_pipelines())
    with pytest.raises(UnknownPipelineError) as caught:
        _session_run(tmp_path, ["trainig"])
    assert str(caught.value) == f"no pipeline 'trainig'; available: {', '.join(available_pipelines())}"
    assert not (tmp_path / "status.json").exists()


def _kedro(args: list[str], tmp_path: Path, **extra_env: str) -> subprocess.CompletedProcess:
    env = {
        **{k: v for k, v in os.environ.items() if k != "KYCC_VERBOSE"},
        "KYCC_DATA_ROOT": str(tmp_path),
        "KYCC_MLFLOW_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "KEDRO_DISABLE_TELEMETRY": "1",
        **extra_env,
    }
    kedro = Path(sys.executable).with_name("kedro")
    return subprocess.run(  # noqa: S603 - this venv's kedro
        [str(kedro), "run", "--env", "test", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_kedro_run_prints_user_errors_as_one_line(tmp_path):
    done = _kedro(["--pipelines", "trainig"], tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "ImportError" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: no pipeline 'trainig'; available: actions, ")
    done = _kedro(["--pipelines", "inference", "--params", "inference.strat_month=2024-01-01"], tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith(
            "error: unknown parameter 'inference.strat_month' (from --params); valid keys of inference: "
        )
    )
    # KYCC_VERBOSE keeps the traceback
    done = _kedro(["--pipelines", "trainig"], tmp_path, KYCC_VERBOSE="1")
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "UnknownPipelineError" in done.stderr


def test_a_direct_call_completes_a_partial_section_from_conf_base_and_applies_the_same_rules():
    """load_section: the defaults come from conf/base (no second copy in code) and the model's rules apply."""
    from kycc.params.monitoring import PsiLevels
    from kycc.params.sections import load_section

    base = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_monitoring.yml").read_text())
    levels = load_section("psi_levels", {"major": 0.4})
    assert isinstance(levels, PsiLevels)
    assert levels.major == 0.4 and levels.moderate == base["psi_levels"]["moderate"]
    assert levels.alpha == base["psi_levels"]["alpha"]
    monitoring = load_section("monitoring", None)
    assert monitoring.label_lag_months == base["monitoring"]["label_lag_months"]
    with pytest.raises(ParameterError, match=r"parameter 'psi_levels' \(given\): need 0 < moderate < major"):
        load_section("psi_levels", {"moderate": 0.5})  # above the YAML's major
    with pytest.raises(ParameterError, match=r"'recalibration.method' \(given\): Input should be 'platt' or"):
        load_section("recalibration", {"method": "beta"})
