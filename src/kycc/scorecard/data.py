"""The rows a scorecard is compared and calibrated on, taken from the gold tables.

* **reference batch**: the gold feature rows (applications) of the latest application month (or a chosen one,
  or a few months ending there) — what a comparison scores with both versions.
* **labelled sample**: gold feature rows joined with their gold label (loans that reached MOB 6), the latest
  N labelled application months — what a calibration is fitted on.

Both accept the Ibis tables of the catalog (``feat_gold_features``, ``feat_gold_labels``; filtered on the
engine, only the selected months become pandas) or pandas frames.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

logger = logging.getLogger(__name__)

__all__ = ["ReferenceDataError", "labelled_sample", "month_label", "select_reference_batch"]

DATE_COLUMN = "application_date"


class ReferenceDataError(ValueError):
    """The gold tables hold no rows for the requested months."""


def _month(value: Any) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return pd.Timestamp(year=ts.year, month=ts.month, day=1)


def month_label(first: pd.Timestamp, last: pd.Timestamp) -> str:
    return f"{first:%Y-%m}" if first == last else f"{first:%Y-%m}..{last:%Y-%m}"


def _is_ibis(table: Any) -> bool:
    return hasattr(table, "to_pandas") and hasattr(table, "filter") and not isinstance(table, pd.DataFrame)


def _max_date(table: Any, column: str) -> pd.Timestamp | None:
    value = table[column].max().execute() if _is_ibis(table) else pd.to_datetime(table[column]).max()
    return None if value is None or pd.isna(value) else pd.Timestamp(value)


def _between(table: Any, column: str, start: pd.Timestamp, end_exclusive: pd.Timestamp) -> pd.DataFrame:
    if _is_ibis(table):
        col = table[column]
        frame = table.filter(
            (col >= start.to_pydatetime()) & (col < end_exclusive.to_pydatetime())
        ).to_pandas()
    else:
        dates = pd.to_datetime(table[column])
        frame = table.loc[(dates >= start) & (dates < end_exclusive)].copy()
    frame[column] = pd.to_datetime(frame[column])
    return frame.sort_values([column, *[c for c in ("loan_id",) if c in frame.columns]]).reset_index(
        drop=True
    )


def select_reference_batch(
    features: Any, month: Any = None, months: int = 1, date_column: str = DATE_COLUMN
) -> tuple[pd.DataFrame, str]:
    """Gold feature rows of the application months ``month − months + 1 .. month``.

    Args:
        features: ``feat_gold_features`` (Ibis table or pandas).
        month: Last month (any date in it); None = the latest application month in the table.
        months: Number of months.

    Returns:
        The rows (pandas) and a label such as ``2024-12`` or ``2024-10..2024-12``.
    """
    if not isinstance(months, int) or isinstance(months, bool) or months < 1:
        raise ReferenceDataError(f"scorecard.reference.months must be a positive integer, got {months!r}")
    latest = _max_date(features, date_column)
    if latest is None:
        raise ReferenceDataError(
            "feat_gold_features is empty: build the feature store first (`kedro run`), then compare"
        )
    last = _month(month) if month not in (None, "") else _month(latest)
    first = last - pd.DateOffset(months=months - 1)
    rows = _between(features, date_column, first, last + pd.DateOffset(months=1))
    label = month_label(first, last)
    if rows.empty:
        raise ReferenceDataError(
            f"No applications in {label} in feat_gold_features (latest application month: {latest:%Y-%m}); "
            "choose another scorecard.reference.month"
        )
    logger.info("Reference batch: %d applications of %s", len(rows), label)
    return rows, label


def labelled_sample(
    features: Any,
    labels: Any,
    months: int | None = None,
    key: str = "loan_id",
    label_column: str = "label",
    date_column: str = DATE_COLUMN,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Gold feature rows with their label (inner join on ``key``), the latest ``months`` labelled months.

    Returns:
        The rows (pandas, with ``label``) and a description (months, rows, defaults) for the calibration.
    """
    if _is_ibis(features) and _is_ibis(labels):
        label_side = labels.select(labels[key], labels[label_column].name("__label"))
        joined = features.inner_join(label_side, key)
        joined = joined.filter(joined["__label"].notnull())
        frame = joined.to_pandas().rename(columns={"__label": label_column})
    else:
        feats = features.to_pandas() if _is_ibis(features) else features
        labs = labels.to_pandas() if _is_ibis(labels) else labels
        frame = feats.drop(columns=[label_column], errors="ignore").merge(
            labs[[key, label_column]], on=key, how="inner"
        )
        frame = frame.loc[frame[label_column].notna()]
    if frame.empty:
        return frame, {"rows": 0, "defaults": 0, "months": None}
    frame[date_column] = pd.to_datetime(frame[date_column])
    app_month = frame[date_column].dt.to_period("M").dt.to_timestamp()
    last = app_month.max()
    if months:
        first = last - pd.DateOffset(months=int(months) - 1)
        frame = frame.loc[app_month >= first]
        app_month = app_month.loc[frame.index]
    frame = frame.sort_values([date_column, key]).reset_index(drop=True)
    described = {
        "months": month_label(app_month.min(), last),
        "rows": len(frame),
        "defaults": int(frame[label_column].sum()),
        "label_column": label_column,
    }
    logger.info(
        "Labelled sample for calibration: %d applications of %s, %d defaults",
        described["rows"],
        described["months"],
        described["defaults"],
    )
    return frame, described
