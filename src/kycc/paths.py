"""Where the Kedro project is, for code that runs outside ``kedro run`` (the CLI, the API, a notebook kernel
started in ``notebooks/``) and for configuration that must not depend on the working directory."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "MLFLOW_DB",
    "MLFLOW_ARTIFACTS",
    "data_path",
    "find_project_root",
    "mlflow_artifact_location",
    "mlflow_tracking_uri",
    "project_root_or_cwd",
]

#: The MLflow tracking/registry database and run artifacts of a world, relative to its data root.
MLFLOW_DB = "06_models/mlflow.db"
MLFLOW_ARTIFACTS = "06_models/mlruns"
#: ``MLFLOW_TRACKING_URI`` as the process started with it. Read once: ``mlflow.set_tracking_uri`` (which
#: kedro-mlflow calls for every session) writes that variable into the process environment, so a later read
#: could not tell the user's choice from the previous session's store.
_MLFLOW_TRACKING_URI_AT_START = os.environ.get("MLFLOW_TRACKING_URI", "").strip() or None


def find_project_root(start: Path | None = None) -> Path | None:
    """The Kedro project: the nearest folder with a Kedro ``pyproject.toml`` from ``start`` (default: the working
    directory) upwards, else the source tree this package is installed from."""
    here = (start or Path.cwd()).resolve()
    # then the source tree of the installed package (an editable install: `kycc` works from any folder)
    package_tree = Path(__file__).resolve().parents[2]  # src/kycc/paths.py -> the project
    for candidate in (here, *here.parents, package_tree):
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file() and "[tool.kedro]" in pyproject.read_text(encoding="utf-8"):
            return candidate
    return None


def project_root_or_cwd() -> str:
    """``${kycc_project_root:}`` in configuration: the project (as :func:`find_project_root`), else the working
    directory. Relative paths of configuration (the default ``data`` root) are taken from there wherever a process
    starts (``kedro jupyter`` starts kernels in ``notebooks/``)."""
    root = find_project_root()
    return str(root if root is not None else Path.cwd())


def data_path(data_root: str, relative: str = "") -> Path:
    """``relative`` under the data root (``globals.data_root``); a relative data root is taken from the project
    (as :func:`project_root_or_cwd`), so the path is the same wherever the process starts."""
    root = Path(str(data_root)).expanduser()
    if not root.is_absolute():
        root = Path(project_root_or_cwd()) / root
    return root / relative if relative else root


def _explicit_tracking_uri() -> str | None:
    return os.environ.get("KYCC_MLFLOW_URI", "").strip() or _MLFLOW_TRACKING_URI_AT_START


def mlflow_tracking_uri(data_root: str) -> str:
    """``${kycc_mlflow_uri:${globals:data_root}}`` in ``mlflow.yml``: the world's MLflow store.

    ``KYCC_MLFLOW_URI``, else ``MLFLOW_TRACKING_URI`` (as the process started), else sqlite in
    ``<data_root>/06_models/mlflow.db`` (its folder is created): every data root has its own runs and model
    registry, so two worlds never share a champion by accident.
    """
    explicit = _explicit_tracking_uri()
    if explicit:
        return explicit
    db = data_path(data_root, MLFLOW_DB)
    db.parent.mkdir(parents=True, exist_ok=True)  # sqlite creates the file, not its folder
    return f"sqlite:///{db}"


def mlflow_artifact_location(data_root: str) -> str | None:
    """``${kycc_mlflow_artifacts:${globals:data_root}}``: where a new experiment keeps its run artifacts.

    ``KYCC_MLFLOW_ARTIFACTS``, else ``<data_root>/06_models/mlruns`` beside the default store; None (MLflow's
    own default) when the store was given explicitly (a tracking server decides where its artifacts go).
    """
    explicit = os.environ.get("KYCC_MLFLOW_ARTIFACTS", "").strip()
    if explicit:
        return explicit
    if _explicit_tracking_uri():
        return None
    return str(data_path(data_root, MLFLOW_ARTIFACTS))
