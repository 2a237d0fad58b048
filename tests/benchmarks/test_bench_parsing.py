"""benchmarks/ read their subprocesses' stdout: DuckDB's progress bar there must not break the parsing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"

# The throughput script's last step as it runs in bench_cycle: a DuckDB query that draws its progress bar on
# stdout (progress_bar_time 0: drawn at once, as for any query over 2 s), then the result line.
WITH_BAR = """
import duckdb
con = duckdb.connect()
con.execute("SET enable_progress_bar = true")
con.execute("SET progress_bar_time = 0")
con.execute("select count(*) from range(20000000) t(x) where x % 7 = 3").fetchone()
print("Monthly cycle: 30 months, 30 decided")
con.execute("select count(*) from range(20000000) t(x) where x % 5 = 1").fetchone()
print("RESULT", 4000, 0.125, 0.5, 0.75)
"""


@pytest.fixture(scope="module")
def bench_cycle():
    sys.path.insert(0, str(BENCH))
    try:
        import bench_cycle

        yield bench_cycle
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture(scope="module")
def captured() -> str:
    out = subprocess.run([sys.executable, "-c", WITH_BAR], capture_output=True, check=True).stdout.decode()
    assert "100%" in out and "\r" in out  # a real progress bar was captured
    return out


def test_bench_cycle_reads_its_figures_past_a_progress_bar(bench_cycle, captured):
    with pytest.raises(ValueError):  # what the earlier `result.split()` parsing did with this output
        int(captured.split()[0])
    assert bench_cycle.parse_throughput(captured) == (4000, 0.125, [0.5, 0.75])
    assert bench_cycle.cycle_line(captured) == "Monthly cycle: 30 months, 30 decided"
    with pytest.raises(RuntimeError, match="no RESULT line"):
        bench_cycle.parse_throughput("\r100% |####|\r")


def test_the_throughput_script_turns_duckdbs_progress_bar_off(bench_cycle):
    assert "SET enable_progress_bar = false" in bench_cycle.THROUGHPUT


def test_bench_issue_mining_reads_its_child_result_past_a_progress_bar(captured):
    sys.path.insert(0, str(BENCH))
    try:
        import bench_issue_mining
    finally:
        sys.path.remove(str(BENCH))
    out = captured + '\rBENCH_RESULT {"items": 2000}\n'
    assert bench_issue_mining.parse_result(out) == {"items": 2000}
