"""Shadow scoring of draft scorecard versions and the comparison's fourth check (``shadow_gini``).

Every month inference also scores each **draft** version (status ``draft``, not ``legacy`` in its provenance;
never the active nor a retired one) on the same applications as the deciding version
(``out_scorecard_shadow``: version, score, band, decision, PD, and the deciding version's score, band and
decision for the same loan). The shadow never decides: nothing of it reaches ``out_scorecard_decisions`` or the
decision log. Monitoring backtests the shadow rows like the deciding ones once their labels matured
(``out_scorecard_shadow_backtest``).

The fourth check of a comparison OLD → NEW (:func:`shadow_gini_check`): on every matured cohort that NEW scored
in shadow while OLD decided — the **same loans**, scored by both at decision time — the Gini of NEW is not
worse than OLD's beyond ``scorecard.checks.max_gini_drop``. Both Ginis (pooled over the cohorts) with DeLong
CIs, ``n``, defaults, the cohorts and the paired DeLong test of the difference
(:func:`kycc.modeling.compare.paired_auc_delong`; Gini difference = 2 × AUC difference) are reported. Without
matured shadow cohorts (or with fewer than ``min_shadow_defaults`` defaults or non-defaults) the check's
status is ``no evidence``; it then passes only when ``require_shadow_evidence`` is false (the default) — and
says so — and fails (blocks activation) when it is true.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "SHADOW_COLUMNS",
    "draft_versions",
    "shadow_evidence",
    "shadow_gini_check",
]

#: The columns of ``out_scorecard_shadow`` (one row per application and draft version).
SHADOW_COLUMNS = [
    "batch_id",
    "snapshot_date",
    "loan_id",
    "customer_id",
    "application_date",
    "role",
    "scorecard_version",
    "score",
    "band",
    "pd",
    "pd_calibration",
    "decision",
    "decided_by",
    "reason_codes",
    "deciding_version",
    "deciding_score",
    "deciding_band",
    "deciding_decision",
]

DECIDE_ON = ("point", "interval")


def draft_versions(scorecard_versions: Mapping[str, Any] | None) -> list[str]:
    """The draft versions of a store snapshot (``mdl_scorecard_versions``): status ``draft`` and not a legacy
    version of configuration (``provenance.legacy``), in store order. The active and retired ones never are."""
    snapshot = scorecard_versions or {}
    active = snapshot.get("active")
    out = []
    for name, record in (snapshot.get("versions") or {}).items():
        if name == active or record.get("status") != "draft":
            continue
        if (record.get("provenance") or {}).get("legacy"):
            continue
        out.append(name)
    return out


def shadow_evidence(
    shadow: pd.DataFrame | None, labels: pd.DataFrame | None, old: str, new: str
) -> pd.DataFrame:
    """The matured loans ``new`` scored in shadow while ``old`` decided: ``cohort_month``, ``loan_id``,
    ``label``, ``old_score``, ``new_score`` (empty when none).

    Args:
        shadow: ``out_scorecard_shadow``.
        labels: Matured labels (``loan_id``, ``label``; e.g. ``feat_gold_labels`` as pandas).
    """
    columns = ["cohort_month", "loan_id", "label", "old_score", "new_score"]
    if shadow is None or shadow.empty or labels is None or labels.empty:
        return pd.DataFrame(columns=columns)
    rows = shadow.loc[
        (shadow["scorecard_version"].astype(str) == new) & (shadow["deciding_version"].astype(str) == old)
    ]
    known = labels.loc[labels["label"].notna(), ["loan_id", "label"]].drop_duplicates("loan_id")
    joined = rows.merge(known, on="loan_id", how="inner")
    out = pd.DataFrame(
        {
            "cohort_month": pd.to_datetime(joined["snapshot_date"]),
            "loan_id": joined["loan_id"],
            "label": joined["label"].astype("int64"),
            "old_score": joined["deciding_score"].astype("float64"),
            "new_score": joined["score"].astype("float64"),
        }
    )
    return (
        out.dropna(subset=["old_score", "new_score"])
        .sort_values(["cohort_month", "loan_id"])
        .reset_index(drop=True)
    )


def _f(value: Any) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def shadow_gini_check(
    old: str,
    new: str,
    evidence: pd.DataFrame | None,
    *,
    max_gini_drop: float = 0.02,
    min_defaults: int = 10,
    require_evidence: bool = False,
    decide_on: str = "point",
    level: float = 0.95,
) -> dict[str, Any]:
    """The fourth check: the Gini of ``new`` on the matured shadow cohorts is not worse than ``old``'s beyond
    ``max_gini_drop`` (``value`` = Gini(old) − Gini(new), the drop).

    ``decide_on: point`` passes when the drop ≤ ``max_gini_drop``; ``interval`` (non-inferiority) when the upper
    bound of the paired ``level`` CI of the drop ≤ ``max_gini_drop``. The check dict carries ``status`` (``pass``
    / ``fail`` / ``no evidence``) and ``evidence`` (both Ginis with CIs, n, defaults, cohorts, the paired test).
    """
    from kycc.modeling.compare import paired_auc_delong

    if decide_on not in DECIDE_ON:
        raise ValueError(
            f"scorecard.checks.gini_decide_on must be one of {list(DECIDE_ON)}, got {decide_on!r}"
        )
    rule = f"drop ≤ {max_gini_drop:g}" + (" (CI upper bound)" if decide_on == "interval" else "")
    check: dict[str, Any] = {
        "check": "shadow_gini",
        "description": f"Gini of {new} vs {old} on the matured cohorts {new} was scored in shadow (drop)",
        "value": None,
        "threshold": float(max_gini_drop),
        "rule": rule,
    }
    frame = evidence if evidence is not None else pd.DataFrame(columns=["label"])
    n = len(frame)
    d = int(frame["label"].sum()) if n else 0
    cohorts = sorted(f"{m:%Y-%m}" for m in pd.to_datetime(frame["cohort_month"]).unique()) if n else []
    if n == 0 or d < min_defaults or n - d < min_defaults:
        why = (
            (
                "a new draft is not scored in shadow yet (inference shadows it every month once stored; its "
                "cohorts mature after the label lag)"
                if new == "draft"
                else f"no matured cohort of {new} scored in shadow while {old} decided"
            )
            if n == 0
            else f"only {d} default(s) and {n - d} non-default(s) in the matured shadow cohorts "
            f"{', '.join(cohorts)} (needs {min_defaults} of each)"
        )
        consequence = (
            "blocks activation (scorecard.checks.require_shadow_evidence: true)"
            if require_evidence
            else "does not block activation (scorecard.checks.require_shadow_evidence: false)"
        )
        return check | {
            "passed": not require_evidence,
            "status": "no evidence",
            "detail": f"NO EVIDENCE: {why}; {consequence}",
            "evidence": {"n": n, "defaults": d, "cohorts": cohorts},
        }
    paired = paired_auc_delong(
        frame["label"].to_numpy(),
        -frame["new_score"].to_numpy(dtype="float64"),
        -frame["old_score"].to_numpy(dtype="float64"),
        level,
    )
    gini_new, gini_old = 2 * paired["candidate_auc"] - 1, 2 * paired["champion_auc"] - 1
    drop = gini_old - gini_new
    # drop = -2 (AUC_new - AUC_old): its CI from the paired difference's
    drop_lower = -2 * paired["difference_upper"]
    drop_upper = -2 * paired["difference_lower"]
    deciding = drop_upper if decide_on == "interval" else drop
    passed = bool(np.isfinite(deciding) and deciding <= max_gini_drop)
    evidence_out = {
        "n": n,
        "defaults": d,
        "cohorts": cohorts,
        "old_gini": _f(gini_old),
        "old_gini_lower": _f(2 * paired["champion_auc_lower"] - 1),
        "old_gini_upper": _f(2 * paired["champion_auc_upper"] - 1),
        "new_gini": _f(gini_new),
        "new_gini_lower": _f(2 * paired["candidate_auc_lower"] - 1),
        "new_gini_upper": _f(2 * paired["candidate_auc_upper"] - 1),
        "gini_drop": _f(drop),
        "gini_drop_lower": _f(drop_lower),
        "gini_drop_upper": _f(drop_upper),
        "p_value": _f(paired["p_value"]),
        "confidence": level,
        "test": "paired DeLong (kycc.modeling.compare.paired_auc_delong)",
        "decide_on": decide_on,
    }
    ci = f"[{drop_lower:+.3f}, {drop_upper:+.3f}]" if math.isfinite(drop_lower) else "[n/a]"
    detail = (
        f"Gini {old} {gini_old:.3f} vs {new} {gini_new:.3f} (drop {drop:+.3f}, {level:.0%} CI {ci}, paired "
        f"DeLong p {paired['p_value']:.3g}) on {n} matured applications ({d} defaults) of "
        f"{', '.join(cohorts)}"
    )
    return check | {
        "value": _f(drop),
        "passed": passed,
        "status": "pass" if passed else "fail",
        "detail": detail,
        "evidence": evidence_out,
    }
