"""Nodes of the scorecard pipeline (thin: the logic lives in ``kycc.scorecard``).

Every node is a pure function of its inputs. The version store is read and written only through the catalog
datasets ``mdl_scorecard_versions`` and ``mdl_scorecard_draft`` (``kycc.datasets.scorecard``): the node
``declare_config_versions`` returns what configuration defines, the dataset stores it; ``assemble_proposal``
returns the refinement, the dataset turns it into the draft ``ml_vN`` with its audit entries.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from kycc.scorecard.calibration import (
    CalibrationError,
    calibrate_scorecard,
    calibrations_in_force,
    labelled_history,
    prior_calibration,
)
from kycc.scorecard.comparison import compare_scorecards
from kycc.scorecard.data import labelled_sample, select_reference_batch
from kycc.scorecard.definition import ScorecardDefinition, ScorecardDefinitionError
from kycc.scorecard.points import score_applications
from kycc.scorecard.refinement import (
    RefinementError,
    check_model_metadata,
    extract_model_coefficients,
    ml_weights_table,
    refine_definition,
)
from kycc.scorecard.report import render_html, render_markdown, render_text, report_filename

logger = logging.getLogger(__name__)

CALIBRATION_KEYS = {"months", "min_samples", "min_defaults", "refresh_every_months", "prior"}
REFINEMENT_KEYS = {
    "base_version",
    "blend_factor",
    "importance",
    "require_quality_gate",
    "author",
    "scaling",
    "fair_blend",
}


def _refinement_options(refinement: dict[str, Any]) -> dict[str, Any]:
    options = dict(refinement or {})
    unknown = set(options) - REFINEMENT_KEYS
    if unknown:
        raise RefinementError(
            f"Unknown keys in scorecard.refinement: {sorted(unknown)}; allowed: {sorted(REFINEMENT_KEYS)}"
        )
    return {
        "base_version": options.get("base_version") or "active",
        "blend_factor": options.get("blend_factor", 0.5),
        "importance": options.get("importance") or "woe_std",
        "require_quality_gate": options.get("require_quality_gate", True),
        "author": options.get("author"),
        "scaling": options.get("scaling"),
        "fair_blend": dict(options.get("fair_blend") or {}),
    }


def declare_config_versions(versions: dict[str, Any], initial_version: str) -> dict[str, Any]:
    """Validate the scorecard versions of configuration (``scorecard.versions``): their definitions and the
    fair-lending rules (except versions marked ``legacy: true``, stored for the record and never activated).

    Returns:
        ``{"versions", "initial_version"}``, which ``mdl_scorecard_versions`` stores when missing (a new store
        also gets ``initial_version`` activated).
    """
    from kycc.scorecard.fairness import check_fair_lending

    if not isinstance(versions, dict) or not versions:
        raise ScorecardDefinitionError("scorecard.versions must define at least one version (v1)")
    legacy = []
    for name, definition in versions.items():
        parsed, _reason, is_legacy = ScorecardDefinition.from_config(str(name), definition)
        if is_legacy:
            legacy.append(name)
        else:
            check_fair_lending(parsed)
    if initial_version not in versions:
        raise ScorecardDefinitionError(
            f"scorecard.initial_version {initial_version!r} is not one of scorecard.versions ({', '.join(versions)})"
        )
    if initial_version in legacy:
        raise ScorecardDefinitionError(
            f"scorecard.initial_version {initial_version!r} is a legacy version: it is never activated"
        )
    return {"versions": versions, "initial_version": initial_version}


def select_base_version(store: dict[str, Any], refinement: dict[str, Any]) -> dict[str, Any]:
    """The stored version to refine (``scorecard.refinement.base_version``: a name, or ``active``)."""
    options = _refinement_options(refinement)
    name = store["active"] if options["base_version"] == "active" else options["base_version"]
    if name is None or name not in store["versions"]:
        raise RefinementError(
            f"Base version {options['base_version']!r} is not in the scorecard store; versions: "
            f"{', '.join(store['versions']) or '(none)'}"
        )
    record = store["versions"][name]
    logger.info("Refining scorecard %s (status %s)", name, record["status"])
    return record


def select_reference(gold_features: Any, reference: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The reference batch: gold feature rows of ``scorecard.reference`` months (default: the latest)."""
    options = dict(reference or {})
    rows, label = select_reference_batch(gold_features, options.get("month"), int(options.get("months") or 1))
    return rows, {"label": label, "rows": len(rows)}


