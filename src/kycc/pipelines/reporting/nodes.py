"""Nodes of the reporting pipeline: every model's monitoring outputs → PNG charts + one HTML dashboard."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pandas as pd

from kycc.monitoring.stability import StabilityLevels
from kycc.reporting.alerts_section import render_alerts_section
from kycc.reporting.charts import (
    confusion_matrix_figure,
    feature_psi_figure,
    model_comparison_figure,
    performance_trend_figure,
    prediction_drift_figure,
    psi_trend_figure,
)
from kycc.reporting.dashboard import figure_png, render_dashboard, render_drift_sections
from kycc.reporting.fairness_section import render_fairness_section
from kycc.reporting.stability_charts import stability_figure
from kycc.reporting.vintage_charts import vintage_curves_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure
else:  # Kedro reads node type hints at run time (typing.get_type_hints): the name without importing matplotlib
    Figure = Any

logger = logging.getLogger(__name__)

#: Inputs per model, in this order, after the scorecard decisions.
PER_MODEL_INPUTS = ("out_monitoring_metrics", "out_feature_psi", "out_action_decisions", "out_predictions")


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if f is not None and not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def collect_tables(
    models: list[str], scorecard_decisions: pd.DataFrame, *per_model: pd.DataFrame
) -> dict[str, Any]:
    """Every model's metrics, feature PSI, decisions and predictions as combined tables (``model`` column)."""
    n = len(PER_MODEL_INPUTS)
    if len(per_model) != n * len(models):
        raise ValueError(f"collect_tables: expected {n} inputs per model for {models}, got {len(per_model)}")
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in PER_MODEL_INPUTS}
    for i, model in enumerate(models):
        for j, name in enumerate(PER_MODEL_INPUTS):
            frame = per_model[i * n + j]
            if frame is not None and not frame.empty and "model" not in frame.columns:
                frame = frame.assign(model=model)
            parts[name].append(frame)
    tables = {name: _concat(frames) for name, frames in parts.items()}
    predictions = tables["out_predictions"]
    if predictions.empty:
        scored = pd.DataFrame()
    else:
        scored = (
            predictions.groupby(["snapshot_date", "model", "model_version"])
            .agg(
                applications=("loan_id", "size"),
                mean_pd=("probability", "mean"),
                predicted_default_rate=("prediction", "mean"),
            )  # fmt: skip
            .reset_index()
            .sort_values(["snapshot_date", "model"])
        )
    if scorecard_decisions.empty:
        band_mix = pd.DataFrame()
    else:
        mix = pd.crosstab(
            scorecard_decisions["snapshot_date"], scorecard_decisions["band"], normalize="index"
        )
        counts = scorecard_decisions.groupby("snapshot_date").agg(
            applications=("loan_id", "size"),
            scorecard_version=("scorecard_version", lambda s: ",".join(sorted(s.astype(str).unique()))),
        )
        band_mix = counts.join(mix).reset_index()
    logger.info(
        "reporting: %d monitored model-month(s), %d action decision(s), %d scored application(s) of %d model(s)",
        len(tables["out_monitoring_metrics"]), len(tables["out_action_decisions"]), len(predictions), len(models),
    )  # fmt: skip
    return {
        "models": list(models),
        "metrics": tables["out_monitoring_metrics"],
        "feature_psi": tables["out_feature_psi"],
        "decisions": tables["out_action_decisions"],
        "predictions": predictions,
        "scorecard_decisions": scorecard_decisions,
        "scored": scored,
        "band_mix": band_mix,
    }


def _levels(options: dict[str, Any]) -> StabilityLevels:
    """The one PSI-level set, as ``reporting.psi_levels`` interpolates it (``${psi_levels}``), validated."""
    return StabilityLevels.from_params(options.get("psi_levels"))


def draw_charts(
    tables: dict[str, Any], options: dict[str, Any], actions: dict[str, Any]
) -> tuple[dict[str, Figure], dict[str, str]]:
    """The PNG charts (saved under ``data/08_reporting/monitoring/charts/``) and the same as base64 for the page."""
    levels = _levels(options)
    moderate, major = levels.moderate, levels.major
    figures = {
        "performance_trends": performance_trend_figure(tables["metrics"], actions.get("thresholds") or {}),
        "psi_trends": psi_trend_figure(tables["metrics"], moderate, major),
        "feature_psi": feature_psi_figure(tables["feature_psi"], int(options.get("top_features", 12))),
        "confusion_matrices": confusion_matrix_figure(tables["metrics"]),
        "model_comparison": model_comparison_figure(tables["metrics"]),
        "prediction_drift": prediction_drift_figure(tables["predictions"], tables["scorecard_decisions"]),
    }
    pngs = {name: figure_png(fig, int(options.get("dpi", 90))) for name, fig in figures.items()}
    return {f"{name}.png": fig for name, fig in figures.items()}, pngs


