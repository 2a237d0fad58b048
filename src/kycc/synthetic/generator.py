"""``generate``: build the synthetic world and write the raw exports, JSON batches and the manifest."""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from kycc.synthetic import world as world_model
from kycc.synthetic.config import (
    DEFAULT_CUSTOMERS,
    DEFAULT_END,
    DEFAULT_SEED,
    DEFAULT_START,
    DirtyRates,
    GenerationOptions,
    batch_id,
)
from kycc.synthetic.dirty import plan_rows, plant_cells
from kycc.synthetic.loans import build_lms, label_outcomes, simulate_loans
from kycc.synthetic.network import build_relationships
from kycc.synthetic.profiles import (
    DRIFT_INCOME_FACTOR,
    DRIFT_INQUIRIES_SHIFT,
    DRIFT_UTILISATION_SHIFT,
    build_attributes,
    build_clickstream,
    build_financials,
)
from kycc.synthetic.table import RawTable, fmt_str
from kycc.synthetic.writers import csv_lines, write_csv, write_json_batch

logger = logging.getLogger(__name__)

__all__ = ["CSV_FILES", "MANIFEST_FILE", "GenerationSummary", "generate"]

CSV_FILES = (
    "lms_loan_daily.csv",
    "features_attributes.csv",
    "features_financials.csv",
    "feature_clickstream.csv",
    "party_relationships.csv",
)
MANIFEST_FILE = "_generation_manifest.json"
TRUTH_DIR = "_truth"
BATCHES_DIR = "batches"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class GenerationSummary:
    """What one :func:`generate` run wrote."""

    output_dir: Path
    n_customers: int
    n_loans: int
    n_labelled: int
    default_rate: float
    months: tuple[str, ...]
    csv_months: tuple[str, ...]
    json_months: tuple[str, ...]
    drift_months: tuple[str, ...]
    rows: dict[str, int] = field(default_factory=dict)
    json_files: tuple[str, ...] = ()
    planted: dict[str, int] = field(default_factory=dict)
    manifest_path: Path | None = None
    seconds: float = 0.0


def _prepare_output(opts: GenerationOptions) -> None:
    out = opts.output_dir
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"output {out} exists and is not a directory")
    visible = sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) if out.is_dir() else []
    if visible and not opts.force:
        shown = ", ".join(visible[:5]) + (", ..." if len(visible) > 5 else "")
        raise FileExistsError(
            f"output directory {out} is not empty ({shown}); pass force=True (CLI: --force) to overwrite it"
        )
    if visible:
        for name in (*CSV_FILES, MANIFEST_FILE):
            (out / name).unlink(missing_ok=True)
        shutil.rmtree(out / TRUTH_DIR, ignore_errors=True)
        batches = out / BATCHES_DIR
        if batches.is_dir():
            for stale in [*batches.glob("BATCH_*_profiles.json"), *batches.glob("BATCH_*_labels.json")]:
                stale.unlink()
        others = sorted(p.name for p in out.iterdir() if not p.name.startswith(".") and p.name != BATCHES_DIR)
        if others:
            logger.warning("--force: left files that kycc generate does not own in %s: %s", out, others)
    out.mkdir(parents=True, exist_ok=True)


def _counts(rows_by_column: dict[str, np.ndarray], in_csv: np.ndarray) -> dict[str, dict[str, int]]:
    csv_counts = {c: int(in_csv[r].sum()) for c, r in rows_by_column.items()}
    json_counts = {c: int(len(r) - csv_counts[c]) for c, r in rows_by_column.items()}
    return {"csv": csv_counts, "json": json_counts}


def _write_truth(opts: GenerationOptions, world: world_model.World) -> None:
    truth_dir = opts.output_dir / TRUTH_DIR
    truth_dir.mkdir(exist_ok=True)
    table = RawTable(
        file="latent.csv",
        columns=["Customer_ID", "z", "drifted"],
        data={
            "Customer_ID": fmt_str(world.customer_id),
            "z": fmt_str(np.char.mod("%.6f", world.z)),
            "drifted": fmt_str(np.where(world.drifted, "1", "0")),
        },
        month=np.zeros(world.n, dtype=int),
        key=("Customer_ID",),
        cust=np.arange(world.n),
    )
    lines = csv_lines(table, np.arange(world.n))
    (truth_dir / "latent.csv").write_text(
        "Customer_ID,z,drifted\n" + "\n".join(lines) + "\n", encoding="utf-8"
    )


