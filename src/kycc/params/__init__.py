"""The pipelines' parameters as pydantic models: one module per pipeline, defaults in YAML only.

Every model forbids unknown keys and has no field defaults (``conf/base/parameters*.yml`` holds them). The
:class:`kycc.params.hooks.ParamsHooks` hook validates the whole merged parameters tree at session start, so a
misspelt key fails before any node runs, naming the key and the file. See docs/parameters.md.
"""

from kycc.params.errors import UserError, user_error

__all__ = ["UserError", "user_error"]
