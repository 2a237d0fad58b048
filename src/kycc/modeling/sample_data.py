"""A small synthetic model-input table in the shape of the training contract (tests, benchmarks, docs).

Not the project's data generator (``kycc generate`` builds the raw world); this produces directly what the
``model_input`` pipeline outputs — one row per labelled loan: ids, ``application_date``, ``label_date``
(application + 6 months), ``label`` and features that are noisy signals of a latent creditworthiness, with
missing values and categorical columns, so a good model reaches a realistic ROC-AUC (≈ 0.75–0.85).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kycc.temporal.months import add_months, to_month

__all__ = ["make_model_input"]

OCCUPATIONS = ["Engineer", "Teacher", "Doctor", "Lawyer", "Mechanic", "Writer", "Manager", "Scientist"]


def make_model_input(
    n_rows: int = 6000,
    *,
    start: str = "2023-01-01",
    n_months: int = 18,
    seed: int = 0,
    default_rate: float = 0.15,
    signal: float = 1.0,
    label_maturity_months: int = 6,
) -> pd.DataFrame:
    """A labelled model-input table with application months ``start`` .. ``start + n_months - 1``.

    Args:
        n_rows: Loans in total (spread evenly over the months).
        start: First application month.
        n_months: Number of application months.
        seed: Random seed (same seed, same table).
        default_rate: Target share of defaults.
        signal: Strength of the features' link to the outcome (0 = labels are noise).
        label_maturity_months: Months between application and label (``label_date``).
    """
    rng = np.random.default_rng(seed)
    months = [add_months(to_month(start), i) for i in range(n_months)]
    month_idx = np.sort(rng.integers(0, n_months, size=n_rows))
    month_idx[:n_months] = np.arange(n_months)  # every month present
    month_idx = np.sort(month_idx)
    app = pd.to_datetime([months[i] for i in month_idx])
    z = rng.normal(size=n_rows)  # latent creditworthiness (higher = safer)
    occ = rng.choice(OCCUPATIONS, size=n_rows)
    occ_effect = pd.Series(OCCUPATIONS).map(dict(zip(OCCUPATIONS, np.linspace(-0.4, 0.4, 8), strict=True)))
    occ_shift = pd.Series(occ).map(dict(zip(OCCUPATIONS, occ_effect, strict=True))).to_numpy()

    def noisy(weight: float, noise: float = 1.0) -> np.ndarray:
        return weight * z + noise * rng.normal(size=n_rows)

    income = np.exp(10.5 + 0.35 * noisy(0.6)) * 1.0
    frame = pd.DataFrame(
        {
            "loan_id": [f"LOAN_0x{i:05x}_1" for i in range(n_rows)],
            "customer_id": [f"CUS_0x{i:05x}" for i in range(n_rows)],
            "application_date": app,
            "label_date": app + pd.DateOffset(months=label_maturity_months),
            "loan_amt": np.round(np.exp(9 + 0.5 * rng.normal(size=n_rows)), 2),
            "tenure": rng.choice([6, 12, 18, 24, 36], size=n_rows),
            "age": np.clip(np.round(38 + 9 * noisy(0.3)), 18, 80),
            "annual_income": np.round(income, 2),
            "debt_to_income": np.round(np.exp(-1.2 + 0.5 * noisy(-0.8)), 4),
            "credit_utilization_ratio": np.clip(32 + 7 * noisy(-0.7), 5, 100),
            "num_of_delayed_payment": np.clip(np.round(9 + 4 * noisy(-0.8)), 0, None),
            "interest_rate": np.clip(np.round(14 + 6 * noisy(-0.6)), 1, 34),
            "num_credit_inquiries": np.clip(np.round(5 + 3 * noisy(-0.5)), 0, None),
            "fe_1": noisy(0.3),
            "fe_2": noisy(0.2),
            "fe_3": rng.normal(size=n_rows),
            "net_degree": rng.poisson(3, size=n_rows),
            "net_counterparty_arrears_share": np.clip(0.15 + 0.1 * noisy(-0.5), 0, 1),
            "prior_delinquent": (noisy(-0.7) > 1.0).astype("int64"),
            "occupation": occ,
            "credit_mix": np.where(noisy(0.9) > 0.6, "Good", np.where(noisy(0.9) > -0.6, "Standard", "Bad")),
            "payment_of_min_amount": np.where(noisy(-0.6) > 0, "Yes", "No"),
        }
    )
    # dirty-but-cleaned reality: some values are unknown
    for col, share in (("annual_income", 0.05), ("credit_mix", 0.10), ("occupation", 0.07), ("age", 0.02)):
        mask = rng.random(n_rows) < share
        frame[col] = frame[col].astype("object") if frame[col].dtype == object else frame[col]
        frame.loc[mask, col] = None if frame[col].dtype == object else np.nan
    risk = -signal * (1.6 * z + occ_shift)
    p = _calibrated(risk, default_rate)
    frame["label"] = (rng.random(n_rows) < p).astype("int64")
    cols = ["loan_id", "customer_id", "application_date", "label_date", "label"]
    return frame[cols + [c for c in frame.columns if c not in cols]]


def _calibrated(risk: np.ndarray, default_rate: float) -> np.ndarray:
    """``sigmoid(a + risk)`` with the intercept ``a`` that gives a mean of ``default_rate`` (bisection)."""
    low, high = -20.0, 20.0
    for _ in range(60):
        mid = (low + high) / 2
        if (1 / (1 + np.exp(-(mid + risk)))).mean() < default_rate:
            low = mid
        else:
            high = mid
    return 1 / (1 + np.exp(-((low + high) / 2 + risk)))
