"""Bring-your-own defaults and the training refusals: what a refused or gate-failed run leaves behind."""

from __future__ import annotations

import copy

from kycc.modeling.sample_data import make_model_input
from kycc.pipelines.training import nodes
from tests.pipelines.training.conftest import training_params


def _byo_contract() -> dict:
    contract = copy.deepcopy(training_params()["data_contract"])
    contract["label_date_column"] = None
    return contract


def test_exactly_17_application_months_without_label_dates_train_at_the_default_date():
    # the 17 months docs/training.md says suffice (12 + 2 + 2 + 1), no label-date column, no training date
    table = make_model_input(3000, start="2023-01-01", n_months=17, seed=4).drop(columns=["label_date"])
    data, spec = nodes.validate_model_input(table, _byo_contract())
    windows, flat = nodes.compute_training_windows(data, spec, training_params()["windows"], None)
    # the latest cohort (2024-05) matured at 2024-11: it is the OOT window of T = 2024-12
    assert windows["training_date"] == "2024-12-01"
    assert (windows["train"]["start"], windows["train"]["end"]) == ("2023-01-01", "2023-12-01")
    assert (windows["oot"]["start"], windows["oot"]["end"]) == ("2024-05-01", "2024-05-01")
    assert flat["window.training_date"] == "2024-12-01"
    # every application month is used: nothing is left out after OOT
    _, profile = nodes.split_by_windows(data, spec, windows)
    assert profile["rows_left_out"] == {"before_train": 0, "after_oot": 0, "between_windows": 0}
    assert profile["rows_used"] == len(data)
