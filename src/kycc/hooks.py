"""Project hooks: the SparkSession for ``--env spark`` and the end-of-run summary."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
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


#: Runtime parameters that carry a run's month(s) (``kycc backfill`` passes the month under these keys).
MONTH_KEYS = ("training_date", "start_month", "end_month", "month")


def run_months(runtime_params: Mapping[str, Any] | None) -> str | None:
    """The month(s) a run is for, from its runtime parameters: ``"2024-12"`` or ``"2024-01..2024-12"``.

    Every value under a :data:`MONTH_KEYS` key, at any depth (``training.training_date``,
    ``inference.start_month``, ``run.end_month``), counts; None when the run names no month (a catch-up over the
    data's whole range, a plain ``kedro run``).
    """
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                if key in MONTH_KEYS and item not in (None, ""):
                    found.append(str(item)[:7])
                else:
                    walk(item)

    walk(runtime_params or {})
    months = sorted(m for m in found if len(m) == 7 and m[4] == "-")
    if not months:
        return None
    return months[0] if months[0] == months[-1] else f"{months[0]}..{months[-1]}"


def run_title(pipeline_names: list[str] | None, runtime_params: Mapping[str, Any] | None) -> str:
    """An MLflow run's name: the pipelines and the month, e.g. ``training 2024-12``."""
    name = "+".join(pipeline_names or ["__default__"])
    months = run_months(runtime_params)
    return f"{name} {months}" if months else name


class MlflowRunHooks:
    """One MLflow run per pipeline run, named with its month, a child run per model, never left open.

    - Before kedro-mlflow looks (``tryfirst``), a run a previous session in this process left open is ended:
      kedro-mlflow 2.0.3 would otherwise log into it (``kycc backfill``, a notebook, tests) or, when it was
      ended later, fail in ``before_pipeline_run`` on ``mlflow.active_run().info``.
    - After kedro-mlflow started the run (``trylast``), it is named ``<pipelines> <month>`` (``training
      2024-12``, ``inference+monitoring+actions 2025-01``) and tagged ``kycc.pipelines`` / ``kycc.months``.
    - The nodes of a model's namespace (``model_1.train_model``, ``model_2.monitor_model``; the models are the
      keys of ``training.models``) log into a **child run** named after the model (``model_1``, tagged
      ``mlflow.parentRunId``, ``kycc.model``, ``kycc.months``): opened before the node (``tryfirst``: the
      node's parameters that kedro-mlflow logs go there too) and ended once its outputs are saved, so its
      datasets (the model, its artifacts, metrics, plots) land in it and the shared nodes log into the parent.
      The same child is re-opened for each node of that model. A registered version's run is its model's
      child run (``<model>/artifacts/metadata.json`` there, as :mod:`kycc.registry.read` reads it).
    - After the run, failed or not (``trylast``), any run still active is ended (FAILED on error), so a refused
      or failed run never becomes the parent of the next one in a long-lived process.
    """

    def __init__(self) -> None:
        self._models: set[str] = set()
        self._parent: str | None = None
        self._tags: dict[str, str] = {}
        self._children: dict[str, str] = {}
        self._pending: dict[str, set[str]] = {}

    @hook_impl(tryfirst=True)
    def after_context_created(self, context) -> None:
        import mlflow

        while mlflow.active_run() is not None:
            mlflow.end_run()
        self._parent = None
        try:
            self._models = {str(m) for m in ((context.params.get("training") or {}).get("models") or {})}
        except Exception:  # noqa: BLE001 - no parameters readable: no child runs
            self._models = set()

    @hook_impl(trylast=True)
    def before_pipeline_run(self, run_params: dict[str, Any]) -> None:
        import mlflow

        self._children, self._pending = {}, {}
        run = mlflow.active_run()
        self._parent = None if run is None else run.info.run_id
        if run is None:  # tracking disabled for these pipelines
            return
        names = run_params.get("pipeline_names") or ["__default__"]
        runtime = run_params.get("runtime_params") or {}
        tags = {"mlflow.runName": run_title(names, runtime), "kycc.pipelines": "+".join(names)}
        months = run_months(runtime)
        if months:
            tags["kycc.months"] = months
        mlflow.set_tags(tags)
        self._tags = {k: v for k, v in tags.items() if k.startswith("kycc.")}

    def _model_of(self, node) -> str | None:
        namespace = (getattr(node, "namespace", None) or "").split(".", 1)[0]
        return namespace if namespace and namespace in self._models else None

    @hook_impl(tryfirst=True)
    def before_node_run(self, node) -> None:
        model = self._model_of(node)
        if model is None or self._parent is None:
            return
        import mlflow

        active = mlflow.active_run()
        if active is None or active.info.run_id != self._parent:
            mlflow.start_run(run_id=self._parent, nested=True)  # a worker thread: its own (empty) run stack
        child = self._children.get(model)
        if child is None:
            run = mlflow.start_run(run_name=model, nested=True, tags={**self._tags, "kycc.model": model})
            self._children[model] = run.info.run_id
        else:
            mlflow.start_run(run_id=child, nested=True)
        self._pending[node.name] = set(node.outputs)
        if not node.outputs:
            self._end_child(node.name)

    def _end_child(self, node_name: str, status: str = "FINISHED") -> None:
        import mlflow

        self._pending.pop(node_name, None)
        active = mlflow.active_run()
        if active is not None and active.info.run_id in self._children.values():
            mlflow.end_run(status)

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, node) -> None:
        pending = self._pending.get(node.name)
        if pending is None:
            return
        pending.discard(dataset_name)
        if not pending:
            self._end_child(node.name)

    @hook_impl
    def on_node_error(self, node) -> None:
        if node.name in self._pending:
            self._end_child(node.name, "FAILED")

    @hook_impl(trylast=True)
    def after_pipeline_run(self) -> None:
        import mlflow

        while mlflow.active_run() is not None:  # a child left open (then kedro-mlflow ended it), the parent
            mlflow.end_run()

    @hook_impl(trylast=True)
    def on_pipeline_error(self) -> None:
        import mlflow

        while mlflow.active_run() is not None:
            mlflow.end_run("FAILED")


