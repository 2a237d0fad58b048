"""The DuckDB store and its Kedro dataset: schemas, FLOAT[384], partition replace, upsert, rollback."""

from datetime import date, datetime

import duckdb
import numpy as np
import pandas as pd
import pytest
from kedro.io import DataCatalog, DatasetError

from kycc.mining.datasets import DuckDBTableDataset, LLMAccessDataset, PocketBaseAccessDataset
from kycc.mining.store import DatePartition, read_table, write_table

D1, D2 = date(2026, 11, 19), date(2026, 11, 20)


def _raw(hashes, day):
    return pd.DataFrame(
        {
            "url_hash": hashes,
            "source": "github",
            "collection_date": day,
            "url": [f"https://github.com/a/b/issues/{h}" for h in hashes],
            "title": "t",
            "body": "b",
            "created_at": datetime(2026, 11, 20, 8),
            "external_id": hashes,
            "query": "q",
        }
    )


def test_schemas_tables_and_embedding_type(tmp_path):
    db = tmp_path / "im.duckdb"
    read_table(db, "bronze.raw_items")  # a read of a missing file creates nothing
    assert not db.exists()
    write_table(
        db,
        "silver.items",
        pd.DataFrame({"url_hash": ["a"], "embedding": [np.ones(384, np.float32)], "embedding_date": [D1]}),
        "upsert",
    )
    con = duckdb.connect(str(db), read_only=True)
    schemas = {r[0] for r in con.sql("select schema_name from information_schema.schemata").fetchall()}
    assert {"bronze", "silver", "gold"} <= schemas
    kind = con.sql(
        "select data_type from information_schema.columns where table_schema='silver' "
        "and table_name='items' and column_name='embedding'"
    ).fetchone()[0]
    assert kind == "FLOAT[384]"
    keys = con.sql(
        "select constraint_column_names from duckdb_constraints() where schema_name='gold' "
        "and table_name='issues' and constraint_type='PRIMARY KEY'"
    ).fetchone()[0]
    assert keys == ["cluster_date", "cluster_id"]
    con.close()


def test_replacing_a_partition_keeps_other_dates_and_accepts_no_rows(tmp_path):
    db = tmp_path / "im.duckdb"
    write_table(
        db,
        "bronze.raw_items",
        DatePartition(D1, _raw(["a", "b"], D1)),
        "replace_partition",
        "collection_date",
    )
    write_table(
        db, "bronze.raw_items", DatePartition(D2, _raw(["c"], D2)), "replace_partition", "collection_date"
    )
    write_table(
        db,
        "bronze.raw_items",
        DatePartition(D2, _raw(["c", "d"], D2)),
        "replace_partition",
        "collection_date",
    )
    assert sorted(read_table(db, "bronze.raw_items")["url_hash"]) == ["a", "b", "c", "d"]
    write_table(
        db, "bronze.raw_items", DatePartition(D2, _raw([], D2)), "replace_partition", "collection_date"
    )
    assert sorted(read_table(db, "bronze.raw_items")["url_hash"]) == ["a", "b"]


def test_upsert_and_update_partition(tmp_path):
    db = tmp_path / "im.duckdb"
    vectors = np.eye(3, 384, dtype=np.float32)
    write_table(
        db,
        "silver.items",
        pd.DataFrame({"url_hash": list("abc"), "embedding": list(vectors), "embedding_date": D1}),
        "upsert",
    )
    write_table(
        db,
        "silver.items",
        pd.DataFrame({"url_hash": ["c"], "embedding": [vectors[0]], "embedding_date": D2}),
        "upsert",
    )
    assign = pd.DataFrame({"url_hash": ["a", "b"], "cluster_date": D2, "cluster_id": [0, 1]})
    write_table(
        db,
        "silver.items",
        DatePartition(D2, assign),
        "update_partition",
        "cluster_date",
        columns=["cluster_date", "cluster_id"],
    )
    again = pd.DataFrame({"url_hash": ["b"], "cluster_date": D2, "cluster_id": [0]})
    write_table(
        db,
        "silver.items",
        DatePartition(D2, again),
        "update_partition",
        "cluster_date",
        columns=["cluster_date", "cluster_id"],
    )
    items = read_table(db, "silver.items").set_index("url_hash")
    assert len(items) == 3
    assert np.array_equal(items.loc["c", "embedding"], vectors[0]) and items.loc["c", "embedding_date"] == D2
    assert pd.isna(items.loc["a", "cluster_date"])  # a was re-assigned away by the re-run of D2
    assert items.loc["b", "cluster_id"] == 0


