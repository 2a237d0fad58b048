"""Helpers for the training pipeline tests: the project's parameters in an in-memory catalog."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from kedro.io import DataCatalog, MemoryDataset

from kycc.modeling.sample_data import make_model_input

PROJECT_ROOT = Path(__file__).resolve().parents[3]
# the ``params:training.<key>`` inputs every training run reads (besides ``training.models.<model>``)
SHARED_PARAMETER_KEYS = (
    "data_contract",
    "windows",
    "training_date",
    "quality_gates",
    "registry",
    "fitting",
    "calibration",
    "promotion",
)


def training_params() -> dict[str, Any]:
    """``training`` from conf/base/parameters_training.yml, with small grids so tests stay fast."""
    text = (PROJECT_ROOT / "conf" / "base" / "parameters_training.yml").read_text(encoding="utf-8")
    params = yaml.safe_load(text)["training"]
    params["models"]["model_1"]["grid"] = {"C": [0.1, 1.0]}
    params["models"]["model_2"]["grid"] = {"max_depth": [2, 3]}
    params["models"]["model_2"]["params"]["max_iter"] = 60
    return params


class KeptDataset(MemoryDataset):
    """A MemoryDataset the runner does not empty once its consumers ran (tests read intermediate results)."""

    def _release(self) -> None:
        pass


def catalog_for(model_input, params: dict[str, Any], pipeline=None) -> DataCatalog:
    """An in-memory catalog with the model input and every ``params:training.…`` input of the pipeline.

    Every other dataset of ``pipeline`` is kept in memory after the run for the assertions.
    """
    catalog = DataCatalog()
    for name in pipeline.datasets() if pipeline is not None else ():
        if not name.startswith("params:"):
            catalog[name] = KeptDataset(copy_mode="assign")
    catalog["mdl_model_input"] = model_input
    for key in SHARED_PARAMETER_KEYS:
        catalog[f"params:training.{key}"] = copy.deepcopy(params[key])
    for name, options in params["models"].items():
        catalog[f"params:training.models.{name}"] = copy.deepcopy(options)
    return catalog


@pytest.fixture(scope="session")
def model_input():
    """24 snapshot months from 2023-01 (labelled application months 2023-01 .. 2024-06), ~330 loans a month."""
    return make_model_input(6000, start="2023-01-01", n_months=18, seed=1)
