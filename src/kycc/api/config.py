"""Settings of the HTTP API, from the project's configuration (read as ``kedro run`` reads it).

* the **project** and its Kedro **environment** (``--env``, else ``KEDRO_ENV``, else the project default);
* the **API key** of the mutating endpoints: ``kycc_api.api_key`` in ``conf/local/credentials.yml`` (never
  committed), or the ``KYCC_API_KEY`` environment variable, which wins (containers, CI secrets);
* where the pipeline runs started through the API keep their log and status:
  ``<data_root>/08_reporting/api_runs`` (``data_root`` from ``globals.yml``, so ``KYCC_DATA_ROOT`` moves it).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from kycc.paths import find_project_root

logger = logging.getLogger(__name__)

__all__ = ["API_KEY_ENV", "CREDENTIALS_KEY", "ApiSettings", "load_api_settings"]

API_KEY_ENV = "KYCC_API_KEY"
CREDENTIALS_KEY = "kycc_api"
#: A key shorter than this is refused: it would be guessable.
MIN_KEY_LENGTH = 16


@dataclass(frozen=True)
class ApiSettings:
    """What the API needs to know about the project it serves.

    Args:
        project_root: The Kedro project.
        env: Kedro environment (None: the project default).
        api_key: The key of the mutating endpoints (None: they answer 401 with how to configure one).
        runs_dir: Folder of the pipeline runs' logs and status files.
        data_root: The project's data root (``globals.yml``).
    """

    project_root: Path
    env: str | None
    api_key: str | None
    runs_dir: Path
    data_root: Path


def _config_loader(root: Path, env: str | None):
    from kedro.config import OmegaConfigLoader

    from kycc import settings as project_settings

    return OmegaConfigLoader(
        conf_source=str(root / getattr(project_settings, "CONF_SOURCE", "conf")),
        env=env,
        **dict(getattr(project_settings, "CONFIG_LOADER_ARGS", None) or {}),
    )


def load_api_settings(
    env: str | None = None, project_root: Path | None = None, api_key: str | None = None
) -> ApiSettings:
    """Read the API settings of the project (see the module docstring).

    Args:
        env: Kedro environment (default: ``KEDRO_ENV``).
        project_root: The project (default: found from the working directory).
        api_key: A key given directly (tests); default: ``KYCC_API_KEY``, else the credentials.

    Raises:
        ValueError: No Kedro project found, or the configured key is too short.
    """
    root = project_root or find_project_root()
    if root is None:
        raise ValueError("No KYCC (Kedro) project found: run `kycc serve` inside the project")
    root = Path(root).resolve()
    env = env or os.environ.get("KEDRO_ENV") or None
    loader = _config_loader(root, env)
    key = api_key or os.environ.get(API_KEY_ENV)
    if not key:
        try:
            credentials = loader["credentials"]
        except Exception as exc:  # noqa: BLE001 - a missing credentials file is the usual case
            logger.debug("No credentials read: %s", exc)
            credentials = {}
        key = ((credentials or {}).get(CREDENTIALS_KEY) or {}).get("api_key")
    key = str(key).strip() if key else None
    if key and len(key) < MIN_KEY_LENGTH:
        raise ValueError(
            f"The API key ({CREDENTIALS_KEY}.api_key in conf/local/credentials.yml or {API_KEY_ENV}) is "
            f"{len(key)} characters long: use at least {MIN_KEY_LENGTH}, e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    data_root = Path(str(loader["globals"].get("data_root", "data")))
    if not data_root.is_absolute():
        data_root = root / data_root
    return ApiSettings(
        project_root=root,
        env=env,
        api_key=key,
        runs_dir=data_root / "08_reporting" / "api_runs",
        data_root=data_root,
    )
