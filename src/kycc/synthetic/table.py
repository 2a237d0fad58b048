"""``RawTable``: one raw export as text columns, plus vectorised formatting helpers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["RawTable", "fmt_int", "fmt_money", "fmt_str", "sort_rows"]


@dataclass
class RawTable:
    """A raw table as it will be exported: text columns (``None`` = missing) and each row's month index.

    Attributes:
        file: file name in the output folder (``features_financials.csv``).
        columns: column order of the contract.
        data: column name -> Arrow string array (all rows, every month).
        month: month index of every row (selects CSV rows vs JSON batches).
        key: key columns (never made dirty).
        cust: customer index of every row (for JSON profiles).
    """

    file: str
    columns: list[str]
    data: dict[str, pa.Array]
    month: np.ndarray
    key: tuple[str, ...]
    cust: np.ndarray

    @property
    def n_rows(self) -> int:
        return len(self.month)


def sort_rows(*keys: np.ndarray) -> np.ndarray:
    """Row order by the given keys, first key most significant (a stable lexicographic sort)."""
    return np.lexsort(tuple(reversed(keys)))


def fmt_int(values: np.ndarray) -> pa.Array:
    """Integers as text."""
    return pc.cast(pa.array(np.asarray(values).astype(np.int64)), pa.string())


def fmt_money(values: np.ndarray) -> pa.Array:
    """Numbers as fixed two-decimal text (``"34847.84"``, ``"-3.50"``), deterministic and vectorised."""
    cents = np.rint(np.asarray(values, dtype=float) * 100).astype(np.int64)
    magnitude = np.abs(cents)
    whole = pc.cast(pa.array(magnitude // 100), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(magnitude % 100), pa.string()), 2, padding="0")
    text = pc.binary_join_element_wise(whole, frac, ".")
    return pc.if_else(pa.array(cents < 0), pc.binary_join_element_wise("-", text, ""), text)


def fmt_str(values: np.ndarray) -> pa.Array:
    """Strings (numpy unicode array) as Arrow text."""
    return pa.array(np.asarray(values, dtype=str), pa.string())
