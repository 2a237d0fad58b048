"""Online scoring benchmark: ``POST /api/scoring/score`` against a real ``kycc serve`` on 127.0.0.1 (issue #19).

1. A built project state (trained champions in an sqlite MLflow, the scorecard store): ``--data-root`` (any data
   root a ``kycc backfill`` ran on, e.g. the tests' shared cycle state), else ``$BENCH_STATE_DIR`` when
   ``bench_cycle.py`` left one there (``make bench``), else one built the way ``bench_cycle.py`` builds it
   (a generated world + ``kycc backfill``, minutes).
2. The floor, in a process of its own: the batch functions ``score_scorecard`` + ``score_with_model`` on one
   row without HTTP (what every request must do; one native thread, as the API runs them), and the API's ``ProjectService.score`` in process (the same
   plus the input checks and the decision-log write).
3. ``kycc serve`` on a free port of 127.0.0.1, stopped by its PID: the first request (loads the Kedro context,
   the catalog, the scorecard and the champions), ``--sequential`` requests one at a time, then ``--requests``
   requests with ``--concurrency`` clients (every request is a real decision, appended to the state's decision
   log: ``--data-root`` is copied first). Latency p50/p99 as the client sees it and the server's own time of
   the scoring (the ``Server-Timing`` header), requests/s, the server's CPU ms per request; the machine's load
   average before and after. The applicants are gold feature rows of the state's last month.

    .venv/bin/python benchmarks/bench_online.py --data-root /tmp/state/catch_up     # an existing state
    .venv/bin/python benchmarks/bench_online.py --requests 400 --concurrency 8

Timings are printed, never asserted (issue #19's target: p50 <= 20 ms server time, >= 100 requests/s on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench_cycle import build_state, cycle_env, is_built
from run import measure

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
KEY = "bench-online-key-0123456789abcdef"

PAYLOADS = r"""
import json, math, sys
import pandas as pd
root, n = sys.argv[1], int(sys.argv[2])
parts = sorted(p for p in (__import__("pathlib").Path(root) / "04_feature" / "duckdb" / "gold_features").glob("batch_month=*"))
frame = pd.read_parquet(parts[-1])
frame = frame.drop(columns=[c for c in frame.columns if c.endswith("_as_of") or c == "batch_month"])
def value(v):
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return None
    if hasattr(v, "item"):
        return value(v.item())
    return v if isinstance(v, (int, float, str)) else None
out = []
for _, row in frame.head(n).iterrows():
    out.append({"application_date": pd.Timestamp(row["application_date"]).date().isoformat(),
                "loan_id": str(row["loan_id"]), "customer_id": str(row["customer_id"]),
                "features": {k: value(v) for k, v in row.items() if k not in ("loan_id", "customer_id", "application_date")}})
print("RESULT", json.dumps(out))
"""

FLOOR = r"""
import json, statistics, sys, time
import pandas as pd
from kycc.api import load_api_settings
from kycc.api.scoring_cache import one_native_thread
from kycc.api.service import ProjectService
from kycc.inference.scoring import score_scorecard, score_with_model
from kycc.temporal import to_month

root, payloads, n = sys.argv[1], json.loads(open(sys.argv[2]).read()), int(sys.argv[3])
service = ProjectService(load_api_settings(env=sys.argv[5] or None, project_root=sys.argv[4], api_key="bench-online-key-0123456789abcdef"))
first = payloads[0]
t0 = time.perf_counter()
service.score(first["features"], first["application_date"], first["loan_id"], first["customer_id"])
cold = time.perf_counter() - t0
state = service.scoring.current()
cards = [c for c in state.models.values() if c is not None]
batch, full = [], []
for i in range(n):
    p = payloads[i % len(payloads)]
    row = service._frame(p["features"], state.definition, cards, p["application_date"], p["loan_id"],
                         p["customer_id"], service.feature_ranges())
    month = pd.Timestamp(to_month(p["application_date"]))
    t0 = time.perf_counter()
    with one_native_thread():  # as the API scores a row
        decisions = score_scorecard(row, state.record)
        for card in cards:
            score_with_model(card, row, decisions, [month])
    batch.append(time.perf_counter() - t0)
for i in range(n):
    p = payloads[i % len(payloads)]
    t0 = time.perf_counter()
    service.score(p["features"], p["application_date"], p["loan_id"], p["customer_id"])
    full.append(time.perf_counter() - t0)
print("RESULT", json.dumps({"cold": cold, "batch": batch, "service": full, "models": len(cards),
                            "version": state.active}))
