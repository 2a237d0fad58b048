"""Model registry and champion logic (MLflow model registry).

Why this talks to MLflow itself instead of going through a kedro-mlflow dataset: registration here is a
*conditional read-modify-write* of the registry — register only when the quality gates passed, read the
current champion and its recorded OOT ROC-AUC, move the ``champion`` alias only when the new version beats
it, keep the old one reachable as ``previous_champion``. kedro-mlflow's ``MlflowModelTrackingDataset``
registers unconditionally (``registered_model_name``) and ``MlflowModelRegistryDataset`` only loads, so the
logic lives in this one small module, called from one node (``register_model``) right after the model was
logged by the catalog in the same MLflow run.

Each version carries tags (``kycc.model``, ``kycc.training_date``, ``kycc.data_fingerprint``,
``kycc.champion_metric`` and its value) so that any later run can compare against it without reloading.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["RegistrySettings", "register_candidate"]

TAG_PREFIX = "kycc."


@dataclass(frozen=True)
class RegistrySettings:
    """``training.registry`` parameters."""

    register: bool = True
    auto_promote_champion: bool = True
    champion_alias: str = "champion"
    previous_champion_alias: str = "previous_champion"
    champion_metric: str = "oot.roc_auc"
    min_improvement: float = 0.0

    @classmethod
    def from_params(cls, params: dict[str, Any] | None) -> RegistrySettings:
        params = dict(params or {})
        unknown = set(params) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"Unknown keys in training.registry: {sorted(unknown)}")
        settings = cls(**params)
        if settings.champion_metric.count(".") != 1:
            raise ValueError(
                f"training.registry.champion_metric must be '<window>.<metric>' (e.g. oot.roc_auc), "
                f"got {settings.champion_metric!r}"
            )
        return settings


def metric_value(metrics: dict[str, dict[str, float]], name: str) -> float:
    """``metrics["oot"]["roc_auc"]`` for ``name == "oot.roc_auc"`` (NaN when absent)."""
    window, metric = name.split(".", 1)
    value = metrics.get(window, {}).get(metric)
    return float(value) if value is not None else math.nan


def _find_logged_model_uri(run: Any, logged_name: str) -> str:
    import mlflow

    models = mlflow.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run.info.run_id}' AND name = '{logged_name}'",
        order_by=[{"field_name": "creation_time", "ascending": False}],
        output_format="list",
    )
    if not models:
        raise RuntimeError(
            f"No model named {logged_name!r} was logged in MLflow run {run.info.run_id}: the catalog entry "
            f"'<model>.mdl_mlflow_model' must be a kedro_mlflow MlflowModelTrackingDataset with "
            f"save_args.name = '<model>'."
        )
    return models[0].model_uri


def _current_champion(client: Any, name: str, alias: str) -> Any | None:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def _recorded_value(client: Any, version: Any, settings: RegistrySettings, model: str) -> float:
    """The champion metric recorded on a version (tag), else read from its run's metrics."""
    tags = version.tags or {}
    if tags.get(f"{TAG_PREFIX}champion_metric") == settings.champion_metric:
        try:
            return float(tags[f"{TAG_PREFIX}champion_metric_value"])
        except (KeyError, ValueError):
            pass
    if version.run_id:
        run_metrics = client.get_run(version.run_id).data.metrics
        key = f"{tags.get(f'{TAG_PREFIX}model', model)}.{settings.champion_metric}"
        if key in run_metrics:
            return float(run_metrics[key])
    return math.nan


