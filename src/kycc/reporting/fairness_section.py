"""The dashboard's "Fair lending" section: adverse impact of the decisions per group and override rates per band.

From ``rpt_adverse_impact`` and ``rpt_override_rates`` (the ``fair_lending`` pipeline, :mod:`kycc.scorecard.
fairness`). Pure: frames in, an HTML ``<section>`` out (styles are the dashboard's). Every rate is shown with its
sample size and interval; a ratio below the threshold is flagged only for groups of at least the minimum size.
"""

from __future__ import annotations

import pandas as pd

from kycc.reporting.dashboard import _e, _table

__all__ = ["render_fairness_section"]


def _interval(low: object, high: object, digits: int = 2) -> str:
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return "–"
    return f"[{float(low):.{digits}f}, {float(high):.{digits}f}]"


def render_fairness_section(
    adverse_impact: pd.DataFrame | None,
    override_rates: pd.DataFrame | None = None,
    *,
    threshold: float = 0.8,
    months: int = 3,
) -> str:
    """The fair-lending section of the dashboard.

    Args:
        adverse_impact: ``rpt_adverse_impact`` (possibly empty or None).
        override_rates: ``rpt_override_rates`` (possibly empty or None).
        threshold: The flag threshold of the approval-rate ratio (``scorecard.fairness.threshold``).
        months: How many of the latest months to show.

    Returns:
        ``<section><h2>Fair lending</h2>…</section>``.
    """
    head = "<section><h2>Fair lending: adverse impact and overrides</h2>"
    note = (
        '<p class="note">Approval rate of each group (age band, country, occupation: scorecard.fairness) and its '
        "ratio to the most-favoured group of the month; a ratio below "
        f"<b>{threshold:g}</b> (the four-fifths rule) is flagged when the group has enough decisions. Rates carry a "
        "95 % Wilson interval, ratios a Katz interval and Fisher's exact p-value. Applicants aged 62+ never get "
        "fewer age points than any younger group (checked on every scorecard version). docs/scorecard.md.</p>"
    )
    parts = [head, note]
    if adverse_impact is None or adverse_impact.empty:
        parts.append('<p class="muted">No adverse-impact report yet: run the fair_lending pipeline.</p>')
    else:
        report = adverse_impact.copy()
        report["month"] = pd.to_datetime(report["month"])
        shown = sorted(report["month"].unique())[-months:]
        recent = report.loc[report["month"].isin(shown)].copy()
        flagged = recent.loc[recent["flagged"].astype(bool)]
        if len(flagged):
            lines = "".join(
                f"<li>{r.month:%Y-%m} {_e(r.characteristic)} <b>{_e(r.group)}</b>: approval {r.approval_rate:.1%} "
                f"(n={int(r.n)}) vs {_e(r.reference_group)}, ratio {r.impact_ratio:.2f} "
                f"{_interval(r.ratio_low, r.ratio_high)}, p={r.p_value:.3g}</li>"
                for r in flagged.itertuples()
            )
            parts.append(
                f'<p class="note" style="color:#c62828"><b>{len(flagged)} group-month(s) below the {threshold:g} '
                f"ratio</b>:</p><ul>{lines}</ul>"
            )
        else:
            parts.append(f'<p class="muted">No group below the {threshold:g} ratio in the months shown.</p>')
        recent["rate_ci"] = [
            _interval(a, b, 3) for a, b in zip(recent["rate_low"], recent["rate_high"], strict=True)
        ]
        recent["ratio_ci"] = [
            _interval(a, b) for a, b in zip(recent["ratio_low"], recent["ratio_high"], strict=True)
        ]
        recent["flag"] = [
            "FLAG" if f else ("small group" if s else "")
            for f, s in zip(recent["flagged"], recent["small_group"], strict=True)
        ]
        recent = recent.sort_values(["month", "characteristic", "group"])
        columns = [("month", "month"), ("characteristic", "characteristic"), ("group", "group"), ("n", "n"),
                   ("approved", "approved"), ("approval_rate", "approval rate"), ("rate_ci", "95 % CI"),
                   ("reference_group", "most favoured"), ("impact_ratio", "ratio"), ("ratio_ci", "ratio CI"),
                   ("p_value", "p"), ("flag", "")]  # fmt: skip
        parts.append(_table(recent, columns, left=("characteristic", "group", "reference_group", "flag")))
    parts.append("<h3>Override rates per band</h3>")
    if override_rates is None or override_rates.empty:
        parts.append('<p class="muted">No decision logged yet.</p>')
    else:
        rates = override_rates.copy()
        rates["snapshot_date"] = pd.to_datetime(rates["snapshot_date"])
        shown = sorted(rates["snapshot_date"].unique())[-months:]
        rates = rates.loc[rates["snapshot_date"].isin(shown)].sort_values(["snapshot_date", "band"])
        rates["rate_ci"] = [
            _interval(a, b, 3) for a, b in zip(rates["rate_low"], rates["rate_high"], strict=True)
        ]
        columns = [("snapshot_date", "month"), ("band", "band"), ("decisions", "decisions"),
                   ("overrides", "overrides"), ("low_side", "low-side"), ("high_side", "high-side"),
                   ("rate", "rate"), ("rate_ci", "95 % CI")]  # fmt: skip
        parts.append(
            '<p class="note">Low-side: a refer or decline approved by a person; high-side: an approval (or refer) '
            "turned down. Overrides are recorded with who and why (kycc decisions override).</p>"
        )
        parts.append(_table(rates, columns, left=("band",)))
    parts.append("</section>")
    return "".join(parts)
