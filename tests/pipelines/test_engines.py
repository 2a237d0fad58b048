"""The same Ibis transforms on DuckDB (default) and PySpark (``--env spark``) give the same gold tables."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from kycc.synthetic import generate
from tests.kedro_run import gold, read_table, run_kedro

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def test_duckdb_and_pyspark_agree_on_values_and_schema(tmp_path):
    generate(
        tmp_path / "01_raw", n_customers=150, start="2023-01-01", end="2023-08-01", seed=5, json_months=1
    )
    # padded values (trimmed in silver) with the letters f and v at the edges, which a naive Spark trim eats
    with (tmp_path / "01_raw" / "features_attributes.csv").open("a", encoding="utf-8") as handle:
        handle.write(
            " CUS_0xpadf ,Name v, 41 ,123-45-6789,\tEngineer ,True,individual,KE,2023-01-01, 2023-02-01\n"
        )
    run_kedro(tmp_path, ["label_store", "feature_store"])
    run_kedro(tmp_path, ["label_store", "feature_store"], env="spark")
    assert (tmp_path / "04_feature" / "spark" / "gold_features").is_dir()  # engines never share outputs
    for name in ("gold_labels", "gold_features"):
        duck, spark = gold(tmp_path, name, "duckdb"), gold(tmp_path, name, "spark")
        assert len(duck) > 30
        assert list(duck.columns) == list(spark.columns)
        assert dict(duck.dtypes) == dict(spark.dtypes), name
        pd.testing.assert_frame_equal(duck, spark, check_exact=False, rtol=1e-9)
    padded = read_table(tmp_path / "03_primary" / "spark" / "silver_attributes").set_index("customer_id")
    assert padded.loc["CUS_0xpadf", "name"] == "Name v" and padded.loc["CUS_0xpadf", "age"] == 41
    assert padded.loc["CUS_0xpadf", "occupation"] == "Engineer"
    # silver agrees too (row sets of every source)
    for source in ("lms", "attributes", "financials", "clickstream", "relationships"):
        duck = read_table(tmp_path / "03_primary" / "duckdb" / f"silver_{source}")
        spark = read_table(tmp_path / "03_primary" / "spark" / f"silver_{source}")
        assert len(duck) == len(spark), source
    shutil.rmtree(tmp_path / "03_primary", ignore_errors=True)
