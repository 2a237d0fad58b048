"""Post-hoc calibration of a model's probability of default (PD), and its measurement.

A classifier ranks well and still predicts the wrong *level* of PD (measured on the ``make run`` world:
actual / expected defaults 1.17–1.60 before calibration). Training therefore fits a calibrator on the
**validation** window only (never test or OOT) and stores it in the model bundle
(:class:`kycc.modeling.model.CreditRiskModel`), so the logged and registered model predicts the calibrated PD.

Methods (``training.calibration.method``):

* ``platt`` — intercept/slope on the logit: ``PD = σ(a + b · logit(p))`` fitted by (unpenalised) logistic
  regression of the label on ``logit(p)``. Monotone (``b > 0``): the ranking, hence ROC-AUC, is unchanged.
  A fitted slope ``b <= 0`` (no ranking on the fitting rows) falls back to the intercept only (``b = 1``).
* ``isotonic`` — a non-decreasing step function (scikit-learn ``IsotonicRegression``, clipped to
  ``[1e-4, 1 − 1e-4]``). Flexible, but it makes ties: ROC-AUC can move slightly.
* ``none`` — the identity (the estimator's PD as it is).

:func:`calibration_metrics` measures a PD on labelled rows: actual / expected defaults with the Jeffreys
interval and two-sided test (:func:`kycc.monitoring.actions.calibration_evidence`, the same figure the
monitoring decides on), the exact binomial p-value, Brier score, and the calibration intercept and slope
(logistic regression of the label on ``logit(PD)``: 0 and 1 when calibrated).

:func:`recalibrate` refits only the calibrator of a trained model on the latest matured cohorts (the
``recalibrate`` action): same preprocessing, same estimator, a new PD level.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

__all__ = ["CALIBRATION_METHODS", "PDCalibrator", "calibration_metrics", "recalibrate"]

CALIBRATION_METHODS = ("platt", "isotonic", "none")
EPS = 1e-4  # PDs are kept inside [EPS, 1 - EPS]: a logit needs them, and no loan is certain


def _logit(p: Any) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype="float64"), EPS, 1 - EPS)
    return np.log(q / (1 - q))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _labels(y: Any, n: int, where: str) -> np.ndarray:
    labels = np.asarray(y)
    if labels.shape[0] != n:
        raise ValueError(f"{where}: {labels.shape[0]} labels for {n} PDs")
    if not set(np.unique(labels)) <= {0, 1}:
        raise ValueError(f"{where}: labels must be 0/1 (1 = default)")
    return labels.astype(int)


def _logistic_fit(z: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Intercept and slope of an unpenalised logistic regression of ``y`` on ``z``."""
    fit = LogisticRegression(C=1e6, max_iter=1000).fit(z.reshape(-1, 1), y)
    return float(fit.intercept_[0]), float(fit.coef_[0, 0])


def _intercept_only(z: np.ndarray, y: np.ndarray) -> float:
    """The intercept ``a`` with the slope fixed at 1: Σ σ(a + z) = Σ y (Newton steps)."""
    a = 0.0
    for _ in range(50):
        p = _sigmoid(a + z)
        step = (y.sum() - p.sum()) / max(float((p * (1 - p)).sum()), 1e-12)
        a += step
        if abs(step) < 1e-10:
            break
    return float(a)


class PDCalibrator(BaseEstimator):
    """A monotone map from the estimator's PD to a calibrated PD (``platt``, ``isotonic`` or ``none``).

    Args:
        method: ``platt`` | ``isotonic`` | ``none``.
    """

    def __init__(self, method: str = "platt") -> None:
        self.method = method

    def fit(
        self, pd_raw: Any, y: Any, *, fitted_on: str = "", months: list[str] | None = None
    ) -> PDCalibrator:
        """Fit on raw PDs and their labels (``fitted_on`` / ``months`` are recorded for the model card)."""
        if self.method not in CALIBRATION_METHODS:
            raise ValueError(
                f"training.calibration.method must be one of {list(CALIBRATION_METHODS)}, got {self.method!r}"
            )
        p = np.asarray(pd_raw, dtype="float64")
        labels = _labels(y, len(p), "calibration")
        if len(p) == 0:
            raise ValueError(
                f"calibration: no rows to fit the {self.method} calibrator on ({fitted_on or '?'})"
            )
        self.intercept_, self.slope_ = 0.0, 1.0
        self.isotonic_ = None
        self.note_ = ""
        if self.method == "platt":
            z = _logit(p)
            if len(np.unique(labels)) < 2:  # noqa: PLR2004 - two classes
                raise ValueError(
                    f"calibration: the {fitted_on or 'fitting'} rows have a single class: no PD level to fit"
                )
            a, b = _logistic_fit(z, labels)
            if b <= 0:
                a, b = _intercept_only(z, labels), 1.0
                self.note_ = "fitted slope <= 0: intercept only (slope 1)"
            self.intercept_, self.slope_ = a, b
        elif self.method == "isotonic":
            self.isotonic_ = IsotonicRegression(
                y_min=EPS, y_max=1 - EPS, increasing=True, out_of_bounds="clip"
            ).fit(p, labels)
        self.fitted_on_ = fitted_on
        self.months_ = list(months or [])
        self.n_samples_ = len(p)
        self.n_defaults_ = int(labels.sum())
        return self

    def transform(self, pd_raw: Any) -> np.ndarray:
        """The calibrated PD of each raw PD."""
        p = np.asarray(pd_raw, dtype="float64")
        if self.method == "platt":
            return _sigmoid(self.intercept_ + self.slope_ * _logit(p))
        if self.method == "isotonic":
            return np.clip(self.isotonic_.predict(p), EPS, 1 - EPS)
        return p

    def describe(self) -> dict[str, Any]:
        """What the model card says of the calibrator (method, parameters, rows it was fitted on)."""
        out: dict[str, Any] = {
            "method": self.method,
            "fitted_on": getattr(self, "fitted_on_", ""),
            "months": getattr(self, "months_", []),
            "n_samples": getattr(self, "n_samples_", 0),
            "n_defaults": getattr(self, "n_defaults_", 0),
        }
        if self.method == "platt":
            out.update(intercept=self.intercept_, slope=self.slope_)
        if self.method == "isotonic" and self.isotonic_ is not None:
            out["steps"] = len(self.isotonic_.X_thresholds_)
        if getattr(self, "note_", ""):
            out["note"] = self.note_
        return out


