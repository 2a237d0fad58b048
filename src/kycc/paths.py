"""Where the Kedro project is, for code that runs outside ``kedro run`` (the CLI, the API, a notebook kernel
started in ``notebooks/``) and for configuration that must not depend on the working directory."""

from __future__ import annotations

from pathlib import Path

__all__ = ["find_project_root", "project_root_or_cwd"]


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
    directory. Keeps ``sqlite:///${kycc_project_root:}/mlflow.db`` in the project root wherever a process starts
    (``kedro jupyter`` starts kernels in ``notebooks/``)."""
    root = find_project_root()
    return str(root if root is not None else Path.cwd())
