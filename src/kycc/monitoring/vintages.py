"""Early read from the loan tape: vintage curves, roll rates and a projected MOB-6 default rate (Ibis).

Everything is read from the silver loan snapshots (one row per loan and month) with the label store's own
days-past-due rule (:func:`kycc.labels.rules.loan_dpd`) and thresholds (``label_store.mob``, ``label_store.dpd``),
so the vintage curve's last point *is* the gold label default rate of the cohort. The expressions run on the
pipeline's Ibis backend (DuckDB by default, PySpark with ``--env spark``).

* **Cohort**: the month of the loan's MOB-0 snapshot (``snapshot_date − installment_num`` months), i.e. its
  application month.
* **Vintage** (:func:`vintage_table`): per cohort and MOB 1..``mob``, the loans observed (``n``), those at
  ``>= dpd`` days past due (``n_bad``, ``bad_rate`` with a 95 % Wilson interval) and those in arrears at
  ``>= read_dpd`` days (``n_arrears``, ``arrears_rate``). The row is dated at the month it is read
  (``snapshot_date = cohort + mob``).
* **Projection**: at each read MOB ``k`` (``read_mobs``, e.g. 2 and 3), the cohort's MOB-``mob`` default rate is
  projected as ``arrears_rate(k) × factor``, a chain-ladder development factor
  ``pooled bad_rate(mob) / pooled arrears_rate(k)`` over the ``fit_cohorts`` most recent cohorts that had
  reached MOB ``mob`` by the read month (cohort ``<= C + k − mob``): never the projected cohort itself, and
  nothing dated after the read month. Fewer than ``min_fit_cohorts`` such cohorts: no projection (null).
* **Roll rates** (:func:`roll_rate_table`): per month M, loans by DPD bucket at M−1 × bucket at M (buckets from
  ``dpd_buckets``), with ``new`` (no snapshot at M−1) and ``exited`` (no snapshot at M), so every loan of both
  months is counted once on each side.

Every row depends only on snapshots dated at or before its own month: a catch-up run over a range and
month-by-month runs write the same partitions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from kycc.labels.rules import label_definition, loan_dpd
from kycc.medallion.window import add_months, enforce_schema

__all__ = [
    "EXITED",
    "NEW",
    "ROLL_RATE_SCHEMA",
    "VINTAGE_SCHEMA",
    "EarlyReadOptions",
    "loan_states",
    "projection_check",
    "projection_summary",
    "roll_rate_table",
    "vintage_table",
    "wilson_interval",
]

#: ``from_bucket`` of a loan without a snapshot the month before (a new loan, or a gap in the tape).
NEW = "new"
#: ``to_bucket`` of a loan without a snapshot this month (repaid, closed or missing from the tape).
EXITED = "exited"

VINTAGE_SCHEMA = {
    "cohort": "date",
    "mob": "int64",
    "snapshot_date": "date",
    "n": "int64",
    "n_bad": "int64",
    "bad_rate": "float64",
    "bad_rate_low": "float64",
    "bad_rate_high": "float64",
    "n_arrears": "int64",
    "arrears_rate": "float64",
    "projected_default_rate": "float64",
    "projection_factor": "float64",
    "fit_cohorts": "int64",
    "fit_first_cohort": "date",
    "fit_last_cohort": "date",
    "label_def": "string",
}

ROLL_RATE_SCHEMA = {
    "snapshot_date": "date",
    "from_bucket": "string",
    "from_order": "int64",
    "to_bucket": "string",
    "to_order": "int64",
    "n": "int64",
    "from_total": "int64",
    "roll_rate": "float64",
}


def _normal_quantile(p: float) -> float:
    """Standard normal quantile by bisection on the CDF (exact to float precision; no scipy needed)."""
    lo, hi = -10.0, 10.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if 0.5 * math.erfc(-mid / math.sqrt(2)) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


#: The two-sided 95 % normal quantile (1.95996...).
Z95 = _normal_quantile(0.975)


@dataclass(frozen=True)
class EarlyReadOptions:
    """The early read's settings: the label's rule (from ``label_store``) and the ``early_read`` parameters."""

    mob: int = 6
    dpd: int = 30
    buckets: tuple[tuple[str, int], ...] = (
        ("current", 0),
        ("1-29", 1),
        ("30-59", 30),
        ("60-89", 60),
        ("90+", 90),
    )
    read_mobs: tuple[int, ...] = (2, 3)
    read_dpd: int = 1
    fit_cohorts: int = 12
    min_fit_cohorts: int = 3
    z: float = Z95

    def __post_init__(self) -> None:
        _check(self)

    @classmethod
    def from_params(cls, label_store: Mapping[str, Any], early_read: Mapping[str, Any]) -> EarlyReadOptions:
        """Build from the ``label_store`` (``mob``, ``dpd``) and ``early_read`` parameters.

        Raises:
            ValueError: naming the parameter and the problem.
        """
        label_store, early_read = dict(label_store or {}), dict(early_read or {})
        known = {"dpd_buckets", "read_mobs", "read_dpd", "fit_cohorts", "min_fit_cohorts", "confidence"}
        unknown = sorted(set(early_read) - known)
        if unknown:
            raise ValueError(f"early_read: unknown parameter(s) {unknown}; expected {sorted(known)}")
        for key in ("mob", "dpd"):
            if key not in label_store:
                raise ValueError(f"label_store.{key} is missing (the early read uses the label's own rule)")
        buckets = early_read.get("dpd_buckets", dict(cls.buckets))
        if not isinstance(buckets, Mapping) or not buckets:
            raise ValueError(
                "early_read.dpd_buckets must be a mapping bucket name -> lowest days past due, "
                f"e.g. {{current: 0, '1-29': 1, '30-59': 30}}; got {buckets!r}"
            )
        confidence = early_read.get("confidence", 0.95)
        if not isinstance(confidence, int | float) or not 0 < confidence < 1:
            raise ValueError(f"early_read.confidence must be between 0 and 1, got {confidence!r}")
        try:
            return cls(
                mob=_int(label_store["mob"], "label_store.mob"),
                dpd=_int(label_store["dpd"], "label_store.dpd"),
                buckets=tuple((str(k), _int(v, f"early_read.dpd_buckets.{k}")) for k, v in buckets.items()),
                read_mobs=tuple(_int(k, "early_read.read_mobs") for k in early_read.get("read_mobs", (2, 3))),
                read_dpd=_int(early_read.get("read_dpd", 1), "early_read.read_dpd"),
                fit_cohorts=_int(early_read.get("fit_cohorts", 12), "early_read.fit_cohorts"),
                min_fit_cohorts=_int(early_read.get("min_fit_cohorts", 3), "early_read.min_fit_cohorts"),
                z=_normal_quantile(0.5 + confidence / 2),
            )
        except TypeError as exc:
            raise ValueError(str(exc)) from None

    @property
    def label_def(self) -> str:
        return label_definition(self.dpd, self.mob)


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number, got {value!r}")
    return value


def _check(opts: EarlyReadOptions) -> None:
    if opts.mob < 1:
        raise ValueError(f"label_store.mob must be >= 1 for vintage curves, got {opts.mob}")
    names = [name for name, _ in opts.buckets]
    edges = [edge for _, edge in opts.buckets]
    if len(set(names)) != len(names) or {NEW, EXITED} & set(names):
        raise ValueError(f"early_read.dpd_buckets: names must be unique and not {NEW!r}/{EXITED!r}: {names}")
    if not edges or edges[0] != 0 or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise ValueError(
            f"early_read.dpd_buckets: the lowest days past due must start at 0 and increase, got {edges}"
        )
    if opts.dpd not in edges:
        raise ValueError(
            f"early_read.dpd_buckets {edges}: label_store.dpd={opts.dpd} must be one of the bucket edges "
            "(the label's default is 'this bucket or worse')"
        )
    bad_mobs = [k for k in opts.read_mobs if not 1 <= k < opts.mob]
    if not opts.read_mobs or bad_mobs or len(set(opts.read_mobs)) != len(opts.read_mobs):
        raise ValueError(
            f"early_read.read_mobs must be distinct MOBs between 1 and label_store.mob-1={opts.mob - 1}, "
            f"got {list(opts.read_mobs)}"
        )
    if opts.read_dpd < 1:
        raise ValueError(f"early_read.read_dpd must be >= 1 day past due, got {opts.read_dpd}")
    if opts.fit_cohorts < 1 or not 1 <= opts.min_fit_cohorts <= opts.fit_cohorts:
        raise ValueError(
            "early_read: need 1 <= min_fit_cohorts <= fit_cohorts, got "
            f"min_fit_cohorts={opts.min_fit_cohorts}, fit_cohorts={opts.fit_cohorts}"
        )


def wilson_interval(successes: ir.NumericValue, n: ir.NumericValue, z: float) -> tuple[ir.FloatingValue, ...]:
    """The Wilson score interval (low, high) of ``successes / n`` as Ibis expressions (``n > 0``)."""
    n = n.cast("float64")
    p = successes.cast("float64") / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * ((p * (1 - p) / n + z2 / (4 * n * n)).sqrt()) / denom
    return (centre - half).clip(lower=0.0), (centre + half).clip(upper=1.0)


def loan_states(silver_lms: ir.Table, opts: EarlyReadOptions) -> ir.Table:
    """One row per loan snapshot: ``loan_id``, ``snapshot_date``, ``cohort``, ``mob``, ``dpd``, ``bucket``."""
    rows = loan_dpd(
        silver_lms.filter(silver_lms.snapshot_date.notnull() & silver_lms.installment_num.notnull())
    )
    rows = rows.mutate(cohort=add_months(rows.snapshot_date, -rows.mob))
    bucket: ir.Value = ibis.literal(opts.buckets[0][0])
    order: ir.Value = ibis.literal(0, "int64")
    for i, (name, edge) in enumerate(opts.buckets[1:], start=1):
        bucket = ibis.ifelse(rows.dpd >= edge, ibis.literal(name), bucket)
        order = ibis.ifelse(rows.dpd >= edge, ibis.literal(i, "int64"), order)
    return rows.select(
        "loan_id", "snapshot_date", "cohort", "mob", "dpd", bucket=bucket, bucket_order=order.cast("int64")
    )


def _counts(states: ir.Table, opts: EarlyReadOptions) -> ir.Table:
    rows = states.filter((states.mob >= 1) & (states.mob <= opts.mob))
    return rows.group_by(["cohort", "mob"]).aggregate(
        n=rows.count().cast("int64"),
        n_bad=(rows.dpd >= opts.dpd).cast("int64").sum().cast("int64"),
        n_arrears=(rows.dpd >= opts.read_dpd).cast("int64").sum().cast("int64"),
    )


def _projections(counts: ir.Table, opts: EarlyReadOptions) -> ir.Table:
    """Per cohort and read MOB: the chain-ladder factor over earlier matured cohorts and the projection."""
    final = counts.filter(counts.mob == opts.mob).select(
        fit_cohort=counts.cohort, f_n=counts.n, f_bad=counts.n_bad
    )
    parts = []
    for k in opts.read_mobs:
        target = counts.filter(counts.mob == k).select("cohort", "mob", "n", "n_arrears")
        read = counts.filter(counts.mob == k).select(
            fit_cohort=counts.cohort, r_n=counts.n, r_arrears=counts.n_arrears
        )
        fit = final.join(read, "fit_cohort")
        # matured by the read month (cohort + k): fit_cohort + mob <= cohort + k; the fit_cohorts latest of them
        newest = add_months(target.cohort, k - opts.mob)
        oldest = add_months(target.cohort, k - opts.mob - opts.fit_cohorts)
        joined = target.join(fit, [fit.fit_cohort <= newest, fit.fit_cohort > oldest])
        pooled = joined.group_by(["cohort", "mob"]).aggregate(
            fit_cohorts=joined.count().cast("int64"),
            fit_first_cohort=joined.fit_cohort.min(),
            fit_last_cohort=joined.fit_cohort.max(),
            s_n=joined.f_n.sum().cast("float64"),
            s_bad=joined.f_bad.sum().cast("float64"),
            s_rn=joined.r_n.sum().cast("float64"),
            s_ra=joined.r_arrears.sum().cast("float64"),
        )
        parts.append(pooled)
    pooled = ibis.union(*parts) if len(parts) > 1 else parts[0]
    usable = (pooled.fit_cohorts >= opts.min_fit_cohorts) & (pooled.s_ra > 0) & (pooled.s_n > 0)
    # guarded divisions (Spark raises DIVIDE_BY_ZERO in ANSI mode)
    final_rate = pooled.s_bad / ibis.ifelse(usable, pooled.s_n, 1.0)
    read_rate = ibis.ifelse(usable, pooled.s_ra / ibis.ifelse(usable, pooled.s_rn, 1.0), 1.0)
    factor = ibis.ifelse(usable, final_rate / read_rate, ibis.null("float64"))
    return pooled.select(
        "cohort", "mob", "fit_cohorts", "fit_first_cohort", "fit_last_cohort", projection_factor=factor
    )


def vintage_table(silver_lms: ir.Table, opts: EarlyReadOptions) -> ir.Table:
    """Vintage curves with the projection at the read MOBs (``VINTAGE_SCHEMA``; one row per cohort × MOB).

    Args:
        silver_lms: Clean loan snapshots (``lms.prm_silver``).
        opts: The label rule and the early read's settings.
    """
    counts = _counts(loan_states(silver_lms, opts), opts)
    low, high = wilson_interval(counts.n_bad, counts.n, opts.z)
    rates = counts.mutate(
        snapshot_date=add_months(counts.cohort, counts.mob),
        bad_rate=counts.n_bad.cast("float64") / counts.n.cast("float64"),
        bad_rate_low=low,
        bad_rate_high=high,
        arrears_rate=counts.n_arrears.cast("float64") / counts.n.cast("float64"),
    )
    proj = _projections(counts, opts)
    out = rates.left_join(proj, ["cohort", "mob"])
    out = out.mutate(
        cohort=rates.cohort,
        mob=rates.mob,
        projected_default_rate=(out.arrears_rate * out.projection_factor).clip(upper=1.0),
        fit_cohorts=out.fit_cohorts.fill_null(0),
        label_def=ibis.literal(opts.label_def),
    )
    return enforce_schema(out, VINTAGE_SCHEMA)


def roll_rate_table(silver_lms: ir.Table, opts: EarlyReadOptions) -> ir.Table:
    """Month-to-month roll rates between DPD buckets (``ROLL_RATE_SCHEMA``), every loan of the book.

    For month M: each loan with a snapshot at M−1 or M, by bucket at M−1 (``new`` if none) and at M (``exited``
    if none); ``roll_rate = n / from_total`` (the share of the M−1 bucket going to ``to_bucket``). No month after
    the tape's last one is reported (it would hold nothing but ``exited``).
    """
    states = loan_states(silver_lms, opts)
    prev = states.select(
        p_loan=states.loan_id,
        p_next=add_months(states.snapshot_date, 1),
        from_bucket=states.bucket,
        from_order=states.bucket_order,
    )
    cur = states.select(
        c_loan=states.loan_id,
        c_date=states.snapshot_date,
        to_bucket=states.bucket,
        to_order=states.bucket_order,
    )
    pairs = prev.outer_join(cur, [prev.p_loan == cur.c_loan, prev.p_next == cur.c_date])
    pairs = pairs.select(
        snapshot_date=ibis.coalesce(pairs.c_date, pairs.p_next),
        from_bucket=ibis.coalesce(pairs.from_bucket, ibis.literal(NEW)),
        from_order=ibis.coalesce(pairs.from_order, ibis.literal(-1, "int64")),
        to_bucket=ibis.coalesce(pairs.to_bucket, ibis.literal(EXITED)),
        to_order=ibis.coalesce(pairs.to_order, ibis.literal(len(opts.buckets), "int64")),
    )
    pairs = pairs.filter(pairs.snapshot_date <= states.snapshot_date.max())
    keys = ["snapshot_date", "from_bucket", "from_order", "to_bucket", "to_order"]
    counts = pairs.group_by(keys).aggregate(n=pairs.count().cast("int64"))
    total = counts.n.sum().over(ibis.window(group_by=[counts.snapshot_date, counts.from_bucket]))
    counts = counts.mutate(from_total=total.cast("int64"))
    counts = counts.mutate(roll_rate=counts.n.cast("float64") / counts.from_total.cast("float64"))
    return enforce_schema(counts, ROLL_RATE_SCHEMA)


def projection_check(vintages: pd.DataFrame, opts: EarlyReadOptions) -> pd.DataFrame:
    """Projected vs realized MOB-``mob`` default rate per cohort and read MOB (cohorts with both only).

    Args:
        vintages: The vintage table as pandas (``VINTAGE_SCHEMA``).
        opts: The early read's settings.

    Returns:
        ``cohort``, ``read_mob``, ``projected``, ``realized``, ``error`` (projected − realized), ``n``.
    """
    columns = ["cohort", "read_mob", "projected", "realized", "error", "n"]
    if vintages.empty:
        return pd.DataFrame(columns=columns)
    final = vintages[vintages["mob"] == opts.mob].set_index("cohort")
    rows = []
    for k in opts.read_mobs:
        read = vintages[(vintages["mob"] == k) & vintages["projected_default_rate"].notna()]
        for row in read.itertuples(index=False):
            if row.cohort not in final.index:
                continue
            realized = float(final.loc[row.cohort, "bad_rate"])
            projected = float(row.projected_default_rate)
            n = int(final.loc[row.cohort, "n"])
            rows.append((row.cohort, k, projected, realized, projected - realized, n))
    return pd.DataFrame(rows, columns=columns).sort_values(["read_mob", "cohort"]).reset_index(drop=True)


def projection_summary(vintages: pd.DataFrame, opts: EarlyReadOptions) -> dict[str, Any]:
    """Mean absolute error and bias (percentage points) of each read MOB's projection over matured cohorts."""
    check = projection_check(vintages, opts)
    out: dict[str, Any] = {}
    for k in opts.read_mobs:
        part = check[check["read_mob"] == k]
        errors = part["error"].astype(float)
        # binomial noise of the realized rate alone: the error floor a perfect projection would still show
        noise = (part["realized"] * (1 - part["realized"]) / part["n"]).pow(0.5) if len(part) else part["n"]
        out[f"mob_{k}"] = {
            "cohorts": len(part),
            "mae_pp": round(100 * float(errors.abs().mean()), 2) if len(part) else None,
            "bias_pp": round(100 * float(errors.mean()), 2) if len(part) else None,
            "realized_noise_sd_pp": round(100 * float(noise.mean()), 2) if len(part) else None,
            "per_cohort": [
                {
                    "cohort": f"{r.cohort:%Y-%m}",
                    "projected": round(r.projected, 4),
                    "realized": round(r.realized, 4),
                    "error_pp": round(100 * r.error, 2),
                }
                for r in part.itertuples(index=False)
            ],
        }
    return out
