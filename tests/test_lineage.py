"""kedro-viz lineage: every registered pipeline loads, its layers sort (no layer cycle disables the view), every
node has a readable name and a tag naming its pipeline, and every catalog dataset a pipeline uses has a layer."""

from __future__ import annotations

import re

import pytest

from tests.kedro_run import PROJECT_ROOT

pytestmark = pytest.mark.slow

# ``<namespace>.`` prefixes then a snake_case name: not Kedro's default ``func([inputs]) -> [outputs]``.
READABLE_NAME = re.compile(r"^([a-z][a-z0-9_]*\.)*[a-z][a-z0-9_]*$")


@pytest.fixture(scope="module")
def viz():
    """What ``kedro viz`` loads: the catalog, the registered pipelines and its populated data repositories."""
    from kedro_viz.data_access import data_access_manager
    from kedro_viz.integrations.kedro.data_loader import load_data
    from kedro_viz.server import populate_data

    catalog, pipelines, extras = load_data(PROJECT_ROOT)
    data_access_manager.reset_fields()
    populate_data(data_access_manager, catalog, pipelines, extras)
    return catalog, pipelines, data_access_manager


def test_every_pipeline_has_ordered_layers(viz):
    _, pipelines, manager = viz
    assert {"label_store", "feature_store", "model_input", "training", "issue_mining"} <= set(pipelines)
    for pipeline_id in pipelines:
        # the modular-pipeline tree adds the namespace nodes whose edges can create layer cycles
        manager.create_modular_pipelines_tree_for_registered_pipeline(pipeline_id)
        layers = manager.get_sorted_layers_for_registered_pipeline(pipeline_id)
        assert layers, f"{pipeline_id}: kedro-viz found a layer cycle and disables the layer view"
    default = manager.get_sorted_layers_for_registered_pipeline("__default__")
    medallion = [layer for layer in default if layer in {"raw", "bronze", "silver", "gold"}]
    assert medallion == ["raw", "bronze", "silver", "gold"]


def test_every_node_is_named_and_tagged_with_its_pipeline(viz):
    _, pipelines, _ = viz
    problems = []
    for pipeline_id, pipeline in pipelines.items():
        if pipeline_id == "__default__":  # a sum of the others, checked through them
            continue
        for node in pipeline.nodes:
            if not READABLE_NAME.match(node.name):
                problems.append(f"{pipeline_id}: node {node.name!r} has no explicit readable name")
            if pipeline_id not in node.tags:
                problems.append(
                    f"{pipeline_id}: node {node.name!r} is not tagged {pipeline_id!r} ({node.tags})"
                )
    assert not problems, "\n".join(problems)


def test_default_pipeline_nodes_are_tagged_with_their_stage_pipeline(viz):
    from kycc.pipeline_registry import DEFAULT_PIPELINES

    _, pipelines, _ = viz
    untagged = [n.name for n in pipelines["__default__"].nodes if not n.tags & set(DEFAULT_PIPELINES)]
    assert not untagged


def test_every_catalog_dataset_used_by_a_pipeline_has_a_layer(viz):
    catalog, pipelines, manager = viz
    missing = set()
    for pipeline_id in pipelines:
        for graph_node in manager.get_nodes_for_registered_pipeline(pipeline_id):
            if graph_node.type != "data":  # tasks, parameters
                continue
            # declared in the catalog, by name or by a factory pattern ("{model}.mdl_model"); free in-memory
            # intermediates (no entry) have no metadata to carry a layer
            if graph_node.name in catalog and not graph_node.layer:
                missing.add(graph_node.name)
    assert not missing, f"catalog datasets without metadata.kedro-viz.layer: {sorted(missing)}"


def test_issue_mining_nodes_carry_their_medallion_stage(viz):
    _, pipelines, _ = viz
    stages = {"bronze", "silver", "gold", "reporting"}
    assert all(n.tags & stages for n in pipelines["issue_mining"].nodes)
