"""On the shared cycle world (``kycc backfill`` catch-up): every decision carries a PD, every monitoring month has a
band backtest of the scorecard version that decided its cohort, and the estimates sit beside realized values."""

from __future__ import annotations

import pandas as pd
import pytest

from kycc.datasets.tables import MonthPartitionedPandasDataset

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cycle")]


def _table(root, path: str) -> pd.DataFrame:
    return MonthPartitionedPandasDataset(str(root / "07_model_output" / path)).load()


def test_every_monitoring_month_backtests_the_deciding_version(catch_up):
    decisions = _table(catch_up.root, "scorecard_decisions")
    assert len(decisions) and decisions["pd"].notna().all() and decisions["pd_calibration"].notna().all()
    backtest = _table(catch_up.root, "monitoring/scorecard/backtest")
    # the scorecard is monitored every month whose cohort (6 months earlier) was decided — from the 7th month of
    # data, long before any model is monitorable (2024-12)
    first = pd.Timestamp(decisions["snapshot_date"].min()) + pd.DateOffset(months=6)
    monitored = [r["month"] for r in catch_up.report.records if pd.Timestamp(r["month"]) >= first]
    models_monitored = [
        r["month"] for r in catch_up.report.records if (r.get("monitoring") or {}).get("status") == "ran"
    ]
    assert models_monitored and set(models_monitored) < set(monitored)
    assert min(monitored) == "2023-07-01" and min(models_monitored) == "2024-12-01"
    for record in catch_up.report.records:
        entry = record["scorecard_monitoring"]
        if record["month"] in monitored:
            assert entry["status"] == "ran" and entry["backtest"], record["month"]
            (version,) = entry["backtest"].values()
            assert version["n_labelled"] > 0 and 0.5 < version["roc_auc"] < 1
        else:  # the first six months: no cohort decided 6 months earlier yet
            assert "backtest" not in entry or not entry["backtest"]
    # the cycle's summary prints the monitoring figures (the drift month vs the generation manifest)
    table = catch_up.report.table()
    assert "Monitoring figures:" in table and "drift planted from 2024-09 (generation manifest)" in table
    assert "estimated vs realized ROC-AUC over the matured months" in table and "from MOB-3: MAE" in table
    for month in monitored:
        rows = backtest.loc[backtest["snapshot_date"] == pd.Timestamp(month)]
        cohort = pd.Timestamp(rows["cohort_month"].iloc[0]) if len(rows) else None
        assert cohort is not None, f"no band backtest in {month}"
        deciding = set(decisions.loc[decisions["snapshot_date"] == cohort, "scorecard_version"].astype(str))
        assert set(rows["scorecard_version"]) == deciding
        bands = rows.loc[rows["level"] == "band"]
        assert bands["n_labelled"].sum() == rows.loc[rows["level"] == "version", "n_labelled"].sum() > 0
        assert bands["predicted_pd"].notna().any()


def test_estimated_and_realized_performance_of_matured_cohorts(catch_up):
    table = _table(catch_up.root, "monitoring/estimated_performance")
    realized = table.loc[table["status"] == "realized"].dropna(subset=["roc_auc_error"])
    assert set(realized["scorer"].str.split(":").str[0]) >= {"scorecard", "model_1"}
    assert realized["expected_roc_auc"].between(0.5, 1).all()
