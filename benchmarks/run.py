"""`make bench`: wall time, peak memory and throughput of the KYCC jobs, printed (never asserted).

Foundation figures at two sizes (default 10k and 100k customers over 24 months):
generate, label_store and feature_store on DuckDB, beside the floor — the time pyarrow takes just to read the
same raw CSVs. Each step runs in its own process so its peak memory (max RSS) is its own. Other benchmark
scripts in this folder (``bench_*.py``) run afterwards, in name order: ``bench_cycle.py`` builds a project state
(``kycc backfill``) in ``$BENCH_STATE_DIR``, which ``bench_online.py`` then serves (online scoring through a real
``kycc serve``); ``bench_startup.py`` prints the start-up CPU of ``kedro registry list`` and ``kycc --help``.

    BENCH_SIZES=2000,10000 make bench        # other sizes
    BENCH_ENGINES=duckdb,spark make bench    # add the PySpark engine (slow: Spark starts in ~10 s)
    BENCH_EXTRA=0 make bench                 # only these figures, not the other bench_*.py scripts
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RUNNER = Path(__file__).with_name("_run_pipeline.py")
RAW_FILES = (
    "lms_loan_daily.csv",
    "features_attributes.csv",
    "features_financials.csv",
    "feature_clickstream.csv",
    "party_relationships.csv",
)


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run ``cmd``; return (wall seconds, peak RSS MiB of the process, its stdout)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{err.read().decode(errors='replace')[-3000:]}")
        return wall, usage.ru_maxrss / 1024, out.read().decode(errors="replace")


FLOOR = """
import sys, pyarrow as pa, pyarrow.csv as c
n = 0
for f in sys.argv[1:]:
    names = open(f).readline().strip().split(",")
    t = c.read_csv(f, convert_options=c.ConvertOptions(column_types={k: pa.string() for k in names}),
                   parse_options=c.ParseOptions(invalid_row_handler=lambda r: "skip"))
    n += t.num_rows
print(n, flush=True)
import os
os._exit(0)  # skip interpreter teardown: pyarrow's thread pool can abort there (apache/arrow#34314)
"""


def _data_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle) - 1


def bench_size(customers: int, engines: list[str]) -> list[tuple]:
    rows = []
    with tempfile.TemporaryDirectory(prefix=f"kycc-bench-{customers}-") as tmp:
        data = Path(tmp)
        env = {
            **os.environ,
            "KYCC_DATA_ROOT": str(data),
            "KEDRO_DISABLE_TELEMETRY": "1",
            "KYCC_MLFLOW_URI": f"sqlite:///{data / 'mlflow.db'}",
        }
        wall, mem, _ = measure(
            [
                str(BIN / "kycc"),
                "-q",
                "generate",
                "--customers",
                str(customers),
                "--output",
                str(data / "01_raw"),
                "--json-months",
                "0",
            ],
            env,
        )
        raw_rows = sum(_data_lines(data / "01_raw" / f) for f in RAW_FILES)
        lms_rows = _data_lines(data / "01_raw" / "lms_loan_daily.csv")
        rows.append((customers, "generate", "-", wall, mem, raw_rows / wall, None))
        floor, floor_mem, _ = measure(
            [sys.executable, "-c", FLOOR, *(str(data / "01_raw" / f) for f in RAW_FILES)], env
        )
        rows.append(
            (customers, "read floor (pyarrow, all CSVs)", "-", floor, floor_mem, raw_rows / floor, 1.0)
        )
        lms_floor, _, _ = measure(
            [sys.executable, "-c", FLOOR, str(data / "01_raw" / "lms_loan_daily.csv")], env
        )
        for engine in engines:
            kedro_env = "spark" if engine == "spark" else "local"
            for pipeline, n, base in (
                ("label_store", lms_rows, lms_floor),
                ("feature_store", raw_rows, floor),
            ):
                _, mem, out = measure([sys.executable, str(RUNNER), pipeline, kedro_env], env)
                run = float(out.strip().splitlines()[-1])
                rows.append((customers, pipeline, engine, run, mem, n / run, run / base))
    return rows


def main() -> None:
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000").split(",")]
    engines = os.environ.get("BENCH_ENGINES", "duckdb").split(",")
    results = []
    for size in sizes:
        print(f"… {size:,} customers over 24 months", flush=True)
        results += bench_size(size, engines)
    print()
    print(
        f"{'customers':>10}  {'step':<32}{'engine':<8}{'wall s':>8}{'peak MiB':>10}{'rows/s':>12}{'x floor':>9}"
    )
    for customers, step, engine, wall, mem, rate, ratio in results:
        ratio_text = f"{ratio:>9.1f}" if ratio is not None else f"{'':>9}"
        print(f"{customers:>10,}  {step:<32}{engine:<8}{wall:>8.1f}{mem:>10.0f}{rate:>12,.0f}{ratio_text}")
    print(
        "\nwall s of a pipeline: its `session.run` (Kedro start-up of ~4 s excluded); peak MiB: the whole process."
    )
    print(
        "x floor: that time / the time pyarrow takes to read the same raw CSVs (label_store: the loan book only)."
    )
    if os.environ.get("BENCH_EXTRA", "1") == "0":
        return
    # one project state for the scripts that need one: bench_cycle.py builds it (its `kycc backfill` is a figure),
    # bench_online.py serves it (it builds its own when run alone)
    with tempfile.TemporaryDirectory(prefix="kycc-bench-state-") as state:
        env = {**os.environ, "BENCH_STATE_DIR": state}
        for script in sorted(Path(__file__).parent.glob("bench_*.py")):
            print(f"\n=== {script.name} ===", flush=True)
            subprocess.run([sys.executable, str(script)], cwd=ROOT, env=env, check=False)


if __name__ == "__main__":
    main()
