"""Hand-made raw exports for tests: a tiny lender world written exactly as the contract says."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from kycc.medallion.schemas import get_schema

FILES = {
    "lms": "lms_loan_daily.csv",
    "attributes": "features_attributes.csv",
    "financials": "features_financials.csv",
    "clickstream": "feature_clickstream.csv",
    "relationships": "party_relationships.csv",
}


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})
    return path


def month(i: int) -> str:
    """2023-01-01 for i=0, one month per step."""
    y, m = divmod(i, 12)
    return f"{2023 + y}-{m + 1:02d}-01"


def loan_rows(
    loan_id: str,
    customer: str,
    start: int,
    tenure: int,
    missed_from: int | None = None,
    amount: float = 1200.0,
    months: int | None = None,
) -> list[dict]:
    """Monthly LMS rows; from instalment ``missed_from`` on nothing is paid (overdue accumulates)."""
    due = round(amount / tenure, 2)
    rows, overdue, balance = [], 0.0, amount
    last = tenure if months is None else min(tenure, months - 1)
    for k in range(last + 1):
        if k == 0:
            due_k, paid = 0.0, 0.0
        else:
            due_k = due
            paid = 0.0 if missed_from is not None and k >= missed_from else due
            overdue += due_k - paid
            balance -= paid
        rows.append(
            {
                "loan_id": loan_id,
                "Customer_ID": customer,
                "loan_start_date": month(start),
                "tenure": tenure,
                "installment_num": k,
                "loan_amt": amount,
                "due_amt": due_k,
                "paid_amt": paid,
                "overdue_amt": round(overdue, 2),
                "balance": round(balance, 2),
                "snapshot_date": month(start + k),
            }
        )
    return rows


def attributes_row(customer: str, snap: int, age="35", occupation="Engineer", **extra) -> dict:
    return {
        "Customer_ID": customer,
        "Name": f"Name {customer}",
        "Age": age,
        "SSN": "123-45-6789",
        "Occupation": occupation,
        "kyc_verified": "True",
        "party_type": "individual",
        "country": "KE",
        "registration_date": month(max(snap - 12, 0)),
        "snapshot_date": month(snap),
        **extra,
    }


def financials_row(customer: str, snap: int, income="50000", **extra) -> dict:
    row = {
        "Customer_ID": customer,
        "Annual_Income": income,
        "Monthly_Inhand_Salary": "3500",
        "Num_Bank_Accounts": "3",
        "Num_Credit_Card": "2",
        "Interest_Rate": "12",
        "Num_of_Loan": "2",
        "Type_of_Loan": "Auto Loan, and Personal Loan",
        "Delay_from_due_date": "5",
        "Num_of_Delayed_Payment": "3",
        "Changed_Credit_Limit": "4.5",
        "Num_Credit_Inquiries": "2",
        "Credit_Mix": "Good",
        "Outstanding_Debt": "10000",
        "Credit_Utilization_Ratio": "30.5",
        "Credit_History_Age": "10 Years and 2 Months",
        "Payment_of_Min_Amount": "No",
        "Total_EMI_per_month": "300",
        "Amount_invested_monthly": "200",
        "Payment_Behaviour": "Low_spent_Small_value_payments",
        "Monthly_Balance": "900",
        "snapshot_date": month(snap),
    }
    row.update(extra)
    return row


def clickstream_row(customer: str, snap: int, value: float = 1.0) -> dict:
    return {**{f"fe_{i}": value for i in range(1, 21)}, "Customer_ID": customer, "snapshot_date": month(snap)}


def write_world(root: Path, tables: dict[str, list[dict]], batches: dict[str, dict] | None = None) -> Path:
    """Write the five raw CSVs (empty tables get a header only) and optional JSON batch files."""
    raw = root / "01_raw"
    for source, name in FILES.items():
        write_csv(raw / name, get_schema(source).raw_columns, tables.get(source, []))
    for file_name, payload in (batches or {}).items():
        (raw / "batches").mkdir(parents=True, exist_ok=True)
        (raw / "batches" / file_name).write_text(json.dumps(payload), encoding="utf-8")
    return raw


def tiny_world() -> dict[str, list[dict]]:
    """Three customers over 10 months: C1 pays, C2 defaults from instalment 4, C3 misses one and cures."""
    lms = (
        loan_rows("L1", "C1", 1, 8) + loan_rows("L2", "C2", 1, 8, missed_from=4) + loan_rows("L3", "C3", 2, 8)
    )
    attributes = [attributes_row(c, 0) for c in ("C1", "C2", "C3")] + [attributes_row("C1", 5, age="36")]
    financials = [financials_row(c, 0) for c in ("C1", "C2", "C3")]
    clickstream = [clickstream_row(c, m) for c in ("C1", "C2", "C3") for m in range(10)]
    relationships = [
        {
            "source_customer_id": "C1",
            "target_customer_id": "C2",
            "relationship_type": "supplier",
            "volume": "1000",
            "snapshot_date": month(0),
        }
    ]
    return {
        "lms": lms,
        "attributes": attributes,
        "financials": financials,
        "clickstream": clickstream,
        "relationships": relationships,
    }
