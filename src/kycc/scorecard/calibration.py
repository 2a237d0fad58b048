"""Score → probability of default: a logistic calibration of a version's score on labelled applications.

``PD(score) = 1 / (1 + exp(-(intercept + slope * score)))``, fitted by maximum likelihood (unpenalised) on
the scores a version gives to applications whose outcome is known (gold features ⋈ gold labels). The slope is
negative for a working scorecard (higher score, lower PD). The calibration also records, per band, the rows,
defaults, observed default rate and mean calibrated PD, and the scorecard's ROC-AUC on the same rows.

**The calibration in force at decision time** (:func:`calibrations_in_force`, run by inference before the
decision): for a decided month ``M`` the active version's calibration is fitted on the labelled applications
whose label matured *before* ``M`` (label snapshot month < M: known when M is decided), the latest
``window_months`` application months of them — never on the months it will be judged on. It is refreshed every
``refresh_every_months`` months (and every month while only the prior is in force). Until enough matured labels
exist the configured **prior** (an expert scaling: ``pd`` at ``score``, odds doubling every ``pdo`` points) is in
force, so no decision is left without a PD. Every calibration carries ``fitted_on.valid_from`` (the first month
it decides) and is stored with the version; the decision rows carry ``pd`` and ``pd_calibration``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from kycc.scorecard.definition import ScorecardDefinition
from kycc.scorecard.points import pd_from_score, score_applications

logger = logging.getLogger(__name__)

__all__ = [
    "CalibrationError",
    "apply_calibrations",
    "calibrate_scorecard",
    "calibration_label",
    "calibrations_in_force",
    "fit_logistic_calibration",
    "labelled_history",
    "prior_calibration",
]


class CalibrationError(ValueError):
    """Too few labelled rows (or a single class) to calibrate."""


def fit_logistic_calibration(
    scores: np.ndarray, labels: np.ndarray, *, min_samples: int = 50, min_defaults: int = 5
) -> dict[str, float]:
    """Fit ``logit(PD) = intercept + slope * score``.

    Args:
        scores: Scores of labelled applications.
        labels: 1 = default, 0 = repaid.
        min_samples: Fewest rows accepted.
        min_defaults: Fewest defaults (and non-defaults) accepted.

    Returns:
        ``{"intercept", "slope"}`` on the raw score scale.
    """
    from sklearn.linear_model import LogisticRegression

    s = np.asarray(scores, dtype="float64")
    y = np.asarray(labels, dtype="float64")
    if s.shape != y.shape:
        raise CalibrationError(f"{len(s)} scores but {len(y)} labels")
    if np.isnan(y).any() or not set(np.unique(y)) <= {0.0, 1.0}:
        raise CalibrationError("labels must be 0/1 without missing values")
    n, defaults = len(y), int(y.sum())
    if n < min_samples:
        raise CalibrationError(f"only {n} labelled application(s); at least {min_samples} needed")
    if defaults < min_defaults or n - defaults < min_defaults:
        raise CalibrationError(
            f"{defaults} default(s) and {n - defaults} non-default(s); at least {min_defaults} of each needed"
        )
    centre, scale = float(s.mean()), float(s.std()) or 1.0
    model = LogisticRegression(C=np.inf, max_iter=1000)
    model.fit(((s - centre) / scale).reshape(-1, 1), y.astype(int))
    slope = float(model.coef_[0][0]) / scale
    intercept = float(model.intercept_[0]) - slope * centre
    return {"intercept": intercept, "slope": slope}


def calibrate_scorecard(
    definition: ScorecardDefinition,
    labelled: pd.DataFrame,
    *,
    label_column: str = "label",
    min_samples: int = 50,
    min_defaults: int = 5,
    fitted_on: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Calibrate ``definition`` on labelled gold feature rows.

    Returns:
        A JSON-friendly calibration: method, intercept, slope, rows, defaults, default rate, ROC-AUC of the
        score, PD at the band boundaries and the observed vs calibrated default rate per band.
    """
    from sklearn.metrics import roc_auc_score

    if label_column not in labelled.columns:
        raise CalibrationError(f"the labelled sample has no {label_column!r} column")
    rows = labelled.loc[labelled[label_column].notna()]
    scored = score_applications(rows, definition)
    y = rows[label_column].to_numpy(dtype="float64")
    params = fit_logistic_calibration(
        scored["score"].to_numpy(), y, min_samples=min_samples, min_defaults=min_defaults
    )
    scored = scored.assign(pd=pd_from_score(scored["score"].to_numpy(), params), label=y)
    auc = float(roc_auc_score(y, -scored["score"].to_numpy()))
    by_band = []
    for band in definition.band_ranges():
        part = scored[scored["band"] == band["band"]]
        by_band.append(
            {
                "band": band["band"],
                "min_score": band["min_score"],
                "max_score": band["max_score"],
                "rows": len(part),
                "defaults": int(part["label"].sum()),
                "observed_default_rate": float(part["label"].mean()) if len(part) else None,
                "mean_pd": float(part["pd"].mean()) if len(part) else None,
                "pd_at_min_score": float(pd_from_score([band["min_score"]], params)[0]),
                "pd_at_max_score": float(pd_from_score([band["max_score"]], params)[0]),
            }
        )
    if params["slope"] >= 0:
        logger.warning(
            "Scorecard %s: the calibrated PD does not fall as the score rises (slope %.4g): the score does not "
            "rank risk on these rows",
            definition.version,
            params["slope"],
        )
    return {
        "method": "logistic",
        "intercept": params["intercept"],
        "slope": params["slope"],
        "rows": len(scored),
        "defaults": int(y.sum()),
        "default_rate": float(y.mean()),
        "roc_auc": auc,
        "gini": 2 * auc - 1,
        "fitted_on": dict(fitted_on or {}),
        "bands": by_band,
        "definition_fingerprint": definition.fingerprint(),
    }


