"""fair_lending: decisions (``out_scorecard_decisions``) ⋈ the applicants' characteristics (``feat_gold_features``)
→ ``rpt_adverse_impact`` per month and group; the decision log (``mdl_scorecard_decision_log``, with its
overrides) → ``rpt_override_rates`` per month and band.

``kedro run --pipelines fair_lending`` after inference (every decided month is reported again: same input, same
rows; months are replaced, never appended twice).
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from kycc.pipelines.fair_lending import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                nodes.select_characteristics,
                inputs=["feat_gold_features", "params:scorecard.fairness"],
                outputs="fair_characteristics",
                name="select_characteristics",
            ),
            Node(
                nodes.report_adverse_impact,
                inputs=["out_scorecard_decisions", "fair_characteristics", "params:scorecard.fairness"],
                outputs="rpt_adverse_impact",
                name="report_adverse_impact",
            ),
            Node(
                nodes.report_override_rates,
                inputs="mdl_scorecard_decision_log",
                outputs="rpt_override_rates",
                name="report_override_rates",
            ),
        ],
        tags=["fair_lending"],
    )
