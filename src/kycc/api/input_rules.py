"""Plausible ranges of the gold features an API caller sends, from the same rules silver applies to raw data.

Silver nulls (or, for the loan book, quarantines) a value outside its rule, so no gold feature the models and
the scorecard ever saw lies outside it: a caller's value outside it (debt-to-income −50, age 8000) is not a
value to score but a mistake, answered 422 naming the feature. The bounds are read from the project's
configuration, never copied:

* ``feature_store.valid_ranges`` {raw column: [lo, hi]} for the attributes, financials, clickstream and
  relationship columns, ``label_store.max_amount`` / ``max_tenure`` and the schema's non-negative columns for
  the loan book (:mod:`kycc.medallion.silver`), mapped to gold names through :mod:`kycc.medallion.schemas`;
* the ratios of two such features (``debt_to_income`` = outstanding_debt / annual_income …, see
  :mod:`kycc.features.dictionary`) are ≥ 0 when both parts are, and ``emi_to_salary`` ≤
  ``feature_store.max_emi_to_salary`` (silver nulls a larger EMI).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kycc.features.dictionary import FEATURES
from kycc.medallion.schemas import SOURCES

__all__ = ["RATIOS", "FeatureRange", "gold_feature_ranges"]

#: Gold ratio features: (numerator, denominator) — as computed in :mod:`kycc.features.point_in_time`.
RATIOS: dict[str, tuple[str, str]] = {
    "debt_to_income": ("outstanding_debt", "annual_income"),
    "emi_to_salary": ("total_emi_per_month", "monthly_inhand_salary"),
    "loan_to_income": ("loan_amt", "annual_income"),
}


@dataclass(frozen=True)
class FeatureRange:
    """Valid values of one gold feature: ``lo <= value <= hi`` and the rule they come from."""

    lo: float
    hi: float
    rule: str

    def problem(self, value: float) -> str | None:
        """Why ``value`` is not a valid value of the feature, or None."""
        if not math.isfinite(value):
            return f"must be a finite number, got {value!r}"
        if value < self.lo or value > self.hi:
            return f"{value!r} is outside the valid range {self.describe()} ({self.rule}, as in silver)"
        return None

    def describe(self) -> str:
        lo = "-inf" if self.lo == -math.inf else f"{self.lo:g}"
        hi = "inf" if self.hi == math.inf else f"{self.hi:g}"
        return f"[{lo}, {hi}]"


def gold_feature_ranges(params: Mapping[str, Any]) -> dict[str, FeatureRange]:
    """The range of every gold feature that silver validates, from the project's parameters.

    Args:
        params: The project's parameters (``context.params``): ``feature_store`` and ``label_store`` are read.
    """
    gold = {f.name for f in FEATURES}
    out: dict[str, FeatureRange] = {}
    for source, schema in SOURCES.items():
        section = "label_store" if source == "lms" else "feature_store"
        rules = params.get(section) or {}
        ranges = rules.get("valid_ranges") or {}
        for col in schema.columns:
            if col.kind not in ("int", "float") or col.silver not in gold:
                continue
            lo, hi, why = -math.inf, math.inf, []
            if col.raw in ranges:
                lo, hi = (float(v) for v in ranges[col.raw])
                why.append(f"{section}.valid_ranges.{col.raw}")
            if col.non_negative:
                lo = max(lo, 0.0)
                why.append(f"{source} column {col.raw} is never negative")
            if source == "lms" and col.silver == "loan_amt" and rules.get("max_amount") is not None:
                hi = min(hi, float(rules["max_amount"]))
                why.append(f"{section}.max_amount")
            if source == "lms" and col.silver == "tenure" and rules.get("max_tenure") is not None:
                lo, hi = max(lo, 1.0), min(hi, float(rules["max_tenure"]))
                why.append(f"{section}.max_tenure")
            if why:
                out[col.silver] = FeatureRange(lo, hi, "; ".join(why))
    fs = params.get("feature_store") or {}
    for name, (num, den) in RATIOS.items():
        lo, hi, why = -math.inf, math.inf, []
        if num in out and den in out and out[num].lo >= 0 and out[den].lo >= 0:
            lo = 0.0
            why.append(f"{num} / {den}, both never negative")
        if name == "emi_to_salary" and fs.get("max_emi_to_salary") is not None:
            hi = float(fs["max_emi_to_salary"])
            why.append("feature_store.max_emi_to_salary")
        if why:
            out[name] = FeatureRange(lo, hi, "; ".join(why))
    return out
