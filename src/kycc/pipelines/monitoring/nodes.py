"""Nodes of the monitoring pipeline (thin: the logic lives in ``kycc.monitoring``).

``select_maturing_labels`` (labels maturing in the months monitored) → per model ``monitor_model`` (labels ×
the predictions made ``label_lag_months`` earlier → metrics, per-feature PSI, MLflow metrics) →
``summarise_monitoring``.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from kycc.inference.registry import RegisteredModel
from kycc.inference.scoring import InferenceError, resolve_months
from kycc.monitoring.monitor import monitor_cohort
from kycc.temporal import add_months
from kycc.temporal.windows import TrainingWindows

logger = logging.getLogger(__name__)

OPTION_KEYS = {"start_month", "end_month", "label_lag_months", "psi_bins"}
#: Metrics logged to MLflow per model and month (``<model>.monitoring.<metric>``, step = YYYYMM).
MLFLOW_METRICS = (
    "roc_auc",
    "gini",
    "ks",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "brier",
    "psi_score",
    "psi_feature_max",
    "pd_mean",
    "pd_ks",
    "default_rate",
    "n_matched",
)


def _options(options: dict[str, Any] | None) -> dict[str, Any]:
    opts = {"start_month": None, "end_month": None, "label_lag_months": 6, "psi_bins": 10, **(options or {})}
    unknown = set(opts) - OPTION_KEYS
    if unknown:
        raise ValueError(
            f"Unknown keys in monitoring parameters: {sorted(unknown)}; allowed: {sorted(OPTION_KEYS)}"
        )
    lag = opts["label_lag_months"]
    if not isinstance(lag, int) or isinstance(lag, bool) or lag < 1:
        raise ValueError(f"monitoring.label_lag_months must be a whole number of months >= 1, got {lag!r}")
    return opts


def select_maturing_labels(labels: ir.Table, options: dict[str, Any]) -> tuple[pd.DataFrame, list[str]]:
    """Labels maturing in the months to monitor (``loan_id``, ``label``, ``snapshot_date``).

    Args:
        labels: ``feat_gold_labels`` (one row per loan, at the snapshot it reached MOB 6).
        options: ``monitoring`` parameters (``start_month``/``end_month``; both null = the latest label month).

    Returns:
        The labels (pandas) and the months monitored (ISO dates).
    """
    opts = _options(options)
    available: list[Any] = []
    if opts["start_month"] in (None, "") and opts["end_month"] in (None, ""):
        latest = labels["snapshot_date"].max().execute()
        available = [] if latest is None or pd.isna(latest) else [latest]
    try:
        months = resolve_months(opts["start_month"], opts["end_month"], available, "monitoring", "monitoring")
    except InferenceError as err:
        raise ValueError(str(err)) from err
    if not months:
        logger.warning("monitoring: the label store is empty: nothing to monitor")
        return pd.DataFrame(columns=["loan_id", "label", "snapshot_date"]), []
    first, after = months[0], pd.Timestamp(add_months(months[-1], 1))
    date = labels["snapshot_date"]
    rows = (
        labels.filter((date >= first.to_pydatetime()) & (date < after.to_pydatetime()))
        .select("loan_id", "label", "snapshot_date")
        .to_pandas()
    )
    rows["snapshot_date"] = pd.to_datetime(rows["snapshot_date"])
    rows = rows.loc[rows["label"].notna()].sort_values(["snapshot_date", "loan_id"]).reset_index(drop=True)
    return rows, [m.date().isoformat() for m in months]


def _features_of_months(features: ir.Table, months: list[pd.Timestamp], columns: list[str]) -> pd.DataFrame:
    date = features["application_date"]
    cond = None
    for m in sorted(set(months)):
        part = (date >= m.to_pydatetime()) & (date < pd.Timestamp(add_months(m, 1)).to_pydatetime())
        cond = part if cond is None else cond | part
    return features.filter(cond).select("loan_id", *columns).to_pandas()


def _skip(month: pd.Timestamp, reason: str, model: str) -> dict[str, Any]:
    logger.info("monitoring: %s %s skipped: %s", model, f"{month:%Y-%m}", reason)
    return {"month": month.date().isoformat(), "status": "skipped", "reason": reason}


def monitor_model(  # noqa: PLR0917 - a Kedro node: inputs arrive positionally
    model: str,
    labels: pd.DataFrame,
    months: list[str],
    features: ir.Table,
    predictions: pd.DataFrame,
    registered: RegisteredModel,
    options: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """Per month: the labels maturing now joined with the model's predictions made ``lag`` months before.

    A month whose earlier predictions do not exist (the model was not scoring then) is a logged skip.

    Returns:
        The metrics (one row per monitored month), the per-feature PSI (one row per month and feature), the
        MLflow metrics (``{metric: [{value, step}]}``, step = YYYYMM) and a summary of monitored/skipped months.
    """
    opts = _options(options)
    lag = opts["label_lag_months"]
    rows, tables, status = [], [], []
    if predictions.empty:
        predictions = pd.DataFrame(columns=["snapshot_date", "loan_id"])
    pred_month = pd.to_datetime(predictions["snapshot_date"])
    for iso in months:
        month = pd.Timestamp(iso)
        cohort = pd.Timestamp(add_months(month, -lag))
        cohort_preds = predictions.loc[pred_month == cohort].reset_index(drop=True)
        if cohort_preds.empty:
            status.append(
                _skip(
                    month, f"no {model} predictions for {cohort:%Y-%m} ({lag} months earlier) to join", model
                )
            )
            continue
        month_labels = labels.loc[labels["snapshot_date"] == month]
        if month_labels.empty:
            status.append(_skip(month, f"no labels matured in {month:%Y-%m}", model))
            continue
        versions = cohort_preds["model_version"].unique()
        if len(versions) != 1:
            raise ValueError(
                f"{model}: the predictions of {cohort:%Y-%m} come from several versions {versions}"
            )
        card = registered.version(int(versions[0]))
        windows = TrainingWindows.from_dict(card.windows)
        ref_months = [pd.Timestamp(m) for m in windows.oot.months]
        columns = sorted(set(card.features))
        feature_rows = _features_of_months(features, [*ref_months, cohort], columns)
        reference_features = feature_rows.merge(card.reference[["loan_id"]], on="loan_id", how="inner")
        cohort_features = feature_rows.merge(cohort_preds[["loan_id"]], on="loan_id", how="inner")
        result = monitor_cohort(
            month=month,
            cohort_month=cohort,
            predictions=cohort_preds,
            labels=month_labels,
            reference=card.reference,
            reference_features=reference_features,
            cohort_features=cohort_features,
            features=columns,
            categorical=[c for c in card.categorical if c in columns],
            baseline=card.oot_metrics,
            bins=opts["psi_bins"],
        )
        row = {
            "model": model,
            "registered_model_name": card.registered_model_name,
            "model_version": card.version,
            "model_training_date": pd.Timestamp(card.training_date),
            "scorecard_version": ",".join(sorted(cohort_preds["scorecard_version"].astype(str).unique())),
            **result.row,
        }
        rows.append(row)
        tables.append(result.feature_psi.assign(model=model, model_version=card.version))
        status.append({"month": iso, "status": "monitored", "cohort_month": cohort.date().isoformat()})
        logger.info(
            "monitoring: %s %s (cohort %s, %s, %d loans): ROC-AUC %.3f, accuracy %.3f, F1 %.3f, score PSI %.3f "
            "(%s), top feature PSI %s %.3f",
            model, f"{month:%Y-%m}", f"{cohort:%Y-%m}", card.label, row["n_matched"], row["roc_auc"],
            row["accuracy"], row["f1"], row["psi_score"], row["psi_level"], row["psi_feature_max_name"],
            row["psi_feature_max"],
        )  # fmt: skip
    metrics = pd.DataFrame(rows)
    feature_psi = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    mlflow_metrics: dict[str, Any] = {}
    for row in rows:
        step = int(f"{row['snapshot_date']:%Y%m}")
        for name in MLFLOW_METRICS:
            value = row.get(name)
            if value is not None and not (isinstance(value, float) and math.isnan(value)):
                mlflow_metrics.setdefault(name, []).append({"value": float(value), "step": step})
    return metrics, feature_psi, mlflow_metrics, {"model": model, "months": status}


def summarise_monitoring(months: list[str], *models: dict[str, Any]) -> dict[str, Any]:
    """Monitored and skipped months per model, in the log and ``rpt_monitoring_summary``."""
    lines = [f"Monitoring summary ({', '.join(m[:7] for m in months) or 'no month'}):"]
    for m in models:
        for entry in m["months"]:
            text = "monitored" if entry["status"] == "monitored" else f"skipped ({entry['reason']})"
            lines.append(f"  {m['model']} {entry['month'][:7]}: {text}")
    logger.info("\n".join(lines))
    return {"months": months, "models": list(models)}
