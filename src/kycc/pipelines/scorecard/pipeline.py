"""scorecard: model_1 artifacts + gold features/labels + configuration → draft version ``ml_vN`` + report.

``kedro run --pipelines scorecard`` (or ``kycc scorecard refine``). The draft is never activated here: a named
reviewer activates it with ``kycc scorecard activate`` (see docs/scorecard.md).
"""

from kedro.pipeline import Node, Pipeline

from kycc.pipelines.scorecard import nodes

#: model_1's artifacts, as the training pipeline writes them (catalog_training.yml factories).
MODEL_INPUTS = ["model_1.mdl_model", "model_1.mdl_preprocessing", "model_1.mdl_metadata"]
#: The scorecard store: saved by ``declare_config_versions``, loaded by every node that decides or reads versions.
STORE = "mdl_scorecard_versions"


def declare_versions_node(tags: set[str] | None = None) -> Node:
    """``declare_config_versions``: the versions of configuration into the store (idempotent: missing ones only;
    a new store activates ``scorecard.initial_version``)."""
    return Node(
        nodes.declare_config_versions,
        inputs=["params:scorecard.versions", "params:scorecard.initial_version"],
        outputs=STORE,
        name="declare_config_versions",
        tags=sorted(tags or ()),
    )


def with_config_versions(pipelines: dict[str, Pipeline]) -> dict[str, Pipeline]:
    """Every pipeline that reads the scorecard store (``mdl_scorecard_versions``: inference, monitoring,
    stability, recalibration, scorecard) declares the configuration's versions first, so no setup step exists and
    ``kedro run --pipelines inference`` works on a fresh project.

    One node, the same in all of them (Kedro merges it when pipelines are run together), carrying every tag of
    the nodes that read the store: a run filtered by tags (``kycc backfill``'s scoring runs) keeps it. Unit tests
    that build a pipeline with ``create_pipeline`` and give the store in memory are unaffected.
    """
    readers = {name: p for name, p in pipelines.items() if STORE in p.all_inputs()}
    if not readers:
        return pipelines
    tags = {"scorecard"}
    for pipeline in readers.values():
        for node in pipeline.nodes:
            if STORE in node.inputs:
                tags |= set(node.tags)
    declare = Pipeline([declare_versions_node(tags)])
    return {name: (p - declare) + declare if name in readers else p for name, p in pipelines.items()}


def create_pipeline(**kwargs) -> Pipeline:
    """The refinement pipeline (shown in kedro-viz with its inputs from training and the feature store)."""
    return Pipeline(
        [
            declare_versions_node(),
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
