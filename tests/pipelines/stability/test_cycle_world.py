"""On the shared cycle world (10,000 customers, 2023-01..2025-06, drift from 2024-09; ``kycc backfill`` catch-up):
the cycle runs stability right after inference; the active scorecard flags the manifest's drift start month at
once, at most one earlier month is flagged, and the champions' PD stability is there for the months they scored."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from kycc.datasets.tables import MonthPartitionedPandasDataset

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cycle")]


def _stability(root) -> pd.DataFrame:
    return MonthPartitionedPandasDataset(str(root / "07_model_output/stability/scoring_stability")).load()


def test_the_cycle_flags_the_drift_month_at_scoring_time(catch_up):
    rows = _stability(catch_up.root)
    manifest = json.loads((catch_up.root / "01_raw" / "_generation_manifest.json").read_text())
    start = pd.Timestamp(manifest["drift"]["start_month"])
    status = rows.loc[(rows["family"] == "status") & rows["scorer"].str.startswith("scorecard:")]
    flags = dict(zip(pd.to_datetime(status["snapshot_date"]), status["verdict"], strict=True))
    assert flags[start] != "stable", flags
    assert sum(1 for m, v in flags.items() if m < start and v != "stable") <= 1, flags
    # the champions' PD PSI for the months they scored, against a reference larger than one month
    model = rows.loc[(rows["family"] == "pd_psi") & (rows["scorer"] == "model_1")]
    assert len(model) >= 8
    assert (model["reference"].str.startswith("test + OOT windows")).all()
    # every month record of the cycle says what stability found
    record = next(r for r in catch_up.report.records if r["month"] == start.date().isoformat())
    assert record["stability"]["status"] == "ran"
    assert record["stability"]["scorers"][f"scorecard:{status['version'].iloc[-1]}"]["verdict"] != "stable"
