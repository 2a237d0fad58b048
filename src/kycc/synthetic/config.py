"""Options of the synthetic world: sizes, the month calendar, dirty-pattern rates and their validation."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from datetime import date
from pathlib import Path

from kycc.temporal.months import batch_id, month_range
from kycc.temporal.months import parse_month as _parse_month

__all__ = [
    "DEFAULT_CUSTOMERS",
    "DEFAULT_END",
    "DEFAULT_SEED",
    "DEFAULT_START",
    "DirtyRates",
    "GenerationOptions",
    "batch_id",
    "month_range",
    "parse_month",
]

#: Default world size: a full run of the downstream pipelines takes a few minutes on 2 cores.
DEFAULT_CUSTOMERS = 2_000
DEFAULT_START = "2023-01-01"
DEFAULT_END = "2024-12-01"
DEFAULT_SEED = 42


@dataclass(frozen=True)
class DirtyRates:
    """Rates of the planted dirty patterns (fractions; see the README for the columns each one hits).

    Cell patterns are drawn per eligible column as exact counts (``round(rate * rows)``) on distinct cells,
    so a cell carries at most one pattern. Row patterns are fractions of the rows of each CSV.

    Attributes:
        underscore_number: numbers with stray underscores (``"34847.84_"``, ``"__10000__"``) in the numeric
            financial columns and ``Age``.
        placeholder: placeholder strings (``"_______"`` Occupation, ``"_"`` Credit_Mix, ``"NM"``
            Payment_of_Min_Amount, ``"!@9#%8"`` Payment_Behaviour).
        impossible_value: ``Age`` -500 or 1000..8699, negative or absurd counts (``Num_Bank_Accounts`` -1 ...).
        missing: empty fields in every non-key column of attributes, financials, clickstream and relationships.
        duplicate_rows: exact duplicate rows, in every CSV.
        malformed_rows: lines with one field too many or too few (at least one per non-empty CSV).
        lms_underscore_number: stray underscores in the LMS amount columns.
    """

    underscore_number: float = 0.02
    placeholder: float = 0.02
    impossible_value: float = 0.01
    missing: float = 0.015
    duplicate_rows: float = 0.005
    malformed_rows: float = 0.0005
    lms_underscore_number: float = 0.002

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise TypeError(f"DirtyRates.{f.name} must be a number, got {value!r}")
            if not 0.0 <= float(value) <= 0.2:
                raise ValueError(f"DirtyRates.{f.name} must lie in [0, 0.2], got {value!r}")

    @classmethod
    def clean(cls) -> DirtyRates:
        """All rates zero (what ``dirty=False`` uses)."""
        return cls(**{f.name: 0.0 for f in fields(cls)})

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


def parse_month(value: str | date, name: str) -> date:
    """A required month by the platform's one rule (:func:`kycc.temporal.months.parse_month`)."""
    parsed = _parse_month(value, name)
    if parsed is None:
        raise ValueError(f"{name} is required (a month YYYY-MM-01)")
    return parsed


@dataclass(frozen=True)
class GenerationOptions:
    """Validated arguments of one generation run."""

    output_dir: Path
    n_customers: int
    months: tuple[date, ...]
    seed: int
    json_months: int
    dirty: bool
    rates: DirtyRates
    write_truth: bool
    force: bool
    drift: bool = True

    @property
    def n_months(self) -> int:
        return len(self.months)

    @property
    def csv_month_count(self) -> int:
        """Months written as CSV rows (the first ones); the last ``json_months`` go to JSON batches."""
        return self.n_months - self.json_months

    @property
    def drift_start(self) -> int:
        """Index of the first drift month: the last third of the range (no drift with fewer than 3 months, or
        with ``drift`` off: then it is ``n_months``, a month that never comes)."""
        if self.n_months < 3 or not self.drift:
            return self.n_months
        return self.n_months - math.ceil(self.n_months / 3)

    @classmethod
    def build(
        cls,
        *,
        output_dir: str | Path,
        n_customers: int,
        start: str | date,
        end: str | date,
        seed: int,
        json_months: int,
        dirty: bool,
        dirty_rates: DirtyRates | None,
        write_truth: bool,
        force: bool,
        drift: bool = True,
    ) -> GenerationOptions:
        """Validate the arguments of :func:`kycc.synthetic.generate`; raise ``ValueError``/``TypeError``."""
        if isinstance(n_customers, bool) or not isinstance(n_customers, int):
            raise TypeError(f"n_customers must be an integer, got {n_customers!r}")
        if n_customers < 1:
            raise ValueError(f"n_customers must be at least 1, got {n_customers}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        first = parse_month(start, "start")
        last = parse_month(end, "end")
        if first > last:
            raise ValueError(f"start={first.isoformat()} is after end={last.isoformat()}")
        months = tuple(month_range(first, last))
        if isinstance(json_months, bool) or not isinstance(json_months, int):
            raise TypeError(f"json_months must be an integer, got {json_months!r}")
        if not 0 <= json_months <= len(months):
            raise ValueError(
                f"json_months must lie between 0 and the number of months in the range ({len(months)}), "
                f"got {json_months}"
            )
        if dirty_rates is not None and not isinstance(dirty_rates, DirtyRates):
            raise TypeError(f"dirty_rates must be a DirtyRates, got {type(dirty_rates).__name__}")
        rates = (dirty_rates or DirtyRates()) if dirty else DirtyRates.clean()
        return cls(
            output_dir=Path(output_dir),
            n_customers=n_customers,
            months=months,
            seed=seed,
            json_months=json_months,
            dirty=bool(dirty),
            rates=rates,
            write_truth=bool(write_truth),
            force=bool(force),
            drift=bool(drift),
        )
