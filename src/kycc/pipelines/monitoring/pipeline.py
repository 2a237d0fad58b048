"""monitoring: labels maturing now × predictions made 6 months earlier → metrics, PSI, drift, per model; the
scorecard's band backtest and the estimated (CBPE-style) vs realized performance.

``kedro run --pipelines monitoring --params monitoring.start_month=2025-01-01,monitoring.end_month=2025-01-01``.
"""

from __future__ import annotations

from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from kycc.pipelines.monitoring import nodes
from kycc.pipelines.training.pipeline import configured_models

#: The nodes of the scorecard's monitoring (labels, band backtest, estimated performance): the cycle runs them
#: every month whose cohort has matured decisions, before any model is monitorable (``--tags`` selects them).
SCORECARD_TAG = "scorecard_monitoring"


def _bind(func, model: str):
    return update_wrapper(partial(func, model), func)


def create_pipeline(models: list[str] | None = None, **kwargs) -> Pipeline:
    """The monitoring pipeline for ``models`` (default: the keys of ``training.models``)."""
    models = list(models) if models is not None else configured_models()
    shared = Pipeline(
        [
            Node(
                nodes.select_maturing_labels,
                inputs=["feat_gold_labels", "params:monitoring"],
                outputs=["mon_labels", "mon_months"],
                name="select_maturing_labels",
                tags=[SCORECARD_TAG],
            )
        ],
        tags=["monitoring"],
    )
    per_model = [
        Pipeline(
            [
                Node(
                    _bind(nodes.monitor_model, model),
                    inputs=[
                        "mon_labels",
                        "mon_months",
                        "feat_gold_features",
                        "out_predictions",
                        "mdl_registered_model",
                        "params:monitoring",
                        "params:psi_levels",
                    ],
                    outputs=[
                        "out_monitoring_metrics",
                        "out_feature_psi",
                        "mlflow_monitoring_metrics",
                        "mon_model_summary",
                    ],
                    name="monitor_model",
                )
            ],
            namespace=model,
            inputs={"mon_labels", "mon_months", "feat_gold_features"},
            outputs={"mon_model_summary": f"mon_model_summary_{model}"},
            parameters={"params:monitoring", "params:psi_levels"},
            tags=["monitoring", model],
        )
        for model in models
    ]
    scorecard = Pipeline(
        [
            Node(
                nodes.backtest_scorecard,
                inputs=[
                    "mon_labels",
                    "mon_months",
                    "out_scorecard_decisions",
                    "mdl_scorecard_versions",
                    "params:monitoring",
                ],
                outputs=["out_scorecard_backtest", "mon_scorecard_summary"],
                name="backtest_scorecard",
            ),
            # the draft versions scored in shadow, on the same cohort and labels (role shadow; never deciding)
            Node(
                nodes.backtest_shadow_scorecards,
                inputs=[
                    "mon_labels",
                    "mon_months",
                    "out_scorecard_shadow",
                    "mdl_scorecard_versions",
                    "params:monitoring",
                ],
                outputs="out_scorecard_shadow_backtest",
                name="backtest_shadow_scorecards",
            ),
            Node(
                update_wrapper(
                    partial(nodes.estimate_performance, models=models), nodes.estimate_performance
                ),
                inputs=[
                    "mon_months",
                    "mon_labels",
                    "out_scorecard_decisions",
                    "params:monitoring",
                    "feat_gold_features",
                    "feat_gold_labels",
                    *(f"{m}.{name}" for m in models for name in ("out_predictions", "mdl_registered_model")),
                ],
                outputs="out_estimated_performance",
                name="estimate_performance",
            ),
        ],
        tags=["monitoring", "scorecard_backtest", SCORECARD_TAG],
    )
    summary = Pipeline(
        [
            Node(
                nodes.summarise_monitoring,
                inputs=["mon_months", *(f"mon_model_summary_{m}" for m in models), "mon_scorecard_summary"],
                outputs="rpt_monitoring_summary",
                name="summarise_monitoring",
            )
        ],
        tags=["monitoring"],
    )
    return shared + scorecard + sum(per_model, start=Pipeline([])) + summary
