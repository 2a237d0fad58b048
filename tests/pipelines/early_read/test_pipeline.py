"""The early_read pipeline: in-memory catalog runs, then KedroSession runs on a generated world (catch-up ==
month by month, realized rate == gold labels) and on both engines (DuckDB == Spark)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from kycc.datasets import MonthPartitionedIbisDataset
from kycc.pipelines.early_read import create_pipeline
from kycc.synthetic import generate
from tests.kedro_run import gold, read_table, run_kedro
from tests.monitoring.test_vintages import COHORT_A, silver

LABEL_STORE = {"mob": 6, "dpd": 30, "max_amount": 1.0e9, "max_tenure": 480}
EARLY_READ = {"read_mobs": [2, 3], "read_dpd": 1, "fit_cohorts": 12, "min_fit_cohorts": 3}
VINTAGE_KEYS = ["cohort", "mob"]
ROLL_KEYS = ["snapshot_date", "from_order", "to_order"]


def _catalog(tmp_path: Path, run: dict, early_read: dict | None = None) -> DataCatalog:
    catalog = DataCatalog(
        {
            "out_vintages": MonthPartitionedIbisDataset(str(tmp_path / "vintages")),
            "out_roll_rates": MonthPartitionedIbisDataset(str(tmp_path / "roll_rates")),
            "rpt_early_read": MemoryDataset(),
        }
    )
    catalog["lms.prm_silver"] = silver(*COHORT_A)
    catalog["params:run"] = run
    catalog["params:label_store"] = LABEL_STORE
    catalog["params:early_read"] = EARLY_READ if early_read is None else early_read
    return catalog


def _months(path: Path) -> list[str]:
    return MonthPartitionedIbisDataset(str(path)).months()


def test_a_run_window_writes_only_its_months(tmp_path):
    SequentialRunner().run(create_pipeline(), _catalog(tmp_path, {"start_month": None, "end_month": None}))
    everything = read_table(tmp_path / "vintages").sort_values(VINTAGE_KEYS).reset_index(drop=True)
    assert _months(tmp_path / "vintages") == [f"2023-{m:02d}" for m in range(6, 12)]
    assert _months(tmp_path / "roll_rates") == [f"2023-{m:02d}" for m in range(5, 12)]
    shutil.rmtree(tmp_path / "vintages")
    vintages_only = create_pipeline().only_nodes("build_vintages")
    for start, end in [(None, "2023-08-01"), ("2023-09-01", "2023-09-01"), ("2023-10-01", "2023-11-01")]:
        SequentialRunner().run(vintages_only, _catalog(tmp_path, {"start_month": start, "end_month": end}))
        assert _months(tmp_path / "vintages")[-1] == end[:7]
    monthly = read_table(tmp_path / "vintages").sort_values(VINTAGE_KEYS).reset_index(drop=True)
    pd.testing.assert_frame_equal(monthly, everything)


def test_the_report_checks_the_projection_up_to_the_window_end(tmp_path):
    catalog = _catalog(tmp_path, {"start_month": None, "end_month": "2023-10-01"})
    SequentialRunner().run(create_pipeline(), catalog)
    report = catalog.load("rpt_early_read")
    assert report["label_def"] == "30dpd_6mob" and report["as_of"] == "2023-10"
    # one cohort, nothing matured before it: no projection and nothing to check
    assert report["projection_check"]["mob_3"]["cohorts"] == 0
    assert report["open_projections"] == []
    json.dumps(report)  # what the JSON dataset writes


def test_bad_parameters_stop_the_run_and_write_nothing(tmp_path):
    catalog = _catalog(tmp_path, {}, {**EARLY_READ, "dpd_buckets": {"current": 0, "1-44": 1, "45+": 45}})
    with pytest.raises(ValueError, match=r"label_store\.dpd=30 must be one of the bucket edges"):
        SequentialRunner().run(create_pipeline(), catalog)
    assert not (tmp_path / "vintages").exists() and not (tmp_path / "roll_rates").exists()


# -- KedroSession runs on a generated world ---------------------------------------------------------------------

START, END = "2023-01-01", "2024-03-01"
MONTHS = ["2024-01-01", "2024-02-01", "2024-03-01"]


def _early_read_tables(root: Path, engine: str = "duckdb") -> dict[str, pd.DataFrame]:
    base = root / "07_model_output" / engine / "early_read"
    return {
        "vintages": read_table(base / "vintages").sort_values(VINTAGE_KEYS).reset_index(drop=True),
        "roll_rates": read_table(base / "roll_rates").sort_values(ROLL_KEYS).reset_index(drop=True),
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("early_read_world")
    generate(root / "01_raw", n_customers=800, start=START, end=END, seed=13, json_months=0)
    run_kedro(root, ["label_store", "early_read"])
    return root


@pytest.mark.slow
def test_catch_up_equals_month_by_month(world, tmp_path):
    shutil.copytree(world / "01_raw", tmp_path / "01_raw")
    run_kedro(
        tmp_path, ["label_store", "early_read"], {"run": {"start_month": None, "end_month": "2023-12-01"}}
    )
    for month in MONTHS:
        run_kedro(
            tmp_path, ["label_store", "early_read"], {"run": {"start_month": month, "end_month": month}}
        )
    expected, got = _early_read_tables(world), _early_read_tables(tmp_path)
    for name in ("vintages", "roll_rates"):
        assert len(expected[name]) > 50, name
        pd.testing.assert_frame_equal(got[name], expected[name], check_exact=True, obj=name)
    report = json.loads((tmp_path / "08_reporting" / "duckdb" / "early_read.json").read_text())
    assert report == json.loads((world / "08_reporting" / "duckdb" / "early_read.json").read_text())


@pytest.mark.slow
def test_realized_rate_is_the_gold_label_default_rate_and_the_projection_is_checked(world):
    vintages = _early_read_tables(world)["vintages"]
    final = vintages[vintages["mob"] == 6]
    realized = final.set_index(pd.to_datetime(final["cohort"]))["bad_rate"]
    labels = gold(world, "gold_labels")
    expected = labels.groupby(pd.to_datetime(labels["application_date"]))["label"].mean()
    assert len(realized) >= 8
    pd.testing.assert_series_equal(realized, expected, check_names=False, check_index_type=False)
    report = json.loads((world / "08_reporting" / "duckdb" / "early_read.json").read_text())
    check = report["projection_check"]["mob_3"]
    # cohorts 2023-04.. are projected from >= 3 matured cohorts; 2023-04..2023-09 have matured by 2024-03
    assert check["cohorts"] >= 4
    assert check["mae_pp"] < 10  # a loose bound: ~100 loans per cohort, the realized rate alone is +-3.5 pp
    assert [c["cohort"] for c in report["open_projections"]] == ["2023-10", "2023-11", "2023-12", "2024-01"]


@pytest.mark.slow
@pytest.mark.spark
def test_duckdb_and_spark_agree(tmp_path):
    generate(
        tmp_path / "01_raw", n_customers=200, start="2023-01-01", end="2023-10-01", seed=5, json_months=0
    )
    run_kedro(tmp_path, ["label_store", "early_read"])
    run_kedro(tmp_path, ["label_store", "early_read"], env="spark")
    duck, spark = _early_read_tables(tmp_path), _early_read_tables(tmp_path, "spark")
    for name in ("vintages", "roll_rates"):
        assert len(duck[name]) > 20, name
        assert dict(duck[name].dtypes) == dict(spark[name].dtypes), name
        pd.testing.assert_frame_equal(duck[name], spark[name], check_exact=False, rtol=1e-12, obj=name)
    assert duck["vintages"]["projected_default_rate"].notna().sum() > 0
