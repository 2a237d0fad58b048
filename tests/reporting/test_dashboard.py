"""Charts and the dashboard page from hand-made tables: content, escaping, empty states, bad input."""

from __future__ import annotations

import base64

import pandas as pd
import pytest

from kycc.pipelines.reporting.nodes import collect_tables
from kycc.reporting import (
    confusion_matrix_figure,
    figure_png,
    performance_trend_figure,
    psi_trend_figure,
    render_dashboard,
)

THRESHOLDS = {
    "roc_auc": {"business": 0.75, "data_science": 0.80},
    "accuracy": {"business": 0.7, "data_science": 0.75},
}


def _metrics() -> pd.DataFrame:
    months = pd.date_range("2025-01-01", periods=3, freq="MS")
    rows = []
    for model, auc in (("model_1", 0.78), ("model_2", 0.74)):
        for i, m in enumerate(months):
            rows.append(
                {"model": model, "snapshot_date": m, "cohort_month": m - pd.DateOffset(months=6),
                 "registered_model_name": f"kycc_{model}", "model_version": 1, "roc_auc": auc + i / 100,
                 "accuracy": 0.72, "precision": 0.4, "recall": 0.6, "f1": 0.48, "ks": 0.4, "tn": 60.0,
                 "fp": 20.0, "fn": 8.0, "tp": 12.0, "n_matched": 100, "n_defaults": 20.0, "psi_score": 0.05 * i,
                 "psi_level": "stable", "psi_feature_max": 0.2, "psi_feature_max_name": "credit_utilization_ratio",
                 "pd_mean": 0.2, "pd_mean_reference": 0.15, "pd_ks": 0.1, "baseline_roc_auc": 0.8,
                 "baseline_accuracy": 0.76}
            )  # fmt: skip
    return pd.DataFrame(rows)


def test_charts_show_every_model_and_the_thresholds():
    fig = performance_trend_figure(_metrics(), THRESHOLDS)
    auc_axis = fig.axes[0]
    labels = [line.get_label() for line in auc_axis.get_lines()]
    assert {"model_1", "model_2", "business", "data science"} <= set(labels)
    assert sorted(line.get_ydata()[0] for line in auc_axis.get_lines() if line.get_label() == "business") == [
        0.75
    ]
    assert len(confusion_matrix_figure(_metrics()).axes) == 2
    png = base64.b64decode(figure_png(psi_trend_figure(_metrics())))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_dashboard_escapes_text_and_shows_the_latest_decision():
    metrics = _metrics()
    decisions = metrics[
        ["model", "snapshot_date", "model_version", "roc_auc", "accuracy", "f1", "psi_score"]
    ].assign(decision="retrain", reasons="P0 roc_auc 0.74 < business <script>")
    page = render_dashboard(
        title="<KYCC>", models=["model_1", "model_2"], metrics=metrics, decisions=decisions,
        band_mix=pd.DataFrame(), scored=pd.DataFrame(), charts={"psi_trends": "QUJD"}, rules_text="rule",
    )  # fmt: skip
    assert "<title>&lt;KYCC&gt;</title>" in page and "<script>" not in page and "&lt;script&gt;" in page
    assert 'src="data:image/png;base64,QUJD"' in page
    assert "2025-01 .. 2025-03" in page and page.count(">retrain<") >= 2


def test_collect_tables_needs_four_inputs_per_model():
    with pytest.raises(ValueError, match="expected 4 inputs per model"):
        collect_tables(["model_1", "model_2"], pd.DataFrame(), *[pd.DataFrame()] * 4)
