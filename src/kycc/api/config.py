"""Settings of the HTTP API, from the project's configuration (read as ``kedro run`` reads it).

* the **project** and its Kedro **environment** (``--env``, else ``KEDRO_ENV``, else the project default);
* the **API key** of the mutating endpoints: ``kycc_api.api_key`` in ``conf/local/credentials.yml`` (never
  committed), or the ``KYCC_API_KEY`` environment variable, which wins (containers, CI secrets). ``kycc serve``
  refuses to start without one, with one shorter than 16 characters, or with a placeholder (``change-me…``,
  ``xxx``, ``<your key>``: :func:`kycc.credentials.is_placeholder`, or any value of the template
  ``conf/local/credentials.yml.example``, which Kedro never loads);
* the **request-size limit** (``KYCC_API_MAX_BODY_BYTES``, default 1 MiB): a larger body is answered 413;
* where the pipeline runs started through the API keep their log and status:
  ``<data_root>/08_reporting/api_runs`` (``data_root`` from ``globals.yml``, so ``KYCC_DATA_ROOT`` moves it).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kycc.paths import find_project_root

logger = logging.getLogger(__name__)

__all__ = [
    "API_KEY_ENV",
    "CREDENTIALS_KEY",
    "CREDENTIALS_TEMPLATE",
    "MAX_BODY_ENV",
    "ApiKeyError",
    "ApiSettings",
    "check_api_key",
    "load_api_settings",
]

API_KEY_ENV = "KYCC_API_KEY"
MAX_BODY_ENV = "KYCC_API_MAX_BODY_BYTES"
CREDENTIALS_KEY = "kycc_api"
#: The credentials template, relative to the project (its name keeps it out of Kedro's ``credentials*`` pattern).
CREDENTIALS_TEMPLATE = Path("conf") / "local" / "credentials.yml.example"
#: A key shorter than this is refused: it would be guessable.
MIN_KEY_LENGTH = 16
#: Default request-size limit (bytes).
DEFAULT_MAX_BODY_BYTES = 1024 * 1024

_WHERE = f"{CREDENTIALS_KEY}.api_key in conf/local/credentials.yml or {API_KEY_ENV}"
_HOW = "e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"


class ApiKeyError(ValueError):
    """The configured API key is missing, too short or a placeholder (``kycc serve`` refuses to start)."""


@dataclass(frozen=True)
class ApiSettings:
    """What the API needs to know about the project it serves.

    Args:
        project_root: The Kedro project.
        env: Kedro environment (None: the project default).
        api_key: The key of the mutating endpoints (None: they answer 401 with how to configure one).
        runs_dir: Folder of the pipeline runs' logs and status files.
        data_root: The project's data root (``globals.yml``).
        max_body_bytes: Largest request body accepted (larger: 413).
    """

    project_root: Path
    env: str | None
    api_key: str | None
    runs_dir: Path
    data_root: Path
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES


def _config_loader(root: Path, env: str | None):
    from kycc.project import config_loader

    return config_loader(root, env)


def template_values(project_root: Path) -> set[str]:
    """Every string value of the project's credentials template (none if it is absent or unreadable)."""
    path = Path(project_root) / CREDENTIALS_TEMPLATE
    if not path.is_file():
        return set()
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        logger.warning("Cannot read the credentials template %s: %s", path, exc)
        return set()
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and node.strip():
            found.add(node.strip())

    walk(data)
    return found


def check_api_key(key: str | None, project_root: Path) -> str:
    """The key, stripped, if it may protect the API; else :class:`ApiKeyError` saying what to do.

    Refused: no key, a key shorter than ``MIN_KEY_LENGTH``, a placeholder (:func:`kycc.credentials.is_placeholder`)
    or any value of the credentials template (``change-me-to-a-long-random-string`` is printed in the repository:
    a known default key). The key itself is never part of the message.
    """
    from kycc.credentials import is_placeholder

    text = str(key).strip() if key is not None else ""
    if not text:
        raise ApiKeyError(
            f"No API key configured: set {_WHERE} (at least {MIN_KEY_LENGTH} random characters, {_HOW}); "
            "`kycc serve` does not start without one"
        )
    if text in template_values(project_root) or is_placeholder(text):
        raise ApiKeyError(
            f"The API key ({_WHERE}) is the placeholder of the credentials template ({CREDENTIALS_TEMPLATE}), "
            f"a value anyone can read: set a random key, {_HOW}"
        )
    if len(text) < MIN_KEY_LENGTH:
        raise ApiKeyError(
            f"The API key ({_WHERE}) is {len(text)} characters long: use at least {MIN_KEY_LENGTH}, {_HOW}"
        )
    return text


def _max_body_bytes() -> int:
    raw = os.environ.get(MAX_BODY_ENV)
    if raw is None or not raw.strip():
        return DEFAULT_MAX_BODY_BYTES
    try:
        value = int(raw.strip())
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"{MAX_BODY_ENV} must be a positive number of bytes (e.g. 1048576), got {raw!r}")
    return value


def load_api_settings(
    env: str | None = None,
    project_root: Path | None = None,
    api_key: str | None = None,
    require_key: bool = True,
) -> ApiSettings:
    """Read the API settings of the project (see the module docstring).

    Args:
        env: Kedro environment (default: ``KEDRO_ENV``).
        project_root: The project (default: found from the working directory).
        api_key: A key given directly (tests); default: ``KYCC_API_KEY``, else the credentials.
        require_key: Refuse a missing key (``kycc serve``); False: no key means the mutating endpoints answer
            401 (a short or placeholder key is refused either way).

    Raises:
        ApiKeyError: The key is missing (with ``require_key``), too short or a placeholder.
        ValueError: No Kedro project found, or a bad ``KYCC_API_MAX_BODY_BYTES``.
    """
    root = project_root or find_project_root()
    if root is None:
        raise ValueError("No KYCC (Kedro) project found: run `kycc serve` inside the project")
    root = Path(root).resolve()
    env = env or os.environ.get("KEDRO_ENV") or None
    loader = _config_loader(root, env)
    key = api_key or os.environ.get(API_KEY_ENV)
    if not key:
        from kedro.config import MissingConfigException

        try:
            credentials = loader["credentials"]
        except MissingConfigException as exc:  # no credentials file at all
            logger.debug("No credentials read: %s", exc)
            credentials = {}
        except Exception as exc:  # noqa: BLE001 - duplicate keys, bad YAML: say so, never start without a key
            raise ApiKeyError(
                f"Cannot read the credentials of {root / 'conf'} (env {env or 'local'}): {exc}"
            ) from exc
        key = ((credentials or {}).get(CREDENTIALS_KEY) or {}).get("api_key")
    key = str(key).strip() if key is not None else None
    if key or require_key:
        key = check_api_key(key, root)
    data_root = Path(str(loader["globals"].get("data_root", "data")))
    if not data_root.is_absolute():
        data_root = root / data_root
    return ApiSettings(
        project_root=root,
        env=env,
        api_key=key or None,
        runs_dir=data_root / "08_reporting" / "api_runs",
        data_root=data_root,
        max_body_bytes=_max_body_bytes(),
    )
