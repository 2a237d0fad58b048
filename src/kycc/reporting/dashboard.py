"""The monitoring dashboard: one self-contained HTML file (inline CSS, charts as embedded PNGs, no script).

It opens from disk in any browser, with no server and no network, and can be mailed or archived as it is.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from kycc.monitoring.psi import DEFAULT_LEVELS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["figure_png", "render_dashboard", "render_drift_sections"]

DECISION_COLORS = {
    "monitor": "#2e7d32",
    "active_monitoring": "#ef6c00",
    "recalibrate": "#6a1b9a",
    "retrain": "#c62828",
}
CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;background:#f5f6f8;color:#1d2733}
header{background:#1d2733;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c9d1da;font-size:13px}main{padding:18px 28px;max-width:1400px}
section{background:#fff;border-radius:8px;padding:14px 18px;margin:0 0 18px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:17px;margin:0 0 10px}h3{font-size:14px;margin:14px 0 6px}
.cards{display:flex;flex-wrap:wrap;gap:14px}.card{flex:1 1 260px;border-radius:8px;padding:12px 14px;
border:1px solid #e0e4ea}.card .decision{font-weight:700;font-size:18px;color:#fff;padding:3px 10px;
border-radius:4px;display:inline-block}.card dl{display:grid;grid-template-columns:auto auto;gap:2px 12px;
font-size:13px;margin:10px 0 0}.card dt{color:#5b6775}.card dd{margin:0;font-weight:600}
img{max-width:100%;height:auto;display:block;margin:6px 0}table{border-collapse:collapse;font-size:12px;
width:100%}th,td{border-bottom:1px solid #e6e9ee;padding:4px 6px;text-align:right;white-space:nowrap}
th{background:#f0f2f5;position:sticky;top:0}td.l,th.l{text-align:left}.scroll{overflow-x:auto;max-height:460px}
.tag{color:#fff;border-radius:3px;padding:1px 6px;font-size:11px}.muted{color:#6b7683;font-size:12px}
.note{font-size:13px;line-height:1.5}
"""


