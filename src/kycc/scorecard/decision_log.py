"""The decision log: every decision (batch and API) appended to ``scorecard_decisions`` in the scorecard store,
with what is needed to reproduce it bit for bit.

A log row holds the input fingerprint (SHA-256 of the feature values and application date), the feature values
the version read (JSON), the scorecard version and its fingerprint, the calibration in force (intercept, slope,
label), the champion model versions asked, the score, band, PD (``repr`` of the float), decision, the rule or
cut-off that made it, the reason codes and the whole outcome (reasons, points to the next band / to approval,
approval changes). The table is append-only (sqlite triggers refuse UPDATE and DELETE); overrides are separate
rows (``scorecard_decision_overrides``: who, why, low-side / high-side).

:func:`reproduce` scores the stored feature values again with the stored version and calibration through the same
code (:func:`kycc.inference.scoring.score_scorecard`) and compares every logged field exactly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from kycc.jsonsafe import json_safe
from kycc.scorecard.decision import DECISION_OUTPUT_COLUMNS
from kycc.scorecard.definition import ScorecardDefinition

__all__ = ["OUTCOME_FIELDS", "feature_values", "input_fingerprint", "log_entries", "outcome_of", "reproduce"]

#: The logged fields a reproduction must match exactly.
OUTCOME_FIELDS = ("score", "band", "pd", *DECISION_OUTPUT_COLUMNS)


def feature_values(row: Mapping[str, Any], definition: ScorecardDefinition) -> dict[str, Any]:
    """The values of the version's features in one application (JSON-ready; missing = None)."""
    return {name: json_safe(row.get(name)) for name in definition.feature_names}


def input_fingerprint(values: Mapping[str, Any], application_date: Any) -> str:
    text = json.dumps(
        {"application_date": json_safe(application_date), "features": values},
        sort_keys=True,
        separators=(",", ":"),
    )
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def outcome_of(decision: Mapping[str, Any]) -> dict[str, Any]:
    """The logged outcome of one decision row (score int, PD as ``repr`` text, the decision columns)."""
    out: dict[str, Any] = {}
    for key in OUTCOME_FIELDS:
        value = json_safe(decision.get(key))
        if key == "score":
            value = int(value)
        elif key == "pd":
            value = None if value is None else repr(float(value))
        elif key in ("points_to_next_band", "points_to_approval") and value is not None:
            value = int(value)
        out[key] = value
    return out


