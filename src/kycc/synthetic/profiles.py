"""Party profiles: KYC attributes, financials and clickstream, each a noisy signal of the latent z."""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kycc.synthetic.loans import Loans
from kycc.synthetic.table import RawTable, fmt_int, fmt_money, fmt_str, sort_rows
from kycc.synthetic.world import World

logger = logging.getLogger(__name__)

__all__ = [
    "ATTRIBUTE_COLUMNS",
    "CLICKSTREAM_COLUMNS",
    "FINANCIAL_COLUMNS",
    "build_attributes",
    "build_clickstream",
    "build_financials",
]

ATTRIBUTE_COLUMNS = [
    "Customer_ID", "Name", "Age", "SSN", "Occupation", "kyc_verified", "party_type", "country",
    "registration_date", "snapshot_date",
]  # fmt: skip
FINANCIAL_COLUMNS = [
    "Customer_ID", "Annual_Income", "Monthly_Inhand_Salary", "Num_Bank_Accounts", "Num_Credit_Card",
    "Interest_Rate", "Num_of_Loan", "Type_of_Loan", "Delay_from_due_date", "Num_of_Delayed_Payment",
    "Changed_Credit_Limit", "Num_Credit_Inquiries", "Credit_Mix", "Outstanding_Debt", "Credit_Utilization_Ratio",
    "Credit_History_Age", "Payment_of_Min_Amount", "Total_EMI_per_month", "Amount_invested_monthly",
    "Payment_Behaviour", "Monthly_Balance", "snapshot_date",
]  # fmt: skip
CLICKSTREAM_COLUMNS = [*(f"fe_{i}" for i in range(1, 21)), "Customer_ID", "snapshot_date"]

