"""The cycle's summary table: one line per month — training, scoring, then each model's monitoring and action.

Cells are short (the full reasons are in the month records, ``data/08_reporting/cycle/months/YYYY-MM.json``):

* training: ``T v1* v1*`` (versions registered, ``*`` = became champion), ``gate✗`` (quality gates failed), or
  ``- <why not>``;
* scoring: the scorecard version and the applications it decided, ``seed 24-04..24-11`` after a seed backfill;
* per model: the version monitored, ROC-AUC, score PSI and the action decision; or why nothing was monitored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["format_summary"]

WIDTHS = {"month": 7, "training": 33, "scoring": 30, "model": 37}


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _training(record: Mapping[str, Any]) -> str:
    entry = record.get("training") or {}
    if entry.get("status") != "ran":
        return f"- {entry.get('reason', '')}"
    parts = []
    for outcome in (entry.get("models") or {}).values():
        if outcome.get("status") == "registered":
            parts.append(f"v{outcome['version']}{'*' if outcome.get('champion') else ''}")
        else:
            parts.append("gate✗" if outcome.get("status") == "rejected" else str(outcome.get("status")))
    return "T " + " ".join(parts)


def _scoring(record: Mapping[str, Any]) -> str:
    entry = record.get("inference") or {}
    if entry.get("status") != "ran":
        return f"skip: {entry.get('reason', '-')}"
    scorecard = entry.get("scorecard") or {}
    text = f"{scorecard.get('scorecard_version', '?')} {scorecard.get('applications', '?')} apps"
    seed = entry.get("seed_backfill") or {}
    if seed.get("status") == "ran":
        months = {(v["start_month"][2:7], v["end_month"][2:7]) for v in seed["models"].values()}
        text += ", seed " + ",".join(f"{a}..{b}" for a, b in sorted(months))
    return text


def _model(record: Mapping[str, Any], model: str) -> str:
    monitoring = record.get("monitoring") or {}
    metrics = (monitoring.get("models") or {}).get(model)
    decision = ((record.get("actions") or {}).get("decisions") or {}).get(model, "")
    if metrics:
        auc, psi = metrics.get("roc_auc"), metrics.get("psi_score")
        auc_text = "n/a" if auc is None else f"{auc:.3f}".lstrip("0")
        psi_text = "n/a" if psi is None else f"{psi:.2f}".lstrip("0")
        return f"v{metrics.get('model_version', '?')} AUC {auc_text} PSI {psi_text} {decision}".rstrip()
    scored = ((record.get("inference") or {}).get("models") or {}).get(model) or {}
    if scored.get("status") == "scored":
        return f"v{scored['model_version']} scoring; not monitored"
    return "no model"


def format_summary(records: Sequence[Mapping[str, Any]], models: Sequence[str] | None = None) -> str:
    """The table printed at the end of ``kycc backfill``."""
    if models is None:
        seen: dict[str, None] = {}
        for r in records:
            for m in (r.get("inference") or {}).get("models") or {}:
                seen[m] = None
        models = list(seen)
    w = WIDTHS
    header = [f"{'month':<{w['month']}}", f"{'training':<{w['training']}}", f"{'scoring':<{w['scoring']}}"]
    header += [f"{m:<{w['model']}}" for m in models]
    lines = ["  ".join(header).rstrip()]
    lines.append("-" * len(lines[0]))
    for r in records:
        cells = [
            f"{r['month'][:7]:<{w['month']}}",
            f"{_cut(_training(r), w['training']):<{w['training']}}",
            f"{_cut(_scoring(r), w['scoring']):<{w['scoring']}}",
        ]
        cells += [f"{_cut(_model(r, m), w['model']):<{w['model']}}" for m in models]
        lines.append("  ".join(cells).rstrip())
    lines.append(
        "training: T = trained (vN registered, * = new champion, gate✗ = gates failed), - = skipped and why; "
        "scoring: scorecard version and applications decided;\nper model: version monitored, ROC-AUC and score "
        "PSI of the cohort scored 6 months before, action decision. Details: data/08_reporting/cycle/months/."
    )
    return "\n".join(lines)
