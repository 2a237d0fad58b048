"""One parameters section as its validated model, for a node or a library call.

Inside a Kedro run the section is complete (``conf/base/parameters*.yml`` + ``--params``, checked at session
start by :class:`kycc.params.hooks.ParamsHooks`). Called directly (a test, the notebook, the API), a partial
section is completed from ``conf/base`` — the one home of every default — and then validated by the same model,
so a rule (a range, an order between two levels, an unknown key) exists once: in :mod:`kycc.params`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

__all__ = ["base_defaults", "deep_merge", "load_section"]


@functools.lru_cache(maxsize=1)
def _base_parameters() -> dict[str, Any]:
    from kycc.project import config_loader

    try:
        loader = config_loader(base_only=True)
    except FileNotFoundError:  # no project: no defaults, every key must be given
        return {}
    return dict(loader["parameters"])


def base_defaults(section: str) -> dict[str, Any]:
    """The section as ``conf/base`` writes it (``{}`` when the project's configuration is not found)."""
    value = _base_parameters().get(section)
    return _plain(value) if isinstance(value, Mapping) else {}


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` on top, nested mappings merged key by key (Kedro's ``soft`` merge)."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_section(section: str, value: Mapping[str, Any] | BaseModel | None) -> BaseModel:
    """``value`` (a whole or partial ``section``) validated by its model; raises
    :class:`kycc.params.validate.ParameterError` naming the key (``unknown parameter 'monitoring.month' …``)."""
    from kycc.params.errors import user_error
    from kycc.params.validate import SECTIONS, ParameterError, _message

    model = SECTIONS[section]
    if isinstance(value, model):
        return value
    raw = value.model_dump(by_alias=True) if isinstance(value, BaseModel) else dict(value or {})
    merged = deep_merge(base_defaults(section), raw)
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        errors = exc.errors()
        message = _message(section, model, errors[0], {}, [], None)
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more)"
        raise user_error(message, ParameterError) from None
