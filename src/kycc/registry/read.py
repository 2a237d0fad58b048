"""The registered model versions inference and monitoring read: the champion and any earlier version.

A :class:`ModelCard` is what the rest of the platform needs of one registered version, all of it from the
MLflow run that trained it (so it always matches that version, whatever the latest local training wrote):

* the **bundle** — training's fitted preprocessing + estimator + threshold (``CreditRiskModel``), loaded from
  the registry (``models:/<name>/<version>``): inference applies exactly what training fitted;
* the **metadata** — windows (for the batch-lag rule), threshold, metrics per window (the OOT baseline of the
  action rules), features;
* the **reference** — its OOT predictions, the reference distribution of the score PSI.

:class:`RegisteredModel` gives the champion (alias) and any version by number, loading lazily and caching per
tracking store (versions never change once registered). ``RegisteredModel.in_memory`` builds one from cards,
for tests and notebooks.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from kycc.registry.contract import CHAMPION_ALIAS, METADATA_FILE, MODEL_TAG, PREDICTIONS_FILE, artifact_dir

logger = logging.getLogger(__name__)

__all__ = ["ModelCard", "RegisteredModel"]

_CACHE: dict[tuple[str, str, int], dict[str, Any]] = {}
_CACHE_LOCK = threading.Lock()


class ModelCard:
    """One registered model version (see the module docstring).

    Args:
        model: The model's namespace (``model_1``).
        registered_model_name: Its name in the registry (``kycc_model_1``).
        version: Registered version number.
        metadata: Training metadata (``windows``, ``threshold``, ``metrics``, ``features``, ``training_date``).
        reference: OOT predictions (``loan_id``, ``application_date``, ``label``, ``pd``, ``prediction``).
        bundle: The fitted model, or a callable returning it (loaded on first use).
        run_id: The MLflow run that trained it.
    """

    def __init__(
        self,
        model: str,
        registered_model_name: str,
        version: int,
        metadata: dict[str, Any],
        reference: pd.DataFrame,
        bundle: Any = None,
        run_id: str | None = None,
    ) -> None:
        for key in ("windows", "threshold", "metrics"):
            if key not in metadata:
                raise ValueError(f"{registered_model_name} v{version}: the training metadata has no {key!r}")
        self.model = model
        self.registered_model_name = registered_model_name
        self.version = int(version)
        self.metadata = metadata
        self.reference = reference
        self.run_id = run_id
        self._bundle = bundle

    @property
    def bundle(self) -> Any:
        """The fitted model (preprocessing + estimator + threshold): ``predict_proba`` on raw feature rows."""
        if callable(self._bundle) and not hasattr(self._bundle, "predict_proba"):
            self._bundle = self._bundle()
        if self._bundle is None:
            raise ValueError(f"{self.label}: no fitted model attached to this card")
        return self._bundle

    @property
    def windows(self) -> dict[str, Any]:
        return self.metadata["windows"]

    @property
    def threshold(self) -> float:
        return float(self.metadata["threshold"])

    @property
    def training_date(self) -> str:
        return str(self.metadata.get("training_date") or self.windows["training_date"])

    @property
    def oot_metrics(self) -> dict[str, Any]:
        return dict(self.metadata["metrics"].get("oot") or {})

    @property
    def features(self) -> list[str]:
        """Input features the model uses (after preprocessing's selection), raw column names."""
        spec = self.metadata.get("features") or {}
        used = set(spec.get("model_features") or [])
        inputs = list(spec.get("features") or [])
        return [f for f in inputs if f in used] or inputs

    @property
    def categorical(self) -> list[str]:
        return list((self.metadata.get("features") or {}).get("categorical") or [])

    @property
    def label(self) -> str:
        return f"{self.model} ({self.registered_model_name} v{self.version})"

    def __repr__(self) -> str:
        return f"ModelCard({self.label}, trained {self.training_date})"


class RegisteredModel:
    """The versions of one registered model (champion by alias, any version by number), loaded lazily.

    Args:
        model: The model's namespace (``model_1``).
        registered_model_name: The registry name (``kycc_model_1``).
        champion_version: Callable returning the version the alias points to (None: no champion).
        load_card: Callable ``version -> ModelCard``.
    """

    def __init__(
        self,
        model: str,
        registered_model_name: str,
        champion_version: Callable[[], int | None],
        load_card: Callable[[int], ModelCard],
        alias: str = CHAMPION_ALIAS,
    ) -> None:
        self.model = model
        self.registered_model_name = registered_model_name
        self.alias = alias
        self._champion_version = champion_version
        self._load_card = load_card
        self._cards: dict[int, ModelCard] = {}
        self._resolved = False
        self._champion: int | None = None

    @classmethod
    def in_memory(
        cls,
        model: str,
        cards: Iterable[ModelCard],
        champion: int | None = None,
        registered_model_name: str = "",
    ) -> RegisteredModel:
        """A registered model made of cards already in memory (tests, notebooks)."""
        by_version = {c.version: c for c in cards}
        name = registered_model_name or next(
            (c.registered_model_name for c in by_version.values()), f"kycc_{model}"
        )

        def load(version: int) -> ModelCard:
            if version not in by_version:
                raise KeyError(f"{name} has no version {version} (versions: {sorted(by_version)})")
            return by_version[version]

        return cls(model, name, lambda: champion, load)

    @property
    def champion_version(self) -> int | None:
        if not self._resolved:
            self._champion = self._champion_version()
            self._resolved = True
        return self._champion

    @property
    def champion(self) -> ModelCard | None:
        """The version the alias points to, or None when the model has no champion yet."""
        version = self.champion_version
        return None if version is None else self.version(version)

    def version(self, version: int) -> ModelCard:
        version = int(version)
        if version not in self._cards:
            self._cards[version] = self._load_card(version)
        return self._cards[version]

    def __repr__(self) -> str:
        return f"RegisteredModel({self.registered_model_name}@{self.alias})"


# ---------------------------------------------------------------------------------------------------------
# MLflow-backed loading
# ---------------------------------------------------------------------------------------------------------
@contextmanager
def _quiet_downloads() -> Iterator[None]:
    """No tqdm bar per artifact download (one per version and month in a cycle), unless the user asked for it."""
    key = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    if key in os.environ:
        yield
        return
    os.environ[key] = "false"
    try:
        yield
    finally:
        os.environ.pop(key, None)


def mlflow_registered_model(
    model: str, registered_model_name: str, alias: str = CHAMPION_ALIAS
) -> RegisteredModel:
    """A :class:`RegisteredModel` reading the MLflow registry of the current tracking URI."""
    import mlflow

    tracking_uri = mlflow.get_tracking_uri()

    def champion_version() -> int | None:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        try:
            version = MlflowClient().get_model_version_by_alias(registered_model_name, alias)
        except MlflowException as err:
            logger.debug("%s@%s not found: %s", registered_model_name, alias, err)
            return None
        return int(version.version)

    def load_card(version: int) -> ModelCard:
        key = (tracking_uri, registered_model_name, int(version))
        with _CACHE_LOCK:
            cached = _CACHE.get(key)
        if cached is None:
            with _quiet_downloads():
                cached = _load_version(registered_model_name, int(version))
            with _CACHE_LOCK:
                _CACHE[key] = cached

        def bundle() -> Any:
            with _CACHE_LOCK:
                if "bundle" in cached:
                    return cached["bundle"]
            import mlflow.sklearn

            with _quiet_downloads():
                loaded = mlflow.sklearn.load_model(f"models:/{registered_model_name}/{version}")
            with _CACHE_LOCK:
                cached["bundle"] = loaded
            return loaded

        return ModelCard(
            model=cached["model"],
            registered_model_name=registered_model_name,
            version=int(version),
            metadata=cached["metadata"],
            reference=cached["reference"],
            bundle=bundle,
            run_id=cached["run_id"],
        )

    return RegisteredModel(model, registered_model_name, champion_version, load_card, alias)


def _load_version(name: str, version: int) -> dict[str, Any]:
    import mlflow
    from mlflow import MlflowClient

    mv = MlflowClient().get_model_version(name, str(version))
    model = (mv.tags or {}).get(MODEL_TAG)
    if not model or not mv.run_id:
        raise ValueError(
            f"{name} v{version} was not registered by the training pipeline (no kycc.model tag or run): "
            "inference needs its training metadata"
        )
    base = f"runs:/{mv.run_id}/{artifact_dir(model)}"
    metadata = mlflow.artifacts.load_dict(f"{base}/{METADATA_FILE}")
    with tempfile.TemporaryDirectory(prefix="kycc-reference-") as tmp:
        path = mlflow.artifacts.download_artifacts(f"{base}/{PREDICTIONS_FILE}", dst_path=tmp)
        predictions = pd.read_parquet(Path(path))
    reference = predictions.loc[predictions["window"] == "oot"].reset_index(drop=True)
    logger.info(
        "Loaded %s v%s (%s, trained %s): %d OOT reference predictions",
        name,
        version,
        model,
        metadata.get("training_date"),
        len(reference),
    )
    return {"model": model, "metadata": metadata, "reference": reference, "run_id": mv.run_id}
