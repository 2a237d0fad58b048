"""Model registry and champion logic (MLflow model registry).

Why this talks to MLflow itself instead of going through a kedro-mlflow dataset: registration here is a
*conditional read-modify-write* of the registry — register only when the quality gates passed, load the
current champion and score it on the candidate's evaluation rows, move the ``champion`` alias only when the
new version beats it **on the same rows** (``training.promotion``, :mod:`kycc.modeling.compare`), keep the old
one reachable as ``previous_champion``. kedro-mlflow's ``MlflowModelTrackingDataset``
registers unconditionally (``registered_model_name``) and ``MlflowModelRegistryDataset`` only loads, so the
logic lives in this one small module, called from one node (``register_model``) right after the model was
logged by the catalog in the same MLflow run.

Each version carries tags (``kycc.model``, ``kycc.training_date``, ``kycc.data_fingerprint``,
``kycc.champion_metric`` and its value, ``kycc.learnt_windows``) and, once compared with a champion, the
comparison (``kycc.comparison.*``); the run holds it as metrics ``<model>.promotion.*``, the tag
``<model>.promotion_decision`` and the artifact ``<model>/registry/comparison.json``.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kycc.jsonsafe import json_safe
from kycc.modeling.compare import PromotionSettings, decide_promotion, paired_auc_delong
from kycc.registry.contract import (
    CHAMPION_ALIAS,
    METADATA_FILE,
    MODEL_TAG,
    PREDICTIONS_FILE,
    PREVIOUS_CHAMPION_ALIAS,
    TAG_PREFIX,
    artifact_dir,
)

logger = logging.getLogger(__name__)

__all__ = ["RegistrySettings", "json_safe", "register_candidate", "register_recalibrated"]


@dataclass(frozen=True)
class RegistrySettings:
    """``training.registry`` parameters."""

    register: bool = True
    auto_promote_champion: bool = True
    champion_alias: str = CHAMPION_ALIAS
    previous_champion_alias: str = PREVIOUS_CHAMPION_ALIAS
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
        key = f"{tags.get(MODEL_TAG, model)}.{settings.champion_metric}"
        if key in run_metrics:
            return float(run_metrics[key])
    return math.nan


def _learnt_months(version: Any) -> dict[str, tuple[str, str]]:
    """``{"train": (start, end), "validation": (…)}`` recorded on a version (empty for older versions)."""
    raw = (version.tags or {}).get(f"{TAG_PREFIX}learnt_windows")
    if not raw:
        return {}
    try:
        return {k: (v[0], v[1]) for k, v in json.loads(raw).items()}
    except (ValueError, TypeError, KeyError, IndexError):
        return {}


def _overlap(learnt: dict[str, tuple[str, str]], months: list[str]) -> str | None:
    for window, (start, end) in learnt.items():
        inside = [m for m in months if start[:7] <= m <= end[:7]]
        if inside:
            return f"{', '.join(inside)} in its {window} window ({start[:7]}..{end[:7]})"
    return None


def _compare_same_rows(  # noqa: PLR0913 - the comparison's inputs
    client: Any,
    run: Any,
    model: str,
    name: str,
    current: Any,
    evaluation: dict[str, Any],
    promotion: PromotionSettings,
) -> tuple[bool, str, dict[str, Any]]:
    """Score the champion on the candidate's evaluation rows, compare with a paired test, log the comparison."""
    import mlflow

    frame: pd.DataFrame = evaluation["frame"]
    months = list(evaluation.get("months") or [])
    record: dict[str, Any] = {
        "method": promotion.method,
        "champion_version": int(current.version),
        "months": months,
        "rows": evaluation.get("rows", "candidate OOT window"),
    }
    clash = _overlap(_learnt_months(current), months)
    if clash:
        why = (
            f"champion v{current.version} cannot be compared on {', '.join(months)}: it learnt from {clash}; "
            "champion unchanged"
        )
        return False, why, record | {"reason": why}
    try:
        champion = mlflow.sklearn.load_model(f"models:/{name}/{current.version}")
        champion_pd = np.asarray(champion.predict_proba(frame)[:, 1], dtype="float64")
    except Exception as err:  # noqa: BLE001 - any failure to load/score the champion is reported, not fatal
        why = (
            f"champion v{current.version} could not score the evaluation rows ({type(err).__name__}: {err}); "
            "champion unchanged"
        )
        return False, why, record | {"reason": why}
    comparison = paired_auc_delong(
        evaluation["labels"], evaluation["candidate_pd"], champion_pd, promotion.confidence
    )
    promote, why = decide_promotion(comparison, promotion)
    record.update(comparison=comparison, promote=promote, reason=why)
    for key, value in comparison.items():
        if value is not None and np.isfinite(value):
            client.log_metric(run.info.run_id, f"{model}.promotion.{key}", float(value))
    client.log_metric(run.info.run_id, f"{model}.promotion.promoted", float(promote))
    return promote, why, record