FIRST_NAMES = np.array([
    "Aaron", "Abena", "Akira", "Alice", "Amara", "Ana", "Arjun", "Ben", "Carla", "Chen", "Chloe", "Daniel",
    "Diego", "Elif", "Emma", "Fatima", "Felix", "Grace", "Hana", "Ines", "Ivan", "Jack", "Jana", "Jonas",
    "Kofi", "Lara", "Leo", "Lina", "Luca", "Maya", "Mei", "Nadia", "Noah", "Omar", "Priya", "Rafael", "Rosa",
    "Sam", "Sara", "Sofia", "Tariq", "Thabo", "Uma", "Vera", "Wei", "Yara", "Yusuf", "Zoe",
])  # fmt: skip
LAST_NAMES = np.array([
    "Adeyemi", "Almeida", "Bauer", "Brown", "Chen", "Costa", "Dubois", "Garcia", "Gupta", "Haddad", "Ito",
    "Jansen", "Kim", "Kowalski", "Kumar", "Lee", "Martin", "Meyer", "Moreau", "Nakamura", "Ndlovu", "Nguyen",
    "Okafor", "Patel", "Rossi", "Santos", "Schmidt", "Silva", "Singh", "Smith", "Tan", "Taylor", "Van Dijk",
    "Wang", "Williams", "Wong", "Yilmaz", "Zhang",
])  # fmt: skip
OCCUPATIONS = np.array([
    "Scientist", "Teacher", "Engineer", "Entrepreneur", "Developer", "Lawyer", "Media_Manager", "Doctor",
    "Journalist", "Manager", "Accountant", "Musician", "Mechanic", "Writer", "Architect",
])  # fmt: skip
# How much more likely safer customers are to have each occupation (a weak signal).
_OCCUPATION_TILT = np.array([0.3, 0.2, 0.3, -0.5, 0.2, 0.4, -0.2, 0.5, -0.1, 0.1, 0.3, -0.6, -0.3, -0.4, 0.2])
LOAN_TYPES = np.array([
    "Auto Loan", "Credit-Builder Loan", "Personal Loan", "Home Equity Loan", "Mortgage Loan", "Student Loan",
    "Debt Consolidation Loan", "Payday Loan",
])  # fmt: skip
PAYMENT_BEHAVIOURS = np.array([
    "Low_spent_Small_value_payments", "Low_spent_Medium_value_payments", "Low_spent_Large_value_payments",
    "High_spent_Small_value_payments", "High_spent_Medium_value_payments", "High_spent_Large_value_payments",
])  # fmt: skip
#: Clickstream features correlated with z (loading); every other fe_k is pure noise.
CLICKSTREAM_LOADINGS = {2: 0.35, 3: -0.3, 5: 0.3, 8: -0.25, 11: 0.2, 13: -0.2, 17: 0.15}
# Shifts of the financials of late applicants and drifted parties in the drift months.
DRIFT_INCOME_FACTOR = 0.9
DRIFT_UTILISATION_SHIFT = 3.0
DRIFT_INQUIRIES_SHIFT = 1


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _snapshot_rows(
    world: World, rng: np.random.Generator, p_later: float, extra: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(customer, month) of the snapshots: onboarding, plus each later month with probability ``p_later``."""
    n, t_count = world.n, world.n_months
    months = np.arange(t_count)
    snap = (months[None, :] > world.onboarding[:, None]) & (rng.random((n, t_count)) < p_later)
    snap[np.arange(n), world.onboarding] = True
    if extra is not None:
        cust, month = extra
        snap[cust, month] |= rng.random(len(cust)) < 0.6
    ci, mi = np.nonzero(snap)
    order = sort_rows(mi, ci)
    return ci[order], mi[order]


def _date_col(month_str: np.ndarray, mi: np.ndarray) -> pa.Array:
    return fmt_str(month_str[mi])


def build_attributes(world: World, rng: np.random.Generator, month_str: np.ndarray) -> RawTable:
    """KYC attributes: a snapshot at onboarding and at irregular later months."""
    n = world.n
    z = world.z
    name = np.char.add(
        np.char.add(FIRST_NAMES[rng.integers(0, len(FIRST_NAMES), n)], " "),
        LAST_NAMES[rng.integers(0, len(LAST_NAMES), n)],
    )
    ssn = rng.integers(0, 10**9, n)
    ssn_text = np.array([f"{s // 10**6:03d}-{s // 10**4 % 100:02d}-{s % 10**4:04d}" for s in ssn.tolist()])
    age_onb = np.clip(np.round(40 + 11 * (0.25 * z + 0.97 * rng.standard_normal(n))), 18, 75).astype(int)
    birth_offset = rng.integers(0, 12, n)
    occ_score = rng.gumbel(size=(n, len(OCCUPATIONS))) + 0.6 * _OCCUPATION_TILT[None, :] * z[:, None]
    occ1 = np.argmax(occ_score, axis=1)
    occ2 = rng.integers(0, len(OCCUPATIONS), n)
    occ_change = world.onboarding + 1 + rng.geometric(0.02, n)
    kyc_signal = 0.5 * z + 0.87 * rng.standard_normal(n)
    verified_at_onb = rng.random(n) < _sigmoid(1.0 + 1.2 * kyc_signal)
    verify_month = np.where(verified_at_onb, world.onboarding, world.onboarding + rng.geometric(0.12, n))
    month_dates = month_str.astype("datetime64[D]")
    reg_days = np.minimum(
        rng.exponential(np.exp(5.9 + 0.6 * (0.5 * z + 0.87 * rng.standard_normal(n)))), 5400
    )
    registration = month_dates[world.onboarding] - reg_days.astype(int).astype("timedelta64[D]")

    ci, mi = _snapshot_rows(world, rng, p_later=0.05)
    age = age_onb[ci] + (mi - world.onboarding[ci] + birth_offset[ci]) // 12
    occupation = np.where(mi >= occ_change[ci], occ2[ci], occ1[ci])
    verified = mi >= verify_month[ci]
    data = {
        "Customer_ID": fmt_str(world.customer_id[ci]),
        "Name": fmt_str(name[ci]),
        "Age": fmt_int(age),
        "SSN": fmt_str(ssn_text[ci]),
        "Occupation": fmt_str(OCCUPATIONS[occupation]),
        "kyc_verified": fmt_str(np.where(verified, "True", "False")),
        "party_type": fmt_str(world.party_type[ci]),
        "country": fmt_str(world.country[ci]),
        "registration_date": fmt_str(np.datetime_as_string(registration[ci], unit="D")),
        "snapshot_date": _date_col(month_str, mi),
    }
    return RawTable(
        "features_attributes.csv", ATTRIBUTE_COLUMNS, data, mi, ("Customer_ID", "snapshot_date"), ci
    )


def _type_of_loan(perm: np.ndarray, count: np.ndarray) -> list[str]:
    names = LOAN_TYPES.tolist()
    out = []
    for row, k in zip(perm.tolist(), count.tolist(), strict=True):
        if k <= 0:
            out.append("Not Specified")
        elif k == 1:
            out.append(names[row[0]])
        else:
            picked = [names[j] for j in row[: min(k, len(names))]]
            out.append(", ".join(picked[:-1]) + ", and " + picked[-1])
    return out


def build_financials(world: World, loans: Loans, rng: np.random.Generator, month_str: np.ndarray) -> RawTable:
    """Financial snapshots at onboarding, at most second-loan applications and at irregular later months."""
    n = world.n
    second = loans.seq == 2
    ci, mi = _snapshot_rows(world, rng, p_later=0.12, extra=(loans.cust[second], loans.start[second]))
    m = len(ci)
    zt = world.z_t[ci, mi]
    persistent = rng.standard_normal((n, 16))

    def signal(j: int, loading: float) -> np.ndarray:
        noise = 0.8 * persistent[ci, j] + 0.6 * rng.standard_normal(m)
        return loading * zt + np.sqrt(1 - loading**2) * noise

    late = (mi >= world.drift_start) & (world.drifted[ci] | (world.first_start[ci] >= world.drift_start))
    annual = np.exp(world.log_income[ci] + 0.02 * mi / 12 + 0.05 * rng.standard_normal(m))
    annual *= np.where(late, DRIFT_INCOME_FACTOR, 1.0)
    salary = annual / 12 * np.clip(0.78 + 0.05 * persistent[ci, 0], 0.65, 0.9)
    banks = np.clip(np.round(5 - 2.2 * signal(1, 0.3)), 0, 11)
    cards = np.clip(np.round(5.5 - 2.0 * signal(2, 0.25)), 1, 11)
    rate = np.clip(np.round(14 - 7 * signal(3, 0.45)), 1, 34)
    n_loans = np.clip(np.round(3.5 - 2 * signal(4, 0.3)), 0, 9).astype(int)
    delay = np.clip(np.round(20 - 13 * signal(5, 0.4)), -5, 67)
    delayed = np.clip(np.round(12 - 6 * signal(6, 0.4)), 0, 28) + np.minimum(loans.cum_misses[ci, mi], 50)
    credit_limit = np.clip(10 - 5 * signal(7, 0.15), -6, 36)
    inquiries = np.clip(np.round(5.5 - 3.5 * signal(8, 0.4)), 0, 17) + DRIFT_INQUIRIES_SHIFT * late
    mix_signal = signal(9, 0.45)
    mix = np.where(mix_signal > 0.55, "Good", np.where(mix_signal < -0.55, "Bad", "Standard"))
    debt = np.clip(np.exp(7.1 - 0.6 * signal(10, 0.3)), 0.23, 4998)
    utilisation = np.clip(32 - 4 * signal(11, 0.25), 20, 50) + DRIFT_UTILISATION_SHIFT * late
    history0 = 0.35 * world.z + np.sqrt(1 - 0.35**2) * persistent[:, 12]
    history = np.clip(np.round(190 + 85 * history0), 6, 420).astype(int)[ci] + (mi - world.onboarding[ci])
    min_amount = np.where(rng.random(m) < _sigmoid(-0.2 - 1.6 * signal(13, 0.35)), "Yes", "No")
    emi = salary * np.clip(0.02 * n_loans + 0.03 * np.abs(rng.standard_normal(m)), 0, 0.6)
    invested = salary * rng.uniform(0.03, 0.2, m)
    high_spent = rng.random(m) < _sigmoid(-0.2 - 0.6 * signal(14, 0.15))
    size = np.digitize(signal(15, 0.2), [-0.4, 0.5])
    behaviour = PAYMENT_BEHAVIOURS[high_spent * 3 + size]
    monthly_balance = salary - emi - invested - salary * rng.uniform(0.2, 0.5, m)
    perm = np.argsort(rng.random((n, len(LOAN_TYPES))), axis=1)

    history_text = pc.binary_join_element_wise(
        fmt_int(history // 12), " Years and ", fmt_int(history % 12), " Months", ""
    )
    data = {
        "Customer_ID": fmt_str(world.customer_id[ci]),
        "Annual_Income": fmt_money(annual),
        "Monthly_Inhand_Salary": fmt_money(salary),
        "Num_Bank_Accounts": fmt_int(banks),
        "Num_Credit_Card": fmt_int(cards),
        "Interest_Rate": fmt_int(rate),
        "Num_of_Loan": fmt_int(n_loans),
        "Type_of_Loan": pa.array(_type_of_loan(perm[ci], n_loans), pa.string()),
        "Delay_from_due_date": fmt_int(delay),
        "Num_of_Delayed_Payment": fmt_int(delayed),
        "Changed_Credit_Limit": fmt_money(credit_limit),
        "Num_Credit_Inquiries": fmt_int(inquiries),
        "Credit_Mix": fmt_str(mix),
        "Outstanding_Debt": fmt_money(debt),
        "Credit_Utilization_Ratio": fmt_money(utilisation),
        "Credit_History_Age": history_text,
        "Payment_of_Min_Amount": fmt_str(min_amount),
        "Total_EMI_per_month": fmt_money(emi),
        "Amount_invested_monthly": fmt_money(invested),
        "Payment_Behaviour": fmt_str(behaviour),
        "Monthly_Balance": fmt_money(monthly_balance),
        "snapshot_date": _date_col(month_str, mi),
    }
    return RawTable(
        "features_financials.csv", FINANCIAL_COLUMNS, data, mi, ("Customer_ID", "snapshot_date"), ci
    )


def build_clickstream(world: World, rng: np.random.Generator, month_str: np.ndarray) -> RawTable:
    """Clickstream: one row per customer per month from onboarding to the end of the range."""
    n = world.n
    active = world.active(np.arange(world.n_months))
    ci, mi = np.nonzero(active)
    order = sort_rows(mi, ci)
    ci, mi = ci[order], mi[order]
    m = len(ci)
    zt = world.z_t[ci, mi]
    means = rng.uniform(20, 200, 20).round()
    scales = rng.uniform(20, 80, 20).round()
    persistent = rng.standard_normal((n, 20))
    data: dict[str, pa.Array] = {}
    for k in range(1, 21):
        loading = CLICKSTREAM_LOADINGS.get(k, 0.0)
        noise = 0.6 * persistent[ci, k - 1] + 0.8 * rng.standard_normal(m)
        value = means[k - 1] + scales[k - 1] * (loading * zt + np.sqrt(1 - loading**2) * noise)
        data[f"fe_{k}"] = fmt_int(np.round(value))
    data["Customer_ID"] = fmt_str(world.customer_id[ci])
    data["snapshot_date"] = _date_col(month_str, mi)
    return RawTable(
        "feature_clickstream.csv", CLICKSTREAM_COLUMNS, data, mi, ("Customer_ID", "snapshot_date"), ci
    )
