"""training: model input → temporal windows → one namespaced template per model → gates → MLflow registry.

The models are the keys of ``training.models`` in the parameters (``model_1``, ``model_2``; a ``model_3`` is a
new key plus nothing else). Kedro builds pipelines before it reads parameters, so :func:`configured_models`
reads that one key from the project's configuration (``conf/base`` + the ``KEDRO_ENV`` or default ``local``
environment) when the pipeline is created.
"""

from __future__ import annotations

import logging
import os
from functools import partial, update_wrapper
from pathlib import Path

from kedro.pipeline import Node, Pipeline

from kycc.paths import find_project_root
from kycc.pipelines.training import nodes

logger = logging.getLogger(__name__)

DEFAULT_MODELS = ("model_1", "model_2")

# Datasets shared by every model (not namespaced).
SHARED_INPUTS = {
    "mdl_windowed_input",
    "mdl_feature_spec",
    "mdl_training_windows",
    "rpt_training_data_profile",
}
SHARED_PARAMETERS = {
    "params:training.quality_gates",
    "params:training.registry",
    "params:training.fitting",
    "params:training.calibration",
    "params:training.promotion",
}


def _bind(func, model: str):
    """``func`` with its first argument (the model name) bound; keeps the name and docstring."""
    return update_wrapper(partial(func, model), func)


def model_template(model: str) -> Pipeline:
    """The per-model pipeline (datasets named without namespace; :func:`create_pipeline` adds it).

    The fitted objects flow between nodes in memory (``mdl_fitted_*``, ``mdl_run_*``); ``publish_candidate``
    hands them to the ``data/06_models/<model>/`` datasets with the gate result, which keep the files of the
    last model that passed (a failing model's files are in its MLflow run only).
    """
    return Pipeline(
        [
            Node(
                _bind(nodes.fit_preprocessing, model),
                inputs=["mdl_windowed_input", "mdl_feature_spec", "params:model_options"],
                outputs="mdl_fitted_preprocessing",
                name="fit_preprocessing",
            ),
            Node(
                nodes.apply_preprocessing,
                inputs=["mdl_fitted_preprocessing", "mdl_windowed_input"],
                outputs="mdl_model_features",
                name="apply_preprocessing",
            ),
            Node(
                _bind(nodes.train_model, model),
                inputs=[
                    "mdl_model_features",
                    "mdl_windowed_input",
                    "mdl_feature_spec",
                    "params:model_options",
                    "params:training.fitting",
                ],
                outputs=["mdl_fitted_model", "mdl_run_search"],
                name="train_model",
            ),
            Node(
                _bind(nodes.fit_calibration, model),
                inputs=[
                    "mdl_fitted_preprocessing",
                    "mdl_fitted_model",
                    "mdl_windowed_input",
                    "mdl_feature_spec",
                    "params:training.calibration",
                    "params:model_options",
                ],
                outputs="mdl_fitted_calibrator",
                name="fit_calibration",
            ),
            Node(
                _bind(nodes.evaluate_model, model),
                inputs=[
                    "mdl_fitted_preprocessing",
                    "mdl_fitted_model",
                    "mdl_windowed_input",
                    "mdl_feature_spec",
                    "params:model_options",
                    "mdl_fitted_calibrator",
                    "params:training.calibration",
                ],
                outputs=["mdl_evaluation", "mdl_run_predictions"],
                name="evaluate_model",
            ),
            Node(
                _bind(nodes.plot_model_performance, model),
                inputs="mdl_run_predictions",
                outputs=["rpt_roc_curve", "rpt_calibration_curve"],
                name="plot_model_performance",
            ),
            Node(
                _bind(nodes.check_quality_gates, model),
                inputs=["mdl_evaluation", "params:training.quality_gates"],
                outputs="mdl_quality_gate",
                name="check_quality_gates",
            ),
            Node(
                _bind(nodes.build_model_metadata, model),
                inputs=[
                    "mdl_fitted_preprocessing",
                    "mdl_evaluation",
                    "mdl_quality_gate",
                    "mdl_run_search",
                    "mdl_training_windows",
                    "rpt_training_data_profile",
                    "params:model_options",
                ],
                outputs=["mdl_run_metadata", "mdl_run_feature_list", "mdl_mlflow_metrics"],
                name="build_model_metadata",
            ),
            Node(
                _bind(nodes.publish_candidate, model),
                inputs=[
                    "mdl_quality_gate",
                    "mdl_fitted_preprocessing",
                    "mdl_fitted_model",
                    "mdl_run_search",
                    "mdl_run_feature_list",
                    "mdl_run_metadata",
                    "mdl_run_predictions",
                ],
                outputs=[
                    "mdl_preprocessing",
                    "mdl_model",
                    "mdl_hyperparameter_search",
                    "mdl_feature_list",
                    "mdl_metadata",
                    "mdl_predictions",
                ],
                name="publish_candidate",
            ),
            Node(
                _bind(nodes.package_model, model),
                inputs=[
                    "mdl_fitted_preprocessing",
                    "mdl_fitted_model",
                    "mdl_run_metadata",
                    "mdl_fitted_calibrator",
                    "mdl_windowed_input",
                ],
                outputs=["mdl_mlflow_model", "mdl_registration_card"],
                name="package_model",
            ),
            Node(
                nodes.register_model,
                inputs=[
                    "mdl_registration_card",
                    "params:training.registry",
                    "mdl_windowed_input",
                    "mdl_run_predictions",
                    "mdl_feature_spec",
                    "params:training.promotion",
                ],
                outputs="mdl_registry_result",
                name="register_model",
            ),
        ]
    )


