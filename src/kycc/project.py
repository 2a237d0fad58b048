"""One way to open the project: its configuration loader and its Kedro sessions.

The cycle (``kycc backfill``), the CLI, the HTTP API, the API's pipeline worker and the orchestrators open the
project through these two functions, so every one of them reads the same configuration the same way (the project's
resolvers and merge strategy from :mod:`kycc.settings`, the environment from ``--env`` / ``KEDRO_ENV``).

* :func:`config_loader` — the configuration without a Kedro session (no hooks, no MLflow, no logging set-up):
  for commands that only read a parameter or a catalog entry.
* :func:`open_session` — a ``KedroSession`` of the project (bootstrapped), for running pipelines or loading the
  context; use it as ``with open_session(...) as session:``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["bootstrap", "config_loader", "open_session", "project_root"]


def project_root(project_path: str | Path | None = None) -> Path:
    """``project_path``, else the Kedro project found from the working directory (:func:`kycc.paths.find_project_root`);
    raises ``FileNotFoundError`` saying what to do when there is none."""
    if project_path is not None:
        return Path(project_path).resolve()
    from kycc.paths import find_project_root

    root = find_project_root()
    if root is None:
        raise FileNotFoundError("No KYCC (Kedro) project found: run the command inside the project folder")
    return root


def config_loader(
    project_path: str | Path | None = None,
    env: str | None = None,
    runtime_params: Mapping[str, Any] | None = None,
    *,
    base_only: bool = False,
    conf_source: str | Path | None = None,
):
    """The project's ``OmegaConfigLoader`` for ``env`` (default ``KEDRO_ENV``, else the project's default run env;
    ``base_only``: ``conf/base`` alone, the defaults; ``conf_source``: another configuration folder).

    Imports :mod:`kycc.settings`, not ``kedro.framework.project``: no session is configured and logging is left
    alone.
    """
    from kedro.config import OmegaConfigLoader

    from kycc import settings

    root = project_root(project_path)
    args = dict(getattr(settings, "CONFIG_LOADER_ARGS", None) or {})
    if base_only:
        args["default_run_env"] = args.get("base_env", "base")
        env = None
    else:
        env = env or os.environ.get("KEDRO_ENV") or None
    return OmegaConfigLoader(
        conf_source=str(conf_source or root / getattr(settings, "CONF_SOURCE", "conf")),
        env=env,
        runtime_params=dict(runtime_params or {}),
        **args,
    )


def bootstrap(project_path: str | Path | None = None) -> Path:
    """Bootstrap the project (``kedro.framework.startup.bootstrap_project``): Kedro's pipeline registry is
    configured afresh, so a session sees every pipeline even after a run that loaded only some of them."""
    from kedro.framework.startup import bootstrap_project

    root = project_root(project_path)
    bootstrap_project(root)
    return root


def open_session(
    project_path: str | Path | None = None,
    env: str | None = None,
    runtime_params: Mapping[str, Any] | None = None,
    conf_source: str | None = None,
    *,
    bootstrapped: bool = False,
):
    """A new ``KedroSession`` of the project (a session runs once), bootstrapped first unless ``bootstrapped``
    (the caller did it: ``kycc backfill`` bootstraps once for all its sessions)."""
    from kedro.framework.session import KedroSession

    root = project_root(project_path) if bootstrapped else bootstrap(project_path)
    return KedroSession.create(
        project_path=root, env=env, runtime_params=dict(runtime_params or {}), conf_source=conf_source
    )
