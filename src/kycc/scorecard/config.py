"""Where the scorecard configuration and store are, for code that runs outside ``kedro run`` (the CLI, the API).

The source of truth is the project's configuration, read with Kedro's ``OmegaConfigLoader`` and the project's
settings (so ``${globals:data_root}``, ``KYCC_DATA_ROOT`` and ``KYCC_SCORECARD_DB`` resolve exactly as in a
``kedro run``):

* ``scorecard`` parameters (``conf/base/parameters_scorecard.yml``): the versions, checks, …;
* the store URL: the ``url`` of ``mdl_scorecard_versions`` in ``conf/base/catalog_scorecard.yml``.

A relative sqlite path is taken relative to the project root (``kedro run`` runs there), so ``kycc scorecard``
finds the same database from any working directory.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

from kycc.paths import find_project_root

if TYPE_CHECKING:
    from kycc.scorecard.store import ScorecardStore

logger = logging.getLogger(__name__)

__all__ = [
    "ScorecardConfig",
    "absolute_store_url",
    "find_project_root",
    "load_scorecard_config",
    "open_store",
]

STORE_DATASET = "mdl_scorecard_versions"
DEFAULT_STORE_PATH = "data/06_models/scorecard/scorecard.db"


def absolute_store_url(url: str, root: Path | None) -> str:
    """``url`` with a relative sqlite database path made absolute against ``root``."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database).expanduser()
        if not path.is_absolute() and root is not None:
            return parsed.set(database=str((root / path).resolve())).render_as_string(hide_password=False)
    return url


@dataclass(frozen=True)
class ScorecardConfig:
    """The scorecard parameters and the store URL of a project (and environment)."""

    params: dict[str, Any]
    store_url: str
    project_root: Path | None
    env: str | None


def load_scorecard_config(env: str | None = None, project_root: Path | None = None) -> ScorecardConfig:
    """Read ``scorecard`` parameters and the store URL from the project's configuration.

    Args:
        env: Kedro environment layered on ``base`` (default: ``KEDRO_ENV``, else the project's default).
        project_root: The project (default: found from the working directory).

    Outside a Kedro project the parameters are empty and the URL is ``KYCC_SCORECARD_DB`` or the default path.
    """
    root = project_root or find_project_root()
    env = env or os.environ.get("KEDRO_ENV")
    if root is None:
        url = os.environ.get("KYCC_SCORECARD_DB") or f"sqlite:///{Path(DEFAULT_STORE_PATH).resolve()}"
        logger.debug("No Kedro project found: scorecard store %s", url)
        return ScorecardConfig({}, url, None, env)
    from kycc.project import config_loader

    # without configuring a Kedro session: that would reconfigure logging and print a line for every CLI command
    loader = config_loader(root, env)
    params = dict(loader["parameters"].get("scorecard") or {})
    entry = loader["catalog"].get(STORE_DATASET) or {}
    url = entry.get("url") or os.environ.get("KYCC_SCORECARD_DB") or f"sqlite:///{DEFAULT_STORE_PATH}"
    return ScorecardConfig(params, absolute_store_url(str(url), root), root, env)


def open_store(config: ScorecardConfig, url: str | None = None) -> ScorecardStore:
    """The project's scorecard store, holding every version of the configuration (a new store gets the initial
    version active). The CLI and the HTTP API open the store this way, so both see the same versions.

    Args:
        config: The project's scorecard configuration (:func:`load_scorecard_config`).
        url: Another store URL (``kycc scorecard --db``); default: the configuration's.

    Raises:
        ScorecardStoreError, ValueError: The configuration's versions are invalid or clash with the store.
    """
    from kycc.scorecard.store import ScorecardStore

    store = ScorecardStore(url or config.store_url)
    versions = config.params.get("versions") or {}
    try:
        if versions:
            store.sync_config_versions(versions, config.params.get("initial_version", "v1"))
    except Exception:
        store.close()
        raise
    return store
