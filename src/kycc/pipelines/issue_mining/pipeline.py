"""The issue_mining pipeline: bronze.raw_items → silver (embeddings, clusters, summaries) → gold (issues, live).

All datasets and parameters live under the ``issue_mining`` namespace (``issue_mining.<name>`` in the catalog,
``issue_mining.<key>`` in ``parameters_issue_mining.yml``).
"""

from kedro.pipeline import Node, Pipeline

from kycc.pipelines.issue_mining import nodes


def create_pipeline(**kwargs) -> Pipeline:
    """Create the issue_mining pipeline (one ``run_date`` per run)."""
    return Pipeline(
        [
            Node(
                nodes.collect_raw_items,
                inputs=["api_access", "bronze_item_index", "params:run_date", "params:collect"],
                outputs=["bronze_raw_items", "bronze_quarantine", "collection_report"],
                name="collect_raw_items",
                tags=["bronze"],
            ),
            Node(
                nodes.embed_new_items,
                inputs=[
                    "bronze_raw_items",
                    "silver_embedding_index",
                    "embedding_model",
                    "params:run_date",
                    "params:embedding",
                ],
                outputs=["silver_item_embeddings", "embedding_report"],
                name="embed_new_items",
                tags=["silver"],
            ),
            Node(
                nodes.cluster_items,
                inputs=["bronze_raw_items", "silver_item_embeddings", "params:run_date", "params:clustering"],
                outputs=["silver_item_clusters", "silver_clusters", "clustering_report"],
                name="cluster_items",
                tags=["silver"],
            ),
            Node(
                nodes.summarise_clusters,
                inputs=[
                    "bronze_raw_items",
                    "silver_item_clusters",
                    "silver_clusters",
                    "params:run_date",
                    "params:summaries",
                ],
                outputs=["silver_cluster_summaries", "summary_report"],
                name="summarise_clusters",
                tags=["silver"],
            ),
            Node(
                nodes.label_issues,
                inputs={
                    "raw_items": "bronze_raw_items",
                    "item_clusters": "silver_item_clusters",
                    "clusters": "silver_cluster_summaries",
                    "published": "gold_issues_state",
                    "llm_access": "llm_access",
                    "run_date": "params:run_date",
                    "labelling": "params:labelling",
                },
                outputs=["gold_issues", "gold_label_failures", "gold_publication", "labelling_report"],
                name="label_issues",
                tags=["gold"],
            ),
            Node(
                nodes.build_issue_evidence,
                inputs=[
                    "bronze_raw_items",
                    "silver_item_clusters",
                    "gold_issues",
                    "params:run_date",
                    "gold_publication",
                ],
                outputs="gold_issue_evidence",
                name="build_issue_evidence",
                tags=["gold"],
            ),
            Node(
                nodes.sync_live_issues,
                inputs={
                    "issues": "gold_issues",
                    "evidence": "gold_issue_evidence",
                    "live_state": "gold_live_issues_state",
                    "access": "pocketbase_access",
                    "run_date": "params:run_date",
                    "pocketbase": "params:pocketbase",
                },
                outputs=["gold_live_issues", "sync_report"],
                name="sync_live_issues",
                tags=["gold"],
            ),
            Node(
                nodes.summarise_run,
                inputs={
                    "collection": "collection_report",
                    "embedding": "embedding_report",
                    "clustering": "clustering_report",
                    "summaries": "summary_report",
                    "labelling": "labelling_report",
                    "sync": "sync_report",
                },
                outputs="run_summary",
                name="summarise_run",
                tags=["reporting"],
            ),
            Node(
                nodes.check_run_status,
                inputs="run_summary",
                outputs=None,
                name="check_run_status",
                tags=["reporting"],
            ),
        ],
        namespace="issue_mining",
        tags=["issue_mining"],
    )
