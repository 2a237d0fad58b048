"""kedro-viz lineage: every registered pipeline loads and its layers sort (no layer cycle disables the view)."""

from __future__ import annotations

import pytest

from tests.kedro_run import PROJECT_ROOT

pytestmark = pytest.mark.slow


def test_every_pipeline_has_ordered_layers():
    from kedro_viz.data_access import data_access_manager
    from kedro_viz.integrations.kedro.data_loader import load_data
    from kedro_viz.server import populate_data

    catalog, pipelines, extras = load_data(PROJECT_ROOT)
    assert {"label_store", "feature_store", "model_input", "training", "issue_mining"} <= set(pipelines)
    populate_data(data_access_manager, catalog, pipelines, extras)
    for pipeline_id in pipelines:
        # the modular-pipeline tree adds the namespace nodes whose edges can create layer cycles
        data_access_manager.create_modular_pipelines_tree_for_registered_pipeline(pipeline_id)
        layers = data_access_manager.get_sorted_layers_for_registered_pipeline(pipeline_id)
        assert layers, f"{pipeline_id}: kedro-viz found a layer cycle and disables the layer view"
    default = data_access_manager.get_sorted_layers_for_registered_pipeline("__default__")
    medallion = [layer for layer in default if layer in {"raw", "bronze", "silver", "gold"}]
    assert medallion == ["raw", "bronze", "silver", "gold"]