def pd_to_score(pd_value: float, calibration: Mapping[str, Any]) -> float:
    """The score at which the calibrated PD equals ``pd_value`` (for reports)."""
    if not 0 < pd_value < 1:
        raise ValueError("pd_value must be in (0, 1)")
    return (math.log(pd_value / (1 - pd_value)) - float(calibration["intercept"])) / float(
        calibration["slope"]
    )


# --- the calibration in force at decision time ----------------------------------------------------------------

PRIOR_KEYS = {"score", "pd", "pdo"}


def _month_start(value: Any) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return pd.Timestamp(year=ts.year, month=ts.month, day=1)


def _months_between(earlier: pd.Timestamp, later: pd.Timestamp) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def prior_calibration(prior: Mapping[str, Any], valid_from: Any) -> dict[str, Any]:
    """The expert scaling as a calibration: PD ``pd`` at ``score``, odds (good:bad) doubling every ``pdo`` points.

    ``logit(PD) = logit(pd) − ln 2 / pdo · (score − score₀)``.
    """
    if set(prior) != PRIOR_KEYS:
        raise CalibrationError(
            f"scorecard.calibration.prior needs exactly {sorted(PRIOR_KEYS)} (PD `pd` at `score`, odds doubling "
            f"every `pdo` points), got {sorted(prior)}"
        )
    score0, pd0, pdo = float(prior["score"]), float(prior["pd"]), float(prior["pdo"])
    if not 0 < pd0 < 1 or pdo <= 0:
        raise CalibrationError(
            f"scorecard.calibration.prior: pd must be in (0, 1) and pdo > 0, got pd={pd0}, pdo={pdo}"
        )
    slope = -math.log(2) / pdo
    return {
        "method": "prior",
        "intercept": math.log(pd0 / (1 - pd0)) - slope * score0,
        "slope": slope,
        "prior": {"score": score0, "pd": pd0, "pdo": pdo},
        "fitted_on": {"valid_from": _month_start(valid_from).date().isoformat()},
    }


def calibration_label(calibration: Mapping[str, Any] | None) -> str | None:
    """What a decision row says about its PD, e.g. ``logistic 2023-07..2024-06 (labels before 2025-01)``."""
    if not calibration:
        return None
    fitted = calibration.get("fitted_on") or {}
    if calibration.get("method") == "prior":
        p = calibration.get("prior") or {}
        return f"prior (pd {p.get('pd')} at {p.get('score')}, pdo {p.get('pdo')})"
    label = f"{calibration.get('method', 'logistic')} {fitted.get('months', '?')}"
    if fitted.get("labels_before"):
        label += f" (labels before {fitted['labels_before'][:7]})"
    return label


def labelled_history(features: Any, labels: Any, columns: list[str], key: str = "loan_id") -> pd.DataFrame:
    """Gold feature rows (``key``, ``application_date``, ``columns``) ⋈ labels, with ``label_date`` (maturity).

    Accepts Ibis tables (joined on the engine) or pandas frames.
    """
    wanted = [key, "application_date", *[c for c in columns if c not in (key, "application_date")]]
    if hasattr(features, "to_pandas") and not isinstance(features, pd.DataFrame):
        lab = labels.select(
            labels[key], labels["label"].name("label"), labels["snapshot_date"].name("label_date")
        )
        joined = features.select(*wanted).inner_join(lab, key)
        frame = joined.filter(joined["label"].notnull()).to_pandas()
    else:
        lab = labels[[key, "label", "snapshot_date"]].rename(columns={"snapshot_date": "label_date"})
        frame = features[wanted].merge(lab, on=key, how="inner")
        frame = frame.loc[frame["label"].notna()]
    frame["application_date"] = pd.to_datetime(frame["application_date"])
    frame["label_date"] = pd.to_datetime(frame["label_date"])
    return frame.sort_values(["application_date", key]).reset_index(drop=True)


