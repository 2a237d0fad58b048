"""Pipeline runs survive a crash of `kycc serve` (kill -9): the next server knows every run, marks a run whose
worker is gone as failed with the reason, watches a worker that outlived the server, and resumes queued runs.

Real servers (uvicorn on 127.0.0.1, random ports, stopped by their PID), real workers (``kycc.api.worker``) on an
empty data root: the inference runs fail for want of data, quickly — their outcome is known in advance.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.api.test_serve import _free_port

pytestmark = pytest.mark.slow

KEY = "restart-test-key-abcdefghijklmnop"
AUTH = {"X-API-Key": KEY}
MONTH = {"inference.start_month": "2025-06-01", "inference.end_month": "2025-06-01"}
GUARD_S = 600  # guards against a hung server or run, not speed assertions


class Server:
    def __init__(self, tmp_path: Path, name: str) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "KYCC_API_KEY": KEY,
            "KYCC_DATA_ROOT": str(tmp_path / "data"),
            "KYCC_MLFLOW_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
            "KEDRO_DISABLE_TELEMETRY": "1",
        }
        self.log = (tmp_path / f"{name}.log").open("w")
        kycc = Path(sys.executable).with_name("kycc")
        self.proc = subprocess.Popen(  # noqa: S603
            [str(kycc), "serve", "--port", str(self.port), "--env", "test"],
            cwd=tmp_path,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        end = time.monotonic() + GUARD_S
        while True:
            try:
                httpx.get(f"{self.base}/api/health", timeout=5)
                return
            except httpx.TransportError:
                assert self.proc.poll() is None and time.monotonic() < end, "kycc serve did not start"
                time.sleep(0.3)

    def get(self, run_id: str) -> httpx.Response:
        return httpx.get(f"{self.base}/api/pipeline/runs/{run_id}", timeout=60)

    def trigger(self) -> str:
        r = httpx.post(
            f"{self.base}/api/pipeline/trigger/inference",
            json={"params": MONTH},
            headers=AUTH,
            timeout=GUARD_S,
        )
        assert r.status_code == 202, r.text
        return r.json()["run_id"]

    def wait(self, run_id: str, until) -> dict:
        end = time.monotonic() + GUARD_S
        while time.monotonic() < end:
            status = self.get(run_id).json()
            if until(status):
                return status
            time.sleep(0.2)
        raise AssertionError(f"run {run_id}: {status}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def _worker(pid: int) -> psutil.Process:
    proc = psutil.Process(pid)
    assert "kycc.api.worker" in " ".join(proc.cmdline())  # never signal anything but the run's worker
    return proc


def _finished(status: dict) -> bool:
    return status["state"] in ("succeeded", "failed")


@pytest.fixture
def workers() -> list[psutil.Process]:
    """The run workers a test saw; any still running at the end is stopped (a failed test leaks none)."""
    seen: list[psutil.Process] = []
    yield seen
    for proc in seen:
        with contextlib.suppress(psutil.NoSuchProcess):
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                proc.kill()


@pytest.mark.parametrize("worker", ["killed with the server", "outlives the server"])
def test_runs_survive_a_crash_of_the_server(tmp_path, worker, workers):
    first = Server(tmp_path, "first")
    try:
        running = first.trigger()
        queued = first.trigger()  # waits behind the first (one run at a time)
        status = first.wait(running, lambda s: s["state"] == "running" and s["worker_pid"])
        proc = _worker(status["worker_pid"])
        workers.append(proc)
        assert first.get(queued).json()["state"] == "queued"
        first.stop(signal.SIGKILL)  # the crash
        if worker == "killed with the server":
            proc.kill()
    finally:
        first.stop(signal.SIGKILL)

    second = Server(tmp_path, "second")
    try:
        for run_id in (running, queued):
            assert second.get(run_id).status_code == 200  # known after the restart, not 404
        listed = [r["run_id"] for r in httpx.get(f"{second.base}/api/pipeline/runs", timeout=60).json()]
        assert {running, queued} <= set(listed)

        old = second.wait(running, _finished)
        assert old["state"] == "failed"
        if worker == "killed with the server":
            assert "is gone: the server stopped or crashed while the run was running" in old["error"], old
        else:  # watched to its end: the run's own error (no data here), from its status file
            assert "is gone" not in old["error"] and old["error"], old
        assert old["finished_at"]

        second.wait(queued, lambda s: s["worker_pid"] or _finished(s))
        if pid := second.get(queued).json()["worker_pid"]:
            with contextlib.suppress(psutil.NoSuchProcess):  # already done
                workers.append(_worker(pid))
        resumed = second.wait(queued, _finished)
        assert resumed["resumed_at"] and resumed["started_at"] >= resumed["resumed_at"]
        assert resumed["exit_code"] is not None and resumed["error"], (
            resumed
        )  # it really ran, in the new server
        if (
            worker == "outlives the server"
        ):  # one at a time: the resumed run started after the adopted one ended
            assert resumed["started_at"] >= old["finished_at"]
    finally:
        second.stop()
