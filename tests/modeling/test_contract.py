"""The model-input contract: column roles, typing, clear errors, fingerprint."""

from __future__ import annotations

import pandas as pd
import pytest

from kycc.modeling.contract import DataContract, DataContractError, data_fingerprint, validate_model_input
from kycc.modeling.sample_data import make_model_input

CONTRACT = DataContract.from_params(
    {"id_columns": ["loan_id", "customer_id"], "label_date_column": "label_date"}
)


@pytest.fixture(scope="module")
def table():
    return make_model_input(600, n_months=6, seed=0)


def test_features_default_to_every_other_column(table):
    frame, spec, accounting = validate_model_input(table, CONTRACT)
    assert (
        "label" not in spec.features and "loan_id" not in spec.features and "label_date" not in spec.features
    )
    assert set(spec.categorical) == {"occupation", "credit_mix", "payment_of_min_amount"}
    assert accounting == {"rows_in": 600, "rows_labelled": 600, "rows_unlabelled": 0}
    assert frame["label"].dtype == "int64"


def test_declared_features_and_exclusions(table):
    contract = DataContract.from_params({"features": ["fe_1", "credit_mix"], "categorical": ["credit_mix"]})
    _, spec, _ = validate_model_input(table, contract)
    assert spec.features == ["fe_1", "credit_mix"] and spec.numeric == ["fe_1"]
    contract = DataContract.from_params(
        {"id_columns": ["loan_id", "customer_id"], "exclude_columns": ["fe_*", "label_date"]}
    )
    _, spec, _ = validate_model_input(table, contract)
    assert not any(f.startswith("fe_") for f in spec.features)


def test_unlabelled_rows_are_counted_not_used(table):
    t = table.copy()
    t["label"] = t["label"].astype("Float64")
    t.loc[:9, "label"] = None
    frame, _, accounting = validate_model_input(t, CONTRACT)
    assert len(frame) == 590 and accounting["rows_unlabelled"] == 10


@pytest.mark.parametrize(
    ("mutate", "params", "message"),
    [
        (lambda t: t.drop(columns="label"), {}, "no label column 'label'.*Columns present"),
        (lambda t: t.drop(columns="application_date"), {}, "no date column 'application_date'"),
        (lambda t: t, {"features": ["fe_1", "income"]}, r"not in the model input: \['income'\]"),
        (lambda t: t.assign(label=t["label"] * 2), {}, "must hold 0/1"),
        (lambda t: t.assign(label="yes"), {}, "must hold 0/1"),
        (lambda t: t.assign(application_date="soon"), {}, "is not a date"),
        (lambda t: pd.concat([t, t.head(2)]), {"id_columns": ["loan_id"]}, "duplicate row"),
        (lambda t: t.iloc[:0], {}, "model input is empty"),
        (lambda t: t, {"date_colum": "x"}, "Unknown keys in training.data_contract"),
        (lambda t: t[["label", "application_date"]], {}, "No feature columns left"),
    ],
)
def test_contract_errors(table, mutate, params, message):
    with pytest.raises(DataContractError, match=message):
        validate_model_input(mutate(table.copy()), DataContract.from_params(params))


def test_fingerprint_ignores_row_order_but_not_content(table):
    shuffled = table.sample(frac=1.0, random_state=1)
    assert data_fingerprint(table) == data_fingerprint(shuffled)
    changed = table.copy()
    changed.loc[0, "fe_1"] += 1e-6
    assert data_fingerprint(changed) != data_fingerprint(table)
    assert data_fingerprint(table).startswith("sha256:")
