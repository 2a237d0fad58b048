"""``kycc backfill`` continued one month at a time gives the same outputs as one catch-up run."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from kycc.datasets.tables import MonthPartitionedPandasDataset
from tests.kedro_run import gold
from tests.project_state import NOISY_FEATURES, START, backfill, shared

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cycle")]

# catch-up to 2025-02, then one month at a time: a scheduled training (2025-03), a training triggered by a
# retrain decision or not (2025-04), and plain months, each deciding from what is on disk.
MONTHS = ["2025-03-01", "2025-04-01", "2025-05-01", "2025-06-01"]
TABLES = [
    "07_model_output/scorecard_decisions",
    *(f"07_model_output/predictions/{m}" for m in ("model_1", "model_2")),
    *(
        f"07_model_output/monitoring/{m}/{t}"
        for m in ("model_1", "model_2")
        for t in ("metrics", "feature_psi")
    ),
    *(f"07_model_output/actions/{m}" for m in ("model_1", "model_2")),
    "07_model_output/monitoring/scorecard/backtest",
    "07_model_output/monitoring/estimated_performance",
]


@pytest.fixture(scope="session")
def month_by_month(tmp_path_factory, cycle_world):
    def build(root):
        shutil.copytree(cycle_world, root / "01_raw")
        backfill(root, START, "2025-02-01")
        for month in MONTHS:
            report = backfill(root, month, month)
            assert report.months == [month]
        return root

    return shared(tmp_path_factory, "month_by_month", build)


def test_gold_features_agree_to_the_last_bits_but_two_float_sums(catch_up, month_by_month):
    """The data pipelines' part of the property (their own tests compare with a tolerance): every gold feature
    is identical, except two float sums whose last bits depend on the rows' order (relative error ~1e-14)."""
    expected, got = gold(catch_up.root, "gold_features"), gold(month_by_month, "gold_features")
    exact = [c for c in expected.columns if c not in NOISY_FEATURES]
    pd.testing.assert_frame_equal(got[exact], expected[exact], check_exact=True)
    pd.testing.assert_frame_equal(
        got[NOISY_FEATURES], expected[NOISY_FEATURES], check_exact=False, rtol=1e-12
    )


@pytest.mark.parametrize("table", TABLES)
def test_tables_are_identical(catch_up, month_by_month, table):
    expected = MonthPartitionedPandasDataset(str(catch_up.root / table)).load()
    got = MonthPartitionedPandasDataset(str(month_by_month / table)).load()
    assert len(expected) > 0
    pd.testing.assert_frame_equal(got, expected)


def test_action_reports_and_schedule_are_identical(catch_up, month_by_month):
    reports = sorted(
        p.relative_to(catch_up.root) for p in (catch_up.root / "08_reporting/actions").rglob("*_action_*")
    )
    assert len(reports) == 2 * 7 * 2  # models × monitored months × (json, txt)
    for path in reports:
        assert (month_by_month / path).read_text() == (catch_up.root / path).read_text(), path
    for path in sorted((catch_up.root / "08_reporting/cycle/months").glob("*.json")):
        a, b = (
            json.loads(path.read_text()),
            json.loads((month_by_month / path.relative_to(catch_up.root)).read_text()),
        )
        for step in (
            "training",
            "seed_backfill",
            "inference",
            "scorecard_monitoring",
            "monitoring",
            "actions",
        ):
            assert _without_timings(a.get(step)) == _without_timings(b.get(step)), (path.name, step)


def _without_timings(entry):
    if isinstance(entry, dict):
        return {k: _without_timings(v) for k, v in entry.items() if k != "seconds"}
    return entry
