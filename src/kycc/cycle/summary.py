"""The cycle's summary table: one line per month, one column per step (what ran, or why it was skipped)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["STEPS", "format_summary", "step_text"]

STEPS = ("training", "inference", "monitoring", "actions")
WIDTHS = {"month": 8, "training": 34, "inference": 40, "monitoring": 44, "actions": 40}


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def step_text(record: Mapping[str, Any], step: str) -> str:
    """The short text of one step of one month record."""
    entry = record.get(step) or {}
    status = entry.get("status", "-")
    if status == "skipped":
        return f"skip: {entry.get('reason', '')}"
    return str(entry.get("text") or status)


def format_summary(records: Sequence[Mapping[str, Any]]) -> str:
    """The table printed at the end of ``kycc backfill`` (full texts are in the month records' JSON)."""
    header = "  ".join(f"{name:<{WIDTHS[name]}}" for name in ("month", *STEPS))
    lines = [header, "-" * len(header)]
    for record in records:
        cells = [f"{record['month'][:7]:<{WIDTHS['month']}}"]
        cells += [f"{_cut(step_text(record, s), WIDTHS[s]):<{WIDTHS[s]}}" for s in STEPS]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
