"""The feature dictionary documents exactly the gold schema, and its Markdown copy is up to date."""

from __future__ import annotations

from kycc.features.dictionary import FEATURES, GOLD_FEATURE_SCHEMA, render_markdown
from tests.kedro_run import PROJECT_ROOT


def test_docs_copy_is_current():
    doc = (PROJECT_ROOT / "docs" / "feature_dictionary.md").read_text(encoding="utf-8")
    assert doc == render_markdown(), "run: python -m kycc.features.dictionary docs/feature_dictionary.md"


def test_every_feature_is_described_once_with_a_known_group():
    names = [f.name for f in FEATURES]
    assert len(names) == len(set(names))
    assert {f.group for f in FEATURES} <= {
        "kyc",
        "financial",
        "behavioural",
        "network",
        "loan",
        "history",
        "lineage",
    }
    assert all(f.meaning.endswith(".") for f in FEATURES)
    model_features = [f for f in FEATURES if f.group != "lineage"]
    assert len(model_features) >= 16
    assert set(GOLD_FEATURE_SCHEMA) >= set(names)
