"""The bronze → silver template, instantiated once per source under its namespace (``lms``, ``attributes``…).

Used by the ``label_store`` (loan book) and ``feature_store`` (party data) pipelines. Datasets come from
the ``{source}.int_bronze`` / ``{source}.prm_silver`` / ``{source}.prm_quarantine`` factories of
``conf/base/catalog_layers.yml``.
"""

from __future__ import annotations

from functools import partial, update_wrapper
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa
from kedro.pipeline import Node, Pipeline

from kycc.datasets.partitioned_ibis import MonthlyTable
from kycc.medallion.bronze import batch_rows, build_bronze
from kycc.medallion.quality import check_raw_records
from kycc.medallion.silver import build_silver
from kycc.medallion.window import RunWindow, months_in


def ingest_bronze(raw: pa.Table, batches: dict[str, dict], run: dict[str, Any], source: str) -> MonthlyTable:
    """Bronze rows of the run window: the raw CSV export plus the JSON batch files, as text.

    The table stands for the whole run window: a stored month of the window without raw rows any more is
    emptied (with a warning), so it cannot flow on into silver and gold.

    Args:
        raw: The raw CSV export (all text).
        batches: JSON batch payloads (``{batch_id: payload}``).
        run: The ``run`` parameters (``start_month``/``end_month``).
        source: Which source the rows belong to.
    """
    check_raw_records(source, raw)  # every record line of the CSV is a row (a runaway quote included)
    window = RunWindow.from_params(run)
    bronze = build_bronze(source, raw, batch_rows(source, batches), window)
    return MonthlyTable(bronze, months_in(bronze, window), window)


def clean_silver(
    bronze: ir.Table, run: dict[str, Any], rules: dict[str, Any], source: str
) -> tuple[MonthlyTable, MonthlyTable]:
    """Typed, validated, deduplicated silver rows and the quarantined rows with their reason.

    Both stand for every month of the window present in bronze, so a month left without quarantined rows
    after a fix upstream is emptied rather than keeping stale rows.
    """
    window = RunWindow.from_params(run)
    silver, quarantine = build_silver(source, bronze, window, rules)
    months = months_in(bronze, window)
    return MonthlyTable(silver, months, window), MonthlyTable(quarantine, months, window)


def _bind(func, source: str):
    bound = partial(func, source=source)
    return update_wrapper(bound, func)


def medallion_pipeline(source: str, raw: str, batches: str, rules: str) -> Pipeline:
    """Bronze and silver for one source, namespaced by the source name.

    Args:
        source: Source name; also the namespace (``lms.int_bronze`` …).
        raw: Catalog name of the raw CSV export.
        batches: Catalog name of the JSON batch files carrying this source.
        rules: Parameters key with the silver cleaning rules (e.g. ``feature_store``).
    """
    template = Pipeline(
        [
            Node(
                _bind(ingest_bronze, source),
                inputs=["raw", "batches", "params:run"],
                outputs="int_bronze",
                name="ingest_bronze",
                tags=["bronze"],
            ),
            Node(
                _bind(clean_silver, source),
                inputs=["int_bronze", "params:run", "params:rules"],
                outputs=["prm_silver", "prm_quarantine"],
                name="clean_silver",
                tags=["silver"],
            ),
        ]
    )
    return Pipeline(
        template,
        namespace=source,
        inputs={"raw": raw, "batches": batches},
        parameters={"params:run": "params:run", "params:rules": f"params:{rules}"},
    )
