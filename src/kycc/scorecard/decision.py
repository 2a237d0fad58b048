"""The decision policy of a scorecard version: approve / refer / decline, which rule or cut-off made it, the
reasons (codes and consumer-facing texts) and what would change it.

The policy is part of the version's definition (stored and fingerprinted with it, immutable like it)::

    policy:
      cutoffs: {approve: 660, refer: 600}    # score >= 660 approve, >= 600 refer, else decline (or band names: B)
      rules:                                 # in order: the first that matches decides, unless the cut-off
                                             # is more severe (decline > refer > approve)
        - id: kyc_not_verified
          feature: kyc_verified              # a scorecard feature (its value is logged with the decision)
          in: [0]                            # categories (matched as text); or below: x / above: x
          missing: true                      # also when the value is missing
          decision: refer                    # refer | decline (a rule never approves)
          code: P01
          text: We could not verify your identity
      reasons:
        max_reasons: 4                       # FCRA key factors: up to 4
        reference: max_points                # or {name: …, points: {feature: points}} (e.g. applicants just
                                             # above the cut-off, :func:`cutoff_average_reference`)
        catalogue:                           # one entry per feature: code, text, text for a missing value
          interest_rate: {code: F04, text: Interest rate on existing credit is high, missing_text: …}

**Reasons** (every refer and decline): the features with the most weighted points lost against the reference,
``lost_f = weight_f × (reference_f − points_f)`` (> 0), largest first (ties: definition order), at most
``max_reasons``; a matching rule's own reason comes first. The decision is the most severe of the first matching
rule's and the cut-off's (decline > refer > approve): a refer rule never turns a decline into a refer. **Points to the next band / to approval** are exact score
differences, and **approval changes** lists, per feature, the smallest single change of bin that reaches the
approval cut-off (the score is additive: each candidate is scored exactly, no solver).

A version without a policy (stored before policies existed) refers every application (``decided_by =
no_policy``: a person decides), with reasons against the maximum points named by feature.

The one implementation: batch inference and the API both call :func:`decide_applications` through
:func:`kycc.inference.scoring.score_scorecard`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kycc.scorecard.definition import Band, FeatureRule, ScorecardDefinition, category_key

__all__ = [
    "DECISIONS",
    "DECISION_OUTPUT_COLUMNS",
    "cutoff_average_reference",
    "decide_applications",
    "parse_policy",
    "reference_points",
]

DECISIONS = ("approve", "refer", "decline")
#: Columns :func:`decide_applications` adds to the scores.
DECISION_OUTPUT_COLUMNS = [
    "decision",
    "decided_by",
    "reason_codes",
    "reasons",
    "next_band",
    "points_to_next_band",
    "points_to_approval",
    "approval_changes",
]
MAX_REASONS = 4
#: How severe a decision is: the final decision is the most severe of the matching rule's and the cut-off's.
SEVERITY = {"approve": 0, "refer": 1, "decline": 2}
_RULE_KEYS = {"id", "feature", "in", "missing", "below", "above", "decision", "code", "text"}


def _error(message: str) -> Exception:
    from kycc.scorecard.definition import ScorecardDefinitionError

    return ScorecardDefinitionError(message)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _error(f"{where} must be a non-empty text, got {value!r}")
    return value.strip()


def _cutoff(value: Any, where: str, bands: Sequence[Band]) -> float:
    by_name = {b.name: b.min_score for b in bands}
    if isinstance(value, str):
        if value not in by_name:
            raise _error(f"{where} names band {value!r}, which does not exist; bands: {', '.join(by_name)}")
        return float(by_name[value])
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
        raise _error(f"{where} must be a score or a band name, got {value!r}")
    return float(value)


def parse_policy(
    spec: Any, where: str, features: Mapping[str, FeatureRule], bands: Sequence[Band]
) -> dict[str, Any] | None:
    """Validate a ``policy`` block into its normal form (band names resolved to scores); None when absent."""
    if spec is None:
        return None
    where = f"{where}: policy"
    if not isinstance(spec, Mapping):
        raise _error(f"{where} must be a mapping with cutoffs, rules and reasons")
    unknown = sorted(set(spec) - {"cutoffs", "rules", "reasons"})
    if unknown:
        raise _error(f"{where} has unknown key(s) {unknown}; allowed: ['cutoffs', 'reasons', 'rules']")
    cut = spec.get("cutoffs")
    if not isinstance(cut, Mapping) or set(cut) != {"approve", "refer"}:
        raise _error(
            f"{where}.cutoffs must be {{approve: <score or band>, refer: <score or band>}}, got {cut!r}"
        )
    approve = _cutoff(cut["approve"], f"{where}.cutoffs.approve", bands)
    refer = _cutoff(cut["refer"], f"{where}.cutoffs.refer", bands)
    if refer > approve:
        raise _error(f"{where}.cutoffs: refer ({refer:g}) must not exceed approve ({approve:g})")

    rules: list[dict[str, Any]] = []
    for i, rule in enumerate(spec.get("rules") or []):
        at = f"{where}.rules[{i}]"
        if not isinstance(rule, Mapping):
            raise _error(f"{at} must be a mapping")
        unknown = sorted(set(rule) - _RULE_KEYS)
        if unknown:
            raise _error(f"{at} has unknown key(s) {unknown}; allowed: {sorted(_RULE_KEYS)}")
        rule_id = _text(rule.get("id"), f"{at}.id")
        feature = rule.get("feature")
        if feature not in features:
            raise _error(f"{at} ({rule_id}): feature {feature!r} is not a feature of this version")
        decision = rule.get("decision")
        if decision not in ("refer", "decline"):
            raise _error(
                f"{at} ({rule_id}): decision must be refer or decline (a rule never approves), got {decision!r}"
            )
        categories = rule.get("in")
        below, above = rule.get("below"), rule.get("above")
        if categories is not None and (not isinstance(categories, list | tuple) or not categories):
            raise _error(f"{at} ({rule_id}): 'in' must be a non-empty list of categories")
        for key, value in (("below", below), ("above", above)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise _error(f"{at} ({rule_id}): '{key}' must be a number, got {value!r}")
        missing = bool(rule.get("missing", False))
        if categories is None and below is None and above is None and not missing:
            raise _error(f"{at} ({rule_id}) needs a condition: in, below, above or missing: true")
        rules.append(
            {
                "id": rule_id,
                "feature": str(feature),
                "in": None if categories is None else [category_key(c) for c in categories],
                "missing": missing,
                "below": None if below is None else float(below),
                "above": None if above is None else float(above),
                "decision": decision,
                "code": _text(rule.get("code"), f"{at}.code"),
                "text": _text(rule.get("text"), f"{at}.text"),
            }
        )

    reasons_in = spec.get("reasons") or {}
    if not isinstance(reasons_in, Mapping):
        raise _error(f"{where}.reasons must be a mapping")
    unknown = sorted(set(reasons_in) - {"max_reasons", "reference", "catalogue"})
    if unknown:
        raise _error(
            f"{where}.reasons has unknown key(s) {unknown}; allowed: catalogue, max_reasons, reference"
        )
    max_reasons = reasons_in.get("max_reasons", MAX_REASONS)
    if isinstance(max_reasons, bool) or not isinstance(max_reasons, int) or not 1 <= max_reasons <= 10:
        raise _error(f"{where}.reasons.max_reasons must be an integer 1..10, got {max_reasons!r}")
    reference = reasons_in.get("reference", "max_points")
    if reference != "max_points":
        if not isinstance(reference, Mapping) or not isinstance(reference.get("points"), Mapping):
            raise _error(
                f"{where}.reasons.reference must be 'max_points' or {{name: …, points: {{feature: points}}}}"
            )
        points = reference["points"]
        absent = sorted(set(features) - set(points))
        if absent:
            raise _error(f"{where}.reasons.reference.points lacks feature(s) {absent}")
        reference = {
            "name": str(reference.get("name") or "custom"),
            "points": {f: float(points[f]) for f in features},
        }
    catalogue_in = reasons_in.get("catalogue") or {}
    if not isinstance(catalogue_in, Mapping):
        raise _error(f"{where}.reasons.catalogue must map each feature to {{code, text, missing_text}}")
    absent = [f for f in features if f not in catalogue_in]
    extra = sorted(set(catalogue_in) - set(features))
    if absent or extra:
        raise _error(
            f"{where}.reasons.catalogue needs exactly one entry per feature: missing {absent}, unknown {extra}"
        )
    catalogue: dict[str, dict[str, str]] = {}
    codes: dict[str, str] = {r["code"]: f"rule {r['id']}" for r in rules}
    for name in features:
        entry = catalogue_in[name]
        at = f"{where}.reasons.catalogue.{name}"
        if not isinstance(entry, Mapping):
            raise _error(f"{at} must be {{code, text, missing_text}}")
        code = _text(entry.get("code"), f"{at}.code")
        if code in codes:
            raise _error(f"{at}.code {code!r} is already used by {codes[code]}")
        codes[code] = f"feature {name}"
        text = _text(entry.get("text"), f"{at}.text")
        catalogue[name] = {
            "code": code,
            "text": text,
            "missing_text": _text(entry.get("missing_text", text), f"{at}.missing_text"),
        }
    return {
        "cutoffs": {"approve": approve, "refer": refer},
        "rules": rules,
        "reasons": {"max_reasons": int(max_reasons), "reference": reference, "catalogue": catalogue},
    }


# ---------------------------------------------------------------------------------------------------------
def _max_points(rule: FeatureRule) -> float:
    values = [*rule.points, *rule.categories.values(), rule.missing]
    if rule.other is not None:
        values.append(rule.other)
    return float(max(values))


def reference_points(definition: ScorecardDefinition) -> tuple[str, dict[str, float]]:
    """The reference reasons are measured against: its name and the points per feature."""
    reference = ((definition.policy or {}).get("reasons") or {}).get("reference", "max_points")
    if reference == "max_points":
        return "max_points", {f.name: _max_points(f) for f in definition.features}
    return str(reference["name"]), dict(reference["points"])


def cutoff_average_reference(
    scored: pd.DataFrame, definition: ScorecardDefinition, width: float = 20.0
) -> dict[str, Any]:
    """``{name, points, rows}``: the mean points of the applicants scoring ``approve .. approve + width - 1``
    (Regulation B commentary: the average of applicants just above the cut-off), for a ``reasons.reference``.

    Args:
        scored: :func:`kycc.scorecard.points.score_applications` output with ``with_points=True``.
    """
    if not definition.policy:
        raise ValueError(f"scorecard {definition.version!r} has no decision policy (no approval cut-off)")
    low = definition.policy["cutoffs"]["approve"]
    near = scored.loc[(scored["score"] >= low) & (scored["score"] < low + width)]
    if near.empty:
        raise ValueError(f"no applicant scores {low:g}..{low + width - 1:g}: no average above the cut-off")
    return {
        "name": f"mean of {len(near)} applicants scoring {low:g}-{low + width - 1:g}",
        "points": {f: round(float(near[f"points_{f}"].mean()), 6) for f in definition.feature_names},
        "rows": len(near),
    }


def _matches(rule: Mapping[str, Any], value: Any) -> bool:
    key = category_key(value)
    if key is None:
        return bool(rule["missing"])
    if rule["in"] is not None and key in rule["in"]:
        return True
    try:
        x = float(value)
    except (TypeError, ValueError):  # text in a numeric rule: not a number, no threshold applies
        x = math.nan
    below = rule["below"] is not None and x < rule["below"]
    above = rule["above"] is not None and x > rule["above"]
    return bool(below or above)


def _targets(rule: FeatureRule) -> list[tuple[str, float]]:
    """Bins (label, points) an applicant could move to (not missing, not an unlisted category)."""
    return [
        (str(b["bin"]), float(b["points"])) for b in rule.bins() if b["bin"] not in ("(missing)", "(other)")
    ]


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def decide_applications(
    features: pd.DataFrame, scored: pd.DataFrame, definition: ScorecardDefinition
) -> pd.DataFrame:
    """The decision columns (:data:`DECISION_OUTPUT_COLUMNS`) for every scored application.

    Args:
        features: The applications' feature values (same rows and order as ``scored``).
        scored: :func:`kycc.scorecard.points.score_applications` of them with ``with_points=True``.
        definition: The version that scored them.

    Returns:
        One row per application, same index as ``scored``: ``decision``, ``decided_by`` (``rule:<id>``,
        ``cutoff:approve>=660``, ``cutoff:refer>=600``, ``cutoff:decline<600`` or ``no_policy``),
        ``reason_codes`` (comma-separated), ``reasons`` (JSON list), ``next_band``, ``points_to_next_band``,
        ``points_to_approval``, ``approval_changes`` (JSON list).
    """
    from kycc.scorecard.points import scale_score

    policy = definition.policy
    ref_name, reference = reference_points(definition)
    catalogue = (policy or {}).get("reasons", {}).get("catalogue") or {}
    max_reasons = int((policy or {}).get("reasons", {}).get("max_reasons", MAX_REASONS))
    bands = list(definition.bands)
    names = definition.feature_names
    weights = np.asarray([f.weight for f in definition.features], dtype="float64")
    points = scored[[f"points_{n}" for n in names]].to_numpy(dtype="float64")
    weighted = scored["weighted_points"].to_numpy(dtype="float64")
    scores = scored["score"].to_numpy()
    # each feature's bins by points (a stable sort: equal points keep their order), sorted once, not per row
    targets = [sorted(_targets(f), key=lambda t: t[1]) for f in definition.features]
    approve_at = policy["cutoffs"]["approve"] if policy else None
    records = features[names].to_dict(
        "records"
    )  # plain rows: a Series per row costs more than the row's work
    rows: list[dict[str, Any]] = []
    for i in range(len(scored)):
        score = int(scores[i])
        values = records[i]
        # next band
        better = [b for b in bands if b.min_score > score]
        next_band = better[-1] if better else None
        out: dict[str, Any] = {
            "next_band": next_band.name if next_band else None,
            "points_to_next_band": int(math.ceil(next_band.min_score - score)) if next_band else None,
        }
        # the decision
        rule_hit = None
        if policy is None:
            decision, decided_by = "refer", "no_policy"
        else:
            for rule in policy["rules"]:
                if _matches(rule, values[rule["feature"]]):
                    rule_hit = rule
                    break
            cut = policy["cutoffs"]
            if score >= cut["approve"]:
                decision, decided_by = "approve", f"cutoff:approve>={cut['approve']:g}"
            elif score >= cut["refer"]:
                decision, decided_by = "refer", f"cutoff:refer>={cut['refer']:g}"
            else:
                decision, decided_by = "decline", f"cutoff:decline<{cut['refer']:g}"
            # a rule decides unless the cut-off is more severe (a refer rule never rescues a decline)
            if rule_hit is not None and SEVERITY[rule_hit["decision"]] >= SEVERITY[decision]:
                decision, decided_by = rule_hit["decision"], f"rule:{rule_hit['id']}"
        out["decision"], out["decided_by"] = decision, decided_by
        # points to approval and the single-feature changes reaching it
        changes: list[dict[str, Any]] = []
        if approve_at is None:
            out["points_to_approval"] = None
        else:
            out["points_to_approval"] = max(int(math.ceil(approve_at - score)), 0)
            if score < approve_at:
                cand, meta = [], []
                for j in range(len(names)):
                    for label, p in targets[j]:
                        if p > points[i, j]:
                            cand.append(weighted[i] + weights[j] * (p - points[i, j]))
                            meta.append((j, label, p))
                if cand:
                    new_scores = scale_score(np.asarray(cand, dtype="float64"), definition)
                    seen: set[int] = set()
                    for (j, label, p), new in zip(meta, new_scores, strict=True):
                        if j in seen or new < approve_at:
                            continue
                        seen.add(j)
                        rule = definition.features[j]
                        changes.append(
                            {
                                "feature": rule.name,
                                "from_bin": rule.bin_label(values[rule.name]),
                                "to_bin": label,
                                "points": p,
                                "new_score": int(new),
                                "score_gain": int(new) - score,
                            }
                        )
                changes.sort(key=lambda c: (c["score_gain"], names.index(c["feature"])))
        out["approval_changes"] = _dumps(changes)
        # reasons
        reasons: list[dict[str, Any]] = []
        if decision != "approve":
            if rule_hit is not None:
                reasons.append(
                    {
                        "code": rule_hit["code"],
                        "text": rule_hit["text"],
                        "feature": rule_hit["feature"],
                        "rule": rule_hit["id"],
                        "bin": definition.feature(rule_hit["feature"]).bin_label(values[rule_hit["feature"]]),
                    }
                )
            lost = weights * (np.asarray([reference[n] for n in names]) - points[i])
            order = sorted(
                (
                    j
                    for j in range(len(names))
                    if lost[j] > 1e-12 and (rule_hit is None or names[j] != rule_hit["feature"])
                ),
                key=lambda j: (-round(float(lost[j]), 9), j),
            )
            for j in order[: max(max_reasons - len(reasons), 0)]:
                name = names[j]
                label = definition.features[j].bin_label(values[name])
                entry = catalogue.get(name)
                if entry is None:
                    code, text = f"feature:{name}", f"Fewer points than the maximum for {name}"
                else:
                    code = entry["code"] + ("M" if label == "(missing)" else "")
                    text = entry["missing_text"] if label == "(missing)" else entry["text"]
                reasons.append(
                    {
                        "code": code,
                        "text": text,
                        "feature": name,
                        "bin": label,
                        "points": float(points[i, j]),
                        "reference_points": float(reference[name]),
                        "weighted_points_lost": round(float(lost[j]), 6),
                    }
                )
        out["reason_codes"] = ",".join(r["code"] for r in reasons)
        out["reasons"] = _dumps(reasons)
        rows.append(out)
    result = pd.DataFrame(rows, columns=DECISION_OUTPUT_COLUMNS, index=scored.index)
    if result.empty:
        result = pd.DataFrame(
            {c: pd.Series(dtype="object") for c in DECISION_OUTPUT_COLUMNS}, index=scored.index
        )
    result.attrs["reference"] = ref_name
    for col in ("points_to_next_band", "points_to_approval"):
        result[col] = pd.array(result[col], dtype="Int64")
    return result
