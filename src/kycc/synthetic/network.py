"""The party network: trade (supplier/buyer), guarantor and shared-director edges, assortative in risk."""

from __future__ import annotations

import logging

import numpy as np

from kycc.synthetic.loans import Loans
from kycc.synthetic.table import RawTable, fmt_money, fmt_str, sort_rows
from kycc.synthetic.world import World

logger = logging.getLogger(__name__)

__all__ = ["RELATIONSHIP_COLUMNS", "RELATIONSHIP_TYPES", "build_relationships"]

RELATIONSHIP_COLUMNS = [
    "source_customer_id",
    "target_customer_id",
    "relationship_type",
    "volume",
    "snapshot_date",
]
RELATIONSHIP_TYPES = np.array(["supplier", "buyer", "guarantor", "shared_director"])
#: Mean number of trade partners by party type (scaled by exp(0.2 z): safer parties trade more).
TRADE_DEGREE = {"individual": 0.5, "sole_trader": 2.0, "sme": 3.5}
#: Share of edges whose counterparty is drawn at random instead of among parties of similar risk.
RANDOM_EDGE_SHARE = 0.3
#: Probability that an active edge is observed in a month after its first month, by type.
_OBSERVE_P = np.array([0.7, 0.7, 0.3, 0.25])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _assortative_targets(rng: np.random.Generator, source: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Counterparties of similar latent risk (rank neighbours on a noisy z), some at random."""
    n = len(z)
    order = np.argsort(z + 0.5 * rng.standard_normal(n), kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    spread = max(2.0, 0.03 * n)
    pos = np.clip(rank[source] + np.round(rng.normal(0, spread, len(source))).astype(np.int64), 0, n - 1)
    target = order[pos]
    random = rng.random(len(source)) < RANDOM_EDGE_SHARE
    target = np.where(random, rng.integers(0, n, len(source)), target)
    return np.where(target == source, (target + 1) % n, target)


def build_relationships(
    world: World, loans: Loans, rng: np.random.Generator, month_str: np.ndarray
) -> RawTable:
    """Edges observed in months at or after both parties' onboarding."""
    n, t_count, z = world.n, world.n_months, world.z
    lam = np.vectorize(TRADE_DEGREE.get)(world.party_type) * np.exp(0.2 * z)
    degree = rng.poisson(lam)
    trade_src = np.repeat(np.arange(n), degree)
    trade_type = rng.integers(0, 2, len(trade_src))
    guar_src = np.flatnonzero(rng.random(n) < _sigmoid(-2.0 - 0.8 * z))
    business = np.flatnonzero(world.party_type != "individual")
    dir_src = business[rng.random(len(business)) < 0.2]
    source = np.concatenate([trade_src, guar_src, dir_src])
    rel_type = np.concatenate([trade_type, np.full(len(guar_src), 2), np.full(len(dir_src), 3)])
    target = _assortative_targets(rng, source, z) if n > 1 else source
    keep = source != target
    source, target, rel_type = source[keep], target[keep], rel_type[keep]
    _, first = np.unique((source * n + target) * 4 + rel_type, return_index=True)
    first = np.sort(first)
    source, target, rel_type = source[first], target[first], rel_type[first]
    n_edges = len(source)

    start = np.maximum(world.onboarding[source], world.onboarding[target]) + rng.geometric(0.4, n_edges) - 1
    end = start + rng.geometric(0.05, n_edges)
    months = np.arange(t_count)
    observed = (
        (months[None, :] >= start[:, None])
        & (months[None, :] <= end[:, None])
        & (
            (months[None, :] == start[:, None])
            | (rng.random((n_edges, t_count)) < _OBSERVE_P[rel_type][:, None])
        )
    )
    edge, month = np.nonzero(observed)

    base = np.exp(7.5 + 0.3 * (z[source] + z[target]) / 2 + 0.8 * rng.standard_normal(n_edges))
    first_loan = np.zeros(n)
    first_loan[loans.cust[loans.seq == 1]] = loans.amount[loans.seq == 1]
    guaranteed = np.round(first_loan[source] * rng.uniform(0.3, 1.0, n_edges), -2)
    rel = rel_type[edge]
    trade_volume = base[edge] * rng.lognormal(0.0, 0.3, len(edge))
    drifting = world.drifted[source[edge]] & (month >= world.drift_start)
    trade_volume *= np.where(drifting, 0.7, 1.0)
    volume = np.where(rel <= 1, trade_volume, np.where(rel == 2, guaranteed[edge], 0.0))

    order = sort_rows(month, source[edge], target[edge], rel)
    edge, month, volume = edge[order], month[order], volume[order]
    src, tgt = source[edge], target[edge]
    data = {
        "source_customer_id": fmt_str(world.customer_id[src]),
        "target_customer_id": fmt_str(world.customer_id[tgt]),
        "relationship_type": fmt_str(RELATIONSHIP_TYPES[rel_type[edge]]),
        "volume": fmt_money(volume),
        "snapshot_date": fmt_str(month_str[month]),
    }
    logger.debug("network: %d edges, %d observations", n_edges, len(edge))
    key = ("source_customer_id", "target_customer_id", "relationship_type", "snapshot_date")
    return RawTable("party_relationships.csv", RELATIONSHIP_COLUMNS, data, month, key, src)
