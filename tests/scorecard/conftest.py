"""Fixtures of the scorecard tests: the configured versions, a store in a temp folder, a small labelled sample."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from kycc.modeling.sample_data import make_model_input
from kycc.scorecard.definition import ScorecardDefinition
from kycc.scorecard.store import ScorecardStore

PROJECT_ROOT = Path(__file__).resolve().parents[2]

#: A small scorecard over columns of ``make_model_input`` (weights sum to 1).
SMALL = {
    "description": "test scorecard",
    "score_range": {"min": 300, "max": 850},
    "bands": {"A": 720, "B": 660, "C": 600, "D": 540, "E": 300},
    "features": {
        "interest_rate": {
            "group": "financial",
            "weight": 0.3,
            "edges": [8, 12, 16, 21],
            "points": [100, 80, 55, 30, 10],
            "missing": 40,
        },
        "num_of_delayed_payment": {
            "group": "financial",
            "weight": 0.25,
            "edges": [4, 9, 14, 19],
            "points": [100, 80, 55, 30, 10],
            "missing": 40,
        },
        "credit_mix": {
            "group": "financial",
            "weight": 0.2,
            "categories": {"Good": 100, "Standard": 60, "Bad": 10},
            "missing": 40,
        },
        "age": {
            "group": "kyc",
            "weight": 0.15,
            "edges": [25, 35, 50],
            "points": [30, 60, 85, 90],
            "missing": 40,
        },
        "net_degree": {
            "group": "network",
            "weight": 0.1,
            "edges": [0, 2],
            "points": [60, 80, 100],
            "missing": 50,
        },
    },
}


def scorecard_params() -> dict[str, Any]:
    text = (PROJECT_ROOT / "conf" / "base" / "parameters_scorecard.yml").read_text(encoding="utf-8")
    return yaml.safe_load(text)["scorecard"]


@pytest.fixture
def params() -> dict[str, Any]:
    return scorecard_params()


@pytest.fixture
def v1(params) -> ScorecardDefinition:
    return ScorecardDefinition.from_dict(params["versions"]["v1"], version="v1")


@pytest.fixture
def v1_1(params) -> ScorecardDefinition:
    """The current expert version (v1 with the fair-lending age fix, a decision policy and reason catalogue)."""
    return ScorecardDefinition.from_config("v1_1", params["versions"]["v1_1"])[0]


@pytest.fixture
def small() -> ScorecardDefinition:
    return ScorecardDefinition.from_dict(copy.deepcopy(SMALL), version="v1")


@pytest.fixture
def store_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'store' / 'scorecard.db'}"


@pytest.fixture
def store(store_url):
    """A store set up with the SMALL scorecard as v1 (active)."""
    with ScorecardStore(store_url) as s:
        s.sync_config_versions({"v1": copy.deepcopy(SMALL)}, "v1")
        yield s


@pytest.fixture(scope="session")
def sample():
    """Labelled applications (model-input shape): ~3,000 rows over 6 months, realistic signal."""
    return make_model_input(3000, start="2024-01-01", n_months=6, seed=3)


def with_weights(definition: ScorecardDefinition, spread: bool = False, **changes: float) -> dict[str, float]:
    """Weights of ``definition`` with ``changes``; the difference is taken from (or given to) the last other
    feature, or with ``spread`` from all other features in proportion to their weights."""
    weights = dict(definition.weights)
    weights.update(changes)
    others = [f for f in definition.feature_names if f not in changes]
    gap = 1.0 - sum(weights.values())
    if spread:
        total = sum(weights[f] for f in others)
        for f in others:
            weights[f] += gap * weights[f] / total
    else:
        weights[others[-1]] += gap
    return weights


def v1_like_rows(definition: ScorecardDefinition, n: int = 400, seed: int = 0):
    """Applications with every feature of ``definition`` (values spread over its bins, some missing)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    data = {
        "loan_id": [f"LOAN_0x{i:04x}_1" for i in range(n)],
        "customer_id": [f"CUS_0x{i:04x}" for i in range(n)],
    }
    data["application_date"] = pd.Timestamp("2024-06-01")
    quality = rng.normal(size=n)  # a common factor so that features agree, as in real data
    for rule in definition.features:
        if rule.kind == "categorical":
            cats = list(rule.categories)
            idx = np.clip((quality + rng.normal(size=n)) * len(cats) / 4 + len(cats) / 2, 0, len(cats) - 1)
            values = np.asarray(cats, dtype=object)[idx.astype(int)]
        else:
            lo, hi = rule.edges[0], rule.edges[-1]
            span = hi - lo or 1.0
            values = lo - span * 0.3 + span * 1.6 * rng.uniform(size=n)
        values = pd.Series(values, dtype="object" if rule.kind == "categorical" else "float64")
        values[rng.uniform(size=n) < 0.03] = None
        data[rule.name] = values
    return pd.DataFrame(data)