def drift_sections(  # noqa: PLR0913, PLR0917 - a Kedro node: inputs arrive positionally
    stability: pd.DataFrame,
    characteristic: pd.DataFrame,
    backtest: pd.DataFrame,
    estimated: pd.DataFrame,
    options: dict[str, Any],
    vintages: Any = None,
    shadow_backtest: pd.DataFrame | None = None,
) -> str:
    """The sections shown first on the page (this month's stability, characteristic analysis, band backtest with
    the draft versions scored in shadow, estimated vs realized performance, the early read's vintage curves); an
    empty input is a "not available yet" note. ``vintages``: ``out_vintages`` as an Ibis table, or None when the
    early read never ran; ``shadow_backtest``: ``out_scorecard_shadow_backtest``."""
    dpi, top = int(options.get("dpi", 90)), int(options.get("top_features", 12))
    charts = {}
    if stability is not None and not stability.empty:
        month = pd.to_datetime(stability["snapshot_date"]).max()
        fig = stability_figure(stability, characteristic, month, options.get("psi_levels"), top)
        charts["stability"] = figure_png(fig, dpi)
    vintage_rows = vintages.to_pandas() if vintages is not None else pd.DataFrame()
    if not vintage_rows.empty:
        charts["vintages"] = figure_png(vintage_curves_figure(vintage_rows), dpi)
    return render_drift_sections(
        stability, characteristic, backtest, estimated, charts, top, vintage_rows, shadow=shadow_backtest
    )


def governance_sections(
    delivery_log: pd.DataFrame,
    adverse_impact: pd.DataFrame,
    override_rates: pd.DataFrame,
    fairness: dict[str, Any],
) -> str:
    """The sections after the action decisions: the alerts delivered (``out_alert_delivery_log``) and fair lending
    (``rpt_adverse_impact``, ``rpt_override_rates``; the flag threshold ``scorecard.fairness.threshold``; only that
    block is an input: the scorecard's versions have integer category keys that orchestrators cannot pass)."""
    fairness = fairness or {}
    return render_alerts_section(delivery_log) + render_fairness_section(
        adverse_impact, override_rates, threshold=float(fairness.get("threshold", 0.8))
    )


def build_dashboard(  # noqa: PLR0913, PLR0917 - a Kedro node: inputs arrive positionally
    tables: dict[str, Any],
    pngs: dict[str, str],
    options: dict[str, Any],
    actions: dict[str, Any],
    drift_html: str = "",
    governance_html: str = "",
) -> tuple[str, pd.DataFrame]:
    """The self-contained HTML dashboard and the combined metrics table (CSV for analysts)."""
    thresholds = actions.get("thresholds") or {}
    auc, acc = thresholds.get("roc_auc") or {}, thresholds.get("accuracy") or {}
    evidence = actions.get("evidence") or {}
    if evidence.get("decide_on", "interval") == "point":
        rules = (
            f"Point rule (actions.evidence.decide_on: point). <b>retrain</b>: ROC-AUC &lt; {auc.get('business')} or "
            f"accuracy &lt; {acc.get('business')} (business); <b>active_monitoring</b>: otherwise ROC-AUC &lt; "
            f"{auc.get('data_science')} or accuracy &lt; {acc.get('data_science')} (data science), or a drop from "
            "the OOT baseline beyond actions.degradation.max_drop; <b>monitor</b>: all meet the data-science "
            "thresholds."
        )
    else:
        level = f"{100 * float(evidence.get('confidence', 0.95)):g} %"
        rules = (
            f"Decided on {level} intervals of the cohort's metrics (DeLong for ROC-AUC, Jeffreys for accuracy). "
            f"<b>retrain</b>: the upper bound of ROC-AUC is below {auc.get('business')} or that of accuracy below "
            f"{acc.get('business')} (business); <b>monitor</b>: every lower bound clears the data-science "
            f"thresholds (ROC-AUC {auc.get('data_science')}, accuracy {acc.get('data_science')}) and no metric is "
            "shown below the OOT baseline beyond actions.degradation.max_drop; <b>active_monitoring</b>: "
            "otherwise (the evidence does not settle it)."
        )
    calibration = actions.get("calibration") or {}
    if calibration.get("enabled"):
        low, high = (calibration.get("ae_band") or [0.9, 1.1])[:2]
        rules += (
            f" <b>recalibrate</b> (below retrain, above active_monitoring): no metric says retrain but A/E "
            f"(actual / expected defaults) fails its band [{low}, {high}] (rule {calibration.get('rule')}, Jeffreys "
            "test); the cycle refits the champion's calibration on the latest matured cohorts the next month."
        )
    rules += " Evidence (value, interval, n, thresholds, A/E): data/08_reporting/actions/&lt;model&gt;/ and docs/actions.md."
    page = render_dashboard(
        title=str(options.get("title", "KYCC model monitoring")),
        models=tables["models"],
        metrics=tables["metrics"],
        decisions=tables["decisions"],
        band_mix=tables["band_mix"],
        scored=tables["scored"],
        charts=pngs,
        rules_text=rules,
        drift_html=drift_html,
        psi_levels=_levels(options).to_dict(),
        governance_html=governance_html,
    )
    metrics = tables["metrics"]
    return page, metrics if not metrics.empty else pd.DataFrame(columns=["model", "snapshot_date"])
