"""Test helpers: labels and point-in-time application features computed from generated (clean) CSVs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

NUMERIC_FINANCIALS = [
    "Annual_Income", "Monthly_Inhand_Salary", "Num_Bank_Accounts", "Num_Credit_Card", "Interest_Rate",
    "Num_of_Loan", "Delay_from_due_date", "Num_of_Delayed_Payment", "Changed_Credit_Limit",
    "Num_Credit_Inquiries", "Outstanding_Debt", "Credit_Utilization_Ratio", "Total_EMI_per_month",
    "Amount_invested_monthly", "Monthly_Balance",
]  # fmt: skip


def read_csv(path: Path) -> pd.DataFrame:
    """Read a generated CSV with every column as text."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def labels(raw: Path, mob: int = 6, dpd: int = 30) -> pd.DataFrame:
    """The label store's semantics: ceil(overdue/due) missed instalments, dpd by calendar months, at MOB 6."""
    lms = read_csv(raw / "lms_loan_daily.csv").drop_duplicates()
    lms = lms[lms["installment_num"].astype(int) == mob].copy()
    overdue = lms["overdue_amt"].astype(float)
    due = lms["due_amt"].astype(float)
    missed = np.where(due > 0, np.ceil(overdue / due.where(due > 0, 1)), 0).astype(int)
    snap = pd.to_datetime(lms["snapshot_date"])
    first = pd.Series(
        [s - pd.DateOffset(months=int(m)) for s, m in zip(snap, missed, strict=True)], index=lms.index
    )
    days = np.where(overdue > 0, (snap - first).dt.days, 0)
    return pd.DataFrame({"loan_id": lms["loan_id"].to_numpy(), "label": (days >= dpd).astype(int)})


def application_features(raw: Path) -> pd.DataFrame:
    """One row per loan application (MOB 0) with features known at the application date, and its label."""
    lms = read_csv(raw / "lms_loan_daily.csv").drop_duplicates()
    apps = lms[lms["installment_num"] == "0"][
        ["loan_id", "Customer_ID", "snapshot_date", "loan_amt", "tenure"]
    ]
    apps = apps.assign(
        app_date=pd.to_datetime(apps["snapshot_date"]),
        loan_amt=apps["loan_amt"].astype(float),
        tenure=apps["tenure"].astype(float),
    ).drop(columns="snapshot_date")

    fin = read_csv(raw / "features_financials.csv").drop_duplicates()
    fin_num = fin[NUMERIC_FINANCIALS].astype(float)
    fin_num["credit_mix"] = fin["Credit_Mix"].map({"Bad": 0.0, "Standard": 1.0, "Good": 2.0})
    fin_num["min_amount"] = (fin["Payment_of_Min_Amount"] == "Yes").astype(float)
    years = fin["Credit_History_Age"].str.extract(r"(\d+) Years and (\d+) Months").astype(float)
    fin_num["history_months"] = years[0] * 12 + years[1]
    fin_num["Customer_ID"] = fin["Customer_ID"]
    fin_num["fin_date"] = pd.to_datetime(fin["snapshot_date"])

    attr = read_csv(raw / "features_attributes.csv").drop_duplicates()
    attr_num = pd.DataFrame({
        "Customer_ID": attr["Customer_ID"],
        "attr_date": pd.to_datetime(attr["snapshot_date"]),
        "age": attr["Age"].astype(float),
        "kyc_verified": (attr["kyc_verified"] == "True").astype(float),
        "kyc_days": (pd.to_datetime(attr["snapshot_date"]) - pd.to_datetime(attr["registration_date"])).dt.days,
    })  # fmt: skip

    out = apps.sort_values("app_date")
    out = pd.merge_asof(out, fin_num.sort_values("fin_date"), left_on="app_date", right_on="fin_date",
                        by="Customer_ID", direction="backward")  # fmt: skip
    out = pd.merge_asof(out, attr_num.sort_values("attr_date"), left_on="app_date", right_on="attr_date",
                        by="Customer_ID", direction="backward")  # fmt: skip
    out["burden"] = out["loan_amt"] / out["tenure"] * 12 / out["Annual_Income"]

    click = read_csv(raw / "feature_clickstream.csv").drop_duplicates()
    fe_cols = [f"fe_{i}" for i in range(1, 21)]
    click_num = click[fe_cols].astype(float)
    click_num["Customer_ID"] = click["Customer_ID"]
    click_num["click_date"] = pd.to_datetime(click["snapshot_date"])
    merged = out[["loan_id", "Customer_ID", "app_date"]].merge(click_num, on="Customer_ID")
    merged = merged[(merged["click_date"] <= merged["app_date"])
                    & (merged["click_date"] > merged["app_date"] - pd.DateOffset(months=3))]  # fmt: skip
    out = out.merge(merged.groupby("loan_id")[fe_cols].mean(), on="loan_id", how="left")

    out = out.merge(labels(raw), on="loan_id", how="inner")
    return out.sort_values(["app_date", "loan_id"]).reset_index(drop=True)


FEATURES = [
    *NUMERIC_FINANCIALS, "credit_mix", "min_amount", "history_months", "age", "kyc_verified", "kyc_days",
    "burden", "loan_amt", "tenure", *(f"fe_{i}" for i in range(1, 21)),
]  # fmt: skip


def psi(expected: np.ndarray, actual: np.ndarray, bins: int = 10) -> float:
    """Population stability index of ``actual`` against ``expected`` (quantile bins of ``expected``)."""
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)))
    edges[0], edges[-1] = -np.inf, np.inf
    e = np.histogram(expected, edges)[0] / len(expected)
    a = np.histogram(actual, edges)[0] / len(actual)
    e, a = np.clip(e, 1e-4, None), np.clip(a, 1e-4, None)
    return float(np.sum((a - e) * np.log(a / e)))
