"""The feature dictionary: every gold feature with its group, source, type and meaning.

It is the gold table's schema (enforced at the gold boundary) and its documentation
(``docs/feature_dictionary.md`` is generated from it: ``python -m kycc.features.dictionary``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["FEATURES", "GOLD_FEATURE_SCHEMA", "KEY_COLUMNS", "Feature", "render_markdown"]


@dataclass(frozen=True)
class Feature:
    name: str
    group: str  # kyc | financial | behavioural | network | loan | history | lineage
    source: str
    dtype: str
    meaning: str


KEY_COLUMNS = {
    "loan_id": "string",
    "customer_id": "string",
    "application_date": "date",
    "snapshot_date": "date",
}

_K, _F, _B, _N, _L, _H, _A = "kyc", "financial", "behavioural", "network", "loan", "history", "lineage"
_ATTR, _FIN, _CLK, _REL, _LMS = (
    "features_attributes",
    "features_financials",
    "feature_clickstream",
    "party_relationships",
    "lms_loan_daily",
)

FEATURES: tuple[Feature, ...] = (
    # the application itself (the MOB 0 row of the loan book)
    Feature("loan_amt", _L, _LMS, "float64", "Amount of the loan applied for."),
    Feature("tenure", _L, _LMS, "int64", "Number of monthly instalments of the loan."),
    # KYC (latest attributes snapshot on or before the application date)
    Feature("age", _K, _ATTR, "int64", "Age in years (null when implausible: outside 18..100)."),
    Feature("occupation", _K, _ATTR, "string", "Occupation (null for the '_______' placeholder)."),
    Feature("kyc_verified", _K, _ATTR, "int64", "1 when the party's KYC check passed, 0 otherwise."),
    Feature("party_type", _K, _ATTR, "string", "Kind of party (individual, sole trader, company…)."),
    Feature("country", _K, _ATTR, "string", "Country of the party."),
    Feature(
        "customer_tenure_months",
        _K,
        _ATTR,
        "int64",
        "Months between the party's registration and the application.",
    ),
    Feature("ssn_valid", _K, _ATTR, "int64", "1 when the SSN is present and well formed (NNN-NN-NNNN)."),
    # financial (latest financials snapshot on or before the application date)
    Feature("annual_income", _F, _FIN, "float64", "Declared annual income."),
    Feature("monthly_inhand_salary", _F, _FIN, "float64", "Monthly take-home salary."),
    Feature("num_bank_accounts", _F, _FIN, "int64", "Number of bank accounts."),
    Feature("num_credit_card", _F, _FIN, "int64", "Number of credit cards."),
    Feature("interest_rate", _F, _FIN, "float64", "Interest rate on existing credit (%)."),
    Feature("num_of_loan", _F, _FIN, "int64", "Number of existing loans."),
    Feature("num_loan_types", _F, _FIN, "int64", "Number of distinct loan types held (from Type_of_Loan)."),
    Feature("delay_from_due_date", _F, _FIN, "int64", "Average days of delay from the due date."),
    Feature("num_of_delayed_payment", _F, _FIN, "int64", "Number of delayed payments."),
    Feature("changed_credit_limit", _F, _FIN, "float64", "Recent change of the credit limit (%)."),
    Feature("num_credit_inquiries", _F, _FIN, "int64", "Number of credit inquiries."),
    Feature("credit_mix", _F, _FIN, "string", "Credit mix: Good, Standard or Bad (null for '_')."),
    Feature("outstanding_debt", _F, _FIN, "float64", "Outstanding debt."),
    Feature("credit_utilization_ratio", _F, _FIN, "float64", "Credit utilisation (%)."),
    Feature(
        "credit_history_age_months",
        _F,
        _FIN,
        "int64",
        "Length of credit history in months (from '22 Years and 1 Months').",
    ),
    Feature(
        "payment_of_min_amount", _F, _FIN, "string", "Pays only the minimum amount: Yes/No (null for 'NM')."
    ),
    Feature(
        "total_emi_per_month", _F, _FIN, "float64", "Total monthly instalments (EMI) on existing credit."
    ),
    Feature("amount_invested_monthly", _F, _FIN, "float64", "Amount invested per month."),
    Feature("payment_behaviour", _F, _FIN, "string", "Spending/payment behaviour class (null for '!@9#%8')."),
    Feature("monthly_balance", _F, _FIN, "float64", "Average monthly balance."),
    Feature("debt_to_income", _F, _FIN, "float64", "outstanding_debt / annual_income (null if income <= 0)."),
    Feature("emi_to_salary", _F, _FIN, "float64", "total_emi_per_month / monthly_inhand_salary."),
    Feature("loan_to_income", _F, f"{_FIN}, {_LMS}", "float64", "loan_amt / annual_income."),
    # behavioural (clickstream)
    *(
        Feature(
            f"fe_{i}",
            _B,
            _CLK,
            "float64",
            f"Clickstream feature {i}: latest monthly value on or before the application date.",
        )
        for i in range(1, 21)
    ),
    Feature(
        "click_months_observed",
        _B,
        _CLK,
        "int64",
        "Months of clickstream observed in the lookback window up to the application date.",
    ),
    Feature(
        "click_fe_mean_lookback",
        _B,
        _CLK,
        "float64",
        "Mean over the lookback window of the average of fe_1..fe_20 (activity level).",
    ),
    # network (party_relationships within the lookback window, both directions)
    Feature("net_degree", _N, _REL, "int64", "Distinct counterparties linked to the party."),
    Feature("net_weighted_exposure", _N, _REL, "float64", "Total relationship volume with counterparties."),
    Feature("net_guarantor_links", _N, _REL, "int64", "Guarantor relationships."),
    Feature("net_shared_director_links", _N, _REL, "int64", "Shared-director relationships."),
    Feature("net_trade_links", _N, _REL, "int64", "Supplier and buyer relationships."),
    Feature(
        "net_counterparty_arrears_share",
        _N,
        f"{_REL}, {_LMS}",
        "float64",
        "Share of counterparties with a loan in arrears (overdue > 0) in the loan-book snapshots of the "
        "lookback window up to the application date.",
    ),
    # the party's own history in the loan book (snapshots strictly before the application)
    Feature("prior_loans", _H, _LMS, "int64", "Earlier loans of the party started before this application."),
    Feature(
        "prior_max_overdue",
        _H,
        _LMS,
        "float64",
        "Largest overdue amount on the party's earlier loans in snapshots before the application.",
    ),
    Feature(
        "prior_delinquent",
        _H,
        _LMS,
        "int64",
        "1 when an earlier loan was ever overdue before the application.",
    ),
    # lineage: which snapshot each group came from (never after application_date)
    Feature("kyc_as_of", _A, _ATTR, "date", "Snapshot date of the attributes used."),
    Feature("financial_as_of", _A, _FIN, "date", "Snapshot date of the financials used."),
    Feature("behavioural_as_of", _A, _CLK, "date", "Snapshot date of the latest clickstream used."),
    Feature("network_as_of", _A, _REL, "date", "Latest relationship snapshot used."),
)

GOLD_FEATURE_SCHEMA: dict[str, str] = {**KEY_COLUMNS, **{f.name: f.dtype for f in FEATURES}}


def render_markdown() -> str:
    """The feature dictionary as a Markdown document."""
    lines = [
        "# Feature dictionary",
        "",
        "Gold feature store (`feat_gold_features`): one row per loan application (the loan at MOB 0), every",
        "value as known at the application date. Generated from `src/kycc/features/dictionary.py`",
        "(`python -m kycc.features.dictionary > docs/feature_dictionary.md`).",
        "",
        "Keys: " + ", ".join(f"`{k}` ({v})" for k, v in KEY_COLUMNS.items()) + ".",
        "",
        "| feature | group | source | type | meaning |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| `{f.name}` | {f.group} | {f.source} | {f.dtype} | {f.meaning} |" for f in FEATURES]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - documentation generator
    import sys

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    if target:
        target.write_text(render_markdown(), encoding="utf-8")
    else:
        sys.stdout.write(render_markdown())
