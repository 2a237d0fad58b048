"""The KYCC HTTP API (``kycc serve``): see :mod:`kycc.api.app` for the endpoints, :mod:`kycc.api.config` for the
API key, :mod:`kycc.api.runs` for pipeline runs and :mod:`kycc.api.service` for what the endpoints do."""

from kycc.api.app import create_app
from kycc.api.config import ApiSettings, load_api_settings

__all__ = ["ApiSettings", "create_app", "load_api_settings"]
