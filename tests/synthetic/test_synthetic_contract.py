"""The generated files follow docs/data_contract.md: columns, keys, dates, LMS semantics, JSON batches."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest
from synth_features import read_csv

from kycc.synthetic import CSV_FILES, batch_id, generate

CONTRACT_COLUMNS = {
    "lms_loan_daily.csv": [
        "loan_id", "Customer_ID", "loan_start_date", "tenure", "installment_num", "loan_amt", "due_amt",
        "paid_amt", "overdue_amt", "balance", "snapshot_date",
    ],
    "features_attributes.csv": [
        "Customer_ID", "Name", "Age", "SSN", "Occupation", "kyc_verified", "party_type", "country",
        "registration_date", "snapshot_date",
    ],
    "features_financials.csv": [
        "Customer_ID", "Annual_Income", "Monthly_Inhand_Salary", "Num_Bank_Accounts", "Num_Credit_Card",
        "Interest_Rate", "Num_of_Loan", "Type_of_Loan", "Delay_from_due_date", "Num_of_Delayed_Payment",
        "Changed_Credit_Limit", "Num_Credit_Inquiries", "Credit_Mix", "Outstanding_Debt",
        "Credit_Utilization_Ratio", "Credit_History_Age", "Payment_of_Min_Amount", "Total_EMI_per_month",
        "Amount_invested_monthly", "Payment_Behaviour", "Monthly_Balance", "snapshot_date",
    ],
    "feature_clickstream.csv": [*(f"fe_{i}" for i in range(1, 21)), "Customer_ID", "snapshot_date"],
    "party_relationships.csv": [
        "source_customer_id", "target_customer_id", "relationship_type", "volume", "snapshot_date",
    ],
}  # fmt: skip
KEYS = {
    "lms_loan_daily.csv": ["loan_id", "snapshot_date"],
    "features_attributes.csv": ["Customer_ID", "snapshot_date"],
    "features_financials.csv": ["Customer_ID", "snapshot_date"],
    "feature_clickstream.csv": ["Customer_ID", "snapshot_date"],
    "party_relationships.csv": [
        "source_customer_id",
        "target_customer_id",
        "relationship_type",
        "snapshot_date",
    ],
}


@pytest.mark.parametrize("name", CSV_FILES)
def test_header_is_the_contract(dirty_world, name):
    header = (dirty_world.path / name).read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",") == CONTRACT_COLUMNS[name]


@pytest.mark.parametrize("name", CSV_FILES)
def test_clean_keys_unique_dates_in_range(clean_world, name):
    frame = read_csv(clean_world.path / name)
    assert len(frame) > 0
    assert not frame.duplicated(KEYS[name]).any()
    assert (frame == "").sum().sum() == 0
    months = set(clean_world.manifest["months"])
    assert set(frame["snapshot_date"]) <= months
    assert frame["snapshot_date"].str.endswith("-01").all()
    id_cols = [c for c in frame.columns if c in {"Customer_ID", "source_customer_id", "target_customer_id"}]
    for column in id_cols:
        assert frame[column].str.fullmatch(r"CUS_0x[0-9a-f]+").all()


def test_lms_semantics(clean_world):
    lms = read_csv(clean_world.path / "lms_loan_daily.csv")
    assert lms["loan_id"].str.fullmatch(r"LOAN_0x[0-9a-f]+_[12]").all()
    num = lms[["tenure", "installment_num", "loan_amt", "due_amt", "paid_amt", "overdue_amt", "balance"]]
    lms = pd.concat([lms[["loan_id", "Customer_ID"]], num.astype(float)], axis=1).assign(
        snap=pd.to_datetime(lms["snapshot_date"]), start=pd.to_datetime(lms["loan_start_date"])
    )
    lms = lms.sort_values(["loan_id", "installment_num"])
    first = lms[lms["installment_num"] == 0]
    assert (first["snap"] == first["start"]).all()
    assert (first[["due_amt", "paid_amt", "overdue_amt"]] == 0).all().all()
    assert (first["balance"] == first["loan_amt"]).all()
    assert first["loan_id"].is_unique and set(first["loan_id"]) == set(lms["loan_id"])
    # monthly rows from 0 with no gap, up to the tenure
    months = (lms["snap"].dt.year - lms["start"].dt.year) * 12 + lms["snap"].dt.month - lms["start"].dt.month
    assert (months == lms["installment_num"]).all()
    assert (lms["installment_num"] <= lms["tenure"]).all()
    assert lms["tenure"].between(10, 24).all()
    later = lms[lms["installment_num"] > 0]
    assert (later["due_amt"] > 0).all()
    # overdue is whole missed instalments; it accumulates (previous overdue + due - paid)
    ratio = later["overdue_amt"] / later["due_amt"]
    assert np.allclose(ratio, np.round(ratio))
    grouped = lms.groupby("loan_id")
    expected_overdue = grouped["due_amt"].cumsum() - grouped["paid_amt"].cumsum()
    assert np.allclose(lms["overdue_amt"], expected_overdue)
    assert np.allclose(lms["balance"], lms["loan_amt"] - grouped["paid_amt"].cumsum())
    assert (lms["balance"] >= 0).all()
    # some loans miss and cure, some stay in arrears
    assert (later["overdue_amt"] > 0).mean() > 0.03
    assert (later["paid_amt"] > later["due_amt"]).any()


def test_loans_per_customer_do_not_overlap(clean_world):
    lms = read_csv(clean_world.path / "lms_loan_daily.csv")
    first = lms[lms["installment_num"] == "0"].assign(
        start=lambda d: pd.to_datetime(d["loan_start_date"]), tenure=lambda d: d["tenure"].astype(int)
    )
    per_customer = first.groupby("Customer_ID").size()
    assert per_customer.max() == 2 and per_customer.min() == 1
    assert 0.02 < (per_customer == 2).mean() < 0.3
    seconds = first[first["loan_id"].str.endswith("_2")].set_index("Customer_ID")
    firsts = first[first["loan_id"].str.endswith("_1")].set_index("Customer_ID").loc[seconds.index]
    end_first = [
        s + pd.DateOffset(months=int(t)) for s, t in zip(firsts["start"], firsts["tenure"], strict=True)
    ]
    assert (seconds["start"].to_numpy() > np.array(end_first, dtype="datetime64[ns]")).all()


def test_onboarding_before_first_loan_and_clickstream_monthly(clean_world):
    path = clean_world.path
    lms = read_csv(path / "lms_loan_daily.csv")
    first_loan = lms.groupby("Customer_ID")["loan_start_date"].min()
    onboard = {
        name: read_csv(path / name).groupby("Customer_ID")["snapshot_date"].min()
        for name in ("features_attributes.csv", "features_financials.csv", "feature_clickstream.csv")
    }
    onb = onboard["features_attributes.csv"]
    assert onb.equals(onboard["features_financials.csv"]) and onb.equals(onboard["feature_clickstream.csv"])
    assert (onb.loc[first_loan.index] <= first_loan).all()
    first_month = clean_world.manifest["months"][0]
    assert (onb.loc[first_loan[first_loan == first_month].index] == first_month).all()
    # later snapshots exist and change values
    fin = read_csv(path / "features_financials.csv")
    assert (fin.groupby("Customer_ID").size() > 1).mean() > 0.3
    repeated = fin[fin.duplicated("Customer_ID", keep=False)]
    assert repeated.groupby("Customer_ID")["Num_Credit_Inquiries"].nunique().max() > 1
    # clickstream: one row per month from onboarding to the end
    click = read_csv(path / "feature_clickstream.csv")
    n_months = len(clean_world.manifest["months"])
    onb_index = onb.map({m: i for i, m in enumerate(clean_world.manifest["months"])})
    expected = n_months - onb_index
    assert click.groupby("Customer_ID").size().loc[expected.index].equals(expected)


def test_edges_after_both_parties_onboarded(clean_world):
    path = clean_world.path
    onb = read_csv(path / "features_attributes.csv").groupby("Customer_ID")["snapshot_date"].min()
    rel = read_csv(path / "party_relationships.csv")
    assert set(rel["relationship_type"]) == {"supplier", "buyer", "guarantor", "shared_director"}
    assert (rel["snapshot_date"] >= rel["source_customer_id"].map(onb)).all()
    assert (rel["snapshot_date"] >= rel["target_customer_id"].map(onb)).all()
    assert (rel["source_customer_id"] != rel["target_customer_id"]).all()


def test_network_is_assortative(clean_world):
    truth = read_csv(clean_world.path / "_truth" / "latent.csv").set_index("Customer_ID")["z"].astype(float)
    rel = read_csv(clean_world.path / "party_relationships.csv").drop_duplicates(
        ["source_customer_id", "target_customer_id", "relationship_type"]
    )
    corr = np.corrcoef(rel["source_customer_id"].map(truth), rel["target_customer_id"].map(truth))[0, 1]
    assert corr > 0.3


def test_json_months_exclusive_and_complete(clean_world, clean_world_json):
    """CSV + JSON of a json_months=3 run hold exactly the rows of the all-CSV run (same seed)."""
    full, split = clean_world.path, clean_world_json.path
    json_months = clean_world_json.manifest["json_months"]
    assert json_months == clean_world.manifest["months"][-3:]
    assert sorted(p.name for p in (split / "batches").iterdir()) == sorted(
        f"{batch_id(m)}_{kind}.json" for m in json_months for kind in ("profiles", "labels")
    )
    lms_full = read_csv(full / "lms_loan_daily.csv")
    lms_csv = read_csv(split / "lms_loan_daily.csv")
    assert not lms_csv["snapshot_date"].isin(json_months).any()
    loans = []
    for month in json_months:
        payload = json.loads(
            (split / "batches" / f"{batch_id(month)}_labels.json").read_text(encoding="utf-8")
        )
        assert payload["batch_id"] == batch_id(month) and payload["snapshot_date"] == month
        loans.append(pd.DataFrame(payload["loans"]).assign(snapshot_date=month))
    combined = pd.concat([lms_csv, *loans], ignore_index=True)[lms_full.columns]
    key = ["loan_id", "snapshot_date"]
    pd.testing.assert_frame_equal(
        combined.sort_values(key).reset_index(drop=True), lms_full.sort_values(key).reset_index(drop=True)
    )
    for name, section in (
        ("features_attributes.csv", "attributes"),
        ("features_financials.csv", "financials"),
        ("feature_clickstream.csv", "clickstream"),
    ):
        table_full = read_csv(full / name)
        table_csv = read_csv(split / name)
        assert not table_csv["snapshot_date"].isin(json_months).any()
        records = []
        for month in json_months:
            payload = json.loads((split / "batches" / f"{batch_id(month)}_profiles.json").read_text("utf-8"))
            for profile in payload["profiles"]:
                if profile[section] is not None:
                    records.append(
                        {**profile[section], "Customer_ID": profile["Customer_ID"], "snapshot_date": month}
                    )
        combined = pd.concat([table_csv, pd.DataFrame(records)], ignore_index=True)[table_full.columns]
        key = ["Customer_ID", "snapshot_date"]
        pd.testing.assert_frame_equal(
            combined.sort_values(key).reset_index(drop=True),
            table_full.sort_values(key).reset_index(drop=True),
        )


def test_json_profile_shape(dirty_world):
    month = dirty_world.manifest["json_months"][-1]
    payload = json.loads(
        (dirty_world.path / "batches" / f"{batch_id(month)}_profiles.json").read_text(encoding="utf-8")
    )
    assert set(payload) == {"batch_id", "snapshot_date", "profiles"}
    assert payload["batch_id"] == batch_id(month) and payload["snapshot_date"] == month
    sections = {"attributes": "features_attributes.csv", "financials": "features_financials.csv"}
    seen = dict.fromkeys(sections, 0)
    for profile in payload["profiles"]:
        assert set(profile) == {"Customer_ID", "attributes", "financials", "clickstream", "relationships"}
        for section, name in sections.items():
            if profile[section] is not None:
                seen[section] += 1
                expected = [c for c in CONTRACT_COLUMNS[name] if c not in {"Customer_ID", "snapshot_date"}]
                assert list(profile[section]) == expected
        assert list(profile["clickstream"]) == [f"fe_{i}" for i in range(1, 21)]
        for edge in profile["relationships"]:
            assert list(edge) == ["target_customer_id", "relationship_type", "volume"]
        values = [v for s in ("attributes", "financials", "clickstream") for v in (profile[s] or {}).values()]
        assert all(v is None or isinstance(v, str) for v in values)
    assert all(seen.values())
    counts = dirty_world.manifest["json_batches"]["batches"][batch_id(month)]
    assert counts["profiles"] == len(payload["profiles"])
    labels = json.loads((dirty_world.path / "batches" / f"{batch_id(month)}_labels.json").read_text("utf-8"))
    assert set(labels) == {"batch_id", "snapshot_date", "loans"} and len(labels["loans"]) == counts["loans"]
    assert list(labels["loans"][0]) == CONTRACT_COLUMNS["lms_loan_daily.csv"][:-1]


def test_deterministic_byte_identical(tmp_path):
    kwargs = {"n_customers": 300, "seed": 5, "json_months": 2, "write_truth": True}
    a = generate(tmp_path / "a", **kwargs)
    b = generate(tmp_path / "b", **kwargs)
    c = generate(tmp_path / "c", **{**kwargs, "seed": 6})
    files_a = sorted(p.relative_to(a.output_dir) for p in a.output_dir.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b.output_dir) for p in b.output_dir.rglob("*") if p.is_file())
    assert files_a == files_b and len(files_a) == 5 + 4 + 2
    for rel in files_a:
        assert (a.output_dir / rel).read_bytes() == (b.output_dir / rel).read_bytes(), rel
    assert (a.output_dir / "lms_loan_daily.csv").read_bytes() != (
        c.output_dir / "lms_loan_daily.csv"
    ).read_bytes()


def test_small_ranges_and_sizes(tmp_path):
    one = generate(tmp_path / "one", n_customers=1, start=date(2024, 3, 1), end=date(2024, 3, 1))
    assert one.months == ("2024-03-01",) and one.rows["lms_loan_daily.csv"] == 1 and one.drift_months == ()
    short = generate(tmp_path / "short", n_customers=40, start="2022-11-01", end="2023-02-01", json_months=4)
    assert short.csv_months == () and all(v == 0 for v in short.rows.values())
    assert len(short.json_files) == 8
