"""The MLflow flavor of a scoring bundle (:class:`kycc.modeling.model.CreditRiskModel`): scikit-learn's, with a
``python_function`` whose ``predict`` returns the **probability of default**.

- ``mlflow.sklearn.load_model(uri)`` gives the bundle exactly as ``mlflow.sklearn`` logs it (``predict_proba``,
  ``predict``, ``preprocessor``, ``calibrator``, ``threshold``): what inference and monitoring load
  (:mod:`kycc.registry.read`).
- ``mlflow.pyfunc.load_model(uri).predict(rows)`` (and so ``mlflow models serve`` / ``predict``) gives a frame
  with ``pd``, the calibrated probability of default (``predict_proba(rows)[:, 1]``), and ``prediction``, the
  class at the bundle's threshold (1 when ``pd >= threshold``). ``mlflow.sklearn``'s own pyfunc can only return
  ``predict`` (the 0/1 class) or ``predict_proba`` (two columns, the first the probability of *good*).

It is MLflow's custom-flavor mechanism: the module saves with ``mlflow.sklearn.save_model`` and names itself the
pyfunc's ``loader_module``, so ``mlflow.pyfunc`` calls :func:`_load_pyfunc` here. Logged models name this module
in their ``MLmodel``: keep it importable under this name (and the ``kycc`` package installed where they load).

Used by the catalog (``"{model}.mdl_mlflow_model"``: ``flavor: kycc.registry.flavor``) and by
:func:`kycc.registry.write.register_recalibrated`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CLASS_COLUMN", "PD_COLUMN", "load_model", "log_model", "pd_frame", "save_model"]

#: The pyfunc's output columns.
PD_COLUMN = "pd"
CLASS_COLUMN = "prediction"


def pd_frame(model: Any, rows: Any) -> pd.DataFrame:
    """What the pyfunc returns for ``rows``: ``pd`` (the probability of default) and ``prediction`` (0/1)."""
    pd_ = np.asarray(model.predict_proba(rows)[:, 1], dtype="float64")
    threshold = float(getattr(model, "threshold", 0.5))
    return pd.DataFrame({PD_COLUMN: pd_, CLASS_COLUMN: (pd_ >= threshold).astype("int64")})


class _PDModel:
    """The pyfunc implementation: ``predict`` returns :func:`pd_frame`."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return pd_frame(self.model, data)

    def get_raw_model(self) -> Any:
        """The bundle (``mlflow.pyfunc.PyFuncModel.get_raw_model``)."""
        return self.model


def save_model(sk_model: Any, path: str, mlflow_model: Any = None, **kwargs: Any) -> None:
    """``mlflow.sklearn.save_model``, then this module as the pyfunc's loader (see the module docstring)."""
    import mlflow.sklearn
    from mlflow import pyfunc
    from mlflow.models import Model
    from mlflow.models.model import MLMODEL_FILE_NAME

    mlflow_model = Model() if mlflow_model is None else mlflow_model
    mlflow.sklearn.save_model(sk_model, path, mlflow_model=mlflow_model, **kwargs)
    conf = mlflow_model.flavors[pyfunc.FLAVOR_NAME]
    conf[pyfunc.MAIN] = __name__
    conf.pop("predict_fn", None)  # mlflow.sklearn's choice of method; ours is always the PD frame
    mlflow_model.save(os.path.join(path, MLMODEL_FILE_NAME))


def log_model(sk_model: Any, name: str | None = None, **kwargs: Any) -> Any:
    """Log ``sk_model`` to the active run with this flavor (``mlflow.sklearn.log_model``'s arguments)."""
    from mlflow.models import Model

    return Model.log(artifact_path=None, name=name, flavor=sys.modules[__name__], sk_model=sk_model, **kwargs)


def load_model(model_uri: str, dst_path: str | None = None) -> Any:
    """The bundle (``mlflow.sklearn.load_model``)."""
    import mlflow.sklearn

    return mlflow.sklearn.load_model(model_uri, dst_path=dst_path)


def _load_pyfunc(path: str, model_config: Any = None) -> _PDModel:
    """MLflow's pyfunc loader hook: ``path`` is the pickled model (the flavor's ``model_path``) or its folder."""
    import mlflow.sklearn

    folder = Path(path)
    if folder.is_file():
        folder = folder.parent
    return _PDModel(mlflow.sklearn.load_model(str(folder)))