def log_entries(
    decisions: pd.DataFrame,
    applications: pd.DataFrame,
    record: Mapping[str, Any],
    *,
    channel: str,
    model_versions: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Decision-log rows for ``decisions`` (:func:`kycc.inference.scoring.score_scorecard` output) of
    ``applications`` (their feature rows, matched on ``loan_id``) decided by the version ``record``.

    The calibration logged is the one in force for each row's month (``calibrations_by_month``) or the record's.
    """
    definition = ScorecardDefinition.from_dict(record["definition"], version=record["version"])
    by_loan = applications.drop_duplicates("loan_id").set_index("loan_id")
    by_month = record.get("calibrations_by_month")
    fingerprint = definition.fingerprint()
    models = json.dumps(dict(model_versions or {}), sort_keys=True, default=str)
    entries = []
    for row in decisions.to_dict("records"):
        features = by_loan.loc[row["loan_id"]].to_dict()
        values = feature_values(features, definition)
        month = pd.Timestamp(row["snapshot_date"]).strftime("%Y-%m-01")
        calibration = by_month.get(month) if by_month is not None else record.get("calibration")
        outcome = outcome_of(row)
        entries.append(
            {
                "channel": channel,
                "batch_id": row.get("batch_id"),
                "decision_set": int(row.get("decision_set") or 1),
                "loan_id": None if row.get("loan_id") is None else str(row["loan_id"]),
                "customer_id": None if row.get("customer_id") is None else str(row["customer_id"]),
                "application_date": pd.Timestamp(row["application_date"]).isoformat(),
                "input_fingerprint": input_fingerprint(values, pd.Timestamp(row["application_date"])),
                "features": json.dumps(values, sort_keys=True),
                "scorecard_version": definition.version,
                "scorecard_fingerprint": fingerprint,
                "calibration": None
                if not calibration
                else json.dumps(dict(calibration), sort_keys=True, default=str),
                "model_versions": models,
                "score": outcome["score"],
                "band": outcome["band"],
                "pd": outcome["pd"],
                "decision": outcome["decision"],
                "decided_by": outcome["decided_by"],
                "reason_codes": outcome["reason_codes"] or "",
                "outcome": json.dumps(outcome, sort_keys=True),
            }
        )
    return entries


def reproduce(store: Any, decision_id: int) -> dict[str, Any]:
    """Score a logged decision again from its stored inputs; ``{"logged", "reproduced", "identical",
    "differences"}`` (``differences``: ``{field: [logged, reproduced]}``).

    The version comes from the store (its fingerprint must be the logged one), the calibration from the log row.
    """
    from kycc.inference.scoring import score_scorecard

    logged = store.decision(decision_id)
    version = store.get(logged["scorecard_version"])
    differences: dict[str, Any] = {}
    if version.fingerprint != logged["scorecard_fingerprint"]:
        differences["scorecard_fingerprint"] = [logged["scorecard_fingerprint"], version.fingerprint]
    row = pd.DataFrame([logged["features"]])
    date = pd.Timestamp(logged["application_date"])
    row.insert(0, "application_date", date)
    row.insert(0, "customer_id", logged["customer_id"])
    row.insert(0, "loan_id", logged["loan_id"])
    month = date.to_period("M").to_timestamp().strftime("%Y-%m-01")
    record = {
        "version": version.version,
        "definition": version.definition.to_dict(),
        "calibrations_by_month": {month: logged["calibration"]},
    }
    again = score_scorecard(row, record).iloc[0].to_dict()
    reproduced = outcome_of(again)
    if (
        input_fingerprint(feature_values(logged["features"], version.definition), date)
        != logged["input_fingerprint"]
    ):
        differences["input_fingerprint"] = [logged["input_fingerprint"], "(recomputed differs)"]
    for key in OUTCOME_FIELDS:
        if logged["outcome"].get(key) != reproduced.get(key):
            differences[key] = [logged["outcome"].get(key), reproduced.get(key)]
    return {
        "logged": logged,
        "reproduced": reproduced,
        "identical": not differences,
        "differences": differences,
    }


def summarise(decision: Mapping[str, Any]) -> Sequence[str]:
    """Text lines for ``kycc decisions show``."""
    outcome = decision["outcome"]
    lines = [
        f"Decision #{decision['id']} ({decision['channel']}, {decision['at']}): {outcome['decision'].upper()} "
        f"by {outcome['decided_by']}",
        f"  loan {decision['loan_id']}  customer {decision['customer_id']}  application {decision['application_date']}",
        f"  scorecard {decision['scorecard_version']} ({decision['scorecard_fingerprint'][:19]}…)  score "
        f"{outcome['score']}  band {outcome['band']}  PD {outcome['pd'] or '-'}",
        f"  next band {outcome['next_band'] or '-'} in {outcome['points_to_next_band'] or '-'} points; "
        f"{outcome['points_to_approval'] if outcome['points_to_approval'] is not None else '-'} points to approval",
    ]
    for r in json.loads(outcome["reasons"] or "[]"):
        lines.append(f"  reason {r['code']:<5} {r['text']}  ({r['feature']} = {r['bin']})")
    for c in json.loads(outcome["approval_changes"] or "[]")[:4]:
        lines.append(
            f"  would be approved with {c['feature']} {c['from_bin']} → {c['to_bin']} (score {c['new_score']}, "
            f"+{c['score_gain']})"
        )
    for o in decision.get("overrides") or []:
        lines.append(
            f"  OVERRIDE {o['original_decision']} → {o['decision']} ({o['side']}) by {o['overridden_by']} at "
            f"{o['at']}: {o['reason']}"
        )
    lines.append(f"  input {decision['input_fingerprint']}; models {decision['model_versions']}")
    return lines
