"""``monitoring`` and ``psi_levels`` (``conf/base/parameters_monitoring.yml``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from kycc.params.base import Month, Params

#: A number (not a bool, not a string), finite.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
#: A probability-like level strictly inside (0, 1).
Fraction = Annotated[float, Field(strict=True, gt=0, lt=1)]


class Backtest(Params):
    alpha: Fraction
    confidence: Fraction


class MonitoringParams(Params):
    start_month: Month
    end_month: Month
    label_lag_months: Annotated[int, Field(ge=1, strict=True)]
    psi_bins: Annotated[int, Field(ge=2, strict=True)]
    backtest: Backtest


class StabilityParams(Params):
    start_month: Month
    end_month: Month
    reference_start: Month
    #: a reference of more than one month
    reference_months: Annotated[int, Field(ge=2, strict=True)]
    psi_bins: Annotated[int, Field(ge=2, strict=True)]


class PsiLevels(Params):
    """The one PSI-level set: ``0 < moderate < major``, ``0 < alpha < 1``,
    ``0 < missing_moderate < missing_major <= 1``."""

    moderate: Number
    major: Number
    alpha: Fraction
    missing_moderate: Number
    missing_major: Number

    @model_validator(mode="after")
    def _ordered(self) -> PsiLevels:
        if not 0 < self.moderate < self.major:
            raise ValueError(
                f"need 0 < moderate < major, got moderate={self.moderate:g}, major={self.major:g}"
            )
        if not 0 < self.missing_moderate < self.missing_major <= 1:
            raise ValueError(
                "need 0 < missing_moderate < missing_major <= 1, got "
                f"{self.missing_moderate:g}, {self.missing_major:g}"
            )
        return self
