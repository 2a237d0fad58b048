"""Start-up: CPU seconds a command pays before it does anything (issue #14.3), printed (never asserted).

``kedro registry list`` (Kedro's CLI, the plugins' entry points, every pipeline built) and ``kycc --help`` (the
``kycc`` group and its subcommands), each beside the target (3 s CPU) and the floor (``python -c "import
kedro"``: the interpreter and Kedro's package). CPU is the child's user + system time (``os.wait4``), the median
of ``--repeat`` runs; the load average is printed before and after (the machine is shared: CPU seconds are the
comparable figure, wall time grows with the load). What was measured before and after the lazy imports:
docs/benchmarks.md, Start-up.

    .venv/bin/python benchmarks/bench_startup.py --repeat 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGET_CPU_SECONDS = 3.0

COMMANDS = (
    ("floor: python -c 'import kedro'", [sys.executable, "-c", "import kedro"], None),
    ("kedro registry list", [str(BIN / "kedro"), "registry", "list"], TARGET_CPU_SECONDS),
    ("kycc --help", [str(BIN / "kycc"), "--help"], TARGET_CPU_SECONDS),
)


def cpu_seconds(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd`` in the project folder; return (CPU seconds of the process, wall seconds)."""
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{err[-3000:]}")
    return usage.ru_utime + usage.ru_stime, wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per command (the median is printed)")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    print(
        f"Start-up (median of {args.repeat} runs, CPU = user + system of the process; {os.cpu_count()} CPUs, "
        f"load average {' '.join(f'{x:.2f}' for x in load_before)}; target: < {TARGET_CPU_SECONDS:.0f} s CPU)"
    )
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print(
            "  PYTHONDONTWRITEBYTECODE is set: the project's modules are compiled at every start (~0.35 s of CPU)"
        )
    for label, cmd, target in COMMANDS:
        cpu_seconds(cmd)  # warm: bytecode caches and the page cache, as for any second run
        runs = [cpu_seconds(cmd) for _ in range(args.repeat)]
        cpu = statistics.median(c for c, _ in runs)
        wall = statistics.median(w for _, w in runs)
        verdict = "" if target is None else f"  target < {target:.0f} s: {'ok' if cpu < target else 'OVER'}"
        print(f"  {label:34s} {cpu:5.2f} s CPU  {wall:5.2f} s wall{verdict}")
    print(f"load average after {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
