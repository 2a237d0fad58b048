"""``inference``: which months to score and with which models (``conf/base/parameters_inference.yml``)."""

from __future__ import annotations

from pydantic import StrictBool, StrictStr, model_validator

from kycc.params.base import Month, Params


class InferenceParams(Params):
    start_month: Month
    end_month: Month
    models: list[StrictStr] | None
    rescore: StrictBool
    rescore_reason: str | None

    @model_validator(mode="after")
    def _reason(self) -> InferenceParams:
        if self.rescore and not (self.rescore_reason or "").strip():
            raise ValueError(
                "inference.rescore is true but inference.rescore_reason is empty: a new decision set of a decided "
                'month needs a written reason, e.g. --params "inference.rescore=true,inference.rescore_reason='
                'scorecard ml_v2 approved by risk committee" (nothing was written)'
            )
        return self
