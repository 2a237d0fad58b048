"""Loans and their monthly performance (the LMS snapshots), driven by the latent creditworthiness."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from kycc.synthetic.table import RawTable, fmt_int, fmt_money, fmt_str, sort_rows
from kycc.synthetic.world import World

logger = logging.getLogger(__name__)

__all__ = ["LMS_COLUMNS", "Loans", "build_lms", "label_outcomes", "simulate_loans"]

TENURES = np.array([10, 12, 15, 18, 24])
_TENURE_P = np.array([0.15, 0.3, 0.15, 0.2, 0.2])
#: Share of customers who take a second loan after the first one ends (when it fits in the range).
SECOND_LOAN_P = 0.45
# Delinquency roll-rate model, on the logit scale of the performance score s = z_t + loan frailty - burden:
#   current loan:   P(miss)  = sigmoid(MISS_A - MISS_B * s)
#   in arrears:     P(cure)  = sigmoid(CURE_A + CURE_B * s - CURE_DEPTH * (missed - 1)); pays due + overdue
#                   P(miss again) = (1 - P(cure)) * ROLL; otherwise pays only the instalment due
MISS_A, MISS_B = -4.0, 1.45
CURE_A, CURE_B, CURE_DEPTH = -0.6, 0.8, 0.5
ROLL = 0.7
FRAILTY_SD = 0.3
BURDEN_EFFECT = 1.5


@dataclass(frozen=True)
class Loans:
    """Loans (arrays by loan) and their LMS rows (arrays by loan snapshot)."""

    cust: np.ndarray
    seq: np.ndarray
    start: np.ndarray
    tenure: np.ndarray
    due: np.ndarray
    amount: np.ndarray
    # LMS rows
    row_loan: np.ndarray
    row_k: np.ndarray
    row_month: np.ndarray
    row_due: np.ndarray
    row_paid: np.ndarray
    row_overdue: np.ndarray
    row_balance: np.ndarray
    row_missed: np.ndarray  # instalments in arrears (overdue / due)
    cum_misses: np.ndarray  # (customers, months) missed instalments so far, all loans


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def simulate_loans(world: World, rng: np.random.Generator) -> Loans:
    """Draw each customer's loans (1, sometimes 2 non-overlapping) and simulate their repayment."""
    n, t_count = world.n, world.n_months
    tenure1 = rng.choice(TENURES, size=n, p=_TENURE_P)
    tenure2 = rng.choice(TENURES, size=n, p=_TENURE_P)
    start2 = world.first_start + tenure1 + 1 + rng.integers(0, 4, size=n)
    second = (rng.random(n) < SECOND_LOAN_P) & (start2 <= t_count - 1)
    idx2 = np.flatnonzero(second)
    cust = np.concatenate([np.arange(n), idx2])
    seq = np.concatenate([np.ones(n, int), np.full(len(idx2), 2)])
    start = np.concatenate([world.first_start, start2[idx2]])
    tenure = np.concatenate([tenure1, tenure2[idx2]])
    n_loans = len(cust)

    income = np.exp(world.log_income[cust])
    share = rng.uniform(0.15, 0.6, size=n_loans)
    due = np.maximum(np.round(income * share / tenure, -1), 50.0)  # whole numbers: overdue/due is exact
    amount = due * tenure
    burden = due * 12 / income
    frailty = FRAILTY_SD * rng.standard_normal(n_loans)

    k_max = int(tenure.max())
    last_k = np.minimum(tenure, t_count - 1 - start)
    shape = (n_loans, k_max + 1)
    paid_m = np.zeros(shape)
    missed_m = np.zeros(shape, dtype=np.int64)
    due_m = np.zeros(shape)
    miss_event = np.zeros(shape, dtype=bool)
    missed = np.zeros(n_loans, dtype=np.int64)
    for k in range(1, k_max + 1):
        act = k <= last_k
        month = np.minimum(start + k, t_count - 1)
        score = world.z_t[cust, month] + frailty - BURDEN_EFFECT * (burden - 0.25)
        draw = rng.random(n_loans)
        current = missed == 0
        p_miss = _sigmoid(MISS_A - MISS_B * score)
        p_cure = _sigmoid(CURE_A + CURE_B * score - CURE_DEPTH * np.maximum(missed - 1, 0))
        miss = np.where(current, draw < p_miss, draw >= p_cure + (1 - p_cure) * (1 - ROLL))
        cure = ~current & (draw < p_cure)
        miss &= act
        cure &= act
        paid = np.where(miss, 0.0, np.where(cure, due * (missed + 1), due))
        missed = np.where(miss, missed + 1, np.where(cure, 0, missed))
        paid_m[:, k] = np.where(act, paid, 0.0)
        due_m[:, k] = np.where(act, due, 0.0)
        missed_m[:, k] = missed
        miss_event[:, k] = miss

    rows = np.arange(k_max + 1)[None, :] <= last_k[:, None]
    row_loan, row_k = np.nonzero(rows)
    cum_paid = np.cumsum(paid_m, axis=1)
    row_month = start[row_loan] + row_k
    row_missed = missed_m[row_loan, row_k]
    row_due = due_m[row_loan, row_k]
    row_overdue = row_missed * due[row_loan]
    row_balance = amount[row_loan] - cum_paid[row_loan, row_k]

    cum_misses = np.zeros((n, t_count), dtype=np.int64)
    ev_loan, ev_k = np.nonzero(miss_event)
    np.add.at(cum_misses, (cust[ev_loan], start[ev_loan] + ev_k), 1)
    cum_misses = np.cumsum(cum_misses, axis=1)
    logger.debug("loans: %d loans (%d second), %d LMS rows", n_loans, len(idx2), len(row_loan))
    return Loans(
        cust=cust,
        seq=seq,
        start=start,
        tenure=tenure,
        due=due,
        amount=amount,
        row_loan=row_loan,
        row_k=row_k,
        row_month=row_month,
        row_due=row_due,
        row_paid=paid_m[row_loan, row_k],
        row_overdue=row_overdue,
        row_balance=row_balance,
        row_missed=row_missed,
        cum_misses=cum_misses,
    )


