"""Nodes of the model_input pipeline: gold labels + gold features (Ibis) → one pandas model-input table.

This is where pandas takes over from Ibis: the join runs on the engine (DuckDB or Spark), the result — one row
per labelled loan — is small enough for scikit-learn.
"""

from __future__ import annotations

import fnmatch
import logging
from typing import Any

import ibis.expr.types as ir
import pandas as pd

logger = logging.getLogger(__name__)

__all__ = ["build_model_input"]


class ModelInputError(ValueError):
    """The gold tables cannot be joined into a model input."""


def _options(options: dict[str, Any]) -> dict[str, Any]:
    defaults = {
        "key": "loan_id",
        "label_columns": ["label", "label_def"],
        "label_date_column": "snapshot_date",
        "label_date_name": "label_date",
        "drop_feature_columns": ["snapshot_date", "*_as_of"],
    }
    unknown = set(options or {}) - set(defaults)
    if unknown:
        raise ModelInputError(f"Unknown keys in model_input parameters: {sorted(unknown)}")
    return {**defaults, **(options or {})}


def build_model_input(
    labels: ir.Table, features: ir.Table, options: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Join gold labels to gold features on the loan key: one row per labelled loan.

    The label side brings only the label, its definition and the month it matured (``label_date``): never
    ``dpd``, ``mob`` or ``installments_missed``, which describe the outcome (target leakage). The feature side
    brings the application date, the ids and every feature, minus its lineage columns (``*_as_of``).

    Args:
        labels: ``feat_gold_labels``.
        features: ``feat_gold_features``.
        options: ``model_input`` parameters.

    Returns:
        The model-input table (sorted by application date and key) and its row accounting / monthly summary.
    """
    opts = _options(options)
    key = opts["key"]
    needed_labels = [key, *opts["label_columns"], opts["label_date_column"]]
    for name, table, cols in (
        ("feat_gold_labels", labels, needed_labels),
        ("feat_gold_features", features, [key, "application_date"]),
    ):
        missing = [c for c in cols if c not in table.columns]
        if missing:
            raise ModelInputError(f"{name} has no column(s) {missing}; columns: {list(table.columns)}")

    label_side = labels.select(
        *[labels[c] for c in [key, *opts["label_columns"]]],
        labels[opts["label_date_column"]].name(opts["label_date_name"]),
    )
    drop = [
        c
        for c in features.columns
        if c not in {key, "application_date"}
        and any(fnmatch.fnmatchcase(c, p) for p in opts["drop_feature_columns"])
    ]
    feature_cols = [c for c in features.columns if c not in drop]
    clash = [c for c in feature_cols if c != key and c in label_side.columns]
    if clash:
        raise ModelInputError(f"Columns {clash} are on both gold tables; drop them from one side")
    feature_side = features.select(*feature_cols)

    counts = labels.aggregate(n=labels.count(), keys=labels[key].nunique()).execute()
    n_labels, n_label_keys = int(counts["n"][0]), int(counts["keys"][0])
    if n_labels != n_label_keys:
        raise ModelInputError(
            f"feat_gold_labels has {n_labels - n_label_keys} duplicate {key}(s): a loan must be labelled once "
            "(rebuild the label store)."
        )
    n_features = int(feature_side.count().execute())

    joined = feature_side.inner_join(label_side, key)
    front = [
        key,
        *[c for c in ("customer_id",) if c in feature_cols],
        "application_date",
        opts["label_date_name"],
        *opts["label_columns"],
    ]
    ordered = joined.select(*front, *[c for c in joined.columns if c not in front])
    frame = ordered.to_pandas()
    if frame[key].duplicated().any():
        raise ModelInputError(f"feat_gold_features has duplicate {key}(s): one application per loan expected")
    for col in ("application_date", opts["label_date_name"]):
        frame[col] = pd.to_datetime(frame[col])
    frame = frame.sort_values(["application_date", key], kind="stable").reset_index(drop=True)

    unmatched = n_labels - len(frame)
    if unmatched:
        logger.warning(
            "%d labelled loan(s) have no gold features (left out of the model input, counted in the summary)",
            unmatched,
        )
    by_month = (
        frame.groupby(frame["application_date"].dt.strftime("%Y-%m"))
        .agg(loans=(key, "size"), defaults=("label", "sum"))
        .assign(default_rate=lambda d: (d["defaults"] / d["loans"]).round(4))
    )
    summary = {
        "rows": len(frame),
        "labelled_loans": n_labels,
        "labelled_without_features": unmatched,
        "applications_in_feature_store": n_features,
        "applications_not_labelled_yet": n_features - len(frame),
        "default_rate": round(float(frame["label"].mean()), 4) if len(frame) else None,
        "columns": list(frame.columns),
        "application_months": {
            m: r._asdict() for m, r in zip(by_month.index, by_month.itertuples(index=False), strict=True)
        },
    }
    logger.info(
        "Model input: %d labelled loans over %d application months (%s .. %s), default rate %s",
        len(frame),
        len(by_month),
        by_month.index.min() if len(by_month) else "-",
        by_month.index.max() if len(by_month) else "-",
        summary["default_rate"],
    )
    return frame, summary
