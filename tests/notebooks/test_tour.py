"""notebooks/01_tour.ipynb runs top to bottom on a real trained project state and shows that state.

The state is the shared catch-up run (``catch_up``: the monthly cycle, Kedro env ``test``), copied so that nothing
the notebook does can touch it. The notebook runs with nbclient in a kernel of this interpreter (the venv):

* ``kedro_jupyter``: what ``kedro jupyter notebook`` starts after ``make run`` — a kernel with the kedro.ipython
  extension, in the notebooks/ folder of a project whose configuration is the default one (data in ``data/``,
  MLflow in ``sqlite:///data/06_models/mlflow.db``, both relative to the project root);
* ``plain_in_project`` / ``plain_outside_project``: a plain python3 kernel (no ``kedro jupyter``) in the project's
  notebooks/ folder or elsewhere, the state pointed at by the ``KYCC_*`` variables (as tests/project_state.py
  does): the first cell must load the project itself.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from tests.kedro_run import PROJECT_ROOT

NOTEBOOK = PROJECT_ROOT / "notebooks" / "01_tour.ipynb"


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code, "the tour has no code cell"
    assert all(not cell.outputs and cell.execution_count is None for cell in code), "clear the outputs"
    assert "%reload_kedro" in code[0].source  # works outside `kedro jupyter`


def _kernel_manager(folder: Path, kedro_extension: bool):
    """A manager for a python3 kernel of ``sys.executable``, with the extension as `kedro jupyter` sets it."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {"argv": argv + (["--ext", "kedro.ipython"] if kedro_extension else []), "language": "python"}
    (folder / "tour").mkdir(parents=True)
    (folder / "tour" / "kernel.json").write_text(
        json.dumps({**spec, "display_name": "tour"}), encoding="utf-8"
    )
    return KernelManager(kernel_name="tour", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(folder)]))


def _project_copy(folder: Path, state: Path) -> Path:
    """A copy of the project with the state where the default configuration looks: data/ and
    data/06_models/mlflow.db (the MLflow store follows the data root)."""
    folder.mkdir()
    shutil.copy2(PROJECT_ROOT / "pyproject.toml", folder)
    shutil.copytree(
        PROJECT_ROOT / "src", folder / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    shutil.copytree(PROJECT_ROOT / "conf", folder / "conf", ignore=shutil.ignore_patterns("local"))
    (folder / "conf" / "local").mkdir()  # no credentials
    (folder / "notebooks").mkdir()
    shutil.copytree(state, folder / "data", ignore=shutil.ignore_patterns("mlflow.db", "mlruns"))
    (folder / "data" / "06_models").mkdir(parents=True, exist_ok=True)
    shutil.copy2(
        state / "mlflow.db", folder / "data" / "06_models" / "mlflow.db"
    )  # artifacts stay in state/mlruns
    return folder


def _outputs(nb) -> tuple[str, int]:
    """All stdout of the executed notebook, and how many PNG images it displayed."""
    stdout, images = [], 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and output.name == "stdout":
                stdout.append(output.text)
            images += "image/png" in output.get("data", {})
    return "".join(stdout), images


@pytest.mark.slow
@pytest.mark.parametrize("kernel", ["kedro_jupyter", "plain_in_project", "plain_outside_project"])
def test_tour_runs_on_a_trained_project_state(catch_up, tmp_path, kernel):
    from mlflow import MlflowClient
    from nbclient import NotebookClient

    from kycc.scorecard.store import ScorecardStore

    # not the pytest process's own store: mlflow.set_tracking_uri writes MLFLOW_TRACKING_URI into os.environ
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KYCC_", "MLFLOW_"))}
    env.update(KEDRO_ENV="test", KEDRO_DISABLE_TELEMETRY="1", HF_HUB_OFFLINE="1")
    if kernel == "kedro_jupyter":
        project = _project_copy(tmp_path / "project", catch_up.root)
        root, mlflow_db, cwd = project / "data", project / "data/06_models/mlflow.db", project / "notebooks"
        expected_root = "data"
    else:
        root = tmp_path / "state"
        shutil.copytree(catch_up.root, root)
        mlflow_db = root / "mlflow.db"
        env.update(
            KYCC_DATA_ROOT=str(root),
            KYCC_MLFLOW_URI=f"sqlite:///{mlflow_db}",
            KYCC_MLFLOW_ARTIFACTS=str(root / "mlruns"),
        )
        cwd = PROJECT_ROOT / "notebooks" if kernel == "plain_in_project" else tmp_path
        expected_root = str(root)

    nb = nbformat.read(NOTEBOOK, as_version=4)
    km = _kernel_manager(tmp_path / "kernels", kedro_extension=kernel == "kedro_jupyter")
    client = NotebookClient(nb, km=km, timeout=180, resources={"metadata": {"path": str(cwd)}})
    client.execute(env=env)  # raises CellExecutionError, with the cell and its traceback, on any error

    stdout, images = _outputs(nb)
    assert f"data root: {expected_root}\n" in stdout
    assert "environment test" in stdout
    assert f"MLflow: sqlite:///{mlflow_db}\n" in stdout
    # raw → silver row accounting, as the label store recorded it
    lms = json.loads((root / "08_reporting/duckdb/label_store_quality.json").read_text())["sources"]["lms"]
    assert f"raw rows: {lms['rows_in']:,}   silver rows: {lms['rows_out']:,}" in stdout
    # each champion's OOT ROC-AUC, as logged to the MLflow run that trained the registered version
    mlflow_client = MlflowClient(tracking_uri=f"sqlite:///{mlflow_db}")
    for model in ("model_1", "model_2"):
        version = mlflow_client.get_model_version_by_alias(f"kycc_{model}", "champion")
        roc_auc = mlflow_client.get_run(version.run_id).data.metrics[f"{model}.oot.roc_auc"]
        assert f"{model}: champion kycc_{model} v{version.version}," in stdout
        assert f"OOT ROC-AUC {roc_auc:.4f}" in stdout
    # the active scorecard version of the store
    with ScorecardStore(f"sqlite:///{root / '06_models/scorecard/scorecard.db'}") as store:
        active = store.active()
    assert f"active version: {active.version} " in stdout
    # the last monitored month of each model
    metrics = pd.read_csv(root / "08_reporting/monitoring/monitoring_metrics.csv")
    for row in metrics.sort_values("snapshot_date").groupby("model").tail(1).itertuples():
        assert f"{row.model} v{row.model_version}, {row.snapshot_date}: ROC-AUC {row.roc_auc:.4f}" in stdout
    # the default rate and the band mix drawn here, and the dashboard's three key charts
    assert images >= 5
    # nothing read from (or created in) the notebook's folder: every store is the project's
    assert not (cwd / "data").exists()