def fit_as_of(
    definition: ScorecardDefinition,
    history: pd.DataFrame,
    month: Any,
    *,
    window_months: int | None = 12,
    min_samples: int = 50,
    min_defaults: int = 5,
) -> dict[str, Any]:
    """Calibrate on the labels matured before ``month`` (label month < month), the latest ``window_months``.

    Raises:
        CalibrationError: too few matured labelled applications (or a single class).
    """
    m = _month_start(month)
    known = history.loc[history["label_date"] < m]
    if known.empty:
        raise CalibrationError(f"no label matured before {m:%Y-%m}")
    app_month = known["application_date"].dt.to_period("M").dt.to_timestamp()
    last = app_month.max()
    if window_months:
        first = last - pd.DateOffset(months=int(window_months) - 1)
        known, app_month = known.loc[app_month >= first], app_month.loc[app_month >= first]
    first = app_month.min()
    span = f"{first:%Y-%m}" if first == last else f"{first:%Y-%m}..{last:%Y-%m}"
    fitted_on = {
        "valid_from": m.date().isoformat(),
        "months": span,
        "labels_before": m.date().isoformat(),
        "rows": len(known),
        "defaults": int(known["label"].sum()),
    }
    return calibrate_scorecard(
        definition, known, min_samples=min_samples, min_defaults=min_defaults, fitted_on=fitted_on
    )


def calibrations_in_force(
    definition: ScorecardDefinition,
    history: pd.DataFrame,
    months: list[Any],
    stored: list[Mapping[str, Any]] | None = None,
    *,
    refresh_every_months: int = 3,
    window_months: int | None = 12,
    min_samples: int = 50,
    min_defaults: int = 5,
    prior: Mapping[str, Any] | None = None,
) -> tuple[dict[str, dict[str, Any] | None], list[dict[str, Any]]]:
    """The calibration in force in each month to decide, and the new calibrations to store.

    Months are walked in order. A stored calibration counts when it carries ``fitted_on.valid_from`` and the
    version's definition fingerprint (calibrations made elsewhere, e.g. at refinement time, are not
    point-in-time and are ignored here). A refit is due when none is in force, when the one in force is the
    prior, or when it is ``refresh_every_months`` old; a failed refit keeps the one in force (or the prior).

    Returns:
        ``({"YYYY-MM-01": calibration or None}, [new calibrations])``.
    """
    fingerprint = definition.fingerprint()
    known = [
        dict(c)
        for c in (stored or [])
        if (c.get("fitted_on") or {}).get("valid_from")
        and c.get("definition_fingerprint", fingerprint) == fingerprint
    ]
    new: list[dict[str, Any]] = []
    out: dict[str, dict[str, Any] | None] = {}
    for month in sorted({_month_start(m) for m in months}):
        candidates = [c for c in known + new if pd.Timestamp(c["fitted_on"]["valid_from"]) <= month]
        current = max(candidates, key=lambda c: c["fitted_on"]["valid_from"]) if candidates else None
        due = (
            current is None
            or current.get("method") == "prior"
            or _months_between(pd.Timestamp(current["fitted_on"]["valid_from"]), month)
            >= refresh_every_months
        )
        if due:
            try:
                fitted = fit_as_of(
                    definition, history, month, window_months=window_months, min_samples=min_samples,
                    min_defaults=min_defaults,
                )  # fmt: skip
            except CalibrationError as err:
                if current is None and prior:
                    current = prior_calibration(prior, month) | {"definition_fingerprint": fingerprint}
                    new.append(current)
                    logger.info("Scorecard %s %s: prior PD scaling in force (%s)", definition.version,
                                f"{month:%Y-%m}", err)  # fmt: skip
                elif current is None:
                    logger.warning("Scorecard %s %s: no calibration (%s) and no scorecard.calibration.prior: "
                                   "decisions carry no PD", definition.version, f"{month:%Y-%m}", err)  # fmt: skip
            else:
                current = fitted
                new.append(fitted)
                logger.info("Scorecard %s %s: calibrated on %s (%d rows, %d defaults, AUC %.3f)",
                            definition.version, f"{month:%Y-%m}", fitted["fitted_on"]["months"], fitted["rows"],
                            fitted["defaults"], fitted["roc_auc"])  # fmt: skip
        out[month.date().isoformat()] = current
    return out, new


def apply_calibrations(
    decisions: pd.DataFrame, by_month: Mapping[str, Mapping[str, Any] | None]
) -> pd.DataFrame:
    """``decisions`` (``snapshot_date``, ``score``) with ``pd`` and ``pd_calibration`` of each month's calibration."""
    out = decisions.copy()
    keys = pd.to_datetime(out["snapshot_date"]).dt.strftime("%Y-%m-01") if len(out) else pd.Series(dtype=str)
    pd_values = np.full(len(out), np.nan)
    labels = np.full(len(out), None, dtype=object)
    for key, calibration in by_month.items():
        mask = (keys == key).to_numpy()
        if calibration and mask.any():
            pd_values[mask] = pd_from_score(out.loc[mask, "score"].to_numpy(dtype="float64"), calibration)
            labels[mask] = calibration_label(calibration)
    out["pd"] = pd_values
    out["pd_calibration"] = labels
    return out
