"""Project hooks: the SparkSession for ``--env spark`` and the end-of-run summary."""

from __future__ import annotations

import logging
import time
from typing import Any

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)


class SparkHooks:
    """Create the SparkSession when the environment's engine is pyspark.

    Connection keys such as ``spark.master`` given to Ibis are ignored, so the session is built here from
    ``engine.spark`` in ``globals.yml`` before any dataset connects (Ibis' pyspark backend then uses the
    active session).
    """

    @hook_impl
    def after_context_created(self, context) -> None:
        engine_conf = context.config_loader["globals"].get("engine", {})
        if engine_conf.get("connection", {}).get("backend") != "pyspark":
            return
        from kycc.engine import spark_session

        spark_session(engine_conf.get("spark", {}))


class MlflowRunHooks:
    """End an MLflow run a previous session in this process left open.

    kedro-mlflow 2.0.3 does not end its run after a session; a second session in the same process (``kycc
    backfill``, a notebook, tests) would otherwise log into the first one's run.
    """

    @hook_impl
    def after_context_created(self, context) -> None:
        import mlflow

        while mlflow.active_run() is not None:
            mlflow.end_run()


class RunSummaryHooks:
    """Log progress per node and a short summary of what a run did and where its outputs are."""

    def __init__(self) -> None:
        self._started = 0.0
        self._done = 0
        self._total = 0
        self._outputs: list[str] = []

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline) -> None:
        self._started = time.perf_counter()
        self._done = 0
        self._total = len(pipeline.nodes)
        self._outputs = sorted(pipeline.all_outputs())

    @hook_impl
    def after_node_run(self, node) -> None:
        self._done += 1
        logger.info(
            "[%d/%d] %s done (%.1fs elapsed)",
            self._done,
            self._total,
            node.name,
            time.perf_counter() - self._started,
        )

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], catalog) -> None:
        elapsed = time.perf_counter() - self._started
        lines = [f"Run finished: {self._done} node(s) in {elapsed:.1f}s. Outputs:"]
        shown = [n for n in self._outputs if n.split(".")[-1].startswith(("feat_", "mdl_", "out_", "rpt_"))]
        for name in shown or self._outputs:
            try:
                described = catalog.get(name)._describe() if name in catalog else {}
            except Exception:  # noqa: BLE001 - a summary must never fail a finished run
                described = {}
            where = described.get("filepath") or described.get("path")
            if where:
                lines.append(f"  {name}: {where}")
        logger.info("\n".join(lines))
