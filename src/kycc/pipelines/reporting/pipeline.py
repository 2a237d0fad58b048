"""reporting: every model's monitoring metrics, feature PSI, actions and predictions → PNG charts + HTML dashboard.

``kedro run --pipelines reporting`` (reads what inference, monitoring and actions wrote; any month range).
"""

from __future__ import annotations

from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from kycc.pipelines.reporting import nodes
from kycc.pipelines.training.pipeline import configured_models


def create_pipeline(models: list[str] | None = None, **kwargs) -> Pipeline:
    """The reporting pipeline for ``models`` (default: the keys of ``training.models``)."""
    models = list(models) if models is not None else configured_models()
    collect = update_wrapper(partial(nodes.collect_tables, models), nodes.collect_tables)
    return Pipeline(
        [
            Node(
                collect,
                inputs=[
                    "out_scorecard_decisions",
                    *(f"{m}.{name}" for m in models for name in nodes.PER_MODEL_INPUTS),
                ],
                outputs="rpt_tables",
                name="collect_tables",
            ),
            Node(
                nodes.draw_charts,
                inputs=["rpt_tables", "params:reporting", "params:actions"],
                outputs=["rpt_monitoring_charts", "rpt_chart_pngs"],
                name="draw_charts",
            ),
            Node(
                nodes.drift_sections,
                inputs=[
                    "out_scoring_stability",
                    "out_characteristic_analysis",
                    "out_scorecard_backtest",
                    "out_estimated_performance",
                    "params:reporting",
                    "out_vintages_if_any",
                    "out_scorecard_shadow_backtest",
                ],  # fmt: skip
                outputs="rpt_drift_sections",
                name="drift_sections",
            ),
            Node(
                nodes.governance_sections,
                inputs=[
                    "out_alert_delivery_log",
                    "rpt_adverse_impact",
                    "rpt_override_rates",
                    "params:scorecard.fairness",
                ],  # fmt: skip
                outputs="rpt_governance_sections",
                name="governance_sections",
            ),
            Node(
                nodes.build_dashboard,
                inputs=[
                    "rpt_tables",
                    "rpt_chart_pngs",
                    "params:reporting",
                    "params:actions",
                    "rpt_drift_sections",
                    "rpt_governance_sections",
                ],
                outputs=["rpt_monitoring_dashboard", "rpt_monitoring_metrics"],
                name="build_dashboard",
            ),
        ],
        tags=["reporting"],
    )
