"""``training`` (``conf/base/parameters_training.yml``). ``training.models.<model>`` is checked per model by the
training template (its keys: ``kycc.pipelines.training.nodes.MODEL_OPTION_KEYS``)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from kycc.params.base import Month, Params


class DataContract(Params):
    date_column: str
    label_column: str
    id_columns: list[str]
    label_date_column: str | None
    exclude_columns: list[str]
    features: list[str] | None
    categorical: list[str] | None
    protected_columns: list[str]
    allow_protected: list[str]


class RecentLayout(Params):
    window_months: int
    validation_months: int
    test_months: int
    oot_months: int


class Windows(Params):
    mode: str
    layout: str
    recent: RecentLayout
    train_months: int
    validation_months: int
    test_months: int
    oot_months: int
    label_maturity_months: int
    fixed: dict[str, list[Any]]


class QualityGates(Params):
    min_roc_auc: float
    min_samples: int
    min_default_rate: float
    max_default_rate: float
    windows: list[str]
    auc_windows: list[str]


class Calibration(Params):
    method: str
    confidence: float
    alpha: float


class Promotion(Params):
    method: str
    alpha: float
    min_gain: float
    confidence: float
    min_defaults: int


class Registry(Params):
    model_config = ConfigDict(populate_by_name=True)

    register_: bool = Field(alias="register")  # ``register`` would shadow BaseModel.register
    auto_promote_champion: bool
    champion_alias: str
    previous_champion_alias: str
    champion_metric: str
    min_improvement: float


class Search(Params):
    method: str
    max_candidates: int | None
    sample_rows: int | None
    halving_factor: int
    min_rows: int | None
    early_stopping: str | None
    n_iter_no_change: int
    validation_fraction: float


class Fitting(Params):
    random_state: int
    n_threads: int | str | None
    search: Search


class TrainingParams(Params):
    training_date: Month
    data_contract: DataContract
    windows: Windows
    quality_gates: QualityGates
    calibration: Calibration
    promotion: Promotion
    registry: Registry
    fitting: Fitting
    models: dict[str, dict[str, Any]]
