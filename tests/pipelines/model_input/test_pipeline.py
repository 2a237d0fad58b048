"""model_input: gold labels + gold features (Ibis on DuckDB) → one pandas row per labelled loan."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner

from kycc.pipelines.model_input import create_pipeline
from kycc.pipelines.model_input.nodes import ModelInputError, build_model_input

OPTIONS = {
    "key": "loan_id",
    "label_columns": ["label", "label_def"],
    "label_date_column": "snapshot_date",
    "label_date_name": "label_date",
    "drop_feature_columns": ["snapshot_date", "*_as_of"],
}
D = dt.date


def _labels() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "loan_id": ["L1", "L2", "L3", "L9"],
            "customer_id": ["C1", "C2", "C3", "C9"],
            "application_date": [D(2023, 1, 1), D(2023, 1, 1), D(2023, 2, 1), D(2023, 2, 1)],
            "snapshot_date": [D(2023, 7, 1), D(2023, 7, 1), D(2023, 8, 1), D(2023, 8, 1)],
            "mob": [6, 6, 6, 6],
            "installments_missed": [0, 2, 0, 0],
            "dpd": [0, 61, 0, 0],
            "label": [0, 1, 0, 0],
            "label_def": ["30dpd_6mob"] * 4,
        }
    )


def _features() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "loan_id": ["L1", "L2", "L3", "L4"],
            "customer_id": ["C1", "C2", "C3", "C4"],
            "application_date": [D(2023, 1, 1), D(2023, 1, 1), D(2023, 2, 1), D(2023, 6, 1)],
            "snapshot_date": [D(2023, 1, 1), D(2023, 1, 1), D(2023, 2, 1), D(2023, 6, 1)],
            "age": [35, 51, 28, 40],
            "credit_mix": ["Good", "Bad", None, "Standard"],
            "kyc_as_of": [D(2022, 12, 1), D(2023, 1, 1), D(2023, 1, 1), D(2023, 5, 1)],
        }
    )


@pytest.fixture
def gold(con):
    return con.create_table("gold_labels_mi", _labels(), overwrite=True), con.create_table(
        "gold_features_mi", _features(), overwrite=True
    )


def test_one_row_per_labelled_loan_without_outcome_columns(gold):
    catalog = DataCatalog()
    catalog["feat_gold_labels"], catalog["feat_gold_features"] = gold
    catalog["params:model_input"] = OPTIONS
    SequentialRunner().run(create_pipeline(), catalog)
    frame, summary = catalog.load("mdl_model_input"), catalog.load("rpt_model_input_summary")
    assert frame["loan_id"].tolist() == ["L1", "L2", "L3"]  # L4 not labelled yet, L9 has no features
    assert frame["label"].tolist() == [0, 1, 0]
    assert list(frame.columns[:6]) == [
        "loan_id",
        "customer_id",
        "application_date",
        "label_date",
        "label",
        "label_def",
    ]
    for leak in ("dpd", "mob", "installments_missed", "snapshot_date", "kyc_as_of"):
        assert leak not in frame.columns
    assert pd.api.types.is_datetime64_any_dtype(frame["application_date"])
    assert frame.loc[0, "label_date"] == pd.Timestamp("2023-07-01")
    assert summary["labelled_without_features"] == 1 and summary["applications_not_labelled_yet"] == 1
    assert summary["application_months"]["2023-01"] == {"loans": 2, "defaults": 1, "default_rate": 0.5}


def test_duplicate_labels_are_refused(con):
    labels = con.create_table("dup_labels_mi", pd.concat([_labels(), _labels().head(1)]), overwrite=True)
    features = con.create_table("dup_features_mi", _features(), overwrite=True)
    with pytest.raises(ModelInputError, match="1 duplicate loan_id"):
        build_model_input(labels, features, OPTIONS)


def test_missing_label_column_is_named(con):
    labels = con.create_table("nolabel_mi", _labels().drop(columns="label"), overwrite=True)
    features = con.create_table("nolabel_features_mi", _features(), overwrite=True)
    with pytest.raises(ModelInputError, match=r"feat_gold_labels has no column\(s\) \['label'\]"):
        build_model_input(labels, features, OPTIONS)


def test_unknown_option():
    with pytest.raises(ModelInputError, match="Unknown keys"):
        build_model_input(ibis.memtable(_labels()), ibis.memtable(_features()), {"keys": "loan_id"})