#: ``configured_models`` results by (configuration folder, environment, the folder's files' sizes and times):
#: every pipeline that runs per model asks, and each read of the parameters costs ~0.3 s of CPU.
_MODELS_READ: dict[tuple, list[str]] = {}


def _conf_files(conf: str) -> tuple:
    """Path, size and modification time of every file under ``conf``: a changed file reads the models again."""
    found = []
    for path in sorted(Path(conf).rglob("*")):
        try:
            stat = path.stat()
        except OSError:
            continue
        if path.is_file():
            found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def configured_models(conf_source: str | Path | None = None, env: str | None = None) -> list[str]:
    """The model names under ``training.models`` in the project's parameters (default: model_1, model_2).

    Args:
        conf_source: Configuration folder (default: the project's ``conf``).
        env: Environment layered on ``base`` (default: ``KEDRO_ENV``, else the project's default run env).
    """
    try:
        from kycc import settings
        from kycc.project import config_loader

        root = find_project_root() or Path.cwd()
        conf = str(conf_source or root / getattr(settings, "CONF_SOURCE", "conf"))
        env = env or os.environ.get("KEDRO_ENV")
        key = (conf, env, _conf_files(conf))
        if key in _MODELS_READ:
            return list(_MODELS_READ[key])
        loader = config_loader(root, env, conf_source=conf)
        models = loader["parameters"]["training"]["models"]
        names = [str(name) for name in models]
    except Exception as err:  # noqa: BLE001 - a pipeline must be buildable without a project (tests, viz)
        logger.debug("training.models not readable (%s): using %s", err, DEFAULT_MODELS)
        return list(DEFAULT_MODELS)
    if not names:
        raise ValueError("training.models is empty: declare at least one model in parameters_training.yml")
    _MODELS_READ[key] = names
    return list(names)


def create_pipeline(models: list[str] | None = None, **kwargs) -> Pipeline:
    """The training pipeline for ``models`` (default: the keys of ``training.models``)."""
    models = list(models) if models is not None else configured_models()
    shared = Pipeline(
        [
            # checks first, in memory: a refusal (history too short, …) stops the run before anything is written
            Node(
                nodes.validate_model_input,
                inputs=["mdl_model_input", "params:training.data_contract"],
                outputs=["mdl_validated_input", "mdl_checked_feature_spec"],
                name="validate_model_input",
            ),
            Node(
                nodes.compute_training_windows,
                inputs=[
                    "mdl_validated_input",
                    "mdl_checked_feature_spec",
                    "params:training.windows",
                    "params:training.training_date",
                ],
                outputs=["mdl_checked_training_windows", "mdl_checked_window_params"],
                name="compute_training_windows",
            ),
            Node(
                nodes.split_by_windows,
                inputs=["mdl_validated_input", "mdl_checked_feature_spec", "mdl_checked_training_windows"],
                outputs=["mdl_windowed_input", "mdl_checked_data_profile"],
                name="split_by_windows",
            ),
            Node(
                nodes.record_training_setup,
                inputs=[
                    "mdl_checked_feature_spec",
                    "mdl_checked_training_windows",
                    "mdl_checked_window_params",
                    "mdl_checked_data_profile",
                ],
                outputs=[
                    "mdl_feature_spec",
                    "mdl_training_windows",
                    "mdl_training_window_params",
                    "rpt_training_data_profile",
                ],
                name="record_training_setup",
            ),
        ],
        tags=["training"],
    )
    per_model = [
        Pipeline(
            model_template(model),
            namespace=model,
            inputs=SHARED_INPUTS,
            # the summary reads every model's outcome: exposed without a dot (Kedro reserves dots for namespaces)
            outputs={"mdl_registry_result": f"mdl_registry_result_{model}"},
            parameters={
                "params:model_options": f"params:training.models.{model}",
                **{p: p for p in SHARED_PARAMETERS},
            },
            tags=["training", model],
        )
        for model in models
    ]
    summary = Pipeline(
        [
            Node(
                nodes.summarise_training,
                inputs=["mdl_training_windows", *(f"mdl_registry_result_{m}" for m in models)],
                outputs="rpt_training_summary",
                name="summarise_training",
            ),
        ],
        tags=["training"],
    )
    return shared + sum(per_model, start=Pipeline([])) + summary
