"""feature_store: raw party data → bronze per source → silver per source → gold point-in-time features."""

from kedro.pipeline import Node, Pipeline

from kycc.pipelines.feature_store.nodes import PARTY_SOURCES, build_feature_table, report_feature_quality
from kycc.pipelines.medallion import medallion_pipeline

_RAW = {
    "attributes": "raw_features_attributes",
    "financials": "raw_features_financials",
    "clickstream": "raw_feature_clickstream",
    "relationships": "raw_party_relationships",
}


def create_pipeline(**kwargs) -> Pipeline:
    """The feature store. Needs the label store's silver loan book (``lms.prm_silver``)."""
    sources = sum(
        (
            medallion_pipeline(s, raw=_RAW[s], batches="raw_batch_profiles", rules="feature_store")
            for s in PARTY_SOURCES
        ),
        start=Pipeline([]),
    )
    layer_inputs = [
        f"{s}.{layer}" for s in PARTY_SOURCES for layer in ("int_bronze", "prm_silver", "prm_quarantine")
    ]
    gold = Pipeline(
        [
            Node(
                build_feature_table,
                inputs=[
                    "lms.prm_silver",
                    *(f"{s}.prm_silver" for s in PARTY_SOURCES),
                    "params:run",
                    "params:feature_store",
                ],
                outputs="feat_gold_features",
                name="build_gold_features",
                tags=["gold"],
            ),
            Node(
                report_feature_quality,
                inputs=["params:run", "feat_gold_features", *layer_inputs],
                outputs="rpt_feature_store_quality",
                name="report_feature_quality",
                tags=["reporting"],
            ),
        ]
    )
    # every node carries its stage (bronze, silver, gold, reporting) and the pipeline name (kedro-viz tag filter)
    return Pipeline(sources + gold, tags=["feature_store"])
