"""Secrets read from ``conf/local/credentials.yml``: one rule for "is this value only a placeholder?".

The credentials template and the docs show values such as ``ghp_xxx``, ``sk-xxx``, ``xxx``,
``change-me-to-a-long-random-string`` or ``<your reddit user>``. A copied template must never be taken for
real credentials (sent to a live API, or accepted as the API key of ``kycc serve``), so every reader of a secret
asks ``is_placeholder(value)`` and treats a placeholder exactly like a missing value.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["is_placeholder", "placeholder_reason"]

# "xxx", "ghp_xxx", "sk-xxx", "gsk_XXXX", "...", "ghp_...", "***": an optional short prefix, then filler only.
_FILLER = re.compile(r"^(?:[a-z]{1,8}[_-])?(?:x{3,}|\.{3,}|\*{3,}|…)$", re.IGNORECASE)
# "<your token>", "${GITHUB_TOKEN}" left unresolved, "{{ token }}".
_TEMPLATE = re.compile(r"<[^<>]*>|\$\{[^}]*\}|\{\{[^}]*\}\}")
# Words that only a placeholder contains.
_WORDS = re.compile(
    r"change[-_ ]?me|replace[-_ ]?me|your[-_ ](?:api[-_ ])?(?:key|token|secret|password)|placeholder|"
    r"^todo$|^tbd$|^fixme$|^none$|^null$",
    re.IGNORECASE,
)


def placeholder_reason(value: Any) -> str | None:
    """Why ``value`` is not a usable secret (``"empty"`` or ``"a placeholder"``), or ``None`` if it is one.

    The value itself is never part of the reason (a real secret wrongly flagged must not reach a log). Non-string
    values (``enabled: true``, a port number) are never placeholders, except ``None``.
    """
    if value is None:
        return "empty"
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return "empty"
    if _FILLER.match(text) or _TEMPLATE.search(text) or _WORDS.search(text):
        return "a placeholder"
    return None


def is_placeholder(value: Any) -> bool:
    """Whether ``value`` is missing, blank or a template placeholder rather than a real secret.

    >>> [is_placeholder(v) for v in ("ghp_xxx", "sk-xxx", "change-me", "", None, "ghp_4f9KqL2mZ8")]
    [True, True, True, True, True, False]
    """
    return placeholder_reason(value) is not None
