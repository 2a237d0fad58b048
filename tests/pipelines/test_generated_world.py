"""The data pipelines on the generated world: dirty patterns accounted for, point-in-time correctness,
catch-up == incremental, and a signal a model can learn."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from kycc.synthetic import generate
from tests.kedro_run import gold, run_kedro

pytestmark = pytest.mark.slow

START, END = "2023-01-01", "2023-12-01"
CSV_SOURCES = {
    "lms_loan_daily.csv": ("lms", "label_store_quality.json"),
    "features_attributes.csv": ("attributes", "feature_store_quality.json"),
    "features_financials.csv": ("financials", "feature_store_quality.json"),
    "feature_clickstream.csv": ("clickstream", "feature_store_quality.json"),
    "party_relationships.csv": ("relationships", "feature_store_quality.json"),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """1,200 customers over 12 months, dirty, the last two months as JSON batches; catch-up run."""
    root = tmp_path_factory.mktemp("world")
    generate(root / "01_raw", n_customers=1200, start=START, end=END, seed=11, json_months=2)
    run_kedro(root, ["label_store", "feature_store"])
    return root


def _quality(root: Path, source: str, report: str) -> dict:
    return json.loads((root / "08_reporting" / "duckdb" / report).read_text())["sources"][source]


def test_every_dirty_pattern_is_parsed_or_quarantined(world):
    manifest = json.loads((world / "01_raw" / "_generation_manifest.json").read_text())
    json_planted = manifest["json_batches"]["planted"]
    for file, (source, report) in CSV_SOURCES.items():
        counts = _quality(world, source, report)
        planted = manifest["files"][file]["planted"]
        assert counts["rows_in"] == counts["rows_out"] + counts["rows_quarantined"], file
        reasons = counts["quarantine_reasons"]
        assert reasons.get("malformed_row", 0) == planted["malformed_rows"], file
        assert reasons.get("duplicate_key", 0) == planted["duplicate_rows"], file
        nulled = counts["values_nulled_in_silver"]
        extra = json_planted.get(file, {})
        for pattern in ("impossible_value", "placeholder"):
            for column, n in planted.get(pattern, {}).items():
                expected = n + extra.get(pattern, {}).get(column, 0)
                assert nulled.get(column, 0) >= expected, (file, pattern, column)
        # stray underscores are parsed, never nulled: only impossible values and placeholders are reported
        for column in planted.get("underscore_number", {}):
            reported = sum(
                planted.get(p, {}).get(column, 0) + extra.get(p, {}).get(column, 0)
                for p in ("impossible_value", "placeholder")
            )
            assert nulled.get(column, 0) <= reported + planted["duplicate_rows"], (file, column)


def test_gold_has_one_row_per_application_and_labels_match(world):
    features, labels = gold(world, "gold_features"), gold(world, "gold_labels")
    assert features["loan_id"].is_unique and labels["loan_id"].is_unique
    assert (features["application_date"] == features["snapshot_date"]).all()
    assert set(labels["loan_id"]) <= set(features["loan_id"])
    assert 0.05 < labels["label"].mean() < 0.5


def test_no_feature_comes_from_after_the_application(world):
    features = gold(world, "gold_features")
    for column in ("kyc_as_of", "financial_as_of", "behavioural_as_of", "network_as_of"):
        dated = features[features[column].notna()]
        assert (dated[column] <= dated["application_date"]).all(), column
    assert features["kyc_as_of"].notna().mean() > 0.95


def _csv_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _append(path: Path, rows: list[dict]) -> None:
    header = _csv_rows(path)[0]
    with path.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writerows({c: r.get(c, "") for c in header} for r in rows)


def _next_month(date: str) -> str:
    y, m = int(date[:4]), int(date[5:7])
    return f"{y + m // 12}-{m % 12 + 1:02d}-01"


def test_planted_future_values_never_reach_the_features(world, tmp_path):
    """Add snapshots dated after each application: the features of those applications must not move."""
    shutil.copytree(world / "01_raw", tmp_path / "01_raw")
    before = gold(world, "gold_features").set_index("loan_id")
    last_app = before.reset_index().sort_values("application_date").groupby("customer_id").tail(1)
    raw = tmp_path / "01_raw"
    attr_keys = {(r[0], r[-1]) for r in _csv_rows(raw / "features_attributes.csv")[1:]}
    fin_keys = {(r[0], r[-1]) for r in _csv_rows(raw / "features_financials.csv")[1:]}
    attrs, fins, edges = [], [], []
    for row in last_app.itertuples():
        month = _next_month(str(row.application_date)[:10])
        if month > END:
            continue
        if (row.customer_id, month) not in attr_keys:
            attrs.append(
                {
                    "Customer_ID": row.customer_id,
                    "Name": "FUTURE",
                    "Age": "99",
                    "SSN": "999-99-9999",
                    "Occupation": "Future",
                    "kyc_verified": "False",
                    "party_type": "individual",
                    "country": "ZZ",
                    "registration_date": month,
                    "snapshot_date": month,
                }
            )
        if (row.customer_id, month) not in fin_keys:
            fins.append({"Customer_ID": row.customer_id, "Annual_Income": "7777777", "snapshot_date": month})
        edges.append(
            {
                "source_customer_id": row.customer_id,
                "target_customer_id": "CUS_FUTURE",
                "relationship_type": "guarantor",
                "volume": "123456789",
                "snapshot_date": month,
            }
        )
    assert len(attrs) > 100 and len(edges) > 100
    # planted months that arrived as JSON batches are appended to the CSV history instead: same bronze tables
    _append(raw / "features_attributes.csv", attrs)
    _append(raw / "features_financials.csv", fins)
    _append(raw / "party_relationships.csv", edges)
    run_kedro(tmp_path, ["label_store", "feature_store"])
    after = gold(tmp_path, "gold_features").set_index("loan_id").loc[last_app["loan_id"]]
    assert not (after["age"] == 99).any()
    assert not (after["annual_income"] == 7777777).any()
    assert not (after["country"] == "ZZ").any()
    pd.testing.assert_frame_equal(after, before.loc[last_app["loan_id"]])


def test_catch_up_equals_month_by_month(world, tmp_path):
    """Each month's files arrive one at a time; each run processes only that month."""
    source = world / "01_raw"
    raw = tmp_path / "01_raw"
    (raw / "batches").mkdir(parents=True)
    months = pd.date_range(START, END, freq="MS").strftime("%Y-%m-%d")
    for month in months:
        for file in CSV_SOURCES:
            rows = _csv_rows(source / file)
            with (raw / file).open("w", newline="", encoding="utf-8") as handle:
                csv.writer(handle).writerows([rows[0], *(r for r in rows[1:] if r and r[-1] <= month)])
        for batch in (source / "batches").glob(f"BATCH_{month[:4]}_{month[5:7]}_*.json"):
            shutil.copy(batch, raw / "batches" / batch.name)
        run_kedro(
            tmp_path,
            ["label_store", "feature_store"],
            params={"run": {"start_month": month, "end_month": month}},
        )
    for name in ("gold_labels", "gold_features"):
        pd.testing.assert_frame_equal(gold(tmp_path, name), gold(world, name), check_exact=True)


def test_a_model_learns_the_planted_risk(world):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    data = gold(world, "gold_features").merge(gold(world, "gold_labels")[["loan_id", "label"]], on="loan_id")
    data = data.sort_values("application_date").reset_index(drop=True)
    numeric = data.select_dtypes("number").drop(columns=["label"])
    numeric = numeric.loc[:, numeric.notna().sum() > 10]  # e.g. prior loans are rare in a 12-month world
    x = numeric.to_numpy(dtype=float, na_value=float("nan"))
    y = data["label"].to_numpy()
    cut = int(len(data) * 0.7)
    model = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.05, random_state=0)
    model.fit(x[:cut], y[:cut])
    auc = roc_auc_score(y[cut:], model.predict_proba(x[cut:])[:, 1])
    assert 0.65 <= auc <= 0.9
