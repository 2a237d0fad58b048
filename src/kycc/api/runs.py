"""Kedro pipeline runs started through the HTTP API: queued, run one at a time in a child process, observable.

A run is ``python -m kycc.api.worker`` — a plain ``KedroSession.run`` of one registered pipeline with the
given runtime parameters — in its own process: a failing or crashing run cannot take the API down, and the
run's logging, MLflow state and Spark session stay out of the server. Runs execute one at a time, in the order
they were triggered (two pipelines writing the same tables at once would race).

Each run keeps two files in the runs folder: ``<run_id>.log`` (everything the run printed) and
``<run_id>.status.json`` (written by :class:`kycc.hooks.RunSummaryHooks`: progress per node, then the outputs
summary, or the error). :meth:`PipelineRuns.get` merges them with what the server knows (state, exit code,
times). The server's own table of runs is in memory: a restarted server still finds a run's files, not its
state.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kycc.hooks import STATUS_FILE_ENV

logger = logging.getLogger(__name__)

__all__ = ["PipelineRun", "PipelineRuns"]

#: Lines of the run's log returned with its status.
LOG_TAIL_LINES = 40


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class PipelineRun:
    """One triggered run (see the module docstring)."""

    run_id: str
    pipeline: str
    params: dict[str, Any]
    env: str | None
    triggered_by: str
    state: str = "queued"  # queued → running → succeeded | failed
    queued_at: str = field(default_factory=_now)
    started_at: str | None = None
    finished_at: str | None = None
    exit_code: int | None = None
    log_path: Path | None = None
    status_path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        status: dict[str, Any] = {}
        if self.status_path is not None and self.status_path.is_file():
            try:
                status = json.loads(self.status_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                status = {}  # being replaced right now: the next poll reads it
        log_tail: list[str] = []
        if self.log_path is not None and self.log_path.is_file():
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
            log_tail = lines[-LOG_TAIL_LINES:]
        error = status.get("error")
        if self.state == "failed" and not error:
            # the run died before Kedro's error hook (bad parameters, an import error…): its last log lines say why
            error = next((ln.strip() for ln in reversed(log_tail) if ln.strip()), None)
        return {
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "params": self.params,
            "env": self.env,
            "triggered_by": self.triggered_by,
            "state": self.state,
            "queued_at": self.queued_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "exit_code": self.exit_code,
            "progress": {
                "nodes_done": status.get("nodes_done", 0),
                "nodes_total": status.get("nodes_total"),
                "last_node": status.get("last_node"),
                "elapsed_seconds": status.get("elapsed_seconds"),
            },
            "summary": {"outputs": status.get("outputs", {})} if self.state == "succeeded" else None,
            "error": error if self.state == "failed" else None,
            "log_path": str(self.log_path) if self.log_path else None,
            "log_tail": log_tail,
        }


class PipelineRuns:
    """The queue and table of pipeline runs of one server.

    Args:
        project_root: The Kedro project the runs execute in.
        runs_dir: Where the logs and status files go.
        env: Kedro environment of every run.
        extra_env: Environment variables added to the runs' processes.
    """

    def __init__(
        self,
        project_root: Path,
        runs_dir: Path,
        env: str | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.project_root = Path(project_root)
        self.runs_dir = Path(runs_dir)
        self.env = env
        self.extra_env = dict(extra_env or {})
        self._runs: dict[str, PipelineRun] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[PipelineRun | None] = queue.Queue()
        self._worker: threading.Thread | None = None

    def submit(self, pipeline: str, params: Mapping[str, Any], triggered_by: str) -> PipelineRun:
        """Queue a run of ``pipeline`` (already checked to exist) and return it."""
        run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        run = PipelineRun(run_id, pipeline, dict(params), self.env, triggered_by)
        with self._lock:
            self._runs[run_id] = run
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="kycc-pipeline-runs", daemon=True)
                self._worker.start()
        self._queue.put(run)
        logger.info("Pipeline run %s queued: %s %s (by %s)", run_id, pipeline, params or "", triggered_by)
        return run

    def get(self, run_id: str) -> PipelineRun | None:
        with self._lock:
            return self._runs.get(run_id)

    def list(self) -> list[PipelineRun]:
        with self._lock:
            return sorted(self._runs.values(), key=lambda r: r.run_id, reverse=True)

    def shutdown(self) -> None:
        """Let the current run finish, drop the queued ones (the server is stopping)."""
        self._queue.put(None)

    # ---------------------------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            run = self._queue.get()
            if run is None:
                return
            try:
                self._execute(run)
            except Exception as exc:  # noqa: BLE001 - the worker must survive any run
                logger.exception("Pipeline run %s could not be started", run.run_id)
                run.state, run.finished_at = "failed", _now()
                if run.log_path is not None:
                    with run.log_path.open("a", encoding="utf-8") as log:
                        log.write(f"\nThe run could not be started: {type(exc).__name__}: {exc}\n")

    def _execute(self, run: PipelineRun) -> None:
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        run.log_path = self.runs_dir / f"{run.run_id}.log"
        run.status_path = self.runs_dir / f"{run.run_id}.status.json"
        spec = {
            "project_root": str(self.project_root),
            "pipeline": run.pipeline,
            "env": run.env,
            "params": run.params,
        }
        env = {**os.environ, **self.extra_env, STATUS_FILE_ENV: str(run.status_path)}
        env.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
        run.state, run.started_at = "running", _now()
        logger.info("Pipeline run %s started: %s", run.run_id, run.pipeline)
        with run.log_path.open("w", encoding="utf-8") as log:
            proc = subprocess.run(  # noqa: S603 - our own interpreter and module, arguments as JSON
                [sys.executable, "-m", "kycc.api.worker", json.dumps(spec)],
                cwd=self.project_root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
            )
        run.exit_code = proc.returncode
        run.state = "succeeded" if proc.returncode == 0 else "failed"
        run.finished_at = _now()
        logger.info("Pipeline run %s %s (exit code %s)", run.run_id, run.state, run.exit_code)
