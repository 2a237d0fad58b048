"""Nodes of the stability pipeline (thin: the math lives in ``kycc.monitoring.stability``).

``select_stability_months`` (the scored months to check; ``stability.start_month/end_month`` like inference) →
``scorecard_stability`` (the version that decided each month against its development window: score PSI, band
SSI, per-feature PSI on the scorecard's own bins, missing-rate shifts, characteristic analysis) → per model
``model_stability`` (PD PSI of the version that scored the month against its pooled test + OOT windows) →
``combine_stability`` (one status per month and scorer, ``out_scoring_stability``).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from kycc.inference.scoring import InferenceError, resolve_months
from kycc.monitoring.reference import ModelReference, applications_of, model_reference
from kycc.monitoring.stability import (
    StabilityLevels,
    StabilityMetric,
    binning_counts,
    characteristic_analysis,
    compare_counts,
    compare_missing_rate,
    compare_values,
    scorecard_bin_counts,
    woe_binnings,
    worst_verdict,
)
from kycc.params.sections import load_section
from kycc.registry.read import RegisteredModel
from kycc.scorecard.definition import ScorecardDefinition
from kycc.scorecard.points import feature_points, score_applications, weighted_points
from kycc.temporal import add_months, month_keys

logger = logging.getLogger(__name__)

#: Metric families whose verdicts make a scorer's status (features explain, they do not flag: many tests).
HEADLINE = {"scorecard": ("score_psi", "band_ssi"), "model": ("pd_psi",)}
COLUMNS = [
    "snapshot_date",
    "scorer",
    "scorer_kind",
    "version",
    "family",
    "feature",
    "value",
    "n_ref",
    "n_now",
    "bins",
    "floor",
    "p_value",
    "verdict",
    "reference",
]


class StabilityError(ValueError):
    """Bad stability parameters or inputs (the message names the parameter)."""


def _options(options: dict[str, Any] | None) -> dict[str, Any]:
    """``stability`` parameters validated by :class:`kycc.params.monitoring.StabilityParams` (missing keys from
    conf/base)."""
    try:
        return load_section("stability", options).model_dump()
    except ValueError as err:
        raise StabilityError(str(err)) from err


def _levels(params: dict[str, Any] | None) -> StabilityLevels:
    try:
        return StabilityLevels.from_params(params)
    except ValueError as err:
        raise StabilityError(str(err)) from err


def _row(month: str, scorer: str, kind: str, version: Any, family: str, feature: str, metric: StabilityMetric,
         reference: str) -> dict[str, Any]:  # fmt: skip
    return {
        "snapshot_date": pd.Timestamp(month),
        "scorer": scorer,
        "scorer_kind": kind,
        "version": str(version),
        "family": family,
        "feature": feature,
        **metric.to_dict(),
        "reference": reference,
    }


def _reference_window(features: ir.Table, opts: dict[str, Any]) -> list[str]:
    """The scorecard development window: ``reference_months`` months from ``reference_start`` (default: the
    first application month of the feature store)."""
    start = opts["reference_start"]
    if start in (None, ""):
        first = features["application_date"].min().execute()
        if first is None or pd.isna(first):
            return []
        start = pd.Timestamp(first).to_period("M").to_timestamp()
    try:
        first_month = pd.Timestamp(start).to_period("M").to_timestamp()
    except (TypeError, ValueError) as err:
        raise StabilityError(f"stability.reference_start: {err}") from err
    return [
        pd.Timestamp(add_months(first_month, i)).date().isoformat() for i in range(opts["reference_months"])
    ]


def select_stability_months(decisions: pd.DataFrame, options: dict[str, Any]) -> list[str]:
    """The scored months to check (``stability.start_month/end_month``; both null = the latest decided month).

    Args:
        decisions: ``out_scorecard_decisions`` (every decided month).
        options: ``stability`` parameters.
    """
    opts = _options(options)
    available = [] if decisions.empty else sorted(set(month_keys(decisions)))
    try:
        months = resolve_months(opts["start_month"], opts["end_month"], available, "stability", "stability")
    except InferenceError as err:
        raise StabilityError(str(err)) from err
    return [m.date().isoformat() for m in months]


def scorecard_stability(  # noqa: PLR0913, PLR0917 - a Kedro node: inputs arrive positionally
    months: list[str],
    decisions: pd.DataFrame,
    features: ir.Table,
    scorecard_versions: dict[str, Any],
    options: dict[str, Any],
    psi_levels: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stability of the scorecard version that decided each month, against its development window.

    The reference of a version is its own scores of the development window's applications (``reference_months``
    months from ``reference_start``, default the first months of the feature store): every version, also one
    activated later, is compared with the same population, from its first decided month on. A month inside the
    reference window is skipped (it would be compared with itself).

    Returns:
        The stability rows (score PSI, band SSI, feature PSI, missing rate per feature) and the characteristic
        analysis (month × version × feature).
    """
    opts, levels = _options(options), _levels(psi_levels)
    rows: list[dict[str, Any]] = []
    tables: list[pd.DataFrame] = []
    if not months or decisions.empty:
        return pd.DataFrame(columns=COLUMNS), pd.DataFrame()
    ref_months = _reference_window(features, opts)
    ref_label = f"development window {ref_months[0][:7]}..{ref_months[-1][:7]}" if ref_months else "none"
    ref_rows = applications_of(features, ref_months)
    now_rows = applications_of(features, months)
    keyed = decisions.assign(_month=month_keys(decisions))
    stored = (scorecard_versions or {}).get("versions") or {}
    for month in months:
        if month in ref_months:
            logger.info("stability: %s is in the scorecard reference window (%s): not compared", month[:7],
                        ref_label)  # fmt: skip
            continue
        decided = keyed.loc[keyed["_month"] == month]
        if decided.empty:
            logger.info("stability: no decisions in %s: nothing to compare", month[:7])
            continue
        for version, part in decided.groupby("scorecard_version", sort=True):
            record = stored.get(str(version))
            if record is None:
                raise StabilityError(
                    f"stability: {month[:7]} was decided by scorecard {version!r}, which the scorecard store "
                    f"does not hold (versions: {sorted(stored)})"
                )
            definition = ScorecardDefinition.from_dict(record["definition"], version=str(version))
            scorer = f"scorecard:{version}"
            if ref_rows.empty:
                logger.warning("stability: no applications in the reference window %s", ref_label)
                continue
            reference = score_applications(ref_rows, definition)
            current = now_rows.merge(part[["loan_id"]], on="loan_id", how="inner")
            score = compare_values(reference["score"], part["score"], levels, bins=opts["psi_bins"])
            rows.append(_row(month, scorer, "scorecard", version, "score_psi", "", score, ref_label))
            bands = definition.band_names
            ref_bands = reference["band"].value_counts().reindex(bands, fill_value=0).to_numpy()
            now_bands = part["band"].astype(str).value_counts().reindex(bands, fill_value=0).to_numpy()
            rows.append(_row(month, scorer, "scorecard", version, "band_ssi", "",
                             compare_counts(ref_bands, now_bands, levels), ref_label))  # fmt: skip
            for rule in definition.features:
                metric = compare_counts(
                    scorecard_bin_counts(rule, ref_rows[rule.name]),
                    scorecard_bin_counts(rule, current[rule.name]),
                    levels,
                )
                rows.append(
                    _row(month, scorer, "scorecard", version, "feature_psi", rule.name, metric, ref_label)
                )
                missing = compare_missing_rate(ref_rows[rule.name], current[rule.name], levels)
                rows.append(_row(month, scorer, "scorecard", version, "missing_rate", rule.name, missing,
                                 ref_label))  # fmt: skip
            analysis = characteristic_analysis(ref_rows, current, definition)
            shift = float(
                weighted_points(feature_points(current, definition), definition).mean()
                - weighted_points(feature_points(ref_rows, definition), definition).mean()
            )
            by_feature = {r["feature"]: r for r in rows if r["snapshot_date"] == pd.Timestamp(month)
                          and r["scorer"] == scorer and r["family"] == "feature_psi"}  # fmt: skip
            analysis = analysis.assign(
                snapshot_date=pd.Timestamp(month),
                scorecard_version=str(version),
                psi=[by_feature[f]["value"] for f in analysis["feature"]],
                verdict=[by_feature[f]["verdict"] for f in analysis["feature"]],
                mean_points_shift=shift,
                reference=ref_label,
            )
            tables.append(analysis)
            logger.info(
                "stability: scorecard %s %s (%d decisions vs %d): score PSI %.3f (floor %.3f, p %.2g) %s, "
                "band SSI %.3f; mean points %+.2f",
                version, month[:7], len(part), len(reference), score.value, score.floor, score.p_value,
                score.verdict, rows[-2 * len(definition.features) - 1]["value"], shift,
            )  # fmt: skip
    out = pd.DataFrame(rows, columns=COLUMNS)
    analysis = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    if len(analysis):
        first = ["snapshot_date", "scorecard_version", "feature"]
        analysis = analysis[[*first, *(c for c in analysis.columns if c not in first)]]
    return out, analysis


