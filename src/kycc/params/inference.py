"""``inference``: which months to score and with which models (``conf/base/parameters_inference.yml``)."""

from __future__ import annotations

from kycc.params.base import Month, Params


class InferenceParams(Params):
    start_month: Month
    end_month: Month
    models: list[str] | None
    rescore: bool
    rescore_reason: str | None
