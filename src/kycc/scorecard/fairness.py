"""Fair-lending controls of the scorecard: the age rule checked when a version is defined, and the adverse-impact
report on decisions.

**Age rule** (Regulation B, 12 CFR 1002.6(b)(2)(ii)-(iv): in an empirically derived system an applicant aged 62
or over must not get fewer points for age than any younger applicant): the points of every bin that holds an age
>= 62 must be at least the highest points of any bin that holds a younger age. A version breaking it is refused
when it is defined (stored) and cannot be activated; the message names the bins. Bins are right-closed, so with
edges ``[25, 35, 50, 65]`` the bin ``(50, 65]`` holds both 51-61 and 62-65 — its points count on both sides.

**Adverse impact** (:func:`adverse_impact`): per month and group of a protected characteristic, the approval
rate and its ratio to the most-favoured group's (the "four-fifths rule": a ratio < 0.8 is flagged), with a
Wilson interval for each rate and a Katz log interval for the ratio; groups smaller than ``min_group_size`` are
reported but neither flagged nor used as the reference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kycc.scorecard.definition import ScorecardDefinition, ScorecardDefinitionError

__all__ = [
    "AGE_FEATURE",
    "ELDERLY_AGE",
    "FairLendingError",
    "adverse_impact",
    "age_rule_violations",
    "check_fair_lending",
    "group_labels",
    "override_rates",
]

#: The feature that holds the applicant's age (years) and the age from which Regulation B protects applicants.
AGE_FEATURE = "age"
ELDERLY_AGE = 62.0


class FairLendingError(ScorecardDefinitionError):
    """A scorecard version breaks a fair-lending rule (the message names the version, feature and bins)."""


def age_rule_violations(definition: ScorecardDefinition, elderly_age: float = ELDERLY_AGE) -> list[str]:
    """Why ``definition`` breaks the age rule (empty when it passes, or when it does not score age)."""
    if AGE_FEATURE not in definition.feature_names:
        return []
    rule = definition.feature(AGE_FEATURE)
    if rule.kind != "numeric":
        return [f"feature {AGE_FEATURE!r} must have numeric bins to be checked, it has categories"]
    bounds = [-math.inf, *rule.edges, math.inf]
    labels = [b["bin"] for b in rule.bins()]
    younger, elderly = [], []
    for i, p in enumerate(rule.points):
        low, high = bounds[i], bounds[i + 1]  # the bin holds low < age <= high
        if low < elderly_age:  # holds an age below 62
            younger.append((labels[i], p))
        if high >= elderly_age:  # holds an age of 62 or more
            elderly.append((labels[i], p))
    best_label, best = max(younger, key=lambda t: t[1]) if younger else (None, -math.inf)
    return [
        f"age bin {label} (ages >= {elderly_age:g}) gets {p:g} points, fewer than the {best:g} points of the "
        f"younger bin {best_label}"
        for label, p in elderly
        if p < best
    ]


def check_fair_lending(definition: ScorecardDefinition) -> None:
    """Refuse a version that breaks the age rule (:class:`FairLendingError` naming the bins and the fix)."""
    problems = age_rule_violations(definition)
    if problems:
        raise FairLendingError(
            f"scorecard {definition.version!r} breaks the fair-lending age rule (Regulation B: applicants aged "
            f"{ELDERLY_AGE:g} or over must get at least the age points of any younger applicant): "
            + "; ".join(problems)
            + ". Give every bin holding ages >= 62 at least those points (docs/scorecard.md, 'Fair lending')."
        )


# ---------------------------------------------------------------------------------------------------------
def _wilson(successes: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        p = successes / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def group_labels(values: pd.Series, groups: Mapping[str, Any]) -> pd.Series:
    """The group of each value: ``groups`` is ``{edges: [...]}`` (numeric, right-closed like the bins:
    labels ``<= 25``, ``(25, 40]``, ``> 61``) or ``{categories: true}`` (each value is its group); missing
    values are group ``(missing)``."""
    if groups.get("edges"):
        edges = [float(e) for e in groups["edges"]]
        x = pd.to_numeric(values, errors="coerce")
        bounds = [-math.inf, *edges, math.inf]
        names = []
        for low, high in zip(bounds, bounds[1:], strict=False):
            names.append(
                f"<= {high:g}"
                if math.isinf(low)
                else f"> {low:g}"
                if math.isinf(high)
                else f"({low:g}, {high:g}]"
            )
        idx = np.searchsorted(np.asarray(edges), x.to_numpy(dtype="float64", na_value=np.nan), side="left")
        out = pd.Series([names[min(int(i), len(names) - 1)] for i in idx], index=values.index, dtype="object")
        return out.where(x.notna(), "(missing)")
    return values.map(lambda v: "(missing)" if pd.isna(v) else str(v)).astype("object")


def adverse_impact(
    decisions: pd.DataFrame,
    characteristics: Mapping[str, Mapping[str, Any]],
    *,
    min_group_size: int = 30,
    threshold: float = 0.8,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Approval-rate ratio of every group vs the most-favoured group, per month and characteristic.

    Args:
        decisions: One row per decision with ``snapshot_date`` (the month), ``decision`` and the columns named
            by ``characteristics`` (e.g. ``age``).
        characteristics: ``{column: {edges: [...]} | {categories: true}}``.
        min_group_size: Groups with fewer decisions are reported (``small_group``) but not flagged and never the
            reference.
        threshold: Flag a ratio below this (the four-fifths rule: 0.8).
        confidence: Level of the intervals.

    Returns:
        ``month, characteristic, group, n, approved, approval_rate, rate_low, rate_high, reference_group,
        impact_ratio, ratio_low, ratio_high, p_value`` (Fisher's exact test of the group vs the reference),
        ``small_group, flagged``.
    """
    from scipy import stats

    columns = [
        "month", "characteristic", "group", "n", "approved", "approval_rate", "rate_low", "rate_high",
        "reference_group", "impact_ratio", "ratio_low", "ratio_high", "p_value", "small_group", "flagged",
    ]  # fmt: skip
    if decisions is None or decisions.empty or "decision" not in decisions.columns:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    months = pd.to_datetime(decisions["snapshot_date"]).dt.strftime("%Y-%m-01")
    rows: list[dict[str, Any]] = []
    for column, groups in characteristics.items():
        if column not in decisions.columns:
            raise KeyError(
                f"adverse impact: the decisions have no column {column!r} (fairness.characteristics); "
                f"columns: {sorted(decisions.columns)}"
            )
        labels = group_labels(decisions[column], groups)
        frame = pd.DataFrame(
            {"month": months, "group": labels, "approved": decisions["decision"].eq("approve")}
        )
        for month, part in frame.groupby("month", sort=True):
            agg = part.groupby("group")["approved"].agg(["size", "sum"])
            n = agg["size"].to_numpy(dtype="float64")
            k = agg["sum"].to_numpy(dtype="float64")
            rate = k / n
            low, high = _wilson(k, n, z)
            eligible = n >= min_group_size
            ref = int(np.argmax(np.where(eligible, rate, -1.0))) if eligible.any() else None
            for i, group in enumerate(agg.index):
                ratio = lo = hi = p_value = None
                if ref is not None and rate[ref] > 0:
                    ratio = float(rate[i] / rate[ref])
                    if k[i] > 0 and i != ref:  # Katz log interval of a ratio of two proportions
                        se = math.sqrt(1 / k[i] - 1 / n[i] + 1 / k[ref] - 1 / n[ref])
                        lo, hi = ratio * math.exp(-z * se), ratio * math.exp(z * se)
                    elif i == ref:
                        lo = hi = 1.0
                    table = [[k[i], n[i] - k[i]], [k[ref], n[ref] - k[ref]]]
                    p_value = (
                        1.0 if i == ref else float(stats.fisher_exact(np.asarray(table, dtype="int64"))[1])
                    )
                rows.append(
                    {
                        "month": month,
                        "characteristic": column,
                        "group": str(group),
                        "n": int(n[i]),
                        "approved": int(k[i]),
                        "approval_rate": float(rate[i]),
                        "rate_low": float(low[i]),
                        "rate_high": float(high[i]),
                        "reference_group": None if ref is None else str(agg.index[ref]),
                        "impact_ratio": ratio,
                        "ratio_low": lo,
                        "ratio_high": hi,
                        "p_value": p_value,
                        "small_group": bool(not eligible[i]),
                        "flagged": bool(eligible[i] and ratio is not None and ratio < threshold),
                    }
                )
    return pd.DataFrame(rows, columns=columns)


