"""stability: for every scored month, the scorecard that decided it and each champion against a development
reference of more than one month.

``kedro run --pipelines stability --params stability.start_month=2024-09-01,stability.end_month=2024-09-01``
(both null = the latest decided month). The monthly cycle runs it right after inference. The models are the keys
of ``training.models``, like inference.
"""

from __future__ import annotations

from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from kycc.pipelines.stability import nodes
from kycc.pipelines.training.pipeline import configured_models


def _bind(func, first):
    return update_wrapper(partial(func, first), func)


def create_pipeline(models: list[str] | None = None, **kwargs) -> Pipeline:
    """The stability pipeline for ``models`` (default: the keys of ``training.models``)."""
    models = list(models) if models is not None else configured_models()
    shared = Pipeline(
        [
            Node(
                nodes.select_stability_months,
                inputs=["out_scorecard_decisions", "params:stability"],
                outputs="stb_months",
                name="select_stability_months",
            ),
            Node(
                nodes.scorecard_stability,
                inputs=[
                    "stb_months",
                    "out_scorecard_decisions",
                    "feat_gold_features",
                    "mdl_scorecard_versions",
                    "params:stability",
                    "params:psi_levels",
                ],
                outputs=["stb_scorecard_stability", "out_characteristic_analysis"],
                name="scorecard_stability",
            ),
        ],
        tags=["stability"],
    )
    per_model = [
        Pipeline(
            [
                Node(
                    _bind(nodes.model_stability, model),
                    inputs=[
                        "stb_months",
                        "out_predictions",
                        "feat_gold_features",
                        "mdl_registered_model",
                        "params:stability",
                        "params:psi_levels",
                    ],
                    outputs="stb_model_stability",
                    name="model_stability",
                )
            ],
            namespace=model,
            inputs={"stb_months", "feat_gold_features"},
            parameters={"params:stability", "params:psi_levels"},
            outputs={"stb_model_stability": f"stb_model_stability_{model}"},
            tags=["stability", model],
        )
        for model in models
    ]
    combine = Pipeline(
        [
            Node(
                nodes.combine_stability,
                inputs=[
                    "stb_months",
                    "stb_scorecard_stability",
                    *(f"stb_model_stability_{m}" for m in models),
                ],
                outputs=["out_scoring_stability", "rpt_stability_summary"],
                name="combine_stability",
            )
        ],
        tags=["stability"],
    )
    return shared + sum(per_model, start=Pipeline([])) + combine
