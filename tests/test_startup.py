"""Start-up (#14.3): a ``kedro`` command that needs no plugin or model library does not import it.

Structural guards, not timings (``make bench`` prints the CPU seconds): ``kedro registry list`` through Kedro's
real CLI imports none of the plugins' stacks or the heavy libraries; every node's type hints still resolve (Kedro
reads them with ``typing.get_type_hints`` to find the ``params:`` models, so an annotation name left undefined by
a lazy import would silently turn off the validation of that node); the plugin command table is the installed
plugins' own; the model list is read once per configuration state.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import click
import pytest
import yaml

from kycc.cli.kedro_plugins import PLUGIN_COMMANDS, PluginCommands, PluginGroup
from kycc.pipeline_registry import available_pipelines

PROJECT_ROOT = Path(__file__).resolve().parents[1]

#: What ``kedro registry list`` must not import: the plugins' stacks and the libraries the nodes import when
#: they run.
HEAVY = (
    "sklearn",
    "scipy",
    "matplotlib",
    "mlflow",
    "kedro_mlflow",
    "dagster",
    "kedro_dagster",
    "kedro_airflow",
    "torch",
    "sentence_transformers",
    "litellm",
    "pyspark",
    "sqlalchemy",
)

REGISTRY_LIST = f"""
import sys
from kedro.framework.cli import main
sys.argv = ["kedro", "registry", "list"]
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
print("IMPORTED", sorted(m for m in {HEAVY!r} if m in sys.modules))
"""


def test_kedro_registry_list_imports_no_plugin_and_no_model_library():
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"}
    done = subprocess.run(
        [sys.executable, "-c", REGISTRY_LIST],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    listed = [line[2:] for line in done.stdout.splitlines() if line.startswith("- ")]
    assert listed == ["__default__", *available_pipelines()]
    imported = done.stdout.strip().splitlines()[-1]
    # mlflow/dagster here: the kedro.init entry point is not installed (`pip install -e .` after pyproject.toml)
    # or a module now imports a heavy library at its top
    assert imported == "IMPORTED []", imported


@pytest.mark.parametrize("name", available_pipelines())
def test_every_node_type_hint_resolves(name):
    pipeline = __import__(f"kycc.pipelines.{name}", fromlist=["create_pipeline"]).create_pipeline()
    unresolved = {}
    for node in pipeline.nodes:
        try:
            typing.get_type_hints(node.func)
        except Exception as exc:  # noqa: BLE001 - what Kedro's type extractor catches (and then skips the node)
            unresolved[node.name] = repr(exc)
    assert not unresolved


def test_the_plugin_table_holds_the_installed_plugins_commands():
    installed = importlib.metadata.entry_points().select(group="kedro.project_commands")
    assert {ep.value for ep in installed} <= set(PLUGIN_COMMANDS), (
        "a new plugin: add its commands to the table"
    )
    for ep in installed:
        group, known = ep.load(), PLUGIN_COMMANDS[ep.value]
        assert (group.name, group.help, sorted(group.commands)) == (
            known.name,
            known.help,
            sorted(known.commands),
        )


def test_a_plugin_loads_when_its_command_is_looked_up():
    (ep,) = [
        ep
        for ep in importlib.metadata.entry_points().select(group="kedro.project_commands")
        if ep.value == "kedro_mlflow.framework.cli.cli:commands"
    ]
    lazy = PluginCommands(ep, PLUGIN_COMMANDS[ep.value])
    ctx = click.Context(lazy)
    assert (lazy.name, lazy.list_commands(ctx)) == ("Mlflow", ["mlflow"])
    assert lazy.get_command(ctx, "registry") is None  # another command: nothing imported for it
    assert lazy.get_command(ctx, "mlflow") is ep.load().commands["mlflow"]


def test_a_plugin_that_fails_to_load_is_logged_and_left_out(caplog):
    broken = importlib.metadata.EntryPoint(
        name="broken", value="kycc.no_such_module:commands", group="kedro.project_commands"
    )
    lazy = PluginCommands(broken, PluginGroup("Broken", None, ("broken",)))
    ctx = click.Context(lazy)
    assert lazy.get_command(ctx, "broken") is None
    assert "Failed to load kycc.no_such_module commands" in caplog.text


def test_the_model_list_is_read_again_when_a_parameters_file_changes(tmp_path):
    from kedro.framework.startup import bootstrap_project

    from kycc.pipelines.training.pipeline import configured_models

    conf = tmp_path / "conf"
    shutil.copytree(PROJECT_ROOT / "conf" / "base", conf / "base")
    (conf / "local").mkdir()
    bootstrap_project(PROJECT_ROOT)  # the project's settings: default env `local`, soft-merged parameters
    first = configured_models(conf_source=conf)
    assert configured_models(conf_source=conf) == first == ["model_1", "model_2"]
    (conf / "local" / "parameters_training.yml").write_text(
        yaml.safe_dump({"training": {"models": {"model_3": {"estimator": "logistic_regression"}}}}),
        encoding="utf-8",
    )
    assert configured_models(conf_source=conf) == ["model_1", "model_2", "model_3"]
