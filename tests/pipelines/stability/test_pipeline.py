"""The stability pipeline on the project's stability catalog (conf/base/catalog_stability.yml) in a temp folder:
a real fitted model (its PDs on its test + OOT windows are the reference), real scorecard definitions, real
parquet tables. The stored verdicts follow the one level set ``psi_levels``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from kycc.inference.scoring import score_scorecard, score_with_model
from kycc.pipelines.stability import create_pipeline
from kycc.pipelines.stability.nodes import StabilityError
from tests.inference.cards import make_world, registered, scorecard_versions

PROJECT_ROOT = Path(__file__).resolve().parents[3]
MONTHS = ["2024-05-01", "2024-06-01"]
LEVELS = {"moderate": 0.1, "major": 0.25, "alpha": 0.01, "missing_moderate": 0.05, "missing_major": 0.15}


@pytest.fixture(scope="module")
def world():
    return make_world(seed=3)


def _inputs(world, shift: float = 0.0):
    """Decisions and model_1 predictions of MONTHS; ``shift`` moves 2024-06's interest rates up."""
    data = world.data.copy()
    june = data["application_date"] == pd.Timestamp("2024-06-01")
    data.loc[june, "interest_rate"] = data.loc[june, "interest_rate"] + shift
    apps = data.loc[data["application_date"].isin(pd.to_datetime(MONTHS))].reset_index(drop=True)
    versions = scorecard_versions()
    decisions = score_scorecard(apps, versions["versions"]["t1"])
    predictions = score_with_model(world.card, apps, decisions, [pd.Timestamp(m) for m in MONTHS])
    features = data.assign(snapshot_date=data["application_date"])
    import ibis

    return decisions, predictions, ibis.memtable(features), versions


def _catalog(root: Path, world, shift: float, levels: dict, options: dict | None = None) -> DataCatalog:
    text = (PROJECT_ROOT / "conf/base/catalog_stability.yml").read_text()
    config = yaml.safe_load(text.replace("${globals:data_root}", str(root)))
    catalog = DataCatalog.from_config(config)
    decisions, predictions, features, versions = _inputs(world, shift)
    for name, value in {
        "out_scorecard_decisions": decisions,
        "model_1.out_predictions": predictions,
        "feat_gold_features": features,
        "mdl_scorecard_versions": versions,
        "model_1.mdl_registered_model": registered(world),
        "params:stability": {"start_month": MONTHS[0], "end_month": MONTHS[-1], "reference_months": 4,
                             "reference_start": "2023-01-01", **(options or {})},
        "params:psi_levels": levels,
    }.items():  # fmt: skip
        catalog[name] = MemoryDataset(value, copy_mode="assign")
    return catalog


def _run(root, world, shift=0.0, levels=LEVELS, options=None):
    catalog = _catalog(root, world, shift, levels, options)
    SequentialRunner().run(create_pipeline(models=["model_1"]), catalog)
    return catalog.load("out_scoring_stability"), catalog.load("out_characteristic_analysis")


def _status(rows, scorer, month):
    part = rows.loc[(rows["family"] == "status") & (rows["scorer"] == scorer)]
    return part.loc[pd.to_datetime(part["snapshot_date"]) == pd.Timestamp(month), "verdict"].item()


def test_rows_per_month_scorer_and_family(tmp_path, world):
    rows, analysis = _run(tmp_path, world, shift=6.0)
    june = rows.loc[pd.to_datetime(rows["snapshot_date"]) == pd.Timestamp("2024-06-01")]
    sc = june.loc[june["scorer"] == "scorecard:t1"]
    assert set(sc["family"]) == {"score_psi", "band_ssi", "feature_psi", "missing_rate", "status"}
    assert set(sc.loc[sc["family"] == "feature_psi", "feature"]) == {"interest_rate", "credit_mix"}
    model = june.loc[june["scorer"] == "model_1"]
    assert set(model["family"]) == {"pd_psi", "status"}
    pd_row = model.loc[model["family"] == "pd_psi"].iloc[0]
    assert pd_row["reference"] == "test + OOT windows 2024-03..2024-05"
    assert pd_row["n_ref"] == int(world.data["application_date"].between("2024-03-01", "2024-05-01").sum())
    for _, row in rows.loc[rows["family"] != "status"].iterrows():
        assert row["floor"] == pytest.approx((row["bins"] - 1) * (1 / row["n_ref"] + 1 / row["n_now"])) or (
            row["family"] == "missing_rate"
        )
    # the moved feature is flagged and explains the points shift; the features reconcile exactly
    rate = sc.loc[(sc["family"] == "feature_psi") & (sc["feature"] == "interest_rate")].iloc[0]
    assert rate["verdict"] in {"moderate", "major"} and rate["p_value"] < 0.01
    assert _status(rows, "scorecard:t1", "2024-06-01") != "stable"
    june_ca = analysis.loc[pd.to_datetime(analysis["snapshot_date"]) == pd.Timestamp("2024-06-01")]
    assert abs(june_ca["points_shift"].sum() - june_ca["mean_points_shift"].iloc[0]) < 1e-9
    assert june_ca.set_index("feature")["points_shift"].abs().idxmax() == "interest_rate"


def test_changing_the_psi_levels_changes_the_stored_verdicts(tmp_path, world):
    strict, _ = _run(tmp_path / "a", world, shift=6.0)
    relaxed_levels = {**LEVELS, "moderate": 5.0, "major": 9.0}
    relaxed, _ = _run(tmp_path / "b", world, shift=6.0, levels=relaxed_levels)
    key = ["snapshot_date", "scorer", "family", "feature"]
    merged = strict.merge(relaxed, on=key, suffixes=("_strict", "_relaxed"))
    assert len(merged) == len(strict)
    assert (merged["value_strict"].fillna(-1) == merged["value_relaxed"].fillna(-1)).all()
    assert (merged["verdict_strict"] != merged["verdict_relaxed"]).any()
    psi_rows = merged.loc[merged["family"] != "missing_rate"]  # missing rates have levels of their own
    assert set(psi_rows["verdict_relaxed"]) <= {"stable", "undefined"}
    # the reporting charts read the same set: reporting.psi_levels interpolates psi_levels
    text = (PROJECT_ROOT / "conf/base/parameters_reporting.yml").read_text()
    assert "psi_levels: ${psi_levels}" in text


def test_bad_parameters_are_refused_before_anything_is_written(tmp_path, world):
    with pytest.raises(
        Exception,
        match=r"parameter 'stability.reference_months' \(given\): Input should be greater than or equal to 2",
    ) as err:
        _run(tmp_path, world, options={"reference_months": 1})
    assert isinstance(err.value, StabilityError) or "StabilityError" in repr(err.value)
    with pytest.raises(Exception, match=r"parameter 'psi_levels' \(given\): need 0 < moderate < major"):
        _run(tmp_path, world, levels={**LEVELS, "moderate": 0.5, "major": 0.2})
    assert not (tmp_path / "07_model_output").exists()
