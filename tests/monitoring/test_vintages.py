"""Vintage curves, roll rates and the projected default rate on hand-made loans with known DPD paths."""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from kycc.labels.rules import label_loans
from kycc.medallion.window import RunWindow
from kycc.monitoring.vintages import (
    EXITED,
    NEW,
    EarlyReadOptions,
    projection_check,
    projection_summary,
    roll_rate_table,
    vintage_table,
)

DUE = 100.0


def month(i: int) -> dt.date:
    """2023-05-01 for i=0 (no snapshot month whose DPD spans February in the first 7 months)."""
    y, m = divmod(4 + i, 12)
    return dt.date(2023 + y, m + 1, 1)


def ts(i: int) -> pd.Timestamp:
    """``month(i)`` as the tables return dates."""
    return pd.Timestamp(month(i))


def loan(loan_id: str, start: int, missed: list[int]) -> list[dict]:
    """Snapshots MOB 0..len(missed)-1 of a loan; ``missed[k]`` instalments in arrears at MOB k."""
    return [
        {
            "loan_id": loan_id,
            "customer_id": f"C_{loan_id}",
            "loan_start_date": month(start),
            "tenure": 12,
            "installment_num": k,
            "loan_amt": 12 * DUE,
            "due_amt": 0.0 if k == 0 else DUE,
            "paid_amt": 0.0,
            "overdue_amt": m * DUE,
            "balance": 12 * DUE,
            "snapshot_date": month(start + k),
        }
        for k, m in enumerate(missed)
    ]


def silver(*loans: list[dict]) -> ibis.Table:
    return ibis.memtable(pd.DataFrame([row for rows in loans for row in rows]))


# cohort 2023-05: four loans. A never misses; B misses from MOB 2 (30-59 at MOB 2, 60-89 at 3, 90+ from 4);
# C misses at MOB 1 and cures at MOB 2; D is current until it leaves the tape after MOB 3.
COHORT_A = [
    loan("A", 0, [0, 0, 0, 0, 0, 0, 0]),
    loan("B", 0, [0, 0, 1, 2, 3, 4, 5]),
    loan("C", 0, [0, 1, 0, 0, 0, 0, 1]),
    loan("D", 0, [0, 0, 0, 0]),
]


def _vintages(table: ibis.Table, opts: EarlyReadOptions | None = None) -> pd.DataFrame:
    out = vintage_table(table, opts or EarlyReadOptions()).execute()
    return out.sort_values(["cohort", "mob"]).reset_index(drop=True)


def test_vintage_shares_counts_and_wilson_interval():
    got = _vintages(silver(*COHORT_A)).set_index("mob")
    assert list(got.index) == [1, 2, 3, 4, 5, 6]  # MOB 0 is never delinquent: not a point of the curve
    assert (got["cohort"] == ts(0)).all()
    assert got["n"].to_dict() == {1: 4, 2: 4, 3: 4, 4: 3, 5: 3, 6: 3}
    assert got["n_bad"].to_dict() == {1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 2}
    assert got.loc[6, "bad_rate"] == pytest.approx(2 / 3, abs=1e-12)
    assert list(got["snapshot_date"]) == [ts(k) for k in range(1, 7)]
    for k, row in got.iterrows():
        ci = binomtest(int(row["n_bad"]), int(row["n"])).proportion_ci(0.95, method="wilson")
        assert (row["bad_rate_low"], row["bad_rate_high"]) == pytest.approx((ci.low, ci.high), abs=1e-9), k
    assert (got["label_def"] == "30dpd_6mob").all()


def test_the_label_rule_decides_what_is_bad():
    """label_store.dpd=60: one missed instalment (30-31 days) is no longer a default at MOB 6; MOB 4 is final."""
    opts = EarlyReadOptions(mob=4, dpd=60, read_mobs=(2,), buckets=(("current", 0), ("1-59", 1), ("60+", 60)))
    got = _vintages(silver(*COHORT_A), opts).set_index("mob")
    assert list(got.index) == [1, 2, 3, 4]
    assert got["n_bad"].to_dict() == {1: 0, 2: 0, 3: 1, 4: 1}
    assert (got["label_def"] == "60dpd_4mob").all()


