"""The base of every parameters model: every key required (defaults live in ``conf/base/parameters*.yml`` only)
and no unknown key (a misspelt key is an error, not silently ignored)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict

#: A month as written in the parameters: ``2025-01-01`` (a string, or a date when YAML parsed it), or null.
Month = str | dt.date | None


class Params(BaseModel):
    """A parameters section: ``extra='forbid'``, no field defaults (the YAML holds them)."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


def as_dict(params: BaseModel | dict[str, Any] | None) -> dict[str, Any]:
    """A section as a plain dict (a model's fields, or the dict itself)."""
    if params is None:
        return {}
    if isinstance(params, BaseModel):
        return params.model_dump()
    return dict(params)
