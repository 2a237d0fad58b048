"""The scorecard's configuration versions need no setup step (issue #17 item 3).

- Category keys are strings in configuration (any orchestrator can pass the parameters); the one mapping to a
  feature's values is ``kycc.scorecard.definition.category_key``: ``"1"`` matches the integer 1, 1.0 and "1",
  and the stored definition (its fingerprint) is the same as with integer keys.
- Every registered pipeline that reads the scorecard store declares the configuration's versions itself, with
  one node shared by all (tagged so that a tagged run keeps it). The end-to-end run on a fresh project is in
  tests/registry/test_mlflow_runs.py (``kedro run --pipelines inference`` scores with scorecard.initial_version).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from kedro.framework.project import pipelines
from kedro.framework.startup import bootstrap_project

from kycc.pipelines.scorecard.pipeline import STORE
from kycc.scorecard.definition import ScorecardDefinition

PROJECT_ROOT = Path(__file__).resolve().parents[3]
READERS = ("inference", "monitoring", "stability", "recalibration", "scorecard")


def _versions() -> dict:
    text = (PROJECT_ROOT / "conf/base/parameters_scorecard.yml").read_text(encoding="utf-8")
    return yaml.safe_load(text)["scorecard"]["versions"]


def test_category_keys_are_strings_in_configuration():
    for name, version in _versions().items():
        for feature, spec in version["features"].items():
            keys = list((spec.get("categories") or {}).keys())
            assert all(isinstance(k, str) for k in keys), (name, feature, keys)


def test_string_keys_match_the_feature_values_and_store_the_same_definition():
    config = _versions()["v1_1"]
    as_ints = {
        **config,
        "features": {
            f: {**s, "categories": {int(k): v for k, v in s["categories"].items()}}
            if f == "kyc_verified"
            else s
            for f, s in config["features"].items()
        },
    }
    text_keys, _, _ = ScorecardDefinition.from_config("v1_1", config)
    int_keys, _, _ = ScorecardDefinition.from_config("v1_1", as_ints)
    assert text_keys.fingerprint() == int_keys.fingerprint()
    rule = next(r for r in text_keys.features if r.name == "kyc_verified")
    for values in ([1, 0, None], [1.0, 0.0, np.nan], ["1", "0", None], [True, False, None]):
        points = rule.points_for(pd.Series(values, dtype="object"))
        np.testing.assert_array_equal(points, [100, 30, rule.missing])
    np.testing.assert_array_equal(rule.points_for(pd.Series([1, 0], dtype="Int64")), [100, 30])


def test_every_pipeline_that_reads_the_store_declares_the_versions_itself():
    bootstrap_project(PROJECT_ROOT)
    for name in READERS:
        pipeline = pipelines[name]
        declaring = [n for n in pipeline.nodes if n.name == "declare_config_versions"]
        assert len(declaring) == 1 and declaring[0].outputs == [STORE], name
        assert STORE not in pipeline.inputs(), name  # produced inside: nothing to set up before
    # one node for all of them: run together they declare once, and a tagged scoring run keeps it
    together = pipelines["inference"] + pipelines["monitoring"] + pipelines["stability"]
    (node,) = [n for n in together.nodes if n.name == "declare_config_versions"]
    assert {"inference", "stability", "scorecard_monitoring", "scorecard"} <= node.tags
    tagged = together.only_nodes_with_tags("inference", "stability", "scorecard_monitoring")
    assert "declare_config_versions" in {n.name for n in tagged.nodes}
    assert all(pipelines[name].nodes for name in READERS)
    assert "declare_config_versions" not in {n.name for n in pipelines["training"].nodes}
