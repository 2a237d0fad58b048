"""label_store: raw loan book → bronze → silver (typed, validated) → gold labels."""

from kedro.pipeline import Node, Pipeline

from kycc.pipelines.label_store.nodes import build_gold_labels, report_label_quality
from kycc.pipelines.medallion import medallion_pipeline


def create_pipeline(**kwargs) -> Pipeline:
    """The label store: loan book medallion (namespace ``lms``) and the gold label rule."""
    medallion = medallion_pipeline(
        "lms", raw="raw_lms_loan_daily", batches="raw_batch_labels", rules="label_store"
    )
    gold = Pipeline(
        [
            Node(
                build_gold_labels,
                inputs=["lms.prm_silver", "params:run", "params:label_store"],
                outputs="feat_gold_labels",
                name="build_gold_labels",
                tags=["gold"],
            ),
            Node(
                report_label_quality,
                inputs=[
                    "lms.int_bronze",
                    "lms.prm_silver",
                    "lms.prm_quarantine",
                    "feat_gold_labels",
                    "params:run",
                ],
                outputs="rpt_label_store_quality",
                name="report_label_quality",
                tags=["reporting"],
            ),
        ]
    )
    # every node carries its stage (bronze, silver, gold, reporting) and the pipeline name (kedro-viz tag filter)
    return Pipeline(medallion + gold, tags=["label_store"])
