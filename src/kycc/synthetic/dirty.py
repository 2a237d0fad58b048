"""Plant the dirty patterns of real exports into a clean ``RawTable``, seeded and counted."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kycc.synthetic.config import DirtyRates
from kycc.synthetic.table import RawTable

logger = logging.getLogger(__name__)

__all__ = ["CELL_PATTERNS", "MIN_ROWS_FOR_MALFORMED", "PLACEHOLDERS", "RowPlan", "plan_rows", "plant_cells"]

PLACEHOLDERS = {
    "Occupation": "_______",
    "Credit_Mix": "_",
    "Payment_of_Min_Amount": "NM",
    "Payment_Behaviour": "!@9#%8",
}
_FINANCIAL_NUMERIC = [
    "Annual_Income", "Monthly_Inhand_Salary", "Num_Bank_Accounts", "Num_Credit_Card", "Interest_Rate",
    "Num_of_Loan", "Delay_from_due_date", "Num_of_Delayed_Payment", "Changed_Credit_Limit",
    "Num_Credit_Inquiries", "Outstanding_Debt", "Credit_Utilization_Ratio", "Total_EMI_per_month",
    "Amount_invested_monthly", "Monthly_Balance",
]  # fmt: skip
_IMPOSSIBLE_COLUMNS = [
    "Age", "Num_Bank_Accounts", "Num_Credit_Card", "Interest_Rate", "Num_of_Loan", "Num_of_Delayed_Payment",
    "Num_Credit_Inquiries",
]  # fmt: skip
_LMS_AMOUNTS = ["loan_amt", "due_amt", "paid_amt", "overdue_amt", "balance"]

#: file -> pattern -> columns it hits. ``missing`` hits every non-key column of the profile tables.
CELL_PATTERNS: dict[str, dict[str, list[str]]] = {
    "features_attributes.csv": {
        "underscore_number": ["Age"],
        "impossible_value": ["Age"],
        "placeholder": ["Occupation"],
        "missing": [
            "Name",
            "Age",
            "SSN",
            "Occupation",
            "kyc_verified",
            "party_type",
            "country",
            "registration_date",
        ],
    },
    "features_financials.csv": {
        "underscore_number": _FINANCIAL_NUMERIC,
        "impossible_value": [c for c in _IMPOSSIBLE_COLUMNS if c != "Age"],
        "placeholder": ["Credit_Mix", "Payment_of_Min_Amount", "Payment_Behaviour"],
        "missing": [
            *_FINANCIAL_NUMERIC,
            "Type_of_Loan",
            "Credit_Mix",
            "Credit_History_Age",
            "Payment_of_Min_Amount",
            "Payment_Behaviour",
        ],
    },
    "feature_clickstream.csv": {"missing": [f"fe_{i}" for i in range(1, 21)]},
    "party_relationships.csv": {"missing": ["volume"]},
    "lms_loan_daily.csv": {"lms_underscore_number": _LMS_AMOUNTS},
}
#: Smallest CSV that always gets a malformed line (when ``malformed_rows`` > 0).
MIN_ROWS_FOR_MALFORMED = 100
_PATTERN_ORDER = ("underscore_number", "lms_underscore_number", "placeholder", "impossible_value", "missing")


@dataclass(frozen=True)
class RowPlan:
    """Which rows of a table become malformed lines and which are duplicated (row indices, CSV rows only)."""

    malformed: np.ndarray
    malformed_extra: np.ndarray  # bool per malformed row: one field too many (else one too few)
    duplicates: np.ndarray


def plan_rows(table: RawTable, csv_rows: np.ndarray, rates: DirtyRates, rng: np.random.Generator) -> RowPlan:
    """Choose malformed rows and exact duplicates among CSV rows.

    A CSV of at least ``MIN_ROWS_FOR_MALFORMED`` rows gets at least one malformed line when the rate is positive.
    """
    n = len(csv_rows)
    n_malformed = round(rates.malformed_rows * n)
    if rates.malformed_rows > 0 and n >= MIN_ROWS_FOR_MALFORMED:
        n_malformed = max(1, n_malformed)
    malformed = (
        np.sort(rng.choice(csv_rows, size=n_malformed, replace=False)) if n_malformed else csv_rows[:0]
    )
    extra = rng.random(len(malformed)) < 0.5
    remaining = np.setdiff1d(csv_rows, malformed, assume_unique=True)
    n_dup = round(rates.duplicate_rows * len(remaining))
    duplicates = np.sort(rng.choice(remaining, size=n_dup, replace=False)) if n_dup else remaining[:0]
    return RowPlan(malformed=malformed, malformed_extra=extra, duplicates=duplicates)


def _underscored(values: list[str], rng: np.random.Generator) -> list[str]:
    wrap = rng.random(len(values)) < 0.5
    return [f"__{v}__" if w else f"{v}_" for v, w in zip(values, wrap.tolist(), strict=True)]


def _impossible(column: str, size: int, rng: np.random.Generator) -> list[str]:
    if column == "Age":
        values = np.where(rng.random(size) < 0.5, -500, rng.integers(1000, 8700, size))
    elif column in {"Num_Bank_Accounts", "Num_of_Delayed_Payment"}:
        values = -rng.integers(1, 4, size)
    elif column == "Num_of_Loan":
        values = np.full(size, -100)
    elif column == "Interest_Rate":
        values = rng.integers(100, 5800, size)
    else:
        values = rng.integers(1000, 2600, size)
    return [str(v) for v in values.tolist()]


def plant_cells(
    table: RawTable, eligible: np.ndarray, rates: DirtyRates, rng: np.random.Generator
) -> dict[str, dict[str, np.ndarray]]:
    """Replace cells of ``table.data`` in place with dirty values; return pattern -> column -> row indices.

    Per column, ``round(rate * len(eligible))`` distinct eligible rows get each applicable pattern (no cell gets
    two). Keys are never touched.
    """
    spec = CELL_PATTERNS.get(table.file, {})
    planted: dict[str, dict[str, np.ndarray]] = {}
    for column in table.columns:
        if column in table.key:
            continue
        patterns = [p for p in _PATTERN_ORDER if column in spec.get(p, []) and getattr(rates, p) > 0]
        counts = [round(getattr(rates, p) * len(eligible)) for p in patterns]
        total = sum(counts)
        if total == 0:
            continue
        chosen = rng.choice(eligible, size=total, replace=False)
        original = table.data[column]
        replacement_idx: list[np.ndarray] = []
        replacement_val: list[str | None] = []
        offset = 0
        for pattern, count in zip(patterns, counts, strict=True):
            rows = chosen[offset : offset + count]
            offset += count
            if count == 0:
                continue
            if pattern in {"underscore_number", "lms_underscore_number"}:
                values: list[str | None] = list(_underscored(original.take(pa.array(rows)).to_pylist(), rng))
            elif pattern == "placeholder":
                values = [PLACEHOLDERS[column]] * count
            elif pattern == "impossible_value":
                values = list(_impossible(column, count, rng))
            else:
                values = [None] * count
            planted.setdefault(pattern, {})[column] = np.sort(rows)
            replacement_idx.append(rows)
            replacement_val.extend(values)
        idx = np.concatenate(replacement_idx)
        order = np.argsort(idx, kind="stable")
        mask = np.zeros(table.n_rows, dtype=bool)
        mask[idx] = True
        replacements = pa.array([replacement_val[i] for i in order.tolist()], pa.string())
        table.data[column] = pc.replace_with_mask(original, pa.array(mask), replacements)
    return planted
