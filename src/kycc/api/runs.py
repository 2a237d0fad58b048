"""Kedro pipeline runs started through the HTTP API: queued, run one at a time in a child process, observable,
and remembered across server restarts.

A run is ``python -m kycc.api.worker`` — a plain ``KedroSession.run`` of one registered pipeline with the
given runtime parameters — in its own process: a failing or crashing run cannot take the API down, and the
run's logging, MLflow state and Spark session stay out of the server. Runs execute one at a time, in the order
they were triggered (two pipelines writing the same tables at once would race).

Each run keeps three files in the runs folder:

* ``<run_id>.run.json`` — the server's record (state, parameters, times, exit code, worker pid), replaced
  atomically at every change: a restarted server knows every run;
* ``<run_id>.log`` — everything the run printed;
* ``<run_id>.status.json`` — written by :class:`kycc.hooks.RunSummaryHooks`: progress per node, then the outputs
  summary, or the error.

When the server starts (:meth:`PipelineRuns.start`) it recovers what a stop or crash left behind:

* a run recorded as *running* whose worker process is gone gets the state its status file reports (succeeded or
  failed), else *failed* with the reason (the worker is gone, the last node it finished);
* a run recorded as *running* whose worker is still alive (the server crashed, the worker went on) is watched
  until it ends, then recorded the same way; new runs wait for it;
* *queued* runs are resumed, in trigger order, before any run triggered after the restart.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kycc.hooks import STATUS_FILE_ENV

logger = logging.getLogger(__name__)

__all__ = ["PipelineRun", "PipelineRuns"]

#: Lines of the run's log returned with its status.
LOG_TAIL_LINES = 40
RECORD_SUFFIX = ".run.json"
FINAL_STATES = ("succeeded", "failed")
#: How often the end of a worker that outlived the previous server is checked.
ADOPTED_POLL_SECONDS = 1.0


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _read_json(path: Path | None) -> dict[str, Any]:
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # being replaced right now: the next read gets it
    return data if isinstance(data, dict) else {}


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
    worker_pid: int | None = None
    worker_started: float | None = None  # the worker's process start time (a reused pid is not the worker)
    error: str | None = None  # what the server found (worker gone, could not start), if the run did not say
    resumed_at: str | None = None  # queued before a server restart, started by the next server

    # -------------------------------------------------------------------------------------------------
    def record(self) -> dict[str, Any]:
        """The persisted form (``<run_id>.run.json``)."""
        out = asdict(self)
        for name in ("log_path", "status_path"):
            out[name] = str(out[name]) if out[name] is not None else None
        return out

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> PipelineRun:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for name in ("log_path", "status_path"):
            if values.get(name):
                values[name] = Path(values[name])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        status = _read_json(self.status_path)
        log_tail: list[str] = []
        if self.log_path is not None and self.log_path.is_file():
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
            log_tail = lines[-LOG_TAIL_LINES:]
        error = status.get("error") or self.error
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
            "resumed_at": self.resumed_at,
            "exit_code": self.exit_code,
            "worker_pid": self.worker_pid,
            "progress": {
                "nodes_done": status.get("nodes_done", 0),
                "nodes_total": status.get("nodes_total"),
                "last_node": status.get("last_node"),
                "elapsed_seconds": status.get("elapsed_seconds"),
            },
            "summary": (
                {"outputs": status.get("outputs", {}), "warnings": status.get("warnings", [])}
                if self.state == "succeeded"
                else None
            ),
            "error": error if self.state == "failed" else None,
            "log_path": str(self.log_path) if self.log_path else None,
            "log_tail": log_tail,
        }


def _live_worker(run: PipelineRun) -> Any:
    """The run's worker process if it is still running (a psutil.Process), else None."""
    import psutil

    if not run.worker_pid:
        return None
    try:
        proc = psutil.Process(run.worker_pid)
        if run.worker_started is not None and abs(proc.create_time() - run.worker_started) > 0.01:
            return None  # the pid was reused by another process
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return proc


