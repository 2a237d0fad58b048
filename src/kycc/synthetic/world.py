"""The latent world: customers, their creditworthiness z over time, onboarding and the drift shock."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from kycc.synthetic.config import GenerationOptions

logger = logging.getLogger(__name__)

__all__ = ["COUNTRIES", "PARTY_TYPES", "World", "build_world"]

PARTY_TYPES = np.array(["individual", "sole_trader", "sme"])
COUNTRIES = np.array(["US", "GB", "DE", "FR", "IN", "SG", "NL", "ES", "BR", "ZA"])
_COUNTRY_P = np.array([0.22, 0.14, 0.1, 0.08, 0.12, 0.06, 0.06, 0.07, 0.09, 0.06])
#: Regions hit by the drift shock (a regional downturn monitoring can localise).
SHOCK_COUNTRIES = ("BR", "ZA", "IN")
#: Fall of z for drifted parties from the first drift month on.
DRIFT_SHOCK = 0.9
#: Late applicants (first loan in a drift month) are riskier on average (application mix change).
LATE_APPLICANT_SHIFT = 0.35
#: Application volume in drift months relative to earlier months.
LATE_VOLUME = 1.25


@dataclass(frozen=True)
class World:
    """The latent state every observed table is derived from (arrays indexed by customer)."""

    n: int
    n_months: int
    drift_start: int
    customer_id: np.ndarray  # str, "CUS_0x1a2b"
    hex_id: np.ndarray  # str, "1a2b"
    z: np.ndarray  # base creditworthiness (higher = safer)
    z_t: np.ndarray  # (n, n_months) creditworthiness per month, after drift
    drifted: np.ndarray  # bool
    first_start: np.ndarray  # month index of the first loan
    onboarding: np.ndarray  # month index of the first snapshot (<= first_start)
    party_type: np.ndarray  # str
    country: np.ndarray  # str
    log_income: np.ndarray  # log annual income level at onboarding (before drift)

    def active(self, month: np.ndarray) -> np.ndarray:
        """Customer-by-month mask of months at or after onboarding."""
        return month[None, :] >= self.onboarding[:, None]


def _customer_ids(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    space = max(16**5, 16 * n)
    codes = rng.choice(space - 4096, size=n, replace=False) + 4096
    hexes = np.array([f"{c:x}" for c in codes.tolist()])
    return np.char.add("CUS_0x", hexes), hexes


def build_world(opts: GenerationOptions, rng: np.random.Generator) -> World:
    """Draw the customers and their latent creditworthiness path."""
    n, t_count, drift_start = opts.n_customers, opts.n_months, opts.drift_start
    customer_id, hex_id = _customer_ids(rng, n)

    weights = np.ones(t_count)
    weights[drift_start:] = LATE_VOLUME
    first_start = rng.choice(t_count, size=n, p=weights / weights.sum())
    lead = rng.choice(4, size=n, p=[0.5, 0.25, 0.15, 0.1])
    onboarding = np.maximum(first_start - lead, 0)

    late = first_start >= drift_start
    z = rng.standard_normal(n) - LATE_APPLICANT_SHIFT * late
    party_type = PARTY_TYPES[rng.choice(3, size=n, p=[0.6, 0.25, 0.15])]
    country = COUNTRIES[rng.choice(len(COUNTRIES), size=n, p=_COUNTRY_P)]
    in_shock_region = np.isin(country, SHOCK_COUNTRIES)
    u = rng.random(n)
    drifted = np.where(in_shock_region, u < 0.7, u < 0.08) if drift_start < t_count else np.zeros(n, bool)

    month = np.arange(t_count)
    shock = DRIFT_SHOCK * (month >= drift_start)
    z_t = z[:, None] - drifted[:, None] * shock[None, :]
    log_income = 10.75 + 0.3 * z + 0.45 * rng.standard_normal(n)
    logger.debug("world: %d customers, %d drifted, drift from month %d", n, int(drifted.sum()), drift_start)
    return World(
        n=n,
        n_months=t_count,
        drift_start=drift_start,
        customer_id=customer_id,
        hex_id=hex_id,
        z=z,
        z_t=z_t,
        drifted=drifted,
        first_start=first_start,
        onboarding=onboarding,
        party_type=party_type,
        country=country,
        log_income=log_income,
    )
