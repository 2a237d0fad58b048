"""Preprocessing fitted once on the training window and applied everywhere (training, scoring, monitoring).

Kinds (``preprocessing.kind`` in a model's parameters):

* ``woe``: Weight-of-Evidence binning of every feature (:class:`kycc.modeling.woe.WoEBinner`), optionally
  keeping only features with an information value of at least ``min_iv``: the scorecard-compatible input of
  a logistic regression.
* ``standard``: numeric features median-imputed and standardised, categorical ones one-hot encoded.
* ``native``: numeric features as they are (missing values kept: tree ensembles handle them), categorical ones
  as integer codes (unseen and missing categories -> missing).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from kycc.modeling.woe import WoEBinner

logger = logging.getLogger(__name__)

__all__ = ["PREPROCESSING_KINDS", "CreditPreprocessor"]

PREPROCESSING_KINDS = ("woe", "standard", "native")


def _check_parameters(kind: Any, features: Any, categorical: Any, options: Any) -> None:
    if kind not in PREPROCESSING_KINDS:
        raise ValueError(f"preprocessing.kind must be one of {PREPROCESSING_KINDS}, got {kind!r}")
    if not isinstance(features, list | tuple) or not features:
        raise ValueError("features must be a non-empty list of column names")
    unknown = [c for c in categorical or [] if c not in features]
    if unknown:
        raise ValueError(f"categorical columns {unknown} are not among the features")
    if options is not None and not isinstance(options, dict):
        raise TypeError(f"preprocessing options must be a mapping, got {type(options).__name__}")


class CreditPreprocessor(TransformerMixin, BaseEstimator):
    """Select, type and transform the feature columns of the model input.

    Args:
        kind: ``woe``, ``standard`` or ``native``.
        features: Feature columns (raw names, as in the model input).
        categorical: Which of them are categorical.
        options: Options of the kind: for ``woe`` the :class:`WoEBinner` arguments plus ``min_iv``.

    Attributes:
        feature_names_out_: Columns of the transformed frame (the model's features).
        transformer_: The fitted transformer.
        iv_: Information value per feature (``woe`` only).
    """

    def __init__(
        self,
        kind: str = "woe",
        features: list[str] | None = None,
        categorical: list[str] | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.kind = kind
        self.features = features
        self.categorical = categorical
        self.options = options

    def _select(self, X: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"X must be a pandas DataFrame, got {type(X).__name__}")
        missing = [c for c in self.features if c not in X.columns]
        if missing:
            raise ValueError(
                f"The data to transform lacks {len(missing)} feature column(s) the preprocessing was fitted "
                f"on: {missing}"
            )
        out = X[list(self.features)].copy()
        categorical = set(self.categorical or [])
        # a column already float64 is left as it is (to_numeric + astype would give the same values): a small
        # frame (the API's one row) then costs a few column conversions, not one per feature (issue #19)
        for col, dtype in out.dtypes.items():
            if col in categorical:
                values = out[col]
                out[col] = values.astype("object").where(values.notna(), np.nan)
            elif dtype != np.float64:
                out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
        return out

    def fit(self, X: pd.DataFrame, y: Any = None) -> CreditPreprocessor:
        _check_parameters(self.kind, self.features, self.categorical, self.options)
        data = self._select(X)
        options = dict(self.options or {})
        categorical = list(self.categorical or [])
        numeric = [c for c in self.features if c not in set(categorical)]
        if self.kind == "woe":
            if y is None:
                raise ValueError("WoE preprocessing needs the labels: fit(X, y)")
            min_iv = options.pop("min_iv", None)
            binner = WoEBinner(categorical=categorical, **options).fit(data, y)
            self.iv_ = dict(binner.iv_)
            keep = list(self.features)
            if min_iv is not None:
                keep = [c for c in self.features if binner.iv_[c] >= float(min_iv)]
                if not keep:
                    # keep the strongest feature: the model is still built, measured and (most likely)
                    # stopped by the quality gates with a reason, instead of failing the whole run
                    best = max(binner.iv_, key=binner.iv_.get)
                    logger.warning(
                        "No feature reaches the information value min_iv=%s; keeping only the strongest, %s "
                        "(IV %.4f): expect the quality gates to fail",
                        min_iv,
                        best,
                        binner.iv_[best],
                    )
                    keep = [best]
            self.transformer_ = binner
            self.feature_names_out_ = keep
        elif self.kind == "standard":
            parts = []
            if numeric:
                parts.append(
                    ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric)
                )
            if categorical:
                parts.append(
                    (
                        "cat",
                        make_pipeline(
                            SimpleImputer(strategy="constant", fill_value="__missing__"),
                            OneHotEncoder(
                                handle_unknown="ignore",
                                min_frequency=options.get("min_frequency", 0.01),
                                sparse_output=False,
                            ),
                        ),
                        categorical,
                    )
                )
            ct = ColumnTransformer(parts, verbose_feature_names_out=False)
            ct.set_output(transform="pandas")
            ct.fit(data, y)
            self.transformer_ = ct
            self.feature_names_out_ = [str(c) for c in ct.get_feature_names_out()]
        else:  # native
            encoder = None
            if categorical:
                encoder = OrdinalEncoder(
                    handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan
                ).fit(data[categorical])
            self.transformer_ = encoder
            # A column with fewer than two distinct values in the training window carries no information and
            # breaks histogram binning (e.g. prior-loan history when almost nobody has an earlier loan).
            constant = [c for c in self.features if data[c].nunique(dropna=True) < 2]
            if constant:
                logger.warning(
                    "Dropping %d feature(s) constant or empty on the training data: %s",
                    len(constant),
                    constant,
                )
            self.feature_names_out_ = [c for c in self.features if c not in set(constant)] or list(
                self.features
            )
        self.feature_names_in_ = np.asarray(self.features, dtype=object)
        self.n_features_in_ = len(self.features)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        if not hasattr(self, "feature_names_out_"):
            raise ValueError("This CreditPreprocessor is not fitted yet: run fit_preprocessing first")
        data = self._select(X)
        if self.kind == "woe":
            out = self.transformer_.transform(data)[self.feature_names_out_]
        elif self.kind == "standard":
            out = self.transformer_.transform(data)
        else:
            out = data.copy()
            if self.transformer_ is not None:
                cats = list(self.categorical)
                out[cats] = self.transformer_.transform(data[cats])
            out = out.astype("float64")
        out.index = X.index
        return out[self.feature_names_out_]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.feature_names_out_, dtype=object)

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly summary (kind, features in/out, IV per feature for WoE)."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "features_in": list(self.features),
            "categorical": list(self.categorical or []),
            "features_out": list(self.feature_names_out_),
        }
        if self.kind == "woe":
            out["information_value"] = {k: round(float(v), 6) for k, v in self.iv_.items()}
        return out
