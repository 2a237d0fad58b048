"""Comparison reports for a risk committee: a terminal table, Markdown and a self-contained HTML page.

All three render the same content from a comparison result (:func:`kycc.scorecard.comparison.compare_scorecards`)
and, when given, the two version records (provenance, calibration): the decision summary and the three checks,
per-feature weights, feature-group totals, score statistics, band distribution and migration, the calibrated
PD per band, and where the new version came from. No printing here: the CLI echoes, the pipeline saves.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "format_check_value",
    "render_html",
    "render_markdown",
    "render_text",
    "report_filename",
    "text_table",
]


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> str:
    """A plain fixed-width table (``align``: one ``l``/``r`` per column; default left)."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    align = align or "l" * len(headers)

    def line(row: list[str]) -> str:
        return "  ".join(
            (c.rjust(w) if a == "r" else c.ljust(w)) for c, w, a in zip(row, widths, align, strict=True)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def report_filename(comparison: Mapping[str, Any], suffix: str) -> str:
    """``<old>_vs_<new>.<suffix>`` (one report per pair; a newer comparison replaces the file)."""
    return f"{comparison['old_version']}_vs_{comparison['new_version']}.{suffix}"


def _num(value: Any, fmt: str = "{:.4f}") -> str:
    return "n/a" if value is None else fmt.format(value)


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _change(row: Mapping[str, Any]) -> str:
    if row["change_pct"] is None:
        return "+inf (added)"
    return f"{row['change_pct']:+.1f} %"


def format_check_value(check: Mapping[str, Any]) -> str:
    value = check.get("value")
    if value is None:
        return "n/a" if check["check"] != "weight_change" else "+inf"
    if check["check"] == "shadow_gini":
        return f"{value:+.3f}"
    if check["check"] == "score_correlation":
        return f"{value:.3f}"
    if check["check"] == "band_shift":
        return f"{value:.1f} pp"
    return f"{value:.1f} %"


def check_result(check: Mapping[str, Any]) -> str:
    """PASS, FAIL or NO EVIDENCE (a check without the data to decide: ``status: no evidence``)."""
    if check.get("status") == "no evidence":
        return "NO EVIDENCE"
    return "PASS" if check["passed"] else "FAIL"


def _decision(comparison: Mapping[str, Any]) -> str:
    failed = [c["check"] for c in comparison["checks"] if not c["passed"]]
    unknown = [c["check"] for c in comparison["checks"] if c["passed"] and c.get("status") == "no evidence"]
    note = f" ({', '.join(unknown)}: no evidence yet)" if unknown else ""
    if not failed:
        return "ALL CHECKS PASSED" + note
    return f"{len(failed)} CHECK(S) FAILED: {', '.join(failed)} — activation needs an override reason" + note


def _header_lines(comparison: Mapping[str, Any]) -> list[str]:
    ref = comparison.get("reference") or {}
    lines = [
        f"Scorecard comparison {comparison['old_version']} → {comparison['new_version']}"
        + (f" (comparison #{comparison['id']})" if comparison.get("id") else ""),
        f"Reference batch: {ref.get('label', '?')} ({ref.get('rows', '?')} applications)",
    ]
    if comparison.get("created_at"):
        lines.append(f"Compared at {comparison['created_at']} by {comparison.get('created_by', '?')}")
    return lines


def _check_rows(comparison: Mapping[str, Any]) -> list[list[str]]:
    return [
        [c["check"], c["rule"], format_check_value(c), check_result(c), c.get("detail", "")]
        for c in comparison["checks"]
    ]


def _weight_rows(comparison: Mapping[str, Any]) -> list[list[str]]:
    return [
        [
            r["feature"],
            r["group"],
            f"{r['old_weight']:.4f}",
            f"{r['new_weight']:.4f}",
            _change(r),
            "!" if r["exceeds"] else "",
        ]
        for r in comparison["weights"]
    ]


def _band_rows(comparison: Mapping[str, Any]) -> list[list[str]]:
    return [
        [b["band"], _pct(b["old_share"]), _pct(b["new_share"]), f"{b['change_pp']:+.1f}"]
        for b in comparison["bands"]
    ]


def _score_rows(comparison: Mapping[str, Any]) -> list[list[str]]:
    scores = comparison["scores"]
    keys = ("mean", "std", "min", "p10", "p50", "p90", "max")
    return [[k, _num(scores["old"][k], "{:.1f}"), _num(scores["new"][k], "{:.1f}")] for k in keys]


_SHADOW_HEADERS = ["version", "role", "Gini", "95 % CI", "n", "defaults", "cohorts"]


def _shadow_rows(comparison: Mapping[str, Any]) -> tuple[str | None, list[list[str]]]:
    """The fourth check's evidence: a sentence and one row per version (deciding OLD, shadow NEW)."""
    check = next((c for c in comparison.get("checks", []) if c["check"] == "shadow_gini"), None)
    if check is None:
        return None, []
    ev = check.get("evidence") or {}
    if check.get("status") == "no evidence" or ev.get("new_gini") is None:
        return check.get("detail"), []
    cohorts = ", ".join(ev.get("cohorts") or [])
    rows = []
    for key, version, role in (("old", comparison["old_version"], "deciding"),
                               ("new", comparison["new_version"], "shadow")):  # fmt: skip
        rows.append([
            version, role, _num(ev.get(f"{key}_gini"), "{:.3f}"),
            f"[{_num(ev.get(f'{key}_gini_lower'), '{:.3f}')}, {_num(ev.get(f'{key}_gini_upper'), '{:.3f}')}]",
            str(ev.get("n")), str(ev.get("defaults")), cohorts,
        ])  # fmt: skip
    sentence = (
        f"Gini drop {_num(ev.get('gini_drop'), '{:+.3f}')} (CI [{_num(ev.get('gini_drop_lower'), '{:+.3f}')}, "
        f"{_num(ev.get('gini_drop_upper'), '{:+.3f}')}], paired DeLong p {_num(ev.get('p_value'), '{:.3g}')}) "
        f"on the same matured applications, scored by both versions when they were decided."
    )
    return sentence, rows


def render_text(comparison: Mapping[str, Any]) -> str:
    """The comparison as plain-text tables for the terminal."""
    scores = comparison["scores"]
    parts = [
        *_header_lines(comparison),
        "",
        f"Decision: {_decision(comparison)}",
        "",
        text_table(["check", "passes when", "value", "result", "detail"], _check_rows(comparison), "llrll"),
        "",
        "Weights (! = change at or above the limit)",
        text_table(
            ["feature", "group", comparison["old_version"], comparison["new_version"], "change", ""],
            _weight_rows(comparison),
            "llrrrl",
        ),
        "",
        f"Scores: Pearson {_num(scores['pearson'], '{:.3f}')}, Spearman {_num(scores['spearman'], '{:.3f}')}, "
        f"mean |difference| {scores['mean_abs_diff']:.1f} points",
        "",
        "Band distribution",
        text_table(
            ["band", comparison["old_version"], comparison["new_version"], "change (pp)"],
            _band_rows(comparison),
            "lrrr",
        ),
        f"{comparison['band_shift']['moved_share']:.1%} of applications change band; total variation "
        f"{comparison['band_shift']['total_variation_pp']:.1f} pp",
    ]
    return "\n".join(parts)


def _calibration_rows(record: Mapping[str, Any] | None) -> list[list[str]] | None:
    calibration = (record or {}).get("calibration")
    if not calibration:
        return None
    return [
        [
            b["band"],
            f"{b['min_score']:g}–{b['max_score']:g}",
            str(b["rows"]),
            _pct(b["observed_default_rate"]),
            _pct(b["mean_pd"]),
            f"{_pct(b['pd_at_max_score'])} – {_pct(b['pd_at_min_score'])}",
        ]
        for b in calibration["bands"]
    ]


def _provenance_lines(record: Mapping[str, Any] | None) -> list[str]:
    if not record:
        return []
    prov = record.get("provenance") or {}
    model = prov.get("model") or {}
    lines = [
        f"{record['version']}: status {record['status']}, source {record['source']}, created {record['created_at']} "
        f"by {record['created_by']}"
        + (f", base {record['base_version']}" if record.get("base_version") else ""),
    ]
    if prov.get("blend_factor") is not None:
        lines.append(
            f"blend_factor {prov['blend_factor']}, importance {prov.get('importance')}; model "
            f"{model.get('model')} ({model.get('estimator')}, trained for {model.get('training_date')}, "
            f"OOT ROC-AUC {_num(model.get('oot_roc_auc'), '{:.3f}')}, data {model.get('data_fingerprint')})"
        )
    if prov.get("outside_share") is not None:
        lines.append(
            f"share of the model's importance on features outside the scorecard: {prov['outside_share']:.1%}"
        )
    for row in prov.get("ml_weights") or []:
        if row.get("note"):
            lines.append(f"{row['feature']}: {row['note']}")
    calibration = record.get("calibration")
    if calibration:
        slope = calibration["slope"]
        lines.append(
            f"calibration: PD = 1 / (1 + exp(-({calibration['intercept']:.4f} {'-' if slope < 0 else '+'} "
            f"{abs(slope):.6f} × score))) on {calibration['rows']} labelled applications "
            f"({calibration['defaults']} defaults, {(calibration.get('fitted_on') or {}).get('months', '?')}; "
            f"ROC-AUC {calibration['roc_auc']:.3f})"
        )
    else:
        lines.append("calibration: none")
    return lines


# ---------------------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------------------
def _fair_lending_rows(comparison: Mapping[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Notes (age rule per version) and rows (approval rate by age group per version) of the comparison."""
    fair = comparison.get("fair_lending") or {}
    notes = [
        f"{v}: age rule " + ("passes" if not problems else "FAILS — " + "; ".join(problems))
        for v, problems in (fair.get("age_rule") or {}).items()
    ]
    rows = [
        [v, r["group"], r["n"], f"{r['approval_rate']:.1%}", f"[{r['rate_low']:.1%}, {r['rate_high']:.1%}]",
         "-" if r["impact_ratio"] is None else f"{r['impact_ratio']:.2f}"]
        for v, groups in (fair.get("approval_by_age") or {}).items()
        for r in groups
    ]  # fmt: skip
    return notes, rows


_FAIR_HEADERS = ["version", "age group", "applications", "approval rate", "95 % CI", "ratio to best"]


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> str:
    align = align or "l" * len(headers)
    marks = ["---:" if a == "r" else "---" for a in align]

    def esc(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(esc(h) for h in headers) + " |", "|" + "|".join(marks) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _md_shadow(comparison: Mapping[str, Any]) -> list[str]:
    sentence, rows = _shadow_rows(comparison)
    if sentence is None:
        return []
    out = ["## Shadow backtest (matured cohorts)", "", sentence, ""]
    if rows:
        out += [_md_table(_SHADOW_HEADERS, rows, "llrlrrl"), ""]
    return out


def render_markdown(
    comparison: Mapping[str, Any],
    old: Mapping[str, Any] | None = None,
    new: Mapping[str, Any] | None = None,
) -> str:
    """The comparison as a Markdown report (``old``/``new``: version records as dicts, optional)."""
    o, n = comparison["old_version"], comparison["new_version"]
    head = _header_lines(comparison)
    parts = [
        f"# {head[0]}",
        "",
        *[f"{line}  " for line in head[1:]],
        "",
        f"**Decision: {_decision(comparison)}**",
        "",
        "## Checks",
        "",
        _md_table(["check", "passes when", "value", "result", "detail"], _check_rows(comparison), "llrll"),
        "",
        *_md_shadow(comparison),
        "## Weights",
        "",
        _md_table(["feature", "group", o, n, "change", "≥ limit"], _weight_rows(comparison), "llrrrl"),
        "",
        _md_table(
            ["group", o, n],
            [[g["group"], f"{g['old_weight']:.3f}", f"{g['new_weight']:.3f}"] for g in comparison["groups"]],
            "lrr",
        ),
        "",
        "## Scores on the reference batch",
        "",
        f"Pearson correlation {_num(comparison['scores']['pearson'], '{:.3f}')}, Spearman "
        f"{_num(comparison['scores']['spearman'], '{:.3f}')}, mean absolute difference "
        f"{comparison['scores']['mean_abs_diff']:.1f} points.",
        "",
        _md_table(["statistic", o, n], _score_rows(comparison), "lrr"),
        "",
        "## Bands",
        "",
        _md_table(["band", o, n, "change (pp)"], _band_rows(comparison), "lrrr"),
        "",
        f"{comparison['band_shift']['moved_share']:.1%} of applications change band; total variation distance "
        f"{comparison['band_shift']['total_variation_pp']:.1f} pp.",
        "",
        f"Migration (rows: {o} band, columns: {n} band):",
        "",
        _md_table(
            ["", *comparison["migration"]["bands"]],
            [
                [band, *counts]
                for band, counts in zip(
                    comparison["migration"]["bands"], comparison["migration"]["counts"], strict=True
                )
            ],
            "l" + "r" * len(comparison["migration"]["bands"]),
        ),
    ]
    notes, fair_rows = _fair_lending_rows(comparison)
    if notes:
        parts += ["", "## Fair lending", "", *[f"- {n}" for n in notes]]
        if fair_rows:
            parts += ["", "Approvals on the reference batch by each version's policy:", "",
                      _md_table(_FAIR_HEADERS, fair_rows, "llrrrr")]  # fmt: skip
    for record in (old, new):
        if not record:
            continue
        parts += ["", f"## {record['version']}", ""]
        parts += [f"- {line}" for line in _provenance_lines(record)]
        rows = _calibration_rows(record)
        if rows:
            parts += [
                "",
                _md_table(
                    ["band", "scores", "rows", "observed default rate", "mean PD", "PD range"], rows, "llrrrr"
                ),
            ]
    parts += [
        "",
        "## Governance",
        "",
        f"Activation needs a named reviewer: `kycc scorecard activate {n} --reviewer 'NAME'"
        + ("`" if comparison["passed"] else " --override-reason 'WHY'` (the checks failed)")
        + ". Rollback: `kycc scorecard rollback --reviewer 'NAME' --reason 'WHY'`. Every step is in the audit log "
        "(`kycc scorecard history`).",
        "",
    ]
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------------------
_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #ccc;padding:.3rem .6rem;font-size:.9rem}
th{background:#f3f3f3;text-align:left}td.r{text-align:right;font-variant-numeric:tabular-nums}
.pass{background:#e3f5e1;color:#1b5e20;font-weight:600}.none{background:#fff4d6;color:#7a5b00;font-weight:600}.fail{background:#fde2e1;color:#b71c1c;font-weight:600}
.decision{padding:.6rem 1rem;border-radius:4px;display:inline-block}.muted{color:#666;font-size:.85rem}
.bar{display:inline-block;height:.7rem;background:#5c7cfa;vertical-align:middle}.bar.new{background:#f59f00}
tr.flag td{background:#fff4e5}
"""


def _h(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _html_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    align: str | None = None,
    classes: Sequence[str] = (),
) -> str:
    align = align or "l" * len(headers)
    out = ["<table><tr>" + "".join(f"<th>{_h(h)}</th>" for h in headers) + "</tr>"]
    for i, row in enumerate(rows):
        css = f' class="{classes[i]}"' if i < len(classes) and classes[i] else ""
        cells = []
        for cell, a in zip(row, align, strict=True):
            if isinstance(cell, tuple):  # (raw html, css class): trusted markup built here
                cells.append(f'<td class="{cell[1]}">{cell[0]}</td>')
            else:
                cells.append(f'<td class="r">{_h(cell)}</td>' if a == "r" else f"<td>{_h(cell)}</td>")
        out.append(f"<tr{css}>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _html_shadow(comparison: Mapping[str, Any]) -> list[str]:
    sentence, rows = _shadow_rows(comparison)
    if sentence is None:
        return []
    out = ["<h2>Shadow backtest (matured cohorts)</h2>", f"<p>{_h(sentence)}</p>"]
    if rows:
        out.append(_html_table(_SHADOW_HEADERS, rows, "llrlrrl"))
    return out


def render_html(
    comparison: Mapping[str, Any],
    old: Mapping[str, Any] | None = None,
    new: Mapping[str, Any] | None = None,
) -> str:
    """The comparison as one self-contained HTML page (no scripts, no external files)."""
    o, n = comparison["old_version"], comparison["new_version"]
    head = _header_lines(comparison)
    ok = comparison["passed"]
    checks = [
        [
            c["check"],
            c["rule"],
            format_check_value(c),
            (
                check_result(c),
                "none" if c.get("status") == "no evidence" else "pass" if c["passed"] else "fail",
            ),
            c.get("detail", ""),
        ]
        for c in comparison["checks"]
    ]
    checks = [[r[0], r[1], r[2], (_h(r[3][0]), r[3][1]), r[4]] for r in checks]
    weights = _weight_rows(comparison)
    flags = ["flag" if r["exceeds"] else "" for r in comparison["weights"]]
    bands = []
    for b in comparison["bands"]:
        bars = (
            f'<span class="bar" style="width:{b["old_share"] * 300:.0f}px"></span> {_h(_pct(b["old_share"]))}<br>'
            f'<span class="bar new" style="width:{b["new_share"] * 300:.0f}px"></span> {_h(_pct(b["new_share"]))}'
        )
        bands.append(
            [b["band"], _pct(b["old_share"]), _pct(b["new_share"]), f"{b['change_pp']:+.1f}", (bars, "")]
        )
    migration = [
        [band, *counts]
        for band, counts in zip(
            comparison["migration"]["bands"], comparison["migration"]["counts"], strict=True
        )
    ]
    body = [
        f"<h1>{_h(head[0])}</h1>",
        *[f'<p class="muted">{_h(line)}</p>' for line in head[1:]],
        f'<p class="decision {"pass" if ok else "fail"}">Decision: {_h(_decision(comparison))}</p>',
        "<h2>Checks</h2>",
        _html_table(["check", "passes when", "value", "result", "detail"], checks, "llrll"),
        *_html_shadow(comparison),
        "<h2>Weights</h2>",
        _html_table(["feature", "group", o, n, "change", "≥ limit"], weights, "llrrrl", flags),
        _html_table(
            ["group", o, n],
            [[g["group"], f"{g['old_weight']:.3f}", f"{g['new_weight']:.3f}"] for g in comparison["groups"]],
            "lrr",
        ),
        "<h2>Scores on the reference batch</h2>",
        f"<p>Pearson correlation {_h(_num(comparison['scores']['pearson'], '{:.3f}'))}, Spearman "
        f"{_h(_num(comparison['scores']['spearman'], '{:.3f}'))}, mean absolute difference "
        f"{comparison['scores']['mean_abs_diff']:.1f} points.</p>",
        _html_table(["statistic", o, n], _score_rows(comparison), "lrr"),
        "<h2>Bands</h2>",
        _html_table(["band", o, n, "change (pp)", f"{o} (blue) / {n} (orange)"], bands, "lrrrl"),
        f"<p>{comparison['band_shift']['moved_share']:.1%} of applications change band; total variation distance "
        f"{comparison['band_shift']['total_variation_pp']:.1f} pp.</p>",
        f"<p>Migration (rows: {_h(o)} band, columns: {_h(n)} band)</p>",
        _html_table(
            ["", *comparison["migration"]["bands"]],
            migration,
            "l" + "r" * len(comparison["migration"]["bands"]),
        ),
    ]
    notes, fair_rows = _fair_lending_rows(comparison)
    if notes:
        body.append("<h2>Fair lending</h2><ul>" + "".join(f"<li>{_h(n)}</li>" for n in notes) + "</ul>")
        if fair_rows:
            body.append("<p>Approvals on the reference batch by each version's policy:</p>")
            body.append(_html_table(_FAIR_HEADERS, fair_rows, "llrrrr"))
    for record in (old, new):
        if not record:
            continue
        body.append(f"<h2>{_h(record['version'])}</h2><ul>")
        body += [f"<li>{_h(line)}</li>" for line in _provenance_lines(record)]
        body.append("</ul>")
        rows = _calibration_rows(record)
        if rows:
            body.append(
                _html_table(
                    ["band", "scores", "rows", "observed default rate", "mean PD", "PD range"], rows, "llrrrr"
                )
            )
    body += [
        "<h2>Governance</h2>",
        "<p>Activation needs a named reviewer: <code>"
        + _h(f"kycc scorecard activate {n} --reviewer 'NAME'")
        + ("" if ok else _h(" --override-reason 'WHY'"))
        + "</code>. Rollback: <code>kycc scorecard rollback --reviewer 'NAME' --reason 'WHY'</code>. Every step is in "
        "the audit log (<code>kycc scorecard history</code>).</p>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_h(head[0])}</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
