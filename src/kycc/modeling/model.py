"""The scoring model: fitted preprocessing + fitted estimator + decision threshold, as one object.

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


def predict_pd(preprocessor: CreditPreprocessor, estimator: Any, data: pd.DataFrame) -> np.ndarray:
    """Probability of default of each row of ``data`` (raw model-input columns)."""
    return estimator.predict_proba(preprocessor.transform(data))[:, 1]


class CreditRiskModel(ClassifierMixin, BaseEstimator):
    """Preprocessing, estimator and threshold of one trained model (already fitted; ``fit`` is not used).

    Args:
        preprocessor: A fitted :class:`CreditPreprocessor`.
        estimator: A fitted classifier with ``predict_proba``.
        threshold: PD at or above which ``predict`` says 1 (default).
        name: The model's name (namespace), for messages.
    """

    def __init__(
        self, preprocessor: Any = None, estimator: Any = None, threshold: float = 0.5, name: str = "model"
    ) -> None:
        self.preprocessor = preprocessor
        self.estimator = estimator
        self.threshold = threshold
        self.name = name

    def fit(self, X: Any = None, y: Any = None) -> CreditRiskModel:
        """No-op: the bundle is built from fitted parts (kept for the scikit-learn API)."""
        return self

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray([0, 1])

    @property
    def feature_names_in_(self) -> np.ndarray:
        return np.asarray(self.preprocessor.features, dtype=object)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = predict_pd(self.preprocessor, self.estimator, X)
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= self.threshold).astype(int)

    def __sklearn_is_fitted__(self) -> bool:
        return self.preprocessor is not None and self.estimator is not None