class PipelineRuns:
    """The queue and table of pipeline runs of one server, persisted in ``runs_dir``.

    Args:
        project_root: The Kedro project the runs execute in.
        runs_dir: Where the records, logs and status files go.
        env: Kedro environment of every new run.
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
        self._adopted: list[tuple[PipelineRun, Any]] = []
        self._started = False
        self._load()

    # ---------------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Recover the runs a previous server left (see the module docstring) and start executing runs."""
        with self._lock:
            if self._started:
                return
            self._started = True
            runs = sorted(self._runs.values(), key=lambda r: r.run_id)
        for run in runs:
            if run.state == "running":
                proc = _live_worker(run)
                if proc is None:
                    self._finish_orphan(run, gone=True)
                else:
                    logger.warning(
                        "Pipeline run %s: its worker (pid %s) outlived the previous server; watching it",
                        run.run_id,
                        run.worker_pid,
                    )
                    self._adopted.append((run, proc))
        for run in runs:
            if run.state == "queued":
                run.resumed_at = _now()
                self._persist(run)
                logger.info("Pipeline run %s (queued before a restart) resumed: %s", run.run_id, run.pipeline)
                self._queue.put(run)
        self._ensure_worker()

    def submit(self, pipeline: str, params: Mapping[str, Any], triggered_by: str) -> PipelineRun:
        """Queue a run of ``pipeline`` (already checked to exist) and return it."""
        run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        run = PipelineRun(run_id, pipeline, dict(params), self.env, triggered_by)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        run.log_path = self.runs_dir / f"{run.run_id}.log"
        run.status_path = self.runs_dir / f"{run.run_id}.status.json"
        with self._lock:
            self._runs[run_id] = run
        self._persist(run)
        self.start()  # no-op once started
        self._queue.put(run)
        self._ensure_worker()
        logger.info("Pipeline run %s queued: %s %s (by %s)", run_id, pipeline, params or "", triggered_by)
        return run

    def get(self, run_id: str) -> PipelineRun | None:
        with self._lock:
            return self._runs.get(run_id)

    def list(self) -> list[PipelineRun]:
        with self._lock:
            return sorted(self._runs.values(), key=lambda r: r.run_id, reverse=True)

    def shutdown(self) -> None:
        """Let the current run finish; the queued ones stay queued on disk (the next server resumes them)."""
        self._queue.put(None)

    # ---------------------------------------------------------------------------------------------------
    # persistence
    # ---------------------------------------------------------------------------------------------------
    def _load(self) -> None:
        if not self.runs_dir.is_dir():
            return
        for path in sorted(self.runs_dir.glob(f"*{RECORD_SUFFIX}")):
            try:
                run = PipelineRun.from_record(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError) as exc:
                logger.warning("Pipeline run record %s is unreadable and was skipped: %s", path, exc)
                continue
            self._runs[run.run_id] = run

    def _persist(self, run: PipelineRun) -> None:
        """Replace ``<run_id>.run.json`` atomically (a crash leaves the old or the new record, never half)."""
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        path = self.runs_dir / f"{run.run_id}{RECORD_SUFFIX}"
        tmp = path.with_name(path.name + ".tmp")
        with self._lock:
            tmp.write_text(json.dumps(run.record(), indent=2, default=str), encoding="utf-8")
            tmp.replace(path)

    def _finish_orphan(self, run: PipelineRun, gone: bool) -> None:
        """Record the end of a run whose worker this server did not start (or lost): its status file decides."""
        status = _read_json(run.status_path)
        if status.get("state") in FINAL_STATES:
            run.state = status["state"]
        else:
            run.state = "failed"
            last = status.get("last_node")
            run.error = (
                f"The worker process of this run (pid {run.worker_pid}) "
                + ("is gone: the server stopped or crashed while the run was running" if gone else "exited")
                + f" before the run finished ({status.get('nodes_done', 0)} of {status.get('nodes_total', '?')}"
                + f" nodes done{', last ' + last if last else ''}); see its log. Trigger it again."
            )
        run.finished_at = run.finished_at or _now()
        self._persist(run)
        logger.warning("Pipeline run %s recorded as %s after a server restart", run.run_id, run.state)

    # ---------------------------------------------------------------------------------------------------
    # execution
    # ---------------------------------------------------------------------------------------------------
    def _ensure_worker(self) -> None:
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="kycc-pipeline-runs", daemon=True)
                self._worker.start()

    def _work(self) -> None:
        # a worker that outlived the previous server finishes first (runs execute one at a time)
        while self._adopted:
            run, _proc = self._adopted.pop(0)
            # not proc.wait(): the worker is not our child, and an un-reaped (zombie) worker has ended too
            while _live_worker(run) is not None:
                time.sleep(ADOPTED_POLL_SECONDS)
            self._finish_orphan(run, gone=False)
        while True:
            run = self._queue.get()
            if run is None:
                return
            if run.state != "queued":
                continue
            try:
                self._execute(run)
            except Exception as exc:  # noqa: BLE001 - the worker must survive any run
                logger.exception("Pipeline run %s could not be started", run.run_id)
                run.state, run.finished_at = "failed", _now()
                run.error = f"The run could not be started: {type(exc).__name__}: {exc}"
                self._persist(run)
                if run.log_path is not None:
                    with run.log_path.open("a", encoding="utf-8") as log:
                        log.write(f"\n{run.error}\n")

    def _execute(self, run: PipelineRun) -> None:
        import psutil

        from kycc.api.triggers import TRIGGER_PARAMETERS

        # The allow-list again, at the worker's door: a record resumed from disk (written by an older server, or
        # edited) must not start a run that points the LLM, PocketBase or a gate elsewhere.
        allowed = TRIGGER_PARAMETERS.get(run.pipeline, {})
        refused = sorted(k for k in run.params if k not in allowed)
        if refused:
            raise ValueError(
                f"parameter(s) {', '.join(refused)} are not trigger parameters of pipeline {run.pipeline!r} "
                f"(accepted: {', '.join(allowed) or 'none'}); nothing was started"
            )
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        run.log_path = run.log_path or self.runs_dir / f"{run.run_id}.log"
        run.status_path = run.status_path or self.runs_dir / f"{run.run_id}.status.json"
        spec = {
            "project_root": str(self.project_root),
            "pipeline": run.pipeline,
            "env": run.env,
            "params": run.params,
        }
        env = {**os.environ, **self.extra_env, STATUS_FILE_ENV: str(run.status_path)}
        env.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
        run.state, run.started_at = "running", _now()
        self._persist(run)
        logger.info("Pipeline run %s started: %s", run.run_id, run.pipeline)
        with run.log_path.open("w", encoding="utf-8") as log:
            proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module, arguments as JSON
                [sys.executable, "-m", "kycc.api.worker", json.dumps(spec)],
                cwd=self.project_root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            run.worker_pid = proc.pid
            try:
                run.worker_started = psutil.Process(proc.pid).create_time()
            except psutil.Error:
                run.worker_started = None
            self._persist(run)
            returncode = proc.wait()
        run.exit_code = returncode
        run.state = "succeeded" if returncode == 0 else "failed"
        if returncode < 0:
            run.error = f"The worker process was killed by signal {-returncode}"
        run.finished_at = _now()
        self._persist(run)
        logger.info("Pipeline run %s %s (exit code %s)", run.run_id, run.state, run.exit_code)
