"""Monitoring of one model for one month: the labels maturing now against the predictions made 6 months earlier.

For month ``M`` the cohort is the applications of ``M - lag`` (lag = the label maturity, 6 months): they were
scored then, and their MOB-6 labels mature at ``M``. One call turns that cohort into one row of metrics
(performance, confusion matrix, score PSI against the model's OOT reference, prediction drift, the OOT
baseline) and one table of per-feature PSI.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from kycc.monitoring.drift import feature_psi
from kycc.monitoring.metrics import performance_metrics, prediction_drift
from kycc.monitoring.psi import DEFAULT_LEVELS, psi, psi_level

logger = logging.getLogger(__name__)

__all__ = ["CohortResult", "monitor_cohort"]

BASELINE_METRICS = ("roc_auc", "accuracy", "precision", "recall", "f1", "ks", "default_rate")


@dataclass(frozen=True)
class CohortResult:
    """The metrics row of one model and month and its per-feature PSI table."""

    row: dict[str, Any]
    feature_psi: pd.DataFrame


def monitor_cohort(
    *,
    month: pd.Timestamp,
    cohort_month: pd.Timestamp,
    predictions: pd.DataFrame,
    labels: pd.DataFrame,
    reference: pd.DataFrame,
    reference_features: pd.DataFrame,
    cohort_features: pd.DataFrame,
    features: Sequence[str],
    categorical: Sequence[str] = (),
    baseline: dict[str, Any] | None = None,
    bins: int = 10,
    key: str = "loan_id",
    psi_levels: Mapping[str, float] | None = None,
) -> CohortResult:
    """Measure one cohort.

    Args:
        month: The monitoring month ``M`` (labels matured then).
        cohort_month: The application month scored ``lag`` months before.
        predictions: The model's predictions of the cohort (``loan_id``, ``probability``, ``prediction``,
            ``threshold``, ``model_version`` …).
        labels: Labels maturing at ``M`` (``loan_id``, ``label``).
        reference: The model version's OOT predictions (``pd``): the reference distribution of scores.
        reference_features / cohort_features: Feature rows (``loan_id`` + features) of the reference and of
            the cohort, for per-feature PSI.
        features / categorical: The model's input features to compare.
        baseline: The model version's OOT metrics (from its training metadata).
        bins: Quantile bins of PSI.
        psi_levels: The one PSI-level set (``{moderate, major}``, parameter ``psi_levels``; default 0.1 / 0.25).

    Returns:
        The metrics row and the feature PSI table (both tagged with the months).
    """
    levels = {**DEFAULT_LEVELS, **(psi_levels or {})}
    moderate, major = float(levels["moderate"]), float(levels["major"])
    joined = predictions.merge(labels[[key, "label"]], on=key, how="inner", validate="one_to_one")
    thresholds = predictions["threshold"].dropna().unique()
    if len(thresholds) != 1:
        raise ValueError(
            f"The predictions of {cohort_month:%Y-%m} carry {len(thresholds)} decision thresholds; one model "
            "version must have scored the month"
        )
    threshold = float(thresholds[0])
    perf = performance_metrics(joined["label"].to_numpy(), joined["probability"].to_numpy(), threshold)
    score_psi = psi(reference["pd"], predictions["probability"], bins)
    drift = prediction_drift(reference["pd"], predictions["probability"], threshold)
    by_feature = feature_psi(
        reference_features,
        cohort_features,
        features,
        categorical,
        bins,
        psi_levels={"moderate": moderate, "major": major},
    )
    valid = by_feature.dropna(subset=["psi"])
    top = valid.iloc[0] if len(valid) else None
    row: dict[str, Any] = {
        "snapshot_date": pd.Timestamp(month),
        "cohort_month": pd.Timestamp(cohort_month),
        "n_predictions": len(predictions),
        "n_labels": len(labels),
        "n_matched": len(joined),
        "n_predictions_unlabelled": len(predictions) - len(joined),
        "n_labels_unpredicted": len(labels) - len(joined),
        **perf,
        "psi_score": score_psi.value,
        "psi_level": psi_level(score_psi.value, moderate, major),
        "psi_bins": len(score_psi.table),
        "n_reference": score_psi.n_reference,
        "psi_feature_max": float(top["psi"]) if top is not None else math.nan,
        "psi_feature_max_name": str(top["feature"]) if top is not None else None,
        "n_features_psi_moderate": int(((valid["psi"] >= moderate) & (valid["psi"] < major)).sum()),
        "n_features_psi_major": int((valid["psi"] >= major).sum()),
        **drift,
    }
    for name in BASELINE_METRICS:
        value = (baseline or {}).get(name)
        row[f"baseline_{name}"] = math.nan if value is None else float(value)
    table = by_feature.assign(snapshot_date=pd.Timestamp(month), cohort_month=pd.Timestamp(cohort_month))
    logger.debug(
        "%s (cohort %s): AUC %.3f, F1 %.3f, score PSI %.3f", f"{month:%Y-%m}", f"{cohort_month:%Y-%m}",
        perf["roc_auc"], perf["f1"], score_psi.value,
    )  # fmt: skip
    return CohortResult(row, table)
