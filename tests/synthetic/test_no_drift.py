"""``kycc generate --no-drift``: a stationary world, recorded in the manifest; the default world keeps its drift."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from click.testing import CliRunner

from kycc.cli.main import main
from kycc.synthetic import generate

WORLD = {"n_customers": 300, "start": "2023-01-01", "end": "2023-09-01", "seed": 5, "json_months": 0}


def _truth(root):
    return pd.read_csv(root / "_truth" / "latent.csv")


def test_no_drift_world_has_no_drift_month_and_no_drifted_party(tmp_path):
    summary = generate(tmp_path / "off", **WORLD, drift=False, write_truth=True)
    manifest = json.loads((tmp_path / "off" / "_generation_manifest.json").read_text())
    assert summary.drift_months == ()
    assert manifest["drift"]["enabled"] is False
    assert manifest["drift"]["start_month"] is None and manifest["drift"]["months"] == []
    assert manifest["args"]["drift"] is False
    assert manifest["drift"]["drifted_customers"] == 0
    assert _truth(tmp_path / "off")["drifted"].sum() == 0


def test_default_world_still_drifts(tmp_path):
    generate(tmp_path / "on", **WORLD, write_truth=True)
    manifest = json.loads((tmp_path / "on" / "_generation_manifest.json").read_text())
    assert manifest["drift"]["enabled"] is True
    assert manifest["drift"]["start_month"] == "2023-07-01"  # the last third of 9 months
    assert _truth(tmp_path / "on")["drifted"].sum() > 0


def test_cli_no_drift_option(tmp_path):
    result = CliRunner().invoke(
        main,
        ["generate", "--customers", "200", "--start", "2023-01-01", "--end", "2023-06-01", "--json-months", "0",
         "--output", str(tmp_path / "raw"), "--no-drift"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Drift: off" in result.output
    manifest = json.loads((tmp_path / "raw" / "_generation_manifest.json").read_text())
    assert manifest["drift"]["enabled"] is False and manifest["drift"]["start_month"] is None
    lms = pd.read_csv(tmp_path / "raw" / "lms_loan_daily.csv")
    assert len(lms) > 0 and np.isfinite(len(lms))