def model_stability(  # noqa: PLR0913, PLR0917 - a Kedro node: inputs arrive positionally
    model: str,
    months: list[str],
    predictions: pd.DataFrame,
    features: ir.Table,
    registered: RegisteredModel,
    options: dict[str, Any],
    psi_levels: dict[str, Any],
) -> pd.DataFrame:
    """PD PSI of the model version that scored each month against its pooled test + OOT windows.

    The reference PDs are the version's own predictions of its test and OOT windows' applications (gold
    feature rows, the registered bundle): two or three months the version never trained or tuned on. Months
    the model did not score are logged skips.
    """
    opts, levels = _options(options), _levels(psi_levels)
    rows: list[dict[str, Any]] = []
    if not months or predictions.empty:
        logger.info("stability: %s has no predictions of %s", model, ", ".join(m[:7] for m in months) or "-")
        return pd.DataFrame(columns=COLUMNS)
    keyed = predictions.assign(_month=month_keys(predictions))
    references: dict[int, tuple[ModelReference, dict[str, Any]]] = {}
    for month in months:
        part = keyed.loc[keyed["_month"] == month]
        if part.empty:
            logger.info("stability: %s did not score %s: skipped", model, month[:7])
            continue
        now_rows = None
        for raw_version, scored in part.groupby("model_version", sort=True):
            version = int(raw_version)
            if version not in references:
                card = registered.version(version)
                references[version] = (model_reference(card, features), woe_binnings(card.bundle))
            reference, binnings = references[version]
            metric = compare_values(reference.pd, scored["probability"], levels, bins=opts["psi_bins"])
            rows.append(_row(month, model, "model", version, "pd_psi", "", metric, reference.label))
            logger.info("stability: %s v%d %s: PD PSI %.3f (floor %.3f, p %.2g) %s", model, version, month[:7],
                        metric.value, metric.floor, metric.p_value, metric.verdict)  # fmt: skip
            if not binnings:
                continue
            # per-feature PSI on the model's own WoE bins (the bins that carry its weights)
            if now_rows is None:
                now_rows = applications_of(features, [month])
            current = now_rows.merge(scored[["loan_id"]], on="loan_id", how="inner")
            for name, binning in binnings.items():
                woe = compare_counts(
                    binning_counts(binning, reference.rows[name]),
                    binning_counts(binning, current[name]),
                    levels,
                )
                rows.append(_row(month, model, "model", version, "woe_psi", name, woe, reference.label))
    return pd.DataFrame(rows, columns=COLUMNS)


