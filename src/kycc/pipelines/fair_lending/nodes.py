"""Nodes of the fair_lending pipeline (thin: the statistics live in :mod:`kycc.scorecard.fairness`)."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from kycc.scorecard.fairness import adverse_impact, override_rates, summarise_flags

logger = logging.getLogger(__name__)

FAIRNESS_KEYS = {"characteristics", "min_group_size", "threshold", "confidence"}


class FairLendingConfigError(ValueError):
    """``scorecard.fairness`` is malformed (the message names the key)."""


def _options(fairness: dict[str, Any] | None) -> dict[str, Any]:
    options = dict(fairness or {})
    unknown = set(options) - FAIRNESS_KEYS
    if unknown:
        raise FairLendingConfigError(
            f"Unknown keys in scorecard.fairness: {sorted(unknown)}; allowed: {sorted(FAIRNESS_KEYS)}"
        )
    characteristics = options.get("characteristics") or {}
    if not isinstance(characteristics, dict) or not characteristics:
        raise FairLendingConfigError(
            "scorecard.fairness.characteristics must map at least one column to {edges: [...]} or "
            "{categories: true}"
        )
    for column, groups in characteristics.items():
        if not isinstance(groups, dict) or not (groups.get("edges") or groups.get("categories") is True):
            raise FairLendingConfigError(
                f"scorecard.fairness.characteristics.{column} must be {{edges: [...]}} or {{categories: true}}, "
                f"got {groups!r}"
            )
    return {
        "characteristics": characteristics,
        "min_group_size": int(options.get("min_group_size", 30)),
        "threshold": float(options.get("threshold", 0.8)),
        "confidence": float(options.get("confidence", 0.95)),
    }


def select_characteristics(features: Any, fairness: dict[str, Any]) -> pd.DataFrame:
    """``loan_id`` and the characteristics of ``scorecard.fairness`` from ``feat_gold_features``."""
    columns = list(_options(fairness)["characteristics"])
    absent = [c for c in columns if c not in features.columns]
    if absent:
        raise FairLendingConfigError(
            f"scorecard.fairness.characteristics {absent} are not columns of feat_gold_features"
        )
    return features.select("loan_id", *columns).to_pandas().drop_duplicates("loan_id")


def report_adverse_impact(
    decisions: pd.DataFrame, characteristics: pd.DataFrame, fairness: dict[str, Any]
) -> pd.DataFrame:
    """Per decided month and group of each characteristic: approval rate (Wilson interval), ratio to the
    most-favoured group (Katz interval, Fisher p-value), flagged below ``threshold`` for groups of at least
    ``min_group_size`` decisions (:func:`kycc.scorecard.fairness.adverse_impact`).

    Decisions made before decision policies existed (no ``decision`` value) are left out.
    """
    options = _options(fairness)
    if decisions is None or decisions.empty or "decision" not in decisions.columns:
        logger.warning("fair_lending: no decision with a decision policy yet: empty adverse-impact report")
        report = adverse_impact(pd.DataFrame(), options["characteristics"])
        return report.assign(snapshot_date=pd.Series(dtype="datetime64[ns]"))
    decided = decisions.loc[decisions["decision"].notna(), ["loan_id", "snapshot_date", "decision"]]
    frame = decided.merge(characteristics, on="loan_id", how="left", validate="1:1")
    report = adverse_impact(
        frame,
        options["characteristics"],
        min_group_size=options["min_group_size"],
        threshold=options["threshold"],
        confidence=options["confidence"],
    )
    report.insert(0, "snapshot_date", pd.to_datetime(report["month"]))
    flags = summarise_flags(report)
    if flags:
        logger.warning(
            "fair_lending: approval-rate ratio below %s:\n  %s", options["threshold"], "\n  ".join(flags)
        )
    else:
        logger.info(
            "fair_lending: no group below the %s approval-rate ratio (%d month-groups, %d months)",
            options["threshold"],
            len(report),
            report["month"].nunique(),
        )
    return report


def report_override_rates(decision_log: pd.DataFrame) -> pd.DataFrame:
    """Override rate per application month and band of the whole decision log (Wilson intervals)."""
    return override_rates(decision_log)