def test_a_failed_save_leaves_earlier_rows(tmp_path):
    db = tmp_path / "im.duckdb"
    write_table(
        db, "bronze.raw_items", DatePartition(D1, _raw(["a"], D1)), "replace_partition", "collection_date"
    )
    broken = _raw(["x"], D1).assign(title=None)  # NOT NULL violated inside the transaction
    with pytest.raises(duckdb.ConstraintException):
        write_table(db, "bronze.raw_items", DatePartition(D1, broken), "replace_partition", "collection_date")
    assert list(read_table(db, "bronze.raw_items")["url_hash"]) == ["a"]
    with pytest.raises(ValueError, match="repeat a key"):
        write_table(
            db,
            "bronze.raw_items",
            DatePartition(D1, _raw(["a", "a"], D1)),
            "replace_partition",
            "collection_date",
        )
    with pytest.raises(ValueError, match="vectors of 384"):
        write_table(
            db,
            "silver.items",
            pd.DataFrame({"url_hash": ["z"], "embedding": [np.ones(3)], "embedding_date": D1}),
            "upsert",
        )


def test_dataset_through_the_catalog(tmp_path):
    db = str(tmp_path / "im.duckdb")
    catalog = DataCatalog.from_config(
        {
            "raw": {
                "type": "kycc.mining.datasets.DuckDBTableDataset",
                "filepath": db,
                "table": "bronze.raw_items",
                "save_mode": "replace_partition",
                "partition_column": "collection_date",
            },
            "index": {
                "type": "kycc.mining.datasets.DuckDBTableDataset",
                "filepath": db,
                "table": "bronze.raw_items",
                "save_mode": "read_only",
                "load_args": {"columns": ["url_hash", "collection_date"]},
            },
        }
    )
    catalog.save("raw", DatePartition(D1, _raw(["a", "b"], D1)))
    assert list(catalog.load("index").columns) == ["url_hash", "collection_date"]
    assert len(catalog.load("raw")) == 2
    with pytest.raises(DatasetError, match="read_only"):
        catalog.save("index", _raw(["c"], D1))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"table": "bronze.nope"}, "unknown issue_mining table"),
        ({"table": "bronze.raw_items", "save_mode": "append"}, "save_mode must be one of"),
        ({"table": "bronze.raw_items", "save_mode": "replace_partition"}, "needs partition_column"),
    ],
)
def test_dataset_rejects_bad_configuration(tmp_path, kwargs, message):
    with pytest.raises(DatasetError, match=message):
        DuckDBTableDataset(filepath=str(tmp_path / "x.duckdb"), **kwargs)


def test_access_datasets_never_describe_secrets():
    creds = {"llm": {"api_key": "sk-secret"}, "pocketbase": {"email": "a@b.c", "password": "pw-secret"}}
    llm = LLMAccessDataset(credentials=creds)
    assert llm.load().api_key == "sk-secret"
    pb = PocketBaseAccessDataset(url="http://127.0.0.1:1", credentials=creds)
    assert pb.load().password == "pw-secret"
    assert "secret" not in str(llm) + repr(llm._describe()) + str(pb) + repr(pb._describe())
    with pytest.raises(DatasetError, match="read-only"):
        llm.save(object())


def test_a_file_of_an_earlier_version_gets_the_new_columns(tmp_path):
    """silver.clusters without silhouette / poor_quality, silver.items without centroid_similarity: opened and
    written by this version, the columns are added (null for the old rows), the old rows kept."""
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE SCHEMA silver")
    con.execute(
        "CREATE TABLE silver.clusters (cluster_date DATE NOT NULL, cluster_id INTEGER NOT NULL, "
        "cluster_size INTEGER NOT NULL, confidence DOUBLE, summary VARCHAR, PRIMARY KEY (cluster_date, cluster_id))"
    )
    con.execute("INSERT INTO silver.clusters VALUES ('2026-11-19', 0, 3, 0.5, 'old')")
    con.close()
    frame = pd.DataFrame(
        {
            "cluster_date": [D2],
            "cluster_id": [0],
            "cluster_size": [4],
            "confidence": [0.7],
            "summary": ["new"],
            "silhouette": [0.05],
            "poor_quality": [True],
        }
    )
    write_table(db, "silver.clusters", DatePartition(D2, frame), "replace_partition", "cluster_date")
    stored = read_table(db, "silver.clusters").sort_values("cluster_date").reset_index(drop=True)
    assert list(stored["summary"]) == ["old", "new"]
    assert pd.isna(stored.loc[0, "silhouette"]) and stored.loc[1, "silhouette"] == 0.05
    assert bool(stored.loc[1, "poor_quality"]) is True
    assert "centroid_similarity" in read_table(db, "silver.items").columns


def test_pocketbase_access_without_a_url_is_the_embedded_server(tmp_path):
    embedded = PocketBaseAccessDataset(url=None, embedded_dir=str(tmp_path / "pb")).load()
    assert embedded.embedded and embedded.embedded_dir == str(tmp_path / "pb")
    configured = PocketBaseAccessDataset(
        url=None, embedded_dir=str(tmp_path / "pb"), credentials={"pocketbase": {"url": "http://127.0.0.1:1"}}
    ).load()
    assert not configured.embedded and configured.url == "http://127.0.0.1:1"
    with pytest.raises(DatasetError, match="no url and no embedded_dir"):
        PocketBaseAccessDataset(url=None).load()