def test_realized_final_rate_is_the_gold_label_default_rate():
    rng = np.random.default_rng(7)
    loans = []
    for c in range(4):
        for i in range(25):
            loans.append(loan(f"L{c}_{i}", c, [0, *map(int, rng.integers(0, 3, size=6))]))
    table = silver(*loans)
    vintages = _vintages(table)
    final = vintages[vintages["mob"] == 6]
    realized = final.set_index(pd.to_datetime(final["cohort"]))["bad_rate"]
    labels = label_loans(table, RunWindow(), mob=6, dpd=30).execute()
    gold = labels.groupby(pd.to_datetime(labels["application_date"]))["label"].mean()
    assert len(realized) == 4 and 0 < gold.mean() < 1
    pd.testing.assert_series_equal(realized, gold, check_names=False, check_index_type=False)


def test_roll_rate_counts_with_new_and_exited_loans():
    rolls = roll_rate_table(silver(*COHORT_A), EarlyReadOptions()).execute()
    counts = {
        (pd.Timestamp(r.snapshot_date).date().isoformat(), r.from_bucket, r.to_bucket): (r.n, r.from_total)
        for r in rolls.itertuples()
    }
    m = [str(month(k)) for k in range(7)]
    assert counts == {
        (m[0], NEW, "current"): (4, 4),
        (m[1], "current", "current"): (3, 4),
        (m[1], "current", "30-59"): (1, 4),  # C
        (m[2], "current", "current"): (2, 3),  # A, D
        (m[2], "current", "30-59"): (1, 3),  # B
        (m[2], "30-59", "current"): (1, 1),  # C cures
        (m[3], "current", "current"): (3, 3),
        (m[3], "30-59", "60-89"): (1, 1),  # B
        (m[4], "current", "current"): (2, 3),
        (m[4], "current", EXITED): (1, 3),  # D leaves the tape
        (m[4], "60-89", "90+"): (1, 1),
        (m[5], "current", "current"): (2, 2),
        (m[5], "90+", "90+"): (1, 1),
        (m[6], "current", "current"): (1, 2),
        (m[6], "current", "30-59"): (1, 2),
        (m[6], "90+", "90+"): (1, 1),
    }  # nothing after the tape's last month (it would be all 'exited')
    assert rolls["roll_rate"].to_numpy() == pytest.approx((rolls["n"] / rolls["from_total"]).to_numpy())
    assert set(rolls["from_order"]) == {-1, 0, 2, 3, 4} and EXITED in set(rolls["to_bucket"])


def _book(outcomes: dict[int, tuple[int, int, int]], size: int = 20) -> list[list[dict]]:
    """Cohort c: ``size`` loans; ``arrears`` are 1 instalment behind at MOB 2 and 3, of them ``bad6`` 2 behind at
    MOB 6 (the others cured), plus ``late`` loans current at MOB 3 and 2 behind at MOB 6."""
    loans = []
    for c, (arrears, bad6, late) in outcomes.items():
        for i in range(size):
            if i < arrears:
                path = [0, 0, 1, 1, 1, 1, 2 if i < bad6 else 0]
            elif i < arrears + late:
                path = [0, 0, 0, 0, 0, 1, 2]
            else:
                path = [0] * 7
            loans.append(loan(f"L{c}_{i}", c, path))
    return loans


def test_projection_is_the_chain_ladder_of_earlier_matured_cohorts():
    opts = EarlyReadOptions(read_mobs=(3,), min_fit_cohorts=2)
    outcomes = {0: (4, 2, 2), 1: (2, 2, 0), 2: (5, 1, 1), 3: (6, 3, 3), 4: (4, 4, 4)}
    got = _vintages(silver(*_book(outcomes)), opts).set_index(["cohort", "mob"])
    # cohort 3's MOB-3 read (month 6) sees cohorts 0 (MOB 6 at month 6) only: below min_fit_cohorts
    assert np.isnan(got.loc[(ts(3), 3), "projected_default_rate"])
    assert got.loc[(ts(3), 3), "fit_cohorts"] == 1
    # cohort 4's read (month 7) sees cohorts 0 and 1: factor = (4 + 2)/40 / ((4 + 2)/40) = 1
    row = got.loc[(ts(4), 3)]
    assert row["fit_cohorts"] == 2
    assert (row["fit_first_cohort"], row["fit_last_cohort"]) == (ts(0), ts(1))
    assert row["projection_factor"] == pytest.approx((6 / 40) / (6 / 40))
    assert row["projected_default_rate"] == pytest.approx(4 / 20 * 1.0)
    check = projection_check(got.reset_index(), opts)
    assert list(check["cohort"]) == [ts(4)]
    assert check["error"].iloc[0] == pytest.approx(4 / 20 - 8 / 20)
    summary = projection_summary(got.reset_index(), opts)["mob_3"]
    assert summary["cohorts"] == 1 and summary["mae_pp"] == pytest.approx(20.0)