def figure_png(fig: Figure, dpi: int = 90) -> str:
    """A figure as a base64 PNG (for the ``data:`` URI of an ``<img>``)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _e(value: Any) -> str:
    return html.escape(str(value))


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return _e(value)


def _tag(decision: str) -> str:
    color = DECISION_COLORS.get(decision, "#607d8b")
    return f'<span class="tag" style="background:{color}">{_e(decision)}</span>'


def _table(frame: pd.DataFrame, columns: Sequence[tuple[str, str]], left: Sequence[str] = ()) -> str:
    if frame.empty:
        return '<p class="muted">Nothing yet.</p>'
    head = "".join(f'<th class="{"l" if c in left else ""}">{_e(label)}</th>' for c, label in columns)
    body = []
    for _, row in frame.iterrows():
        cells = []
        for c, _label in columns:
            value = row.get(c)
            text = _tag(value) if c == "decision" else _fmt(value)
            cells.append(f'<td class="{"l" if c in left else ""}">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="scroll"><table><tr>{head}</tr>{"".join(body)}</table></div>'


def _scoring_version(scored: pd.DataFrame, model: str) -> str:
    if scored.empty:
        return "–"
    part = scored[scored["model"] == model].sort_values("snapshot_date")
    if part.empty:
        return "–"
    last = part.iloc[-1]
    return f"v{int(last['model_version'])} (since {pd.Timestamp(part[part['model_version'] == last['model_version']]['snapshot_date'].min()):%Y-%m})"


def _cards(
    metrics: pd.DataFrame, decisions: pd.DataFrame, models: Sequence[str], scored: pd.DataFrame
) -> str:
    cards = []
    for model in models:
        part = (
            metrics[metrics["model"] == model].sort_values("snapshot_date") if not metrics.empty else metrics
        )
        if part.empty:
            cards.append(
                f'<div class="card"><h3>{_e(model)}</h3><p class="muted">Not monitored yet: monitoring starts '
                "6 months after the model first scored (seed backfill included).</p></div>"
            )
            continue
        row = part.iloc[-1]
        dec = decisions[(decisions["model"] == model) & (decisions["snapshot_date"] == row["snapshot_date"])]
        decision = dec["decision"].iloc[0] if len(dec) else "not evaluated"
        color = DECISION_COLORS.get(decision, "#607d8b")
        items = [
            (
                "month",
                f"{pd.Timestamp(row['snapshot_date']):%Y-%m} (cohort {pd.Timestamp(row['cohort_month']):%Y-%m})",
            ),
            ("monitored version", f"{row['registered_model_name']} v{int(row['model_version'])}"),
            ("scoring now", _scoring_version(scored, model)),
            ("ROC-AUC", f"{_fmt(row['roc_auc'])} (OOT {_fmt(row.get('baseline_roc_auc'))})"),
            ("accuracy", f"{_fmt(row['accuracy'])} (OOT {_fmt(row.get('baseline_accuracy'))})"),
            ("F1", _fmt(row["f1"])),
            ("score PSI", f"{_fmt(row['psi_score'])} ({_e(row['psi_level'])})"),
            ("top feature PSI", f"{_e(row['psi_feature_max_name'])} {_fmt(row['psi_feature_max'])}"),
            ("loans", f"{int(row['n_matched'])} ({int(row['n_defaults'])} defaults)"),
        ]
        dl = "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in items)
        cards.append(
            f'<div class="card"><h3>{_e(model)}</h3><span class="decision" style="background:{color}">'
            f"{_e(decision)}</span><dl>{dl}</dl></div>"
        )
    return '<div class="cards">' + "".join(cards) + "</div>"


def render_dashboard(
    *,
    title: str,
    models: Sequence[str],
    metrics: pd.DataFrame,
    decisions: pd.DataFrame,
    band_mix: pd.DataFrame,
    scored: pd.DataFrame,
    charts: Mapping[str, str],
    rules_text: str,
    drift_html: str = "",
    psi_levels: Mapping[str, float] | None = None,
    governance_html: str = "",
) -> str:
    """The dashboard HTML.

    Args:
        title: Page title.
        models: Model names, in display order.
        metrics: Monitoring metrics of every model and month.
        decisions: Action decisions of every model and month.
        band_mix: Scorecard band shares per application month (one column per band).
        scored: Applications scored per month and model (volumes, mean PD, versions).
        charts: Base64 PNGs by chart name (``performance_trends``, ``psi_trends``, …).
        rules_text: The action rule, as shown to readers.
        drift_html: The sections shown first (:func:`render_drift_sections`).
        psi_levels: The one PSI-level set (``moderate``, ``major``; default :data:`DEFAULT_LEVELS`), named in the
            PSI note.
        governance_html: The sections after the action decisions: alerts delivered and fair lending
            (:func:`kycc.reporting.alerts_section.render_alerts_section`,
            :func:`kycc.reporting.fairness_section.render_fairness_section`).
    """
    levels = {**DEFAULT_LEVELS, **(psi_levels or {})}
    moderate, major = _fmt(float(levels["moderate"]), 2), _fmt(float(levels["major"]), 2)
    months = sorted(pd.to_datetime(metrics["snapshot_date"]).unique()) if not metrics.empty else []
    period = f"{pd.Timestamp(months[0]):%Y-%m} .. {pd.Timestamp(months[-1]):%Y-%m}" if months else "none yet"

    def img(name: str, alt: str) -> str:
        if name not in charts:
            return ""
        return f'<img alt="{_e(alt)}" src="data:image/png;base64,{charts[name]}">'

    metric_cols = [
        ("model", "model"), ("snapshot_date", "month"), ("cohort_month", "cohort"), ("model_version", "version"),
        ("n_matched", "loans"), ("n_defaults", "defaults"), ("roc_auc", "ROC-AUC"), ("accuracy", "accuracy"),
        ("precision", "precision"), ("recall", "recall"), ("f1", "F1"), ("ks", "KS"), ("tn", "TN"), ("fp", "FP"),
        ("fn", "FN"), ("tp", "TP"), ("psi_score", "score PSI"), ("psi_feature_max", "max feature PSI"),
        ("psi_feature_max_name", "feature"), ("pd_mean", "mean PD"), ("pd_mean_reference", "mean PD (OOT)"),
        ("pd_ks", "PD KS"),
    ]  # fmt: skip
    decision_cols = [
        ("model", "model"), ("snapshot_date", "month"), ("model_version", "version"), ("decision", "decision"),
        ("roc_auc", "ROC-AUC"), ("accuracy", "accuracy"), ("f1", "F1"), ("psi_score", "score PSI"),
        ("reasons", "why"),
    ]  # fmt: skip
    ordered = metrics.sort_values(["model", "snapshot_date"]) if not metrics.empty else metrics
    ordered_dec = decisions.sort_values(["model", "snapshot_date"]) if not decisions.empty else decisions
    band_cols = [("snapshot_date", "application month"), ("applications", "applications"),
                 ("scorecard_version", "scorecard")] + [(c, c) for c in band_mix.columns
                 if c not in {"snapshot_date", "applications", "scorecard_version"}]  # fmt: skip
    scored_cols = [
        ("snapshot_date", "scoring month"), ("model", "model"), ("model_version", "version"),
        ("applications", "applications"), ("mean_pd", "mean PD"), ("predicted_default_rate", "predicted defaults"),
    ]  # fmt: skip
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{_e(title)}</title><style>{CSS}</style></head>
<body><header><h1>{_e(title)}</h1>
<p>Monitored months: {_e(period)} · models: {_e(", ".join(models))} · labels at MOB 6 joined with the
predictions made 6 months earlier · self-contained file, no server needed</p></header>
<main>
{drift_html}
<section><h2>Latest status</h2>{_cards(metrics, decisions, models, scored)}</section>
<section><h2>Performance trends</h2>{img("performance_trends", "ROC-AUC, accuracy and F1 trends")}</section>
<section><h2>Stability (PSI)</h2>{img("psi_trends", "PSI trends")}
{img("feature_psi", "feature PSI heatmap")}
<p class="note">PSI compares the scores (and each feature) of the monitored cohort with the model version's
out-of-time reference: &lt; {moderate} stable, {moderate}–{major} moderate shift, ≥ {major} major shift
(<code>psi_levels</code>).</p></section>
<section><h2>Confusion matrices (latest month)</h2>{img("confusion_matrices", "confusion matrices")}</section>
<section><h2>Model comparison</h2>{img("model_comparison", "model comparison")}</section>
<section><h2>Scoring: predictions and scorecard decisions</h2>{img("prediction_drift", "prediction drift")}
<h3>Predictions per month</h3>{_table(scored, scored_cols, left=("model",))}
<h3>Scorecard band mix per month (the decision)</h3>{_table(band_mix, band_cols, left=("scorecard_version",))}
</section>
<section><h2>Action decisions</h2><p class="note">{rules_text}</p>
{_table(ordered_dec, decision_cols, left=("model", "decision", "reasons"))}</section>
{governance_html}
<section><h2>Monthly metrics</h2>{_table(ordered, metric_cols, left=("model", "psi_feature_max_name"))}</section>
</main></body></html>
"""


