"""early_read: silver loan snapshots → vintage curves, roll rates, the projected MOB-6 default rate.

``kedro run --pipelines early_read`` (every month in silver) or with ``--params
run.start_month=2025-01-01,run.end_month=2025-01-01`` (one month; the same rows as a catch-up run).
"""

from kedro.pipeline import Node, Pipeline

from kycc.pipelines.early_read.nodes import build_roll_rates, build_vintages, report_early_read

_INPUTS = ["lms.prm_silver", "params:run", "params:label_store", "params:early_read"]


def create_pipeline(**kwargs) -> Pipeline:
    """The early read from the loan tape (after ``label_store``, which builds ``lms.prm_silver``)."""
    return Pipeline(
        [
            Node(build_vintages, inputs=_INPUTS, outputs="out_vintages", name="build_vintages"),
            Node(build_roll_rates, inputs=_INPUTS, outputs="out_roll_rates", name="build_roll_rates"),
            Node(
                report_early_read,
                inputs=_INPUTS,
                outputs="rpt_early_read",
                name="report_early_read",
                tags=["reporting"],
            ),
        ],
        tags=["early_read"],
    )
