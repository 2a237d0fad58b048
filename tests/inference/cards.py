"""Real fitted models for the inference/monitoring tests (no mocks): a small model trained on sample data.

``make_card`` fits training's own preprocessing and an estimator on the train window of
``kycc.modeling.sample_data.make_model_input`` and packages them exactly as training does
(``CreditRiskModel``), with the metadata (windows, threshold, OOT metrics) and OOT reference predictions a
registered version carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import pandas as pd
from kedro.io import DataCatalog, MemoryDataset
from sklearn.linear_model import LogisticRegression

from kycc.modeling.metrics import classification_metrics
from kycc.modeling.model import CreditRiskModel
from kycc.modeling.preprocessing import CreditPreprocessor
from kycc.modeling.sample_data import make_model_input
from kycc.registry.read import ModelCard, RegisteredModel
from kycc.temporal import add_months, windows_from_training_date

FEATURES = [
    "loan_amt",
    "age",
    "annual_income",
    "debt_to_income",
    "credit_utilization_ratio",
    "num_of_delayed_payment",
    "interest_rate",
    "num_credit_inquiries",
    "occupation",
    "credit_mix",
]
CATEGORICAL = ["occupation", "credit_mix"]
TRAINING_DATE = "2024-12-01"  # train 2023-01..2023-12, validation 2024-01..02, test 03..04, OOT 2024-05

SCORECARD = {
    "version": "t1",
    "score_range": {"min": 300, "max": 850},
    "bands": {"A": 700, "B": 550, "C": 300},
    "features": {
        "interest_rate": {"weight": 0.5, "edges": [10, 20], "points": [100, 50, 0], "missing": 50},
        "credit_mix": {
            "weight": 0.5,
            "categories": {"Good": 100, "Standard": 50, "Bad": 0},
            "missing": 40,
            "other": 40,
        },
    },
}


@dataclass
class World:
    data: pd.DataFrame  # one row per labelled loan: ids, application_date, label, features
    card: ModelCard

    def applications(self, month: str) -> pd.DataFrame:
        months = self.data["application_date"].dt.to_period("M").dt.to_timestamp()
        return (
            self.data.loc[months == pd.Timestamp(month)]
            .drop(columns=["label", "label_date"])
            .reset_index(drop=True)
        )

    def features_table(self) -> Any:
        """The sample table as a gold feature store (Ibis, with ``snapshot_date``)."""
        frame = self.data.drop(columns=["label", "label_date"]).assign(
            snapshot_date=self.data["application_date"]
        )
        return ibis.memtable(frame)

    def labels_table(self) -> Any:
        """Gold labels: each loan labelled at its application month + 6 (MOB 6)."""
        frame = pd.DataFrame(
            {
                "loan_id": self.data["loan_id"],
                "customer_id": self.data["customer_id"],
                "label": self.data["label"],
                "snapshot_date": self.data["application_date"] + pd.DateOffset(months=6),
            }
        )
        return ibis.memtable(frame)


def scorecard_versions() -> dict[str, Any]:
    return {
        "active": "t1",
        "versions": {"t1": {"version": "t1", "definition": SCORECARD, "calibration": None}},
    }


def make_world(seed: int = 0, n_rows: int = 6000, model: str = "model_1", version: int = 1) -> World:
    """Sample loans 2023-01..2024-06 and a model trained at 2024-12-01 on them."""
    data = make_model_input(n_rows, start="2023-01-01", n_months=18, seed=seed)
    tw = windows_from_training_date(TRAINING_DATE)
    window = tw.assign(data["application_date"])
    train = data.loc[window == "train"]
    prep = CreditPreprocessor(kind="standard", features=FEATURES, categorical=CATEGORICAL).fit(
        train, train["label"]
    )
    estimator = LogisticRegression(max_iter=500).fit(prep.transform(train), train["label"])
    threshold = 0.2
    bundle = CreditRiskModel(prep, estimator, threshold, model)
    oot = data.loc[window == "oot"].copy()
    oot_pd = bundle.predict_proba(oot)[:, 1]
    reference = pd.DataFrame(
        {
            "loan_id": oot["loan_id"].to_numpy(),
            "customer_id": oot["customer_id"].to_numpy(),
            "application_date": oot["application_date"].to_numpy(),
            "window": "oot",
            "label": oot["label"].to_numpy(),
            "pd": oot_pd,
            "prediction": (oot_pd >= threshold).astype("int64"),
        }
    )
    metadata = {
        "model": model,
        "training_date": TRAINING_DATE,
        "windows": tw.to_dict(),
        "threshold": threshold,
        "metrics": {"oot": classification_metrics(oot["label"], oot_pd, threshold)},
        "features": {"features": FEATURES, "categorical": CATEGORICAL, "model_features": FEATURES},
    }
    card = ModelCard(model, f"kycc_{model}", version, metadata, reference, bundle=bundle, run_id="test")
    return World(data, card)


def registered(world: World | None, model: str = "model_1") -> RegisteredModel:
    """A registered model holding the world's card as champion (or no version at all)."""
    if world is None:
        return RegisteredModel.in_memory(model, [], champion=None)
    return RegisteredModel.in_memory(model, [world.card], champion=world.card.version)


def month_after(month: str, n: int) -> str:
    return add_months(month, n).isoformat()


class KeptDataset(MemoryDataset):
    """A MemoryDataset the runner does not empty once its consumers ran (tests read every output)."""

    def _release(self) -> None:
        pass


def memory_catalog(pipeline, inputs: dict[str, Any]) -> DataCatalog:
    """An in-memory catalog: ``inputs`` as given, every other dataset of ``pipeline`` kept for the assertions."""
    catalog = DataCatalog()
    for name in pipeline.datasets():
        if name not in inputs and not name.startswith("params:"):
            catalog[name] = KeptDataset(copy_mode="assign")
    for name, value in inputs.items():
        catalog[name] = KeptDataset(data=value, copy_mode="assign")
    return catalog