"""


def _result(stdout: str) -> object:
    for line in reversed(stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"no RESULT line:\n{stdout[-2000:]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _post(client, payload: dict) -> tuple[float, float]:
    """(client latency s, server scoring time s) of one request."""
    t0 = time.perf_counter()
    response = client.post("/api/scoring/score", json=payload, headers={"X-API-Key": KEY})
    latency = time.perf_counter() - t0
    if response.status_code != 200:
        raise RuntimeError(f"score answered {response.status_code}: {response.text[:500]}")
    timing = response.headers.get("server-timing", "")
    server = float(timing.split("dur=")[1]) / 1000 if "dur=" in timing else float("nan")
    return latency, server


def _serve(  # noqa: PLR0913
    data: Path, payloads: list[dict], sequential: int, requests: int, concurrency: int, env_name: str | None
) -> dict:
    import httpx

    port = _free_port()
    env = {**cycle_env(data), "KYCC_API_KEY": KEY}
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(  # noqa: S603 - the venv's kycc
            [str(BIN / "kycc"), "serve", "--port", str(port), *(["--env", env_name] if env_name else [])],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            started = time.perf_counter()
            while True:
                try:
                    httpx.get(f"{base}/api/health", timeout=2)
                    break
                except httpx.TransportError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        raise RuntimeError(
                            f"kycc serve did not start:\n{log.read().decode()[-3000:]}"
                        ) from None
                    time.sleep(0.2)
            up = time.perf_counter() - started
            with httpx.Client(base_url=base, timeout=120) as client:
                cold, _ = _post(client, payloads[0])
                seq = [_post(client, payloads[i % len(payloads)]) for i in range(sequential)]
            clients = [httpx.Client(base_url=base, timeout=120) for _ in range(concurrency)]
            cpu0, wall0 = _cpu_seconds(proc.pid), time.perf_counter()
            with ThreadPoolExecutor(concurrency) as pool:
                loaded = list(
                    pool.map(
                        lambda i: _post(clients[i % concurrency], payloads[i % len(payloads)]),
                        range(requests),
                    )
                )
            wall, cpu = time.perf_counter() - wall0, _cpu_seconds(proc.pid) - cpu0
            for client in clients:
                client.close()
        finally:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
    return {"up": up, "cold": cold, "seq": seq, "loaded": loaded, "wall": wall, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, help="a built project state (default: see the docstring)")
    parser.add_argument(
        "--customers", type=int, default=int(os.environ.get("BENCH_CYCLE_CUSTOMERS", "10000"))
    )
    parser.add_argument("--requests", type=int, default=200, help="requests of the load (default 200)")
    parser.add_argument("--concurrency", type=int, default=4, help="clients of the load (default 4)")
    parser.add_argument("--sequential", type=int, default=50, help="requests one at a time (default 50)")
    parser.add_argument("--env", default=None, help="Kedro environment of the state (the tests' state: test)")
    parser.add_argument("--applicants", type=int, default=50, help="distinct applicants sent in turn")
    args = parser.parse_args()
    shared = Path(os.environ["BENCH_STATE_DIR"]) if os.environ.get("BENCH_STATE_DIR") else None
    with tempfile.TemporaryDirectory(prefix="kycc-bench-online-") as tmp:
        if args.data_root is not None:
            if not is_built(args.data_root):
                raise SystemExit(f"{args.data_root} holds no built state (mlflow.db, 06_models/scorecard/…)")
            # a copy: the scored applicants are appended to the decision log, never to the user's state
            data, origin = Path(tmp) / "data", f"a copy of {args.data_root}"
            shutil.copytree(args.data_root, data, ignore=shutil.ignore_patterns("01_raw", "02_intermediate"))
        elif shared is not None and is_built(shared):
            data, origin = shared, "the state bench_cycle.py built"
        else:
            data = Path(tmp)
            _, wall, _, _ = build_state(data, args.customers)
            origin = f"built here: {args.customers:,} customers, kycc backfill {wall:.0f} s"
        env = cycle_env(data)
        payloads = _result(measure([sys.executable, "-c", PAYLOADS, str(data), str(args.applicants)], env)[2])
        payload_file = Path(tmp) / "payloads.json"
        payload_file.write_text(json.dumps(payloads))
        load_before = os.getloadavg()
        floor = _result(
            measure(
                [
                    sys.executable,
                    "-c",
                    FLOOR,
                    str(data),
                    str(payload_file),
                    str(args.sequential),
                    str(ROOT),
                    args.env or "",
                ],
                env,
            )[2]
        )
        served = _serve(data, payloads, args.sequential, args.requests, args.concurrency, args.env)
        load_after = os.getloadavg()

    ms = 1000.0
    seq_lat, seq_srv = [s[0] for s in served["seq"]], [s[1] for s in served["seq"]]
    lat, srv = [s[0] for s in served["loaded"]], [s[1] for s in served["loaded"]]
    print(f"state: {origin}; scorecard {floor['version']}, {floor['models']} champion(s); "
          f"{len(payloads)} applicants of the last month")  # fmt: skip
    print(f"load average before {' '.join(f'{x:.2f}' for x in load_before)}, "
          f"after {' '.join(f'{x:.2f}' for x in load_after)} ({os.cpu_count()} CPUs)")  # fmt: skip
    print(f"{'online scoring (POST /api/scoring/score)':<58}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>9}")
    rows = [
        ("floor: batch functions on one row, no HTTP", floor["batch"], None),
        ("in process: ProjectService.score (checks + decision log)", floor["service"], None),
        (f"kycc serve, sequential ({len(seq_lat)}): client latency", seq_lat, len(seq_lat) / sum(seq_lat)),
        ("  server time of the scoring (Server-Timing)", seq_srv, None),
        (
            f"kycc serve, {len(lat)} requests x {args.concurrency} clients: latency",
            lat,
            len(lat) / served["wall"],
        ),  # fmt: skip
        ("  server time of the scoring (Server-Timing)", srv, None),
    ]
    for name, values, rate in rows:
        rate_text = f"{rate:>9.1f}" if rate is not None else f"{'':>9}"
        print(f"{name:<58}{statistics.median(values) * ms:>9.1f}{_pct(values, 0.99) * ms:>9.1f}{rate_text}")
    print(f"server CPU per request under load: {served['cpu'] / len(lat) * ms:.1f} ms "
          f"({served['cpu']:.1f} CPU s for {len(lat)} requests in {served['wall']:.1f} s wall)")  # fmt: skip
    print(f"first request (loads context, catalog, scorecard, champions): {served['cold'] * ms:.0f} ms; "
          f"in process {floor['cold'] * ms:.0f} ms; server up in {served['up']:.1f} s")  # fmt: skip
    print("target (issue #19): p50 <= 20 ms server time, >= 100 requests/s on 2 cores; never asserted.")


if __name__ == "__main__":
    main()
