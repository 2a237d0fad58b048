"""actions: monitoring metrics → monitor / active_monitoring / retrain per model and month, decided on the
evidence of each cohort (intervals, A/E), as JSON + text reports; the notifications delivered and logged.

``kedro run --pipelines actions --params actions.start_month=2025-01-01,actions.end_month=2025-01-01``.
"""

from __future__ import annotations

from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from kycc.pipelines.actions import nodes
from kycc.pipelines.training.pipeline import configured_models


def _bind(func, model: str):
    return update_wrapper(partial(func, model), func)


def create_pipeline(models: list[str] | None = None, **kwargs) -> Pipeline:
    """The action-evaluation pipeline for ``models`` (default: the keys of ``training.models``)."""
    models = list(models) if models is not None else configured_models()
    per_model = [
        Pipeline(
            [
                Node(
                    _bind(nodes.evaluate_actions, model),
                    inputs=[
                        "out_monitoring_metrics",
                        "out_feature_psi",
                        "out_predictions",
                        "feat_gold_labels",
                        "params:actions",
                        "params:psi_levels",
                    ],
                    outputs=[
                        "out_action_decisions",
                        "rpt_action_json",
                        "rpt_action_text",
                        "act_model_summary",
                        "act_model_alerts",
                    ],
                    name="evaluate_actions",
                )
            ],
            namespace=model,
            inputs={"feat_gold_labels"},
            outputs={
                "act_model_summary": f"act_model_summary_{model}",
                "act_model_alerts": f"act_model_alerts_{model}",
            },
            parameters={"params:actions", "params:psi_levels"},
            tags=["actions", model],
        )
        for model in models
    ]
    shared = Pipeline(
        [
            Node(
                nodes.deliver_notifications,
                inputs=[
                    "act_alert_delivery_history",
                    "act_notification_secrets",
                    "params:actions",
                    *(f"act_model_alerts_{m}" for m in models),
                ],
                outputs="out_alert_delivery_log",
                name="deliver_notifications",
            ),
            Node(
                nodes.summarise_actions,
                inputs=["out_alert_delivery_log", *(f"act_model_summary_{m}" for m in models)],
                outputs="rpt_actions_summary",
                name="summarise_actions",
            ),
        ],
        tags=["actions"],
    )
    return sum(per_model, start=Pipeline([])) + shared
