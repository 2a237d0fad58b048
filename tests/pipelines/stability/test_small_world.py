"""Done-when on small generated worlds (real data pipelines, scorecard decisions, stability through Kedro sessions):
the active scorecard's status is not ``stable`` in the manifest's drift start month and at most one earlier month
is flagged; a ``--no-drift`` world flags at most one month of the whole range."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from kycc.synthetic import generate
from tests.kedro_run import PROJECT_ROOT, env_vars

END = "2024-03-01"  # 15 months: drift from 2023-11 (the last third)
STABILITY = {"start_month": "2023-01-01", "end_month": END, "reference_months": 4}


def _world(root: Path, seed: int, n: int, drift: bool) -> tuple[pd.DataFrame, dict]:
    from kycc.cycle.backfill import _Project

    generate(
        root / "01_raw", n_customers=n, start="2023-01-01", end=END, seed=seed, json_months=0, drift=drift
    )
    with env_vars(KYCC_DATA_ROOT=str(root), KYCC_MLFLOW_URI=f"sqlite:///{root / 'mlflow.db'}"):
        project = _Project(PROJECT_ROOT, "test", {}, None)
        project.run(["label_store", "feature_store"])
        project.run(["scorecard"], node_names=["declare_config_versions"])
        project.run(["inference"], {"inference": {"start_month": "2023-01-01", "end_month": END}})
        project.run(["stability"], {"stability": STABILITY})
        rows = project.context().catalog.load("out_scoring_stability")
    manifest = json.loads((root / "01_raw" / "_generation_manifest.json").read_text())
    return rows, manifest


def _flags(rows: pd.DataFrame) -> dict[str, str]:
    status = rows.loc[(rows["family"] == "status") & rows["scorer"].str.startswith("scorecard:")]
    return {
        f"{pd.Timestamp(d):%Y-%m-01}": v
        for d, v in zip(status["snapshot_date"], status["verdict"], strict=True)
    }


@pytest.mark.slow
def test_drift_month_is_flagged_at_once(tmp_path):
    rows, manifest = _world(tmp_path, 7, 3000, drift=True)
    start = manifest["drift"]["start_month"]
    flags = _flags(rows)
    assert start in flags, f"no stability for the drift month {start}: {flags}"
    assert flags[start] != "stable", flags
    before = [m for m, v in flags.items() if m < start and v != "stable"]
    assert len(before) <= 1, flags
    assert len([m for m in flags if m < start]) >= 4  # months before the drift were checked
    status = rows.loc[rows["family"] == "status"]
    assert (status["n_ref"] > status["n_now"]).all()  # a multi-month reference
    # the status names the family that made it, with that family's own p-value below alpha
    flagged = status.loc[status["verdict"] != "stable"]
    assert (flagged["p_value"] < 0.01).all() and (flagged["value"] > flagged["floor"]).all()


@pytest.mark.slow
def test_no_drift_world_flags_at_most_one_month(tmp_path):
    rows, manifest = _world(tmp_path, 11, 3000, drift=False)
    assert manifest["drift"]["enabled"] is False
    flags = _flags(rows)
    assert len(flags) >= 10
    assert len([m for m, v in flags.items() if v != "stable"]) <= 1, flags