def _not_yet(name: str, what: str) -> str:
    return f'<p class="muted">{_e(name)}: not available yet ({_e(what)}).</p>'


def _latest(frame: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    if frame is None or frame.empty or "snapshot_date" not in frame.columns:
        return pd.DataFrame(), None
    dates = pd.to_datetime(frame["snapshot_date"])
    month = dates.max()
    return frame.loc[dates == month], month


def _shadow_backtest(shadow: pd.DataFrame | None, month: Any) -> str:
    """The draft versions scored in shadow, on the cohort of the deciding backtest shown (or their latest month):
    one line per version — Gini with CI, the deciding version's Gini on the same loans, the paired difference."""
    if shadow is None or shadow.empty or "level" not in shadow.columns:
        return ""
    rows = shadow[shadow["level"] == "version"]
    dates = pd.to_datetime(rows["snapshot_date"])
    rows = rows[
        dates == (pd.Timestamp(month) if month is not None and (dates == month).any() else dates.max())
    ]
    if rows.empty:
        return ""
    lines = []
    for _, r in rows.iterrows():
        lines.append(
            f"<li>{_e(r['scorecard_version'])} (shadow, never deciding; cohort {_fmt(r.get('cohort_month'))}, "
            f"n {_fmt(r.get('n_labelled'))}, defaults {_fmt(r.get('defaults'))}): observed default rate "
            f"{_fmt(r.get('observed_default_rate'))} vs PD {_fmt(r.get('predicted_pd'))}; Gini "
            f"{_fmt(r.get('gini'))} [{_fmt(r.get('gini_lower'))}, {_fmt(r.get('gini_upper'))}] vs "
            f"{_e(r.get('deciding_version'))} {_fmt(r.get('deciding_gini'))} on the same loans (difference "
            f"{_fmt(r.get('gini_difference'))} [{_fmt(r.get('gini_difference_lower'))}, "
            f"{_fmt(r.get('gini_difference_upper'))}], paired DeLong p {_fmt(r.get('gini_difference_p_value'))})"
            "</li>"
        )
    return (
        "<h3>Draft versions scored in shadow</h3><ul>" + "".join(lines) + "</ul>"
        '<p class="note">out_scorecard_shadow_backtest; the bands per version are in the table. The comparison\'s '
        "fourth check (shadow_gini) pools every matured shadow cohort.</p>"
    )


def render_drift_sections(
    stability: pd.DataFrame | None,
    characteristic: pd.DataFrame | None,
    backtest: pd.DataFrame | None,
    estimated: pd.DataFrame | None,
    charts: Mapping[str, str],
    top_features: int = 8,
    vintages: pd.DataFrame | None = None,
    shadow: pd.DataFrame | None = None,
) -> str:
    """The sections shown first: this month's stability, characteristic analysis, band backtest, estimated vs
    realized performance, the early read (vintage curves, ``charts["vintages"]``, and the open cohorts'
    projections from ``vintages``). A missing or empty input is a short "not available yet" note, never an
    error."""
    parts = []
    rows, month = _latest(stability)
    if month is None:
        body = _not_yet("out_scoring_stability", "run the stability pipeline after inference")
    else:
        head = rows[rows["family"].isin(["status", "score_psi", "band_ssi", "pd_psi"])]
        head = head.sort_values(["scorer", "family"]) if not head.empty else head
        cols = [
            ("scorer", "scorer"),
            ("family", "metric"),
            ("value", "value"),
            ("floor", "noise floor"),
            ("p_value", "χ² p-value"),
            ("n_ref", "n reference"),
            ("n_now", "n now"),
            ("verdict", "verdict"),
        ]
        img = charts.get("stability")
        body = (
            f'<img alt="scoring-time stability" src="data:image/png;base64,{img}">' if img else ""
        ) + _table(
            head, [(c, lbl) for c, lbl in cols if c in head.columns], left=("scorer", "family", "verdict")
        )
    parts.append(
        f"<section><h2>This month's stability ({_fmt(month)})</h2>{body}"
        '<p class="note">PSI of this month\'s scores, bands and PDs vs the development reference; the '
        "noise floor ≈ (k − 1)(1/n_ref + 1/n_now) is what sampling alone gives.</p></section>"
    )
    ca, ca_month = _latest(characteristic)
    if ca_month is None:
        body = _not_yet("out_characteristic_analysis", "run the stability pipeline after inference")
    else:
        ca = ca.assign(_abs=ca["score_shift"].abs()).sort_values("_abs", ascending=False).head(top_features)
        cols = [
            ("scorecard_version", "scorecard"),
            ("feature", "feature"),
            ("score_shift", "points shift"),
            ("psi", "PSI"),
            ("verdict", "verdict"),
        ]
        body = _table(
            ca, [(c, lbl) for c, lbl in cols if c in ca.columns], left=("scorecard_version", "feature")
        )
    parts.append(
        f"<section><h2>Characteristic analysis: largest movers ({_fmt(ca_month)})</h2>{body}</section>"
    )
    bt, bt_month = _latest(backtest)
    if bt_month is None:
        body = _not_yet("out_scorecard_backtest", "no cohort of the scorecard has matured yet")
    else:
        bands = bt[bt["level"] == "band"] if "level" in bt.columns else bt
        cols = [
            ("scorecard_version", "version"),
            ("cohort_month", "cohort"),
            ("band", "band"),
            ("n_labelled", "n"),
            ("defaults", "defaults"),
            ("observed_default_rate", "observed rate"),
            ("predicted_pd", "PD"),
            ("jeffreys_pvalue_two_sided", "p-value"),
            ("verdict", "verdict"),
            ("rank_order_ok", "rank order ok"),
        ]
        body = _table(
            bands,
            [(c, lbl) for c, lbl in cols if c in bands.columns],
            left=("scorecard_version", "band", "verdict"),
        )
        version = bt[bt["level"] == "version"] if "level" in bt.columns else pd.DataFrame()
        for _, r in version.iterrows():
            body += (
                f'<p class="note">{_e(r["scorecard_version"])}: ROC-AUC {_fmt(r.get("roc_auc"))} '
                f"[{_fmt(r.get('auc_lower'))}, {_fmt(r.get('auc_upper'))}], rank order "
                f"{'monotone' if r.get('rank_order_monotone') else 'broken: ' + _e(r.get('rank_order_inversions'))}"
                "</p>"
            )
    body += _shadow_backtest(shadow, bt_month)
    parts.append(f"<section><h2>Scorecard band backtest ({_fmt(bt_month)})</h2>{body}</section>")
    if estimated is None or estimated.empty:
        body = _not_yet("out_estimated_performance", "run monitoring after inference")
    else:
        est = estimated.sort_values(["snapshot_date", "scorer", "status"])
        cols = [
            ("snapshot_date", "month"),
            ("scored_month", "scored"),
            ("scorer", "scorer"),
            ("status", "status"),
            ("expected_roc_auc", "expected ROC-AUC"),
            ("realized_roc_auc", "realized ROC-AUC"),
            ("roc_auc_error", "error"),
            ("expected_default_rate", "expected DR"),
            ("realized_default_rate", "realized DR"),
        ]
        body = _table(est, [(c, lbl) for c, lbl in cols if c in est.columns], left=("scorer", "status"))
    parts.append(f"<section><h2>Estimated vs realized performance</h2>{body}</section>")
    parts.append(_early_read_section(vintages, charts.get("vintages")))
    return "\n".join(parts)


def _early_read_section(vintages: pd.DataFrame | None, chart: str | None) -> str:
    """Vintage curves and, per open cohort, its latest read and projected final default rate."""
    if vintages is None or vintages.empty:
        body = _not_yet("out_vintages", "run the early_read pipeline (kycc backfill runs it with the data)")
        return f"<section><h2>Early read: vintage curves</h2>{body}</section>"
    frame = vintages.assign(snapshot_date=pd.to_datetime(vintages["snapshot_date"]))
    month = frame["snapshot_date"].max()
    latest = frame.sort_values(["cohort", "snapshot_date", "mob"]).groupby("cohort").tail(1)
    open_rows = latest.loc[latest["projected_default_rate"].notna()].sort_values("cohort")
    cols = [
        ("cohort", "cohort"),
        ("mob", "MOB read"),
        ("n", "loans"),
        ("bad_rate", "share at DPD threshold"),
        ("bad_rate_low", "low"),
        ("bad_rate_high", "high"),
        ("projected_default_rate", "projected final rate"),
        ("fit_cohorts", "fitted on cohorts"),
    ]
    body = (f'<img alt="vintage curves" src="data:image/png;base64,{chart}">' if chart else "") + _table(
        open_rows.assign(cohort=pd.to_datetime(open_rows["cohort"])), cols
    )
    label = str(frame["label_def"].iloc[0]) if "label_def" in frame.columns else ""
    return (
        f"<section><h2>Early read: vintage curves ({_fmt(month)})</h2>{body}"
        f'<p class="note">Share of each application cohort at the label\'s DPD threshold ({_e(label)}) by months on '
        "book, with its 95 % Wilson interval; an open cohort's final default rate is projected from its MOB-2/3 "
        "read (the ratio of final to early rate of the last matured cohorts).</p></section>"
    )
