"""scorecard: model_1 artifacts + gold features/labels + configuration → draft version ``ml_vN`` + report.

``kedro run --pipelines scorecard`` (or ``kycc scorecard refine``). The draft is never activated here: a named
reviewer activates it with ``kycc scorecard activate`` (see docs/scorecard.md).
"""

from kedro.pipeline import Node, Pipeline

from kycc.pipelines.scorecard import nodes

#: model_1's artifacts, as the training pipeline writes them (catalog_training.yml factories).
MODEL_INPUTS = ["model_1.mdl_model", "model_1.mdl_preprocessing", "model_1.mdl_metadata"]


def create_pipeline(**kwargs) -> Pipeline:
    """The refinement pipeline (shown in kedro-viz with its inputs from training and the feature store)."""
    return Pipeline(
        [
            Node(
                nodes.declare_config_versions,
                inputs=["params:scorecard.versions", "params:scorecard.initial_version"],
                outputs="mdl_scorecard_versions",
                name="declare_config_versions",
            ),
            Node(
                nodes.select_base_version,
                inputs=["mdl_scorecard_versions", "params:scorecard.refinement"],
                outputs="mdl_scorecard_base",
                name="select_base_version",
            ),
            Node(
                nodes.select_reference,
                inputs=["feat_gold_features", "params:scorecard.reference"],
                outputs=["mdl_scorecard_reference", "mdl_scorecard_reference_info"],
                name="select_reference",
            ),
            Node(
                nodes.build_labelled_sample,
                inputs=["feat_gold_features", "feat_gold_labels", "params:scorecard.calibration"],
                outputs=["mdl_scorecard_labelled", "mdl_scorecard_labelled_info"],
                name="build_labelled_sample",
            ),
            Node(
                nodes.derive_ml_weights,
                inputs=[*MODEL_INPUTS, "mdl_scorecard_base", "params:scorecard.refinement"],
                outputs="mdl_scorecard_ml_weights",
                name="derive_ml_weights",
            ),
            Node(
                nodes.choose_blend_factor,
                inputs=[
                    "mdl_scorecard_base",
                    "mdl_scorecard_ml_weights",
                    "mdl_scorecard_labelled",
                    "params:scorecard.refinement",
                ],
                outputs="mdl_scorecard_blend",
                name="choose_blend_factor",
            ),
            Node(
                nodes.refine_scorecard,
                inputs=[
                    "mdl_scorecard_base",
                    "mdl_scorecard_ml_weights",
                    "params:scorecard.refinement",
                    "mdl_scorecard_labelled",
                    "mdl_scorecard_blend",
                ],
                outputs="mdl_scorecard_refined",
                name="refine_scorecard",
            ),
            Node(
                nodes.calibrate_versions,
                inputs=[
                    "mdl_scorecard_base",
                    "mdl_scorecard_refined",
                    "mdl_scorecard_labelled",
                    "mdl_scorecard_labelled_info",
                    "params:scorecard.calibration",
                ],
                outputs="mdl_scorecard_calibrations",
                name="calibrate_versions",
            ),
            Node(
                nodes.compare_draft,
                inputs=[
                    "mdl_scorecard_base",
                    "mdl_scorecard_refined",
                    "mdl_scorecard_reference",
                    "mdl_scorecard_reference_info",
                    "params:scorecard.checks",
                ],
                outputs="mdl_scorecard_comparison",
                name="compare_draft",
            ),
            Node(
                nodes.assemble_proposal,
                inputs=[
                    "mdl_scorecard_base",
                    "mdl_scorecard_refined",
                    "mdl_scorecard_ml_weights",
                    "mdl_scorecard_calibrations",
                    "mdl_scorecard_comparison",
                    "params:scorecard.refinement",
                    "mdl_scorecard_blend",
                ],
                outputs="mdl_scorecard_draft",
                name="assemble_proposal",
            ),
            Node(
                nodes.score_reference_batch,
                inputs=["mdl_scorecard_draft", "mdl_scorecard_reference"],
                outputs="out_scorecard_reference_scores",
                name="score_reference_batch",
            ),
            Node(
                nodes.render_comparison_report,
                inputs="mdl_scorecard_draft",
                outputs="rpt_scorecard_comparison",
                name="render_comparison_report",
            ),
        ],
        tags=["scorecard"],
    )
