"""The scoring model: fitted preprocessing + fitted estimator + PD calibrator + decision threshold, as one object.

Training keeps the three apart as Kedro artifacts (fit once, apply everywhere); this bundle is what is logged
to MLflow and registered, so ``mlflow.sklearn.load_model("models:/kycc_model_1@champion")`` scores raw
model-input rows directly. Loading it needs the ``kycc`` package importable (the project installed).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from kycc.modeling.preprocessing import CreditPreprocessor

__all__ = ["CreditRiskModel", "predict_pd"]


def predict_pd(
    preprocessor: CreditPreprocessor, estimator: Any, data: pd.DataFrame, calibrator: Any = None
) -> np.ndarray:
    """Probability of default of each row of ``data`` (raw model-input columns), calibrated when given one.

    ``calibrator`` is a fitted :class:`kycc.modeling.calibration.PDCalibrator` (None: the estimator's PD).
    """
    raw = estimator.predict_proba(preprocessor.transform(data))[:, 1]
    return raw if calibrator is None else calibrator.transform(raw)


class CreditRiskModel(ClassifierMixin, BaseEstimator):
    """Preprocessing, estimator and threshold of one trained model (already fitted; ``fit`` is not used).

    Args:
        preprocessor: A fitted :class:`CreditPreprocessor`.
        estimator: A fitted classifier with ``predict_proba``.
        threshold: PD (calibrated) at or above which ``predict`` says 1 (default).
        name: The model's name (namespace), for messages.
        calibrator: A fitted :class:`kycc.modeling.calibration.PDCalibrator` applied to the estimator's PD
            (None: no calibration; bundles saved before calibration existed load with None).
    """

    def __init__(
        self,
        preprocessor: Any = None,
        estimator: Any = None,
        threshold: float = 0.5,
        name: str = "model",
        calibrator: Any = None,
    ) -> None:
        self.preprocessor = preprocessor
        self.estimator = estimator
        self.threshold = threshold
        self.name = name
        self.calibrator = calibrator

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.setdefault("calibrator", None)  # bundles pickled before calibration existed
        super().__setstate__(state)

    def fit(self, X: Any = None, y: Any = None) -> CreditRiskModel:
        """No-op: the bundle is built from fitted parts (kept for the scikit-learn API)."""
        return self

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray([0, 1])

    @property
    def feature_names_in_(self) -> np.ndarray:
        return np.asarray(self.preprocessor.features, dtype=object)

    def raw_pd(self, X: pd.DataFrame) -> np.ndarray:
        """The estimator's PD before calibration."""
        return predict_pd(self.preprocessor, self.estimator, X)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = predict_pd(self.preprocessor, self.estimator, X, self.calibrator)
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= self.threshold).astype(int)

    def __sklearn_is_fitted__(self) -> bool:
        return self.preprocessor is not None and self.estimator is not None