def label_outcomes(
    loans: Loans, month_dates: np.ndarray, mob: int = 6, dpd_threshold: int = 30
) -> np.ndarray:
    """Labels of the loans that reached ``mob`` in the range, with the label store's semantics.

    ``dpd`` = days between the snapshot and the snapshot minus ``installments_missed`` calendar months.
    Returns a ``(loan_index, label)`` array of shape ``(k, 2)``.
    """
    at_mob = loans.row_k == mob
    month = loans.row_month[at_mob]
    missed = loans.row_missed[at_mob]
    first_missed = np.maximum(month - missed, 0)
    dpd = np.where(missed > 0, (month_dates[month] - month_dates[first_missed]).astype(int), 0)
    label = (dpd >= dpd_threshold).astype(np.int64)
    return np.column_stack([loans.row_loan[at_mob], label])


LMS_COLUMNS = [
    "loan_id", "Customer_ID", "loan_start_date", "tenure", "installment_num", "loan_amt", "due_amt", "paid_amt",
    "overdue_amt", "balance", "snapshot_date",
]  # fmt: skip


def build_lms(world: World, loans: Loans, month_str: np.ndarray) -> RawTable:
    """The LMS export: one row per loan per month from installment 0 to the tenure (or the range end)."""
    order = sort_rows(loans.row_month, loans.cust[loans.row_loan], loans.seq[loans.row_loan])
    loan = loans.row_loan[order]
    month = loans.row_month[order]
    cust = loans.cust[loan]
    loan_ids = np.char.add(
        np.char.add(np.char.add("LOAN_0x", world.hex_id[loans.cust]), "_"), loans.seq.astype(str)
    )
    data = {
        "loan_id": fmt_str(loan_ids[loan]),
        "Customer_ID": fmt_str(world.customer_id[cust]),
        "loan_start_date": fmt_str(month_str[loans.start[loan]]),
        "tenure": fmt_int(loans.tenure[loan]),
        "installment_num": fmt_int(loans.row_k[order]),
        "loan_amt": fmt_money(loans.amount[loan]),
        "due_amt": fmt_money(loans.row_due[order]),
        "paid_amt": fmt_money(loans.row_paid[order]),
        "overdue_amt": fmt_money(loans.row_overdue[order]),
        "balance": fmt_money(loans.row_balance[order]),
        "snapshot_date": fmt_str(month_str[month]),
    }
    return RawTable("lms_loan_daily.csv", LMS_COLUMNS, data, month, ("loan_id", "snapshot_date"), cust)
