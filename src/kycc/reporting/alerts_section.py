"""The dashboard's "Alerts delivered" section, from the delivery log (``out_alert_delivery_log``).

A failed delivery never fails the cycle; this section is where a reader sees it: counts per status for the
latest months, every failed or not configured channel with its error, and the latest delivery of each model and
channel. Pure: a frame in, an HTML ``<section>`` out (styles are the dashboard's).
"""

from __future__ import annotations

import pandas as pd

from kycc.reporting.dashboard import _table

__all__ = ["render_alerts_section"]

PROBLEMS = ("failed", "not_configured")


def render_alerts_section(delivery_log: pd.DataFrame | None, months: int = 6) -> str:
    """The alerts section of the dashboard.

    Args:
        delivery_log: ``out_alert_delivery_log`` (possibly empty).
        months: How many of the latest monitoring months to show.

    Returns:
        ``<section><h2>Alerts delivered</h2>…</section>``.
    """
    head = "<section><h2>Alerts delivered</h2>"
    note = (
        '<p class="note">Each decision level goes to its channels (actions.notifications.levels); the same model '
        "and level is not sent again until the level changes (docs/actions.md). Status per channel: "
        "<b>sent</b>, <b>suppressed</b> (already sent), <b>failed</b> (every retry failed; the error is shown), "
        "<b>not_configured</b> (no secret in conf/local/credentials.yml). Log: out_alert_delivery_log.</p>"
    )
    if delivery_log is None or delivery_log.empty:
        return f'{head}{note}<p class="muted">No alert recorded yet.</p></section>'
    log = delivery_log.copy()
    log["snapshot_date"] = pd.to_datetime(log["snapshot_date"])
    # the outcome of each month, model, level and channel is its last row (a re-run appends)
    latest = log.drop_duplicates(["snapshot_date", "model", "level", "channel"], keep="last")
    shown = sorted(latest["snapshot_date"].unique())[-months:]
    recent = latest.loc[latest["snapshot_date"].isin(shown)]
    counts = (
        recent.assign(month=recent["snapshot_date"].dt.strftime("%Y-%m"))
        .pivot_table(index="month", columns="status", values="model", aggfunc="count", fill_value=0)
        .reset_index()
    )
    statuses = [c for c in counts.columns if c != "month"]
    problems = recent.loc[recent["status"].isin(PROBLEMS)].rename(columns={"level": "decision"})
    n_failed = int((recent["status"] == "failed").sum())
    banner = (
        f'<p class="note" style="color:#c62828"><b>{n_failed} alert(s) not delivered</b> in the last '
        f"{len(shown)} month(s).</p>"
        if n_failed
        else '<p class="muted">No failed delivery in the months shown.</p>'
    )
    columns = [("snapshot_date", "month"), ("model", "model"), ("decision", "level"), ("channel", "channel"),
               ("status", "status"), ("attempts", "attempts"), ("error", "error")]  # fmt: skip
    last = recent.sort_values("snapshot_date").rename(columns={"level": "decision"})
    sent = columns[:5] + [("reason", "why"), ("target", "to")]
    return (
        f"{head}{note}{banner}"
        f"<h3>Deliveries per month</h3>"
        f"{_table(counts, [('month', 'month'), *((s, s) for s in statuses)], left=['month'])}"
        f"<h3>Not delivered</h3>{_table(problems, columns, left=[c for c, _ in columns])}"
        f"<h3>Every delivery ({len(shown)} latest months)</h3>{_table(last, sent, left=[c for c, _ in sent])}"
        "</section>"
    )