def override_rates(log: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Override rate per application month and band of the decision log.

    Args:
        log: The decision log (``mdl_scorecard_decision_log``): ``application_date``, ``band`` and
            ``override_side`` (``low_side`` / ``high_side`` of the latest override, empty when none).

    Returns:
        ``snapshot_date, band, decisions, overrides, low_side, high_side, rate, rate_low, rate_high`` (Wilson).
    """
    from scipy import stats

    columns = ["snapshot_date", "band", "decisions", "overrides", "low_side", "high_side", "rate", "rate_low",
               "rate_high"]  # fmt: skip
    if log is None or log.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    frame = pd.DataFrame(
        {
            "snapshot_date": pd.to_datetime(log["application_date"]).dt.to_period("M").dt.to_timestamp(),
            "band": log["band"].astype(str),
            "side": log["override_side"] if "override_side" in log.columns else None,
        }
    )
    rows = []
    for (month, band), part in frame.groupby(["snapshot_date", "band"], sort=True):
        n, sides = len(part), part["side"].dropna()
        low, high = _wilson(np.asarray([len(sides)], float), np.asarray([n], float), z)
        rows.append(
            {
                "snapshot_date": month, "band": band, "decisions": n, "overrides": len(sides),
                "low_side": int((sides == "low_side").sum()), "high_side": int((sides == "high_side").sum()),
                "rate": len(sides) / n, "rate_low": float(low[0]), "rate_high": float(high[0]),
            }
        )  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def summarise_flags(report: pd.DataFrame) -> Sequence[str]:
    """One line per flagged group (for logs)."""
    flagged = report.loc[report["flagged"].astype(bool)] if len(report) else report
    return [
        f"{r.month[:7]} {r.characteristic} {r.group}: approval {r.approval_rate:.1%} (n={r.n}) vs "
        f"{r.reference_group} — ratio {r.impact_ratio:.2f} [{r.ratio_low or float('nan'):.2f}, "
        f"{r.ratio_high or float('nan'):.2f}]"
        for r in flagged.itertuples()
    ]