def combine_stability(months: list[str], scorecard: pd.DataFrame, *models: pd.DataFrame) -> tuple[
        pd.DataFrame, dict[str, Any]]:  # fmt: skip
    """All rows plus one ``status`` row per month and scorer (the worst verdict of its headline families).

    Returns:
        ``out_scoring_stability`` and ``rpt_stability_summary`` (the status per month and scorer).
    """
    parts = [p for p in (scorecard, *models) if p is not None and len(p)]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)
    status_rows = []
    for (month, scorer, kind, version), part in frame.groupby(
        ["snapshot_date", "scorer", "scorer_kind", "version"], sort=True
    ):
        headline = part.loc[part["family"].isin(HEADLINE[kind])]
        worst = worst_verdict(headline["verdict"].tolist())
        # the family that makes the status: the worst verdict, then the largest value
        rank = headline["verdict"].map({"undefined": -1, "stable": 0, "moderate": 1, "major": 2})
        top = headline.assign(_rank=rank).sort_values(["_rank", "value"], ascending=False).iloc[0]
        status_rows.append(
            {
                **{c: top[c] for c in COLUMNS},
                "snapshot_date": month,
                "scorer": scorer,
                "scorer_kind": kind,
                "version": version,
                "family": "status",
                "feature": str(top["family"]),
                "verdict": worst,
            }
        )
    out = pd.concat([frame, pd.DataFrame(status_rows, columns=COLUMNS)], ignore_index=True)
    if len(out):
        out = out.sort_values(["snapshot_date", "scorer", "family", "feature"], kind="stable").reset_index(
            drop=True
        )
        out["feature"] = out["feature"].astype(str)
        for column in ("value", "floor", "p_value"):
            out[column] = out[column].astype("float64")
        for column in ("n_ref", "n_now", "bins"):
            out[column] = out[column].astype("int64")
    summary: dict[str, Any] = {"months": months, "status": {}}
    for row in status_rows:
        key = f"{row['snapshot_date']:%Y-%m}"
        summary["status"].setdefault(key, {})[row["scorer"]] = {
            "verdict": row["verdict"],
            "family": row["feature"],
            "value": None if math.isnan(row["value"]) else round(float(row["value"]), 4),
            "floor": None if math.isnan(row["floor"]) else round(float(row["floor"]), 4),
            "p_value": None if math.isnan(row["p_value"]) else float(row["p_value"]),
        }
    lines = [f"Stability summary ({', '.join(m[:7] for m in months) or 'no month'}):"]
    for key, scorers in sorted(summary["status"].items()):
        lines.append(f"  {key}: " + "; ".join(f"{s} {v['verdict']} ({v['family']} {v['value']})"
                                             for s, v in scorers.items()))  # fmt: skip
    logger.info("\n".join(lines))
    return out, summary
