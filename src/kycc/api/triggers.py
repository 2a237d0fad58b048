"""Which runtime parameters ``POST /api/pipeline/trigger/{pipeline}`` accepts: the one allow-list.

A trigger may choose **the run window and the models** of a run, nothing else. Everything that names a host, a
URL, a path, a credential, or a governance threshold, gate or action (``issue_mining.labelling.api_base``,
the PocketBase URL, ``actions.thresholds…``, ``actions.trigger_training``, ``training.quality_gates…``) keeps
the value of the configuration on the server: change those in ``conf/`` and review them there. A key outside
the list, or a value of the wrong kind, is refused with **422** naming the key — before any run is queued.

docs/api.md shows the same table (``python -m kycc.api.triggers`` prints it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

__all__ = ["TRIGGER_PARAMETERS", "TriggerParameterError", "check_trigger_params", "render_markdown"]

MONTH, DATE, MODELS = "month", "date", "models"

#: What each kind of value must be (the message of a refusal).
KINDS = {
    MONTH: "a month: YYYY-MM-01 (or YYYY-MM), or null for the configured default",
    DATE: "a date: YYYY-MM-DD, or null for the configured default",
    MODELS: "a list of model names of training.models (e.g. [model_2]), or null for every model",
}

_RUN_WINDOW = {"run.start_month": MONTH, "run.end_month": MONTH}

#: pipeline → {dotted parameter: kind}. A registered pipeline missing here accepts no parameter.
TRIGGER_PARAMETERS: dict[str, dict[str, str]] = {
    "__default__": _RUN_WINDOW,
    "label_store": _RUN_WINDOW,
    "feature_store": _RUN_WINDOW,
    "model_input": {},
    "training": {"training.training_date": MONTH},
    "inference": {"inference.start_month": MONTH, "inference.end_month": MONTH, "inference.models": MODELS},
    "monitoring": {"monitoring.start_month": MONTH, "monitoring.end_month": MONTH},
    "actions": {"actions.start_month": MONTH, "actions.end_month": MONTH},
    "reporting": {},
    "scorecard": {"scorecard.reference.month": MONTH},
    "stability": {"stability.start_month": MONTH, "stability.end_month": MONTH},
    "early_read": _RUN_WINDOW,
    "fair_lending": {},
    "recalibration": {
        "recalibration.month": MONTH,
        "recalibration.decided_month": MONTH,
        "recalibration.models": MODELS,
    },
    "issue_mining": {"issue_mining.run_date": DATE},
}

_MONTH = re.compile(r"^\d{4}-\d{2}(-01)?$")


class TriggerParameterError(ValueError):
    """Trigger parameters outside the allow-list or of the wrong kind (HTTP 422).

    Args:
        problems: ``[(parameter, message)]``.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{k}: {m}" for k, m in problems))


def _value_problem(kind: str, value: Any, models: Iterable[str]) -> str | None:
    if value is None:
        return None
    if kind in (MONTH, DATE):
        text = value if isinstance(value, str) else None
        try:
            if text is None or (kind == MONTH and not _MONTH.match(text)):
                raise ValueError
            date.fromisoformat(text if len(text) == 10 else f"{text}-01")
        except ValueError:
            return f"must be {KINDS[kind]}, got {value!r}"
        return None
    if kind == MODELS:
        known = list(models)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            return f"must be {KINDS[kind]}, got {value!r}"
        unknown = [v for v in value if v not in known]
        if unknown:
            return f"unknown model(s) {unknown}; models: {', '.join(known)}"
        return None
    raise ValueError(f"unknown parameter kind {kind!r}")


def check_trigger_params(pipeline: str, params: Mapping[str, Any], models: Iterable[str] = ()) -> None:
    """Refuse any parameter of ``params`` that the allow-list of ``pipeline`` does not hold.

    Raises:
        TriggerParameterError: Every refused key with the reason (keys outside the list, bad values).
    """
    allowed = TRIGGER_PARAMETERS.get(pipeline, {})
    models = list(models)
    problems: list[tuple[str, str]] = []
    for key, value in params.items():
        if key not in allowed:
            accepted = ", ".join(allowed) if allowed else "none"
            problems.append(
                (
                    key,
                    f"not a trigger parameter of pipeline {pipeline!r} (accepted: {accepted}); hosts, URLs, "
                    "paths, credentials and governance thresholds are set in conf/, not per run",
                )
            )
            continue
        problem = _value_problem(allowed[key], value, models)
        if problem:
            problems.append((key, problem))
    if problems:
        raise TriggerParameterError(problems)


def render_markdown() -> str:
    """The allow-list as the table of docs/api.md."""
    lines = ["| pipeline | parameters a trigger may set |", "|---|---|"]
    for pipeline, allowed in TRIGGER_PARAMETERS.items():
        shown = ", ".join(f"`{k}` ({kind})" for k, kind in allowed.items()) or "none"
        lines.append(f"| `{pipeline}` | {shown} |")
    lines += ["", *(f"- *{kind}*: {text}" for kind, text in KINDS.items())]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - documentation generator
    import sys

    sys.stdout.write(render_markdown())
