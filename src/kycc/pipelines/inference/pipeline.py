"""inference: applications of a month → plan (decisions are history; batch-lag rule) → scorecard decision → one
namespaced champion-scoring node per model.

``kedro run --pipelines inference --params inference.start_month=2025-01-01,inference.end_month=2025-01-01``.
The models are the keys of ``training.models`` (``model_1``, ``model_2``, …), like training.

``calibrate_active_scorecard`` gives the decision the active version's calibration in force in each month (stored
with the version, see ``kycc.scorecard.calibration``). ``shadow_score_drafts`` scores each draft version on the same
new applications (``out_scorecard_shadow``): read by monitoring's shadow backtest, never by a decision. ``plan_inference`` runs before any node that writes: every refusal (batch-lag, a rescore without a reason) stops
the run with the persisted tables as they were.
"""

from __future__ import annotations

from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from kycc.pipelines.inference import nodes
from kycc.pipelines.scorecard.nodes import calibrate_active_scorecard
from kycc.pipelines.training.pipeline import configured_models


def _bind(func, first):
    return update_wrapper(partial(func, first), func)


def create_pipeline(models: list[str] | None = None, **kwargs) -> Pipeline:
    """The inference pipeline for ``models`` (default: the keys of ``training.models``)."""
    models = list(models) if models is not None else configured_models()
    shared = Pipeline(
        [
            Node(
                nodes.select_applications,
                inputs=["feat_gold_features", "params:inference"],
                outputs=["inf_applications", "inf_months"],
                name="select_applications",
            ),
            Node(
                _bind(nodes.plan_inference, models),
                inputs=[
                    "inf_months",
                    "inf_decision_record",
                    "params:inference",
                    *(f"{m}.mdl_registered_model" for m in models),
                    *(f"{m}.inf_prediction_record" for m in models),
                ],
                outputs="inf_plan",
                name="plan_inference",
            ),
            # the active version's calibration in force per month (fitted on labels matured before it)
            Node(
                calibrate_active_scorecard,
                inputs=[
                    "mdl_scorecard_versions",
                    "feat_gold_features",
                    "feat_gold_labels",
                    "inf_plan",
                    "params:scorecard.calibration",
                ],
                outputs=["inf_scorecard_versions", "mdl_scorecard_calibration_log"],
                name="calibrate_active_scorecard",
            ),
            Node(
                nodes.decide_with_scorecard,
                inputs=["inf_applications", "inf_scorecard_versions", "inf_plan", "inf_decision_record"],
                outputs=[
                    "out_scorecard_decisions",
                    "out_scorecard_rescores",
                    "inf_decisions",
                    "inf_scorecard_summary",
                    "mdl_scorecard_decision_log",
                ],
                name="decide_with_scorecard",
            ),
            # drafts scored beside the decision, never deciding (kycc.scorecard.shadow)
            Node(
                nodes.shadow_score_drafts,
                inputs=[
                    "inf_applications",
                    "inf_scorecard_versions",
                    "inf_plan",
                    "inf_decisions",
                    "feat_gold_features",
                    "feat_gold_labels",
                    "params:scorecard.calibration",
                ],
                outputs="out_scorecard_shadow",
                name="shadow_score_drafts",
            ),
        ],
        tags=["inference"],
    )
    per_model = [
        Pipeline(
            [
                Node(
                    _bind(nodes.predict_with_champion, model),
                    inputs=["inf_applications", "inf_decisions", "mdl_registered_model", "inf_plan"],
                    outputs=["out_predictions", "out_prediction_rescores", "inf_model_summary"],
                    name="predict_with_champion",
                )
            ],
            namespace=model,
            inputs={"inf_applications", "inf_decisions", "inf_plan"},
            outputs={"inf_model_summary": f"inf_model_summary_{model}"},
            tags=["inference", model],
        )
        for model in models
    ]
    summary = Pipeline(
        [
            Node(
                nodes.summarise_inference,
                inputs=["inf_months", "inf_scorecard_summary", *(f"inf_model_summary_{m}" for m in models)],
                outputs="rpt_inference_summary",
                name="summarise_inference",
            )
        ],
        tags=["inference"],
    )
    return shared + sum(per_model, start=Pipeline([])) + summary
