"""User errors: a mistake in what the user typed (a pipeline name, a parameter), printed as one line.

A :class:`UserError` that reaches the top of ``kedro run`` prints ``error: <message>`` and exits 1, instead of a
boxed traceback around the message. ``KYCC_VERBOSE=1`` (or ``kedro --verbose …``) keeps the full traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Any

VERBOSE_ENV = "KYCC_VERBOSE"


class UserError(Exception):
    """A mistake in the user's input: shown as one line, not as a crash."""


def _verbose() -> bool:
    if os.environ.get(VERBOSE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}:
        return True
    try:
        from kedro.framework.cli.utils import KedroCliError
    except ImportError:  # pragma: no cover - kedro is a dependency
        return False
    return bool(KedroCliError.VERBOSE_ERROR) or "--verbose" in sys.argv[1:]


def _one_line_excepthook(previous: Any) -> Any:
    def hook(etype: type[BaseException], value: BaseException, tb: Any) -> None:
        cause: BaseException | None = value
        while cause is not None and not isinstance(cause, UserError):
            cause = cause.__cause__ or cause.__context__
        if cause is None or _verbose():
            previous(etype, value, tb)
            return
        sys.stderr.write(f"error: {cause}\n")

    hook._kycc_one_line = True  # type: ignore[attr-defined]
    return hook


def install_one_line_errors() -> None:
    """Make an uncaught :class:`UserError` print one line (idempotent).

    Called right before a user error is raised: by then Kedro has installed its rich traceback hook, which this
    one wraps (any other exception still gets it).
    """
    if not getattr(sys.excepthook, "_kycc_one_line", False):
        sys.excepthook = _one_line_excepthook(sys.excepthook)


def user_error(message: str, cls: type[UserError] = UserError) -> UserError:
    """``raise user_error("…")``: the error, with the one-line printing installed."""
    install_one_line_errors()
    return cls(message)