@pytest.mark.parametrize(
    ("own", "later"),
    [((0, 0), (0, 0)), ((6, 6), (3, 8)), ((1, 5), (2, 0))],
    ids=["all_cured", "all_bad", "mixed"],
)
def test_projection_never_reads_the_projected_cohorts_outcome(own, later):
    """Changing the projected cohort's own MOB-6 outcomes (and a later cohort's) leaves its projection as it was."""
    opts = EarlyReadOptions(read_mobs=(2, 3), min_fit_cohorts=1)
    base = {0: (4, 2, 2), 1: (2, 2, 0), 2: (3, 1, 1), 3: (5, 3, 1), 4: (6, 2, 2), 5: (3, 3, 3)}
    changed = {**base, 4: (6, min(own[0], 6), own[1]), 5: (3, min(later[0], 3), later[1])}
    before = _vintages(silver(*_book(base)), opts).set_index(["cohort", "mob"])
    after = _vintages(silver(*_book(changed)), opts).set_index(["cohort", "mob"])
    for k in (2, 3):
        assert before.loc[(ts(4), k), "fit_cohorts"] > 0
        assert (
            after.loc[(ts(4), k), "projected_default_rate"]
            == before.loc[(ts(4), k), "projected_default_rate"]
        )


@pytest.mark.parametrize(
    ("label_store", "early_read", "message"),
    [
        ({"mob": 6}, {}, "label_store.dpd is missing"),
        ({"mob": 6, "dpd": 30}, {"dpd_buckets": {"current": 0, "1-44": 1, "45+": 45}}, "label_store.dpd=30"),
        ({"mob": 6, "dpd": 30}, {"dpd_buckets": {"a": 1, "b": 30}}, "must start at 0"),
        ({"mob": 6, "dpd": 30}, {"dpd_buckets": [0, 30]}, "early_read.dpd_buckets must be a mapping"),
        ({"mob": 6, "dpd": 30}, {"read_mobs": [3, 6]}, "early_read.read_mobs"),
        ({"mob": 6, "dpd": 30}, {"read_mobs": ["3"]}, "early_read.read_mobs must be a whole number"),
        ({"mob": 6, "dpd": 30}, {"min_fit_cohorts": 20}, "min_fit_cohorts <= fit_cohorts"),
        ({"mob": 6, "dpd": 30}, {"confidence": 95}, "early_read.confidence"),
        ({"mob": 6, "dpd": 30}, {"read_mob": [3]}, "unknown parameter(s) ['read_mob']"),
    ],
)
def test_bad_parameters_are_named(label_store, early_read, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        EarlyReadOptions.from_params(label_store, early_read)


def test_default_parameters_build_the_default_options():
    opts = EarlyReadOptions.from_params({"mob": 6, "dpd": 30}, {"confidence": 0.95})
    assert opts == EarlyReadOptions()
    assert opts.z == pytest.approx(1.959963984540054, abs=1e-12)


def test_vintage_chart_draws_one_curve_per_cohort_and_the_open_projection():
    from kycc.reporting.vintage_charts import vintage_curves_figure

    opts = EarlyReadOptions(read_mobs=(3,), min_fit_cohorts=2)
    book = silver(*_book({0: (4, 2, 2), 1: (2, 2, 0), 2: (5, 1, 1), 3: (6, 3, 3), 4: (4, 4, 4)}))
    vintages = _vintages(book, opts)
    open_cohort = vintages[
        (vintages["cohort"] == ts(4)) & (vintages["mob"] <= 3)
    ]  # cohort 4 read at MOB 3 only
    table = pd.concat([vintages[vintages["cohort"] < ts(4)], open_cohort])
    ax = vintage_curves_figure(table).axes[0]
    curves = [line for line in ax.get_lines() if line.get_label().startswith("20")]
    assert [line.get_label() for line in curves] == ["2023-05", "2023-06", "2023-07", "2023-08", "2023-09"]
    hollow = [line for line in ax.get_lines() if line.get_markerfacecolor() == "none"]
    assert len(hollow) == 1 and list(hollow[0].get_ydata()) == [pytest.approx(20.0)]  # 4/20 x factor 1
    empty = vintage_curves_figure(pd.DataFrame()).axes[0]
    assert "No vintage yet" in empty.texts[0].get_text()