def build_labelled_sample(
    gold_features: Any, gold_labels: Any, calibration: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Gold features joined with gold labels, the latest ``scorecard.calibration.months`` labelled months."""
    return labelled_sample(gold_features, gold_labels, months=(calibration or {}).get("months"))


def derive_ml_weights(
    model: Any, preprocessing: Any, metadata: dict[str, Any], base: dict[str, Any], refinement: dict[str, Any]
) -> dict[str, Any]:
    """model_1's coefficients → ML weight per feature of the base version (see ``kycc.scorecard.refinement``).

    Args:
        model: ``model_1.mdl_model`` (the fitted logistic regression).
        preprocessing: ``model_1.mdl_preprocessing`` (the fitted WoE preprocessing).
        metadata: ``model_1.mdl_metadata`` (quality gate, training date, metrics, fingerprint).
        base: The base version record.
        refinement: ``scorecard.refinement``.

    Returns:
        ``{"model", "importance", "outside_share", "features": [per-feature rows]}``.
    """
    options = _refinement_options(refinement)
    provenance = check_model_metadata(metadata, bool(options["require_quality_gate"]))
    definition = ScorecardDefinition.from_dict(base["definition"], version=base["version"])
    coefficients = extract_model_coefficients(model, preprocessing)
    table = ml_weights_table(coefficients, definition, options["importance"])
    logger.info(
        "ML weights from %s: %s",
        provenance["model"],
        ", ".join(f"{r.feature} {r.ml_weight:.3f}" for r in table.itertuples()),
    )
    return {
        "model": provenance,
        "base_version": base["version"],
        "importance": options["importance"],
        "outside_share": float(table.attrs.get("outside_share", 0.0)),
        "features": table.astype({"in_model": bool}).to_dict(orient="records"),
    }


def choose_blend_factor(
    base: dict[str, Any], ml_weights: dict[str, Any], labelled: pd.DataFrame, refinement: dict[str, Any]
) -> dict[str, Any]:
    """The blend factor: ``scorecard.refinement.blend_factor``, or with ``blend_factor: fair`` the one with the
    least disparity within ``fair_blend.gini_tolerance`` of the best Gini on the labelled sample
    (:func:`kycc.scorecard.refinement.choose_fair_blend`). Disparity is measured over
    ``fair_blend.characteristics`` (default: age under 62 / 62 and over, as in the committee comparison)."""
    options = _refinement_options(refinement)
    if options["blend_factor"] != "fair":
        return {"blend_factor": float(options["blend_factor"]), "method": "configured"}
    from kycc.scorecard.fairness import ELDERLY_AGE
    from kycc.scorecard.refinement import choose_fair_blend

    fair = options["fair_blend"]
    unknown = set(fair) - {"gini_tolerance", "grid", "min_group_size", "characteristics"}
    if unknown:
        raise RefinementError(f"Unknown keys in scorecard.refinement.fair_blend: {sorted(unknown)}")
    characteristics = fair.get("characteristics") or {"age": {"edges": [ELDERLY_AGE - 1]}}
    definition = ScorecardDefinition.from_dict(base["definition"], version=base["version"])
    ml = {row["feature"]: float(row["ml_weight"]) for row in ml_weights["features"]}
    chosen = choose_fair_blend(
        definition,
        ml,
        labelled,
        characteristics,
        gini_tolerance=float(fair.get("gini_tolerance", 0.01)),
        grid=int(fair.get("grid", 11)),
        min_group_size=int(fair.get("min_group_size", 30)),
    )
    return {**chosen, "method": "fair", "characteristics": characteristics}


def refine_scorecard(
    base: dict[str, Any],
    ml_weights: dict[str, Any],
    refinement: dict[str, Any],
    labelled: pd.DataFrame | None = None,
    blend: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The base version with weights ``(1 − blend_factor) · base + blend_factor · ML`` (a draft definition).

    With ``scorecard.refinement.scaling`` (``{pdo, base_score, base_odds}``) the draft is PDO-scaled: its log-odds
    line is fitted on the labelled sample (:func:`kycc.scorecard.scaling.fit_pdo_scaling`).
    """
    options = _refinement_options(refinement)
    definition = ScorecardDefinition.from_dict(base["definition"], version=base["version"])
    ml = {row["feature"]: float(row["ml_weight"]) for row in ml_weights["features"]}
    factor = blend["blend_factor"] if blend else options["blend_factor"]
    draft = refine_definition(definition, ml, float(factor))
    scaling = options["scaling"]
    if scaling:
        from kycc.scorecard.scaling import fit_pdo_scaling

        unknown = set(scaling) - {"pdo", "base_score", "base_odds"}
        if unknown or len(scaling) != 3:
            raise RefinementError(
                f"scorecard.refinement.scaling needs exactly pdo, base_score, base_odds (or null), got {sorted(scaling)}"
            )
        if labelled is None or labelled.empty:
            raise RefinementError(
                "scorecard.refinement.scaling needs labelled applications to fit the odds line"
            )
        draft = fit_pdo_scaling(draft, labelled, **{k: float(v) for k, v in scaling.items()})
        logger.info("Draft PDO-scaled: %s", draft.scaling)
    return draft.to_dict()


def calibrate_versions(
    base: dict[str, Any],
    draft: dict[str, Any],
    labelled: pd.DataFrame,
    labelled_info: dict[str, Any],
    calibration: dict[str, Any],
) -> dict[str, dict[str, Any] | None]:
    """Score → PD calibration of the draft, and of the base when the store holds none for it yet.

    Too few labelled applications is not an error: the version is stored uncalibrated, with a warning.

    Returns:
        ``{"base": calibration or None, "draft": calibration or None}``.
    """
    options = dict(calibration or {})
    kwargs = {
        "min_samples": int(options.get("min_samples", 50)),
        "min_defaults": int(options.get("min_defaults", 5)),
        "fitted_on": labelled_info,
    }
    base_definition = ScorecardDefinition.from_dict(base["definition"], version=base["version"])
    draft_definition = ScorecardDefinition.from_dict(draft, version=draft.get("version", "draft"))
    out: list[dict[str, Any] | None] = []
    for definition, needed in ((base_definition, base.get("calibration") is None), (draft_definition, True)):
        if not needed:
            out.append(None)
            continue
        try:
            out.append(calibrate_scorecard(definition, labelled, **kwargs))
        except CalibrationError as err:
            logger.warning("Scorecard %s not calibrated: %s", definition.version, err)
            out.append(None)
    return {"base": out[0], "draft": out[1]}


def compare_draft(
    base: dict[str, Any],
    draft: dict[str, Any],
    reference: pd.DataFrame,
    reference_info: dict[str, Any],
    checks: dict[str, Any],
) -> dict[str, Any]:
    """Compare the draft with its base on the reference batch, with the three checks (``scorecard.checks``)."""
    old = ScorecardDefinition.from_dict(base["definition"], version=base["version"])
    new = ScorecardDefinition.from_dict(draft, version=draft.get("version", "draft"))
    return compare_scorecards(old, new, reference, checks, reference_label=reference_info["label"])


def assemble_proposal(  # noqa: PLR0917 - a Kedro node: inputs arrive positionally
    base: dict[str, Any],
    draft: dict[str, Any],
    ml_weights: dict[str, Any],
    calibrations: dict[str, dict[str, Any] | None],
    comparison: dict[str, Any],
    refinement: dict[str, Any],
    blend: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the store needs to create the draft ``ml_vN`` (saved by ``mdl_scorecard_draft``)."""
    options = _refinement_options(refinement)
    factor = blend["blend_factor"] if blend else options["blend_factor"]
    extra = {"fair_blend": blend} if blend and blend.get("method") == "fair" else {}
    return {
        "definition": draft,
        "base_version": base["version"],
        "created_by": options["author"],
        "provenance": {
            "blend_factor": float(factor),
            **extra,
            "importance": options["importance"],
            "model": ml_weights["model"],
            "outside_share": ml_weights["outside_share"],
            "ml_weights": [
                {k: row[k] for k in ("feature", "base_weight", "ml_weight", "coefficient", "note")}
                for row in ml_weights["features"]
            ],
        },
        "calibration": calibrations["draft"],
        "base_calibration": calibrations["base"],
        "comparison": comparison,
    }


def score_reference_batch(stored: dict[str, Any], reference: pd.DataFrame) -> pd.DataFrame:
    """Scores, bands (and PDs) of the reference batch under the base and the new draft, side by side."""
    frames = []
    for key in ("base", "version"):
        record = stored[key]
        definition = ScorecardDefinition.from_dict(record["definition"], version=record["version"])
        frames.append(score_applications(reference, definition, record.get("calibration")))
    base, new = frames
    ids = [c for c in ("loan_id", "customer_id", "application_date") if c in base.columns]
    out = base[ids].copy()
    for prefix, frame in (("base", base), ("new", new)):
        out[f"{prefix}_version"] = frame["scorecard_version"].to_numpy()
        out[f"{prefix}_score"] = frame["score"].to_numpy()
        out[f"{prefix}_band"] = frame["band"].to_numpy()
        if "pd" in frame.columns:
            out[f"{prefix}_pd"] = frame["pd"].to_numpy()
    return out


def render_comparison_report(stored: dict[str, Any]) -> dict[str, str]:
    """The risk-committee report of the draft vs its base: ``<base>_vs_<new>.html`` and ``.md``.

    Also logs the terminal table and the command to activate.
    """
    comparison = stored["comparison"]
    if comparison is None:
        raise RefinementError(f"No comparison stored for {stored['version']['version']}")
    logger.info("\n%s", render_text(comparison))
    failing = [c["check"] for c in comparison["checks"] if not c["passed"]]
    logger.info(
        "Draft scorecard %s stored (status draft, not active). Review the report, then: kycc scorecard activate %s "
        "--reviewer 'NAME'%s",
        stored["version"]["version"],
        stored["version"]["version"],
        f" --override-reason 'WHY' (failed: {', '.join(failing)})" if failing else "",
    )
    return {
        report_filename(comparison, "html"): render_html(comparison, stored["base"], stored["version"]),
        report_filename(comparison, "md"): render_markdown(comparison, stored["base"], stored["version"]),
    }


def _calibration_options(calibration: dict[str, Any] | None) -> dict[str, Any]:
    options = dict(calibration or {})
    unknown = set(options) - CALIBRATION_KEYS
    if unknown:
        raise CalibrationError(
            f"Unknown keys in scorecard.calibration: {sorted(unknown)}; allowed: {sorted(CALIBRATION_KEYS)}"
        )
    for key, default, least in (
        ("min_samples", 50, 1),
        ("min_defaults", 5, 1),
        ("refresh_every_months", 3, 1),
    ):
        value = options.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise CalibrationError(
                f"scorecard.calibration.{key} must be a whole number >= {least}, got {value!r}"
            )
        options[key] = value
    months = options.get("months", 12)
    if months is not None and (not isinstance(months, int) or isinstance(months, bool) or months < 1):
        raise CalibrationError(
            f"scorecard.calibration.months must be a whole number >= 1 or null, got {months!r}"
        )
    options["months"] = months
    if options.get("prior") is not None:
        prior_calibration(options["prior"], "2000-01-01")  # validated before anything is fitted or written
    return options


def calibrate_active_scorecard(
    scorecard_versions: dict[str, Any],
    gold_features: Any,
    gold_labels: Any,
    plan: dict[str, Any],
    calibration: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The active version's score → PD calibration in force in each month inference decides now.

    Fitted on the labels matured before each month (``kycc.scorecard.calibration.calibrations_in_force``), refreshed
    every ``scorecard.calibration.refresh_every_months``; the configured prior until enough labels matured.

    Returns:
        The versions' snapshot whose active record carries ``calibrations_by_month`` (what the decision applies),
        and ``{"version", "calibrations"}``: the new calibrations, stored with the version
        (``mdl_scorecard_calibration_log``).
    """
    options = _calibration_options(calibration)
    active = (scorecard_versions or {}).get("active")
    months = sorted(set(plan["decisions"]["new"]) | set(plan["decisions"]["rescored"]))
    if not active or not months:
        return scorecard_versions, {"version": active, "calibrations": []}
    record = scorecard_versions["versions"][active]
    definition = ScorecardDefinition.from_dict(record["definition"], version=record["version"])
    history = labelled_history(gold_features, gold_labels, definition.feature_names)
    by_month, new = calibrations_in_force(
        definition,
        history,
        months,
        (scorecard_versions.get("calibrations") or {}).get(active, []),
        refresh_every_months=options["refresh_every_months"],
        window_months=options["months"],
        min_samples=options["min_samples"],
        min_defaults=options["min_defaults"],
        prior=options.get("prior"),
    )
    snapshot = {**scorecard_versions, "versions": dict(scorecard_versions["versions"])}
    snapshot["versions"][active] = {**record, "calibrations_by_month": by_month}
    return snapshot, {"version": active, "calibrations": new}
