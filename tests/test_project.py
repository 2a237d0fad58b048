"""kycc.project: the one way the cycle, CLI, API and orchestrators open the project."""

from __future__ import annotations

import shutil

import pytest
import yaml

from kycc.project import config_loader, open_session, project_root
from tests.kedro_run import PROJECT_ROOT


def test_the_config_loader_reads_the_project_configuration_with_its_resolvers(monkeypatch, tmp_path):
    monkeypatch.setenv("KYCC_DATA_ROOT", str(tmp_path / "data"))
    loader = config_loader(PROJECT_ROOT, "test")
    base = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_monitoring.yml").read_text())
    assert loader["parameters"]["psi_levels"] == base["psi_levels"]
    # the project's own resolvers (kycc_env …) resolve: the data root follows KYCC_DATA_ROOT
    assert str(tmp_path / "data") in str(loader["globals"]["data_root"])


def test_base_only_ignores_the_environment_and_runtime_params_win(monkeypatch, tmp_path):
    conf = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "conf", conf / "conf")
    shutil.copy(PROJECT_ROOT / "pyproject.toml", conf / "pyproject.toml")
    (conf / "conf/test/parameters_monitoring.yml").write_text("psi_levels:\n  major: 0.4\n")
    monkeypatch.setenv("KEDRO_ENV", "test")
    assert config_loader(conf)["parameters"]["psi_levels"]["major"] == 0.4  # KEDRO_ENV read
    assert config_loader(conf, base_only=True)["parameters"]["psi_levels"]["major"] == 0.25
    runtime = config_loader(conf, runtime_params={"psi_levels": {"major": 0.5}})
    assert runtime["parameters"]["psi_levels"]["major"] == 0.5


def test_a_session_of_the_project_loads_its_context(monkeypatch, tmp_path):
    monkeypatch.setenv("KYCC_DATA_ROOT", str(tmp_path / "data"))
    with open_session(PROJECT_ROOT, "test", {"inference": {"models": ["model_1"]}}) as session:
        context = session.load_context()
        assert context.params["inference"]["models"] == ["model_1"]
        assert "feat_gold_features" in context.catalog


def test_no_project_says_what_to_do(monkeypatch):
    # no Kedro project from the working directory (nor the source-tree fallback)
    monkeypatch.setattr("kycc.paths.find_project_root", lambda start=None: None)
    with pytest.raises(FileNotFoundError, match="run the command inside the project folder"):
        project_root()