def register_candidate(card: dict[str, Any], settings: RegistrySettings) -> dict[str, Any]:
    """Register a passing model and move the champion alias when it is better.

    Args:
        card: What training knows of the model: ``model`` (namespace), ``registered_model_name``,
            ``logged_model_name`` (its name in the MLflow run), ``gate`` (``passed``, ``reasons``),
            ``metrics`` per window, ``training_date``, ``data_fingerprint``.
        settings: The registry parameters.

    Returns:
        The outcome: ``status`` (``registered`` | ``rejected`` | ``not_registered`` | ``skipped``), the
        version, whether it is now the champion, the comparison made and a readable ``reason``.
    """
    import mlflow
    from mlflow import MlflowClient

    model = card["model"]
    name = card["registered_model_name"]
    value = metric_value(card["metrics"], settings.champion_metric)
    outcome: dict[str, Any] = {
        "model": model,
        "registered_model_name": name,
        "status": None,
        "version": None,
        "champion": False,
        "champion_version": None,
        "previous_champion_version": None,
        "champion_metric": settings.champion_metric,
        "candidate_value": value,
        "champion_value": None,
        "gate_passed": bool(card["gate"]["passed"]),
        "gate_reasons": list(card["gate"]["reasons"]),
        "run_id": None,
        "reason": "",
    }
    run = mlflow.active_run()
    client = MlflowClient() if run is not None else None
    if run is not None:
        outcome["run_id"] = run.info.run_id
        gate_text = "passed" if card["gate"]["passed"] else "failed: " + "; ".join(card["gate"]["reasons"])
        client.set_tag(run.info.run_id, f"{model}.quality_gate", gate_text[:5000])
    if not card["gate"]["passed"]:
        outcome.update(
            status="rejected", reason="quality gates failed: " + "; ".join(card["gate"]["reasons"])
        )
        return outcome
    if run is None:
        outcome.update(status="skipped", reason="MLflow tracking is off for this run: nothing registered")
        return outcome
    if not settings.register:
        outcome.update(status="not_registered", reason="training.registry.register is false")
        return outcome

    model_uri = _find_logged_model_uri(run, card["logged_model_name"])
    tags = {
        f"{TAG_PREFIX}model": model,
        f"{TAG_PREFIX}training_date": str(card.get("training_date")),
        f"{TAG_PREFIX}data_fingerprint": str(card.get("data_fingerprint")),
        f"{TAG_PREFIX}champion_metric": settings.champion_metric,
        f"{TAG_PREFIX}champion_metric_value": repr(value),
        f"{TAG_PREFIX}quality_gate": "passed",
    }
    version = mlflow.register_model(model_uri, name, tags=tags)
    outcome.update(status="registered", version=int(version.version))

    current = _current_champion(client, name, settings.champion_alias)
    current_value = _recorded_value(client, current, settings, model) if current is not None else math.nan
    outcome["champion_value"] = None if math.isnan(current_value) else current_value
    if current is None:
        promote, why = True, "no champion yet"
    elif math.isnan(value):
        promote, why = False, f"{settings.champion_metric} of the candidate is undefined"
    elif math.isnan(current_value):
        promote, why = True, f"the champion (v{current.version}) has no recorded {settings.champion_metric}"
    elif value > current_value + settings.min_improvement:
        promote, why = (
            True,
            (
                f"{settings.champion_metric} {value:.4f} beats champion v{current.version} "
                f"({current_value:.4f})"
            ),
        )
    else:
        promote, why = (
            False,
            (
                f"{settings.champion_metric} {value:.4f} does not beat champion "
                f"v{current.version} ({current_value:.4f} + {settings.min_improvement})"
            ),
        )
    if promote and not settings.auto_promote_champion:
        promote, why = False, why + "; automatic promotion is off (training.registry.auto_promote_champion)"
    if promote:
        if current is not None:
            client.set_registered_model_alias(name, settings.previous_champion_alias, current.version)
            outcome["previous_champion_version"] = int(current.version)
        client.set_registered_model_alias(name, settings.champion_alias, version.version)
        outcome.update(champion=True, champion_version=int(version.version))
    else:
        outcome["champion_version"] = int(current.version) if current is not None else None
    outcome["reason"] = why
    logger.info(
        "%s: registered %s v%s; %s -> %s",
        model,
        name,
        version.version,
        why,
        "now champion" if promote else "champion unchanged",
    )
    return outcome
