"""The cycle's summary table: one line per month — training, scoring, then each model's monitoring and action.

Cells are short (the full reasons are in the month records, ``data/08_reporting/cycle/months/YYYY-MM.json``):

* training: ``T v1* v1*`` (versions registered, ``*`` = became champion), ``gate✗`` (quality gates failed), or
  ``- <why not>``; ``R v3*`` when a recalibrate decision of the month before was carried out (new version);
* scoring: the scorecard version and the applications it decided, ``seed 24-04..24-11`` after a seed backfill;
* scorecard: the deciding version's backtest of the cohort maturing this month (ROC-AUC, observed default rate vs
  its PD) — every month with matured decisions, before any model exists;
* per model: the version monitored, ROC-AUC, score PSI and the action decision; or why nothing was monitored.

Below the table, :func:`format_figures` prints the monitoring figures of the whole cycle: the months the active
scorecard's scoring-time stability flagged (against the drift start the generator recorded, when the world is
generated), the estimated-vs-realized ROC-AUC error per scorer, and the early read's MOB-2/3 projection error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

__all__ = ["format_figures", "format_summary"]

WIDTHS = {"month": 7, "training": 33, "scoring": 32, "scorecard": 28, "model": 37}


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _recalibration(record: Mapping[str, Any]) -> str:
    """``R v3* v4*`` (recalibrated versions, ``*`` = champion) or "" when nothing was recalibrated."""
    entry = record.get("recalibration") or {}
    if entry.get("status") != "ran":
        return ""
    parts = [
        f"v{o['version']}{'*' if o.get('champion') else ''}"
        for o in (entry.get("models") or {}).values()
        if o.get("status") in {"ran", "kept"}
    ]
    return "R " + " ".join(parts)


def _training(record: Mapping[str, Any]) -> str:
    entry = record.get("training") or {}
    recalibrated = _recalibration(record)
    if entry.get("status") != "ran":
        return (
            f"{recalibrated}; - {entry.get('reason', '')}" if recalibrated else f"- {entry.get('reason', '')}"
        )
    parts = []
    for outcome in (entry.get("models") or {}).values():
        if outcome.get("status") == "registered":
            parts.append(f"v{outcome['version']}{'*' if outcome.get('champion') else ''}")
        else:
            parts.append("gate✗" if outcome.get("status") == "rejected" else str(outcome.get("status")))
    return "T " + " ".join(parts) + (f"; {recalibrated}" if recalibrated else "")


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


def _short(value: Any, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}".lstrip("0")


def _scorecard(record: Mapping[str, Any]) -> str:
    entry = record.get("scorecard_monitoring") or {}
    versions = entry.get("backtest") or {}
    if entry.get("status") != "ran" or not versions:
        return "-"
    parts = []
    for version, v in versions.items():
        dr, pd_ = v.get("observed_default_rate"), v.get("predicted_pd")
        rate = "" if dr is None else f" DR {100 * dr:.0f}%" + ("" if pd_ is None else f"/PD {100 * pd_:.0f}%")
        parts.append(f"{version} AUC {_short(v.get('roc_auc'))}{rate}")
    return "; ".join(parts)


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
    header = [f"{'month':<{w['month']}}", f"{'training':<{w['training']}}", f"{'scoring':<{w['scoring']}}",
              f"{'scorecard backtest':<{w['scorecard']}}"]  # fmt: skip
    header += [f"{m:<{w['model']}}" for m in models]
    lines = ["  ".join(header).rstrip()]
    lines.append("-" * len(lines[0]))
    for r in records:
        cells = [
            f"{r['month'][:7]:<{w['month']}}",
            f"{_cut(_training(r), w['training']):<{w['training']}}",
            f"{_cut(_scoring(r), w['scoring']):<{w['scoring']}}",
            f"{_cut(_scorecard(r), w['scorecard']):<{w['scorecard']}}",
        ]
        cells += [f"{_cut(_model(r, m), w['model']):<{w['model']}}" for m in models]
        lines.append("  ".join(cells).rstrip())
    lines.append(
        "training: T = trained (vN registered, * = new champion, gate✗ = gates failed), R = recalibrated (new "
        "version), - = skipped and why; "
        "scoring: scorecard version and applications decided;\nscorecard backtest: the deciding version's ROC-AUC "
        "and observed default rate / PD of the cohort decided 6 months before; per model: version monitored, "
        "ROC-AUC\nand score PSI of the cohort scored 6 months before, action decision. Details: "
        "data/08_reporting/cycle/months/."
    )
    return "\n".join(lines)


def _flagged(stability: pd.DataFrame) -> dict[str, list[tuple[str, str, str, float]]]:
    """Per scorecard scorer: the months whose status is not ``stable`` (month, verdict, family, value)."""
    if stability is None or stability.empty:
        return {}
    status = stability.loc[(stability["family"] == "status") & (stability["scorer_kind"] == "scorecard")]
    out: dict[str, list[tuple[str, str, str, float]]] = {}
    for scorer, part in status.sort_values("snapshot_date").groupby("scorer", sort=True):
        out[scorer] = [
            (
                f"{pd.Timestamp(r['snapshot_date']):%Y-%m}",
                str(r["verdict"]),
                str(r["feature"]),
                float(r["value"]),
            )
            for _, r in part.iterrows()
        ]
    return out


def _drift_lines(manifest: Mapping[str, Any] | None, stability: pd.DataFrame) -> list[str]:
    drift = (manifest or {}).get("drift") or {}
    by_scorer = _flagged(stability)
    if not by_scorer:
        return ["  drift: no scoring-time stability yet"]
    if manifest is None:
        where = "no generation manifest (not a generated world)"
        start = None
    elif drift.get("enabled") and drift.get("start_month"):
        start = f"{pd.Timestamp(drift['start_month']):%Y-%m}"
        where = f"drift planted from {start} (generation manifest)"
    else:
        where, start = "a world generated without drift (--no-drift)", None
    lines = [f"  drift: {where}"]
    for scorer, months in by_scorer.items():
        flagged = [m for m in months if m[1] in {"moderate", "major"}]
        text = ", ".join(f"{m} {v} ({f} {val:.3f})" for m, v, f, val in flagged) or "none"
        lines.append(f"    {scorer}: {len(flagged)} of {len(months)} checked month(s) flagged: {text}")
        if start is not None:
            at = next((m for m in months if m[0] == start), None)
            before = [m for m in flagged if m[0] < start]
            state = "not checked" if at is None else f"{at[1]} ({at[2]} {at[3]:.3f})"
            lines.append(
                f"    {scorer} in the drift month {start}: {state}; flagged before it: {len(before)}"
            )
    return lines


def _estimate_lines(estimated: pd.DataFrame) -> list[str]:
    if estimated is None or estimated.empty or "roc_auc_error" not in estimated.columns:
        return ["  estimated vs realized ROC-AUC: no matured cohort yet"]
    done = estimated.dropna(subset=["roc_auc_error"])
    lines = [
        "  estimated vs realized ROC-AUC over the matured months (mean absolute error; noise: mean DeLong SE):"
    ]
    for scorer, g in done.groupby("scorer", sort=True):
        se = (g["realized_roc_auc_upper"] - g["realized_roc_auc_lower"]) / (2 * 1.959964)
        lines.append(
            f"    {scorer}: MAE {g['roc_auc_error'].abs().mean():.3f} over {len(g)} month(s) "
            f"(bias {g['roc_auc_error'].mean():+.3f}, SE {se.mean():.3f}); default rate MAE "
            f"{100 * g['default_rate_error'].abs().mean():.1f} pp"
        )
    return lines


def _early_read_lines(early_read: Mapping[str, Any] | None) -> list[str]:
    check = (early_read or {}).get("projection_check") or {}
    if not check:
        return ["  early read: no projection checked against a realized MOB-6 rate yet"]
    lines = [
        f"  early read ({(early_read or {}).get('label_def', '')}): projected vs realized MOB-6 default rate"
    ]
    for key in sorted(check):
        c = check[key]
        mae = c.get("mae_pp")
        if mae is None or (isinstance(mae, float) and math.isnan(mae)):
            lines.append(f"    from {key.replace('_', '-').upper()}: no cohort checked yet")
            continue
        lines.append(
            f"    from {key.replace('_', '-').upper()}: MAE {mae:.2f} pp over {c.get('cohorts')} cohort(s) "
            f"(bias {c.get('bias_pp', 0):+.2f} pp; realized rate noise sd {c.get('realized_noise_sd_pp')} pp)"
        )
    return lines


def format_figures(
    manifest: Mapping[str, Any] | None,
    stability: pd.DataFrame | None,
    estimated: pd.DataFrame | None,
    early_read: Mapping[str, Any] | None,
) -> str:
    """The monitoring figures of the cycle, printed below the table (issue #13's Done-when figures).

    Args:
        manifest: The generator's ``_generation_manifest.json`` (None for a lender's own data).
        stability: ``out_scoring_stability``.
        estimated: ``out_estimated_performance``.
        early_read: ``rpt_early_read`` (the projection check).
    """
    lines = ["Monitoring figures:"]
    lines += _drift_lines(manifest, stability if stability is not None else pd.DataFrame())
    lines += _estimate_lines(estimated if estimated is not None else pd.DataFrame())
    lines += _early_read_lines(early_read)
    return "\n".join(lines)
