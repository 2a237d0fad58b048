"""The raw sources and how each raw column becomes a typed silver column.

One ``SourceSchema`` per source is the single description of its raw columns, silver names and types, keys
and validation: the bronze, silver and quality code all read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SOURCES", "Column", "SourceSchema", "get_schema"]

# Column kinds: how raw text is parsed in silver.
#   text: trimmed string          float/int: number, stray underscores removed
#   date: ISO date                bool: true/false/yes/no/1/0
#   duration: "22 Years and 1 Months" -> months (int)


@dataclass(frozen=True)
class Column:
    raw: str
    silver: str
    kind: str = "text"
    required: bool = False  # null after parsing -> the row is quarantined ("missing_value:<raw>")
    non_negative: bool = False  # a negative value -> quarantined ("invalid_value:<raw>") for loan amounts


@dataclass(frozen=True)
class SourceSchema:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # silver names; unique per snapshot month after dedup
    allowed_values: dict[str, tuple[str, ...]] = field(default_factory=dict)  # silver name -> valid values

    @property
    def raw_columns(self) -> list[str]:
        return [c.raw for c in self.columns]

    def column(self, silver: str) -> Column:
        return next(c for c in self.columns if c.silver == silver)


_LMS = SourceSchema(
    name="lms",
    columns=(
        Column("loan_id", "loan_id", required=True),
        Column("Customer_ID", "customer_id", required=True),
        Column("loan_start_date", "loan_start_date", "date", required=True),
        Column("tenure", "tenure", "int", required=True, non_negative=True),
        Column("installment_num", "installment_num", "int", required=True, non_negative=True),
        Column("loan_amt", "loan_amt", "float", required=True, non_negative=True),
        Column("due_amt", "due_amt", "float", required=True, non_negative=True),
        Column("paid_amt", "paid_amt", "float", non_negative=True),
        Column("overdue_amt", "overdue_amt", "float", required=True, non_negative=True),
        Column("balance", "balance", "float", non_negative=True),
        Column("snapshot_date", "snapshot_date", "date", required=True),
    ),
    key=("loan_id", "snapshot_date"),
)

_ATTRIBUTES = SourceSchema(
    name="attributes",
    columns=(
        Column("Customer_ID", "customer_id", required=True),
        Column("Name", "name"),
        Column("Age", "age", "int"),
        Column("SSN", "ssn"),
        Column("Occupation", "occupation"),
        Column("kyc_verified", "kyc_verified", "bool"),
        Column("party_type", "party_type"),
        Column("country", "country"),
        Column("registration_date", "registration_date", "date"),
        Column("snapshot_date", "snapshot_date", "date", required=True),
    ),
    key=("customer_id", "snapshot_date"),
)

_FIN_FLOATS = (
    "Annual_Income",
    "Monthly_Inhand_Salary",
    "Interest_Rate",
    "Changed_Credit_Limit",
    "Outstanding_Debt",
    "Credit_Utilization_Ratio",
    "Total_EMI_per_month",
    "Amount_invested_monthly",
    "Monthly_Balance",
)
_FIN_INTS = (
    "Num_Bank_Accounts",
    "Num_Credit_Card",
    "Num_of_Loan",
    "Delay_from_due_date",
    "Num_of_Delayed_Payment",
    "Num_Credit_Inquiries",
)
_FINANCIALS = SourceSchema(
    name="financials",
    columns=(
        Column("Customer_ID", "customer_id", required=True),
        *(Column(c, c.lower(), "float") for c in _FIN_FLOATS),
        *(Column(c, c.lower(), "int") for c in _FIN_INTS),
        Column("Type_of_Loan", "type_of_loan"),
        Column("Credit_Mix", "credit_mix"),
        Column("Credit_History_Age", "credit_history_age_months", "duration"),
        Column("Payment_of_Min_Amount", "payment_of_min_amount"),
        Column("Payment_Behaviour", "payment_behaviour"),
        Column("snapshot_date", "snapshot_date", "date", required=True),
    ),
    key=("customer_id", "snapshot_date"),
)

_CLICKSTREAM = SourceSchema(
    name="clickstream",
    columns=(
        Column("Customer_ID", "customer_id", required=True),
        *(Column(f"fe_{i}", f"fe_{i}", "float") for i in range(1, 21)),
        Column("snapshot_date", "snapshot_date", "date", required=True),
    ),
    key=("customer_id", "snapshot_date"),
)

RELATIONSHIP_TYPES = ("supplier", "buyer", "guarantor", "shared_director")
_RELATIONSHIPS = SourceSchema(
    name="relationships",
    columns=(
        Column("source_customer_id", "source_customer_id", required=True),
        Column("target_customer_id", "target_customer_id", required=True),
        Column("relationship_type", "relationship_type", required=True),
        Column("volume", "volume", "float"),
        Column("snapshot_date", "snapshot_date", "date", required=True),
    ),
    key=("source_customer_id", "target_customer_id", "relationship_type", "snapshot_date"),
    allowed_values={"relationship_type": RELATIONSHIP_TYPES},
)

SOURCES: dict[str, SourceSchema] = {
    s.name: s for s in (_LMS, _ATTRIBUTES, _FINANCIALS, _CLICKSTREAM, _RELATIONSHIPS)
}


def get_schema(source: str) -> SourceSchema:
    """The schema of a source, or a ``ValueError`` listing the known ones."""
    try:
        return SOURCES[source]
    except KeyError:
        raise ValueError(f"unknown source {source!r}; known sources: {sorted(SOURCES)}") from None