def calibration_metrics(
    y: Any, pd_values: Any, *, alpha: float = 0.05, level: float = 0.95
) -> dict[str, float]:
    """Calibration of a PD on labelled rows (floats, NaN when undefined; logged as MLflow metrics).

    Returns:
        ``ae_ratio`` (actual / expected defaults, expected = Σ PD), ``ae_lower`` / ``ae_upper`` (Jeffreys
        ``level`` interval of the default rate / mean PD), ``ae_pvalue`` (two-sided Jeffreys),
        ``ae_binomial_pvalue`` (exact, two-sided), ``ae_consistent`` (1 when the Jeffreys p >= ``alpha``),
        ``expected_defaults``, ``calibration_intercept`` and ``calibration_slope`` (logistic regression of the
        label on logit(PD); NaN with a single class or a constant PD).
    """
    from kycc.monitoring.actions import calibration_evidence  # the figure monitoring decides on: one home

    p = np.asarray(pd_values, dtype="float64")
    labels = _labels(y, len(p), "calibration metrics")
    n, d = len(p), int(labels.sum())
    nan = math.nan
    evidence = calibration_evidence(d, n, float(p.mean()) if n else None, alpha=alpha, level=level)
    out = {
        "expected_defaults": float(p.sum()) if n else nan,
        "ae_ratio": _float(evidence.get("ae_ratio")),
        "ae_lower": _float(evidence.get("ae_lower")),
        "ae_upper": _float(evidence.get("ae_upper")),
        "ae_pvalue": _float(evidence.get("jeffreys_pvalue_two_sided")),
        "ae_binomial_pvalue": _float(evidence.get("binomial_pvalue")),
        "ae_consistent": nan
        if evidence["verdict"] == "no data"
        else float(not evidence["calibration_failed"]),
        "calibration_intercept": nan,
        "calibration_slope": nan,
    }
    if n and 0 < d < n and np.ptp(p) > 0:  # a constant PD has no slope
        a, b = _logistic_fit(_logit(p), labels)
        out.update(calibration_intercept=a, calibration_slope=b)
    return out


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def recalibrate(
    model: Any, matured_cohort_frame: pd.DataFrame, method: str = "platt", *, label_column: str = "label"
) -> Any:
    """A copy of ``model`` with only its calibrator refitted on ``matured_cohort_frame``.

    The preprocessing and estimator objects are the same (not refitted, not copied): only the PD level moves.
    The decision threshold is carried over so that the rows of ``matured_cohort_frame`` keep their decisions
    (the new threshold is the lowest new PD among the rows the old model flagged; unchanged when it flagged
    none).

    Args:
        model: A :class:`kycc.modeling.model.CreditRiskModel` (e.g. ``mlflow.sklearn.load_model(
            "models:/kycc_model_1@champion")``).
        matured_cohort_frame: Model-input rows (raw feature columns) of the latest matured cohorts, with
            their 0/1 label in ``label_column``.
        method: ``platt`` | ``isotonic`` | ``none``.
        label_column: The label column of ``matured_cohort_frame``.

    Returns:
        A new ``CreditRiskModel``; its ``calibrator.describe()`` names the rows and months it was fitted on.
    """
    from kycc.modeling.model import CreditRiskModel

    if not isinstance(model, CreditRiskModel):
        raise TypeError(f"recalibrate needs a kycc CreditRiskModel, got {type(model).__name__}")
    if label_column not in matured_cohort_frame.columns:
        raise ValueError(
            f"recalibrate: the matured cohort frame has no label column {label_column!r} "
            f"(columns: {list(matured_cohort_frame.columns)[:12]} …)"
        )
    frame = matured_cohort_frame.loc[matured_cohort_frame[label_column].notna()]
    if frame.empty:
        raise ValueError("recalibrate: the matured cohort frame has no labelled rows")
    raw = model.raw_pd(frame)
    months: list[str] = []
    for column in ("application_date", "cohort_month", "snapshot_date"):
        if column in frame.columns:
            months = sorted(pd.to_datetime(frame[column]).dt.strftime("%Y-%m").unique().tolist())
            break
    calibrator = PDCalibrator(method).fit(
        raw, frame[label_column].to_numpy(), fitted_on="matured cohorts (recalibrate)", months=months
    )
    old = model.predict_proba(frame)[:, 1]
    new = calibrator.transform(raw)
    flagged = old >= model.threshold
    threshold = float(new[flagged].min()) if flagged.any() else float(model.threshold)
    return CreditRiskModel(
        preprocessor=model.preprocessor,
        estimator=model.estimator,
        threshold=threshold,
        name=model.name,
        calibrator=calibrator,
    )
