"""A feature almost nobody has (one non-null value in the training window) must not break the tree model."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from kycc.modeling.preprocessing import CreditPreprocessor


def test_native_preprocessing_drops_constant_columns_and_the_model_fits():
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"income": rng.normal(size=400), "rare": [np.nan] * 399 + [5.0], "flat": 1.0})
    y = (x["income"] + rng.normal(scale=0.5, size=400) > 0).astype(int)
    pre = CreditPreprocessor(kind="native", features=["income", "rare", "flat"]).fit(x, y)
    assert pre.feature_names_out_ == ["income"]
    model = HistGradientBoostingClassifier(max_iter=20).fit(pre.transform(x), y)
    assert model.predict_proba(pre.transform(x)).shape == (400, 2)
