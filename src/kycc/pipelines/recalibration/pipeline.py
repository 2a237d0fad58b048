"""recalibration: a ``recalibrate`` decision of month M - 1 → each such model's champion recalibrated on the latest
matured cohorts and registered as a new version (champion moved) → the active scorecard's score -> PD calibration
refreshed from M → a summary.

``kedro run --pipelines recalibration --params recalibration.month=2025-01-01`` (the monthly cycle runs it at
M + 1 after a recalibrate decision in M, like training after a retrain decision). Parameters: ``recalibration``
in ``conf/base/parameters_actions.yml``; docs/actions.md.
"""

from __future__ import annotations

from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from kycc.pipelines.recalibration import nodes
from kycc.pipelines.training.pipeline import configured_models


def _bind(func, model: str):
    return update_wrapper(partial(func, model), func)


def create_pipeline(models: list[str] | None = None, **kwargs) -> Pipeline:
    """The recalibration pipeline for ``models`` (default: the keys of ``training.models``)."""
    models = list(models) if models is not None else configured_models()
    per_model = [
        Pipeline(
            [
                Node(
                    _bind(nodes.recalibrate_model, model),
                    inputs=[
                        "mdl_registered_model",
                        "out_action_decisions",
                        "mdl_model_input",
                        "params:recalibration",
                        "params:training.data_contract",
                        "params:actions",
                    ],
                    outputs="rcl_result",
                    name="recalibrate_model",
                )
            ],
            namespace=model,
            inputs={"mdl_model_input"},
            outputs={"rcl_result": f"rcl_result_{model}"},
            parameters={"params:recalibration", "params:training.data_contract", "params:actions"},
            tags=["recalibration", model],
        )
        for model in models
    ]
    shared = Pipeline(
        [
            Node(
                nodes.refresh_scorecard_calibration,
                inputs=[
                    "mdl_scorecard_versions",
                    "feat_gold_features",
                    "feat_gold_labels",
                    "params:scorecard.calibration",
                    "params:recalibration",
                    *(f"rcl_result_{m}" for m in models),
                ],
                outputs=["rcl_scorecard_calibration_log", "rcl_scorecard_result"],
                name="refresh_scorecard_calibration",
            ),
            Node(
                nodes.summarise_recalibration,
                inputs=["rcl_scorecard_result", *(f"rcl_result_{m}" for m in models)],
                outputs=["rpt_recalibration_summary", "rpt_recalibration_reports"],
                name="summarise_recalibration",
            ),
        ],
        tags=["recalibration"],
    )
    return sum(per_model, start=Pipeline([])) + shared