def generate(
    output_dir: str | Path,
    *,
    n_customers: int = DEFAULT_CUSTOMERS,
    start: str | date = DEFAULT_START,
    end: str | date = DEFAULT_END,
    seed: int = DEFAULT_SEED,
    json_months: int = 0,
    dirty: bool = True,
    dirty_rates: DirtyRates | None = None,
    write_truth: bool = False,
    force: bool = False,
    drift: bool = True,
) -> GenerationSummary:
    """Generate the synthetic lender's raw exports into ``output_dir``.

    Args:
        output_dir: Folder of the raw files (``data/01_raw``); created if missing. Every other argument is
            keyword-only.
        n_customers: Number of parties (each has 1, sometimes 2, loans).
        start: First snapshot month (``YYYY-MM-01``).
        end: Last snapshot month (``YYYY-MM-01``), inclusive.
        seed: Seed; the same arguments give byte-identical files.
        json_months: The last ``json_months`` months are written as ``batches/{BATCH_ID}_profiles.json`` and
            ``_labels.json`` instead of CSV rows.
        dirty: Plant the dirty patterns of real exports (``False`` writes clean data).
        dirty_rates: Rates of the dirty patterns (default :class:`DirtyRates`).
        write_truth: Also write ``_truth/latent.csv`` (Customer_ID, z, drifted) for tests.
        force: Overwrite the generator's files in a non-empty ``output_dir``.
        drift: Plant the drift of the last third of the range (``False``: a stationary world; the manifest
            records ``drift.enabled: false`` and no drift month).

    Returns:
        A :class:`GenerationSummary`; the details are in ``_generation_manifest.json``.

    Raises:
        ValueError: bad sizes or dates (start after end, not the first of a month, ...).
        FileExistsError: ``output_dir`` is not empty and ``force`` is false.
    """
    began = time.perf_counter()
    opts = GenerationOptions.build(
        output_dir=output_dir,
        n_customers=n_customers,
        start=start,
        end=end,
        seed=seed,
        json_months=json_months,
        dirty=dirty,
        dirty_rates=dirty_rates,
        write_truth=write_truth,
        force=force,
        drift=drift,
    )
    _prepare_output(opts)
    month_str = np.array([m.isoformat() for m in opts.months])
    seeds = np.random.SeedSequence(opts.seed).spawn(8)
    rng_world, rng_loans, rng_attr, rng_fin, rng_click, rng_net = (
        np.random.default_rng(s) for s in seeds[:6]
    )

    logger.info(
        "Generating %d customers over %d months (%s..%s), seed %d",
        opts.n_customers, opts.n_months, month_str[0], month_str[-1], opts.seed,
    )  # fmt: skip
    world = world_model.build_world(opts, rng_world)
    loans = simulate_loans(world, rng_loans)
    logger.info("Simulated %d loans (%d LMS snapshots)", len(loans.cust), len(loans.row_loan))
    tables: dict[str, RawTable] = {}
    for builder in (
        lambda: build_lms(world, loans, month_str),
        lambda: build_attributes(world, rng_attr, month_str),
        lambda: build_financials(world, loans, rng_fin, month_str),
        lambda: build_clickstream(world, rng_click, month_str),
        lambda: build_relationships(world, loans, rng_net, month_str),
    ):
        table = builder()
        tables[table.file] = table
        logger.info("Built %s: %d rows", table.file, table.n_rows)

    csv_limit = opts.csv_month_count
    dirty_streams = [np.random.default_rng(s) for s in seeds[6].spawn(len(CSV_FILES))]
    line_streams = [np.random.default_rng(s) for s in seeds[7].spawn(len(CSV_FILES))]
    files: dict[str, Any] = {}
    json_planted: dict[str, dict[str, dict[str, int]]] = {}
    rows_written: dict[str, int] = {}
    planted_total: dict[str, int] = {}
    for (name, table), rng_d, rng_l in zip(tables.items(), dirty_streams, line_streams, strict=True):
        in_csv = table.month < csv_limit
        csv_rows = np.flatnonzero(in_csv)
        plan = plan_rows(table, csv_rows, opts.rates, rng_d)
        eligible = np.setdiff1d(np.arange(table.n_rows), plan.malformed, assume_unique=True)
        cells = plant_cells(table, eligible, opts.rates, rng_d)
        logger.info("Writing %s (%d CSV rows)", name, len(csv_rows))
        counts = write_csv(table, opts.output_dir / name, csv_rows, plan, rng_l)
        planted: dict[str, Any] = {
            "duplicate_rows": len(plan.duplicates),
            "malformed_rows": len(plan.malformed),
        }
        for pattern, by_column in cells.items():
            split = _counts(by_column, in_csv)
            planted[pattern] = split["csv"]
            json_planted.setdefault(name, {})[pattern] = split["json"]
        files[name] = {**counts, "planted": planted}
        rows_written[name] = counts["rows"]
        for pattern, value in planted.items():
            planted_total[pattern] = planted_total.get(pattern, 0) + (
                value if isinstance(value, int) else sum(value.values())
            )

    json_files: list[str] = []
    batches: dict[str, Any] = {}
    if opts.json_months:
        batches_dir = opts.output_dir / BATCHES_DIR
        batches_dir.mkdir(exist_ok=True)
        for month_index in range(csv_limit, opts.n_months):
            batch = batch_id(month_str[month_index])
            counts = write_json_batch(batches_dir, batch, month_index, str(month_str[month_index]), tables)
            batches[batch] = {"snapshot_date": str(month_str[month_index]), **counts}
            json_files += [f"{BATCHES_DIR}/{batch}_profiles.json", f"{BATCHES_DIR}/{batch}_labels.json"]
            logger.info(
                "Wrote batch %s: %d profiles, %d loan snapshots", batch, counts["profiles"], counts["loans"]
            )

    if opts.write_truth:
        _write_truth(opts, world)

    month_dates = month_str.astype("datetime64[D]")
    labels = label_outcomes(loans, month_dates)
    n_labelled = len(labels)
    default_rate = float(labels[:, 1].mean()) if n_labelled else float("nan")
    drift_months = tuple(str(m) for m in month_str[world.drift_start :])
    manifest = {
        "generator": "kycc.synthetic",
        "manifest_version": MANIFEST_VERSION,
        "seed": opts.seed,
        "args": {
            "n_customers": opts.n_customers,
            "start": str(month_str[0]),
            "end": str(month_str[-1]),
            "seed": opts.seed,
            "json_months": opts.json_months,
            "dirty": opts.dirty,
            "write_truth": opts.write_truth,
            "drift": opts.drift,
        },
        "dirty_rates": opts.rates.as_dict(),
        "months": month_str.tolist(),
        "csv_months": month_str[:csv_limit].tolist(),
        "json_months": month_str[csv_limit:].tolist(),
        "files": files,
        "json_batches": {"batches": batches, "planted": json_planted},
        "drift": {
            "enabled": opts.drift,
            "start_month": drift_months[0] if drift_months else None,
            "months": list(drift_months),
            "drifted_customers": int(world.drifted.sum()),
            "shock_countries": list(world_model.SHOCK_COUNTRIES),
            "z_shock": world_model.DRIFT_SHOCK,
            "late_applicant_z_shift": world_model.LATE_APPLICANT_SHIFT,
            "late_application_volume": world_model.LATE_VOLUME,
            "feature_shifts": {
                "Annual_Income": f"x{DRIFT_INCOME_FACTOR}",
                "Credit_Utilization_Ratio": f"+{DRIFT_UTILISATION_SHIFT}",
                "Num_Credit_Inquiries": f"+{DRIFT_INQUIRIES_SHIFT}",
            },
        },
        "truth": {
            "customers": opts.n_customers,
            "loans": len(loans.cust),
            "labelled_loans": n_labelled,
            "default_rate": round(default_rate, 6) if n_labelled else None,
            "label_def": "30dpd_6mob",
        },
    }
    manifest_path = opts.output_dir / MANIFEST_FILE
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    elapsed = time.perf_counter() - began
    logger.info("Done in %.1f s: %s", elapsed, opts.output_dir)
    return GenerationSummary(
        output_dir=opts.output_dir,
        n_customers=opts.n_customers,
        n_loans=len(loans.cust),
        n_labelled=n_labelled,
        default_rate=default_rate,
        months=tuple(month_str.tolist()),
        csv_months=tuple(month_str[:csv_limit].tolist()),
        json_months=tuple(month_str[csv_limit:].tolist()),
        drift_months=drift_months,
        rows=rows_written,
        json_files=tuple(json_files),
        planted=planted_total,
        manifest_path=manifest_path,
        seconds=elapsed,
    )
