"""Score → probability of default: a logistic calibration of a version's score on labelled applications.

``PD(score) = 1 / (1 + exp(-(intercept + slope * score)))``, fitted by maximum likelihood (unpenalised) on
the scores a version gives to applications whose outcome is known (gold features ⋈ gold labels). The slope is
negative for a working scorecard (higher score, lower PD). The calibration also records, per band, the rows,
defaults, observed default rate and mean calibrated PD, and the scorecard's ROC-AUC on the same rows.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from kycc.scoring.definition import ScorecardDefinition
from kycc.scoring.scoring import predict_pd, score_applications

logger = logging.getLogger(__name__)

__all__ = ["CalibrationError", "calibrate_scorecard", "fit_logistic_calibration"]


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
    if label_column not in labelled.columns:
        raise CalibrationError(f"the labelled sample has no {label_column!r} column")
    rows = labelled.loc[labelled[label_column].notna()]
    scored = score_applications(rows, definition)
    y = rows[label_column].to_numpy(dtype="float64")
    params = fit_logistic_calibration(
        scored["score"].to_numpy(), y, min_samples=min_samples, min_defaults=min_defaults
    )
    scored = scored.assign(pd=predict_pd(scored["score"].to_numpy(), params), label=y)
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
                "pd_at_min_score": float(predict_pd([band["min_score"]], params)[0]),
                "pd_at_max_score": float(predict_pd([band["max_score"]], params)[0]),
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