#: When set, :class:`RunSummaryHooks` also writes the run's progress and summary to this JSON file (the HTTP
#: API's pipeline runs read it).
STATUS_FILE_ENV = "KYCC_RUN_STATUS_FILE"


class RunSummaryHooks:
    """Log progress per node and a short summary of what a run did and where its outputs are.

    With ``KYCC_RUN_STATUS_FILE`` set, the same progress and summary go to that JSON file (replaced atomically
    after every node): ``{"state", "nodes_done", "nodes_total", "last_node", "elapsed_seconds", "outputs",
    "error"}``.
    """

    def __init__(self) -> None:
        self._started = 0.0
        self._done = 0
        self._total = 0
        self._outputs: list[str] = []
        self._last = ""

    def _write_status(self, state: str, **extra: Any) -> None:
        target = os.environ.get(STATUS_FILE_ENV)
        if not target:
            return
        status = {
            "state": state,
            "nodes_done": self._done,
            "nodes_total": self._total,
            "last_node": self._last or None,
            "elapsed_seconds": round(time.perf_counter() - self._started, 2),
            **extra,
        }
        try:
            path = Path(target)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(json.dumps(status, indent=2, default=str), encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:  # progress reporting must never fail a run
            logger.warning("Cannot write the run status to %s: %s", target, exc)

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline) -> None:
        self._started = time.perf_counter()
        self._done = 0
        self._total = len(pipeline.nodes)
        self._outputs = sorted(pipeline.all_outputs())
        self._last = ""
        self._write_status("running")

    @hook_impl
    def after_node_run(self, node) -> None:
        self._done += 1
        self._last = node.name
        logger.info(
            "[%d/%d] %s done (%.1fs elapsed)",
            self._done,
            self._total,
            node.name,
            time.perf_counter() - self._started,
        )
        self._write_status("running")

    @hook_impl
    def on_pipeline_error(self, error: Exception) -> None:
        self._write_status("failed", error=f"{type(error).__name__}: {error}")

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], catalog) -> None:
        elapsed = time.perf_counter() - self._started
        lines = [f"Run finished: {self._done} node(s) in {elapsed:.1f}s. Outputs:"]
        shown = [n for n in self._outputs if n.split(".")[-1].startswith(("feat_", "mdl_", "out_", "rpt_"))]
        outputs: dict[str, str] = {}
        for name in shown or self._outputs:
            try:
                described = catalog.get(name)._describe() if name in catalog else {}
            except Exception:  # noqa: BLE001 - a summary must never fail a finished run
                described = {}
            where = described.get("filepath") or described.get("path")
            if where:
                lines.append(f"  {name}: {where}")
                outputs[name] = str(where)
        warnings = _report_warnings(catalog, self._outputs)
        if warnings:
            lines.append(f"Warnings ({len(warnings)}):")
            lines.extend(f"  {w}" for w in warnings)
        (logger.warning if warnings else logger.info)("\n".join(lines))
        self._write_status("succeeded", outputs=outputs, warnings=warnings)


def _report_warnings(catalog, outputs: list[str]) -> list[str]:
    """The ``warnings`` of the run's data-quality reports (``rpt_*_quality``: header-only sources, …) and of
    ``rpt_actions_summary`` (alerts not delivered)."""
    warnings: list[str] = []
    for name in outputs:
        short = name.split(".")[-1]
        if not (short.startswith("rpt_") and short.endswith("_quality")) and short != "rpt_actions_summary":
            continue
        try:
            report = catalog.load(name)
        except Exception:  # noqa: BLE001 - a summary must never fail a finished run
            continue
        if isinstance(report, dict):
            warnings.extend(str(w) for w in report.get("warnings") or [])
    return warnings
