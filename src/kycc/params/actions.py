"""``actions`` and ``recalibration`` (``conf/base/parameters_actions.yml``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StrictStr

from kycc.params.base import Month, Params

#: A whole number >= 1 (``True`` is not a number of cohorts).
Positive = Annotated[int, Field(ge=1, strict=True)]


class Threshold(Params):
    priority: str
    business: float | None
    data_science: float | None


class Degradation(Params):
    max_drop: dict[str, float]


class Evidence(Params):
    decide_on: str
    confidence: float
    n_boot: int
    seed: int
    calibration_alpha: float


class Calibration(Params):
    enabled: bool
    ae_band: tuple[float, float]
    rule: str


class Retry(Params):
    attempts: int
    backoff_seconds: float


class Notifications(Params):
    enabled: bool
    #: per channel: ``type`` (webhook | smtp) and its own keys (format, url, to, credentials, …)
    channels: dict[str, dict[str, Any]]
    levels: dict[str, list[str]]
    repeat_every_months: dict[str, int | None]
    notify_on_deescalation: bool
    retry: Retry
    timeout_seconds: float


class ActionsParams(Params):
    start_month: Month
    end_month: Month
    thresholds: dict[str, Threshold]
    decision_priorities: list[str]
    degradation: Degradation
    evidence: Evidence
    calibration: Calibration
    notifications: Notifications
    trigger_training: bool
    trigger_recalibration: bool


class RecalibrationParams(Params):
    month: Month
    decided_month: Month
    models: list[StrictStr] | None
    method: Literal["platt", "isotonic"]
    cohorts: Positive
    min_defaults: Positive
    scorecard: bool
    confirm: bool