def register_candidate(
    card: dict[str, Any],
    settings: RegistrySettings,
    promotion: PromotionSettings | None = None,
    evaluation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Register a passing model and move the champion alias when it beats the champion on the same rows.

    Args:
        card: What training knows of the model: ``model`` (namespace), ``registered_model_name``,
            ``logged_model_name`` (its name in the MLflow run), ``gate`` (``passed``, ``reasons``),
            ``metrics`` per window, ``training_date``, ``data_fingerprint``, ``windows`` (optional: the
            training windows, recorded so a later comparison can check the batch-lag rule).
        settings: The registry parameters.
        promotion: ``training.promotion`` (default: paired DeLong at alpha 0.05).
        evaluation: The rows both candidate and champion are scored on: ``frame`` (raw model-input rows),
            ``labels``, ``candidate_pd`` (the candidate's PD of those rows), ``months`` (their application
            months, ``YYYY-MM``), ``rows`` (what they are, in words). Needed by every method but ``own_oot``.

    Returns:
        The outcome: ``status`` (``registered`` | ``rejected`` | ``not_registered`` | ``skipped``), the
        version, whether it is now the champion, the comparison made (``comparison``) and a ``reason``.
    """
    import mlflow
    from mlflow import MlflowClient

    promotion = promotion or PromotionSettings()
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
        "promotion_method": promotion.method,
        "comparison": None,
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
    windows = card.get("windows") or {}
    learnt = {w: [windows[w]["start"], windows[w]["end"]] for w in ("train", "validation") if w in windows}
    tags = {
        MODEL_TAG: model,
        f"{TAG_PREFIX}training_date": str(card.get("training_date")),
        f"{TAG_PREFIX}data_fingerprint": str(card.get("data_fingerprint")),
        f"{TAG_PREFIX}champion_metric": settings.champion_metric,
        f"{TAG_PREFIX}champion_metric_value": repr(value),
        f"{TAG_PREFIX}quality_gate": "passed",
    }
    if learnt:
        tags[f"{TAG_PREFIX}learnt_windows"] = json.dumps(learnt)
    version = mlflow.register_model(model_uri, name, tags=tags)
    outcome.update(status="registered", version=int(version.version))

    current = _current_champion(client, name, settings.champion_alias)
    current_value = _recorded_value(client, current, settings, model) if current is not None else math.nan
    outcome["champion_value"] = None if math.isnan(current_value) else current_value
    record: dict[str, Any] | None = None
    if current is None:
        promote, why = True, "no champion yet"
    elif promotion.method == "own_oot":
        promote, why = _own_oot_rule(value, current, current_value, settings)
    elif evaluation is None:
        promote, why = (
            False,
            (
                f"no evaluation rows to score champion v{current.version} on: a same-cohort comparison "
                f"(training.promotion.method = {promotion.method}) is impossible; champion unchanged"
            ),
        )
    else:
        promote, why, record = _compare_same_rows(client, run, model, name, current, evaluation, promotion)
    if promote and not settings.auto_promote_champion:
        promote, why = False, why + "; automatic promotion is off (training.registry.auto_promote_champion)"
    if record is not None:
        outcome["comparison"] = record
        mlflow.log_dict(json_safe(record | {"candidate_version": int(version.version)}),
                        f"{model}/registry/comparison.json")  # fmt: skip
        comparison = record.get("comparison") or {}
        version_tags = {
            "comparison.champion_version": str(record["champion_version"]),
            "comparison.months": ",".join(record["months"]),
            "comparison.promoted": str(promote),
            **{f"comparison.{k}": repr(float(v)) for k, v in comparison.items() if v is not None},
        }
        for key, text in version_tags.items():
            client.set_model_version_tag(name, version.version, f"{TAG_PREFIX}{key}", text)
    client.set_tag(run.info.run_id, f"{model}.promotion_decision", why[:5000])
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


def _own_oot_rule(
    value: float, current: Any, current_value: float, settings: RegistrySettings
) -> tuple[bool, str]:
    """The former rule (``training.promotion.method: own_oot``): each version's own recorded OOT value."""
    if math.isnan(value):
        return False, f"{settings.champion_metric} of the candidate is undefined"
    if math.isnan(current_value):
        return True, f"the champion (v{current.version}) has no recorded {settings.champion_metric}"
    if value > current_value + settings.min_improvement:
        return True, (
            f"{settings.champion_metric} {value:.4f} beats champion v{current.version} ({current_value:.4f}) "
            "(own OOT values, different months)"
        )
    return False, (
        f"{settings.champion_metric} {value:.4f} does not beat champion "
        f"v{current.version} ({current_value:.4f} + {settings.min_improvement})"
    )


def _recalibrated_metrics(
    client: Any, source_run_id: str, model_name: str, model: Any, predictions: pd.DataFrame, reference: Any
) -> dict[str, float]:
    """The metrics a recalibrated version's run carries, under the names training logs (``<model>.<window>.*``):
    the source run's (its windows were not refitted), with the OOT window's recomputed from the re-scored
    reference when one is given (the PD, hence A/E, Brier and the thresholded metrics, changed)."""
    from kycc.modeling.calibration import calibration_metrics
    from kycc.modeling.metrics import classification_metrics

    prefix = f"{model_name}."
    metrics = {k: v for k, v in client.get_run(source_run_id).data.metrics.items() if k.startswith(prefix)}
    if reference is not None and "label" in predictions.columns:
        oot = predictions.loc[predictions["window"] == "oot"]
        labels, pd_new = oot["label"].to_numpy(), oot["pd"].to_numpy(dtype="float64")
        recomputed = classification_metrics(labels, pd_new, float(model.threshold)) | calibration_metrics(
            labels, pd_new
        )
        metrics.update({f"{prefix}oot.{k}": v for k, v in recomputed.items()})
    return {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(float(v))}


def register_recalibrated(  # noqa: PLR0913 - the registration's inputs
    registered_model_name: str,
    source_version: int,
    model: Any,
    *,
    settings: RegistrySettings | None = None,
    reason: str = "recalibrate",
    cohorts: list[str] | None = None,
    reference_frame: pd.DataFrame | None = None,
    promote: bool = True,
    extra_tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Register a recalibrated model (:func:`kycc.modeling.calibration.recalibrate`) as a new version.

    The new version is logged in the active MLflow run (or a new run named ``recalibration`` in the source run's
    experiment) with what inference reads of a version: the bundle as model ``<model>``, and
    ``<model>/artifacts/metadata.json`` and ``predictions.parquet`` — the source version's, with the new
    calibration, threshold and ``recalibrated_from``; the OOT reference PDs re-scored by the new bundle when
    ``reference_frame`` (the raw model-input rows of the source's OOT window, same row order as its
    predictions) is given. Tags: the source's (training date, windows learnt: the batch-lag rule is unchanged,
    the estimator is the same) plus ``kycc.recalibrated_from``, ``kycc.recalibrated_on`` and ``extra_tags`` (e.g. the
    cycle's ``kycc.recalibrated_at``, the month it was done). ``promote`` moves ``champion`` to it (the source
    becomes ``previous_champion``).

    Returns:
        ``{"registered_model_name", "version", "source_version", "champion", "run_id", "calibration"}``.
    """
    import tempfile
    from pathlib import Path

    import mlflow
    from mlflow import MlflowClient

    settings = settings or RegistrySettings()
    client = MlflowClient()
    source = client.get_model_version(registered_model_name, str(source_version))
    tags = dict(source.tags or {})
    model_name = tags.get(MODEL_TAG)
    if not model_name or not source.run_id:
        raise ValueError(
            f"{registered_model_name} v{source_version} was not registered by the training pipeline "
            "(no kycc.model tag or run): nothing to recalibrate from"
        )
    base = f"runs:/{source.run_id}/{artifact_dir(model_name)}"
    metadata = mlflow.artifacts.load_dict(f"{base}/metadata.json")
    with tempfile.TemporaryDirectory(prefix="kycc-recalibrate-") as tmp:
        path = mlflow.artifacts.download_artifacts(f"{base}/predictions.parquet", dst_path=tmp)
        predictions = pd.read_parquet(Path(path))
    calibration = model.calibrator.describe() if getattr(model, "calibrator", None) is not None else None
    metadata = {
        **metadata,
        "calibration": calibration,
        "threshold": float(model.threshold),
        "recalibrated_from": {
            "version": int(source_version),
            "reason": reason,
            "cohorts": list(cohorts or []),
        },
    }
    if reference_frame is not None:
        oot = (predictions["window"] == "oot").to_numpy()
        if int(oot.sum()) != len(reference_frame):
            raise ValueError(
                f"reference_frame has {len(reference_frame)} rows, the source's OOT predictions {int(oot.sum())}"
            )
        pd_new = np.asarray(model.predict_proba(reference_frame)[:, 1], dtype="float64")
        predictions.loc[oot, "pd"] = pd_new
        predictions.loc[oot, "prediction"] = (pd_new >= model.threshold).astype("int64")
    active = mlflow.active_run()
    experiment_id = client.get_run(source.run_id).info.experiment_id
    run = active or mlflow.start_run(experiment_id=experiment_id, run_name="recalibration")
    try:
        with tempfile.TemporaryDirectory(prefix="kycc-recalibrate-") as tmp:
            folder = Path(tmp)
            (folder / METADATA_FILE).write_text(json.dumps(json_safe(metadata), indent=2), encoding="utf-8")
            predictions.to_parquet(folder / "predictions.parquet", index=False)
            mlflow.log_artifact(str(folder / METADATA_FILE), artifact_dir(model_name))
            mlflow.log_artifact(str(folder / PREDICTIONS_FILE), artifact_dir(model_name))
        mlflow.log_metrics(
            _recalibrated_metrics(client, source.run_id, model_name, model, predictions, reference_frame)
        )
        from kycc.modeling.tracking import input_example, scoring_model_log_args
        from kycc.registry import flavor

        example = (
            input_example(reference_frame, model.preprocessor.features)
            if reference_frame is not None
            else None
        )
        info = flavor.log_model(  # the bundle for mlflow.sklearn, the PD for the pyfunc, as in training
            model,
            name=model_name,
            serialization_format="cloudpickle",
            pip_requirements=["scikit-learn"],
            **scoring_model_log_args(model, example),  # signature and input example as in training
        )
        new_tags = {
            **{k: v for k, v in tags.items() if not k.startswith(f"{TAG_PREFIX}comparison.")},
            f"{TAG_PREFIX}recalibrated_from": str(source_version),
            f"{TAG_PREFIX}recalibrated_on": ",".join(cohorts or []),
            f"{TAG_PREFIX}calibration_method": str((calibration or {}).get("method")),
            **{str(k): str(v) for k, v in (extra_tags or {}).items()},
        }
        version = mlflow.register_model(info.model_uri, registered_model_name, tags=new_tags)
        if promote:
            client.set_registered_model_alias(
                registered_model_name, settings.previous_champion_alias, source_version
            )
            client.set_registered_model_alias(registered_model_name, settings.champion_alias, version.version)
        run_id = run.info.run_id
    finally:
        if active is None:
            mlflow.end_run()
    logger.info(
        "%s: v%s recalibrated as v%s (%s)", registered_model_name, source_version, version.version, reason
    )
    return {
        "registered_model_name": registered_model_name,
        "version": int(version.version),
        "source_version": int(source_version),
        "champion": bool(promote),
        "run_id": run_id,
        "calibration": json_safe(calibration),
    }
