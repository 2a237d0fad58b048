"""model_input: gold labels + gold features (Ibis) → ``mdl_model_input`` (pandas, one row per labelled loan)."""

from kedro.pipeline import Node, Pipeline

from kycc.pipelines.model_input.nodes import build_model_input


def create_pipeline(**kwargs) -> Pipeline:
    """The model-input table training reads (``kedro run --pipelines model_input``)."""
    return Pipeline(
        [
            Node(
                build_model_input,
                inputs=["feat_gold_labels", "feat_gold_features", "params:model_input"],
                outputs=["mdl_model_input", "rpt_model_input_summary"],
                name="build_model_input",
                tags=["model_input"],
            )
        ]
    )
