"""Monthly-cycle benchmark: inference throughput (applications/s) and a full ``kycc backfill`` (wall, peak memory).

1. Generates a world (default 10,000 customers over 2023-01..2025-06, as ``make run``) in a temp folder.
2. ``kycc backfill`` over every month, in its own process: wall time and peak RSS (the whole cycle: data
   pipelines, trainings, seed backfill, inference, monitoring, actions, reporting).
3. Inference throughput, in its own process, on that cycle's registry: the gold applications replicated to
   ``--rows`` rows, scored by the active scorecard (decision) and each champion (PD, batch-lag checked) with the
   same functions the pipeline uses; the time of the scoring only (data loading excluded).

    .venv/bin/python benchmarks/bench_cycle.py                      # 10,000 customers, 100,000 rows scored
    .venv/bin/python benchmarks/bench_cycle.py --customers 3000 --rows 20000
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

from run import measure  # benchmarks/run.py: one way to time a subprocess and read its peak memory

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

THROUGHPUT = r"""
import sys, time
import ibis, mlflow, pandas as pd
from kycc.registry.read import mlflow_registered_model
from kycc.inference.scoring import score_scorecard, score_with_model
from kycc.scorecard import ScorecardStore

root, rows = sys.argv[1], int(sys.argv[2])
mlflow.set_tracking_uri(f"sqlite:///{root}/mlflow.db")
con = ibis.duckdb.connect()
con.raw_sql("SET enable_progress_bar = false")  # DuckDB draws a bar on stdout for queries over 2 s
apps = con.read_parquet(f"{root}/04_feature/duckdb/gold_features/batch_month=*/*.parquet").drop("batch_month").to_pandas()
apps = apps.drop(columns=[c for c in apps.columns if c.endswith("_as_of")])
months = sorted(pd.to_datetime(apps["application_date"]).dt.to_period("M").dt.to_timestamp().unique())
last = apps[pd.to_datetime(apps["application_date"]) >= months[-1]]
copies = -(-rows // len(last))
big = pd.concat([last.assign(loan_id=last["loan_id"] + f"_{i}") for i in range(copies)], ignore_index=True).head(rows)
record = ScorecardStore(f"sqlite:///{root}/06_models/scorecard/scorecard.db").active().to_dict()
cards = [mlflow_registered_model(m, f"kycc_{m}").champion for m in ("model_1", "model_2")]
for card in cards:
    card.bundle  # load the fitted model before timing
start = time.perf_counter()
decisions = score_scorecard(big, record)
t_scorecard = time.perf_counter() - start
timings = []
for card in cards:
    t0 = time.perf_counter()
    score_with_model(card, big, decisions, [months[-1]])
    timings.append(time.perf_counter() - t0)
print("RESULT", len(big), t_scorecard, *timings)
"""


def _lines(stdout: str) -> list[str]:
    """stdout as lines, a carriage return ending a line too (DuckDB's progress bar redraws with ``\\r``)."""
    return [line.strip() for line in re.split(r"[\r\n]+", stdout) if line.strip()]


def parse_throughput(stdout: str) -> tuple[int, float, list[float]]:
    """``(applications, scorecard seconds, [seconds per champion])`` from the THROUGHPUT script's stdout."""
    for line in reversed(_lines(stdout)):
        if line.startswith("RESULT "):
            n, t_scorecard, *t_models = line.split()[1:]
            return int(n), float(t_scorecard), [float(t) for t in t_models]
    raise RuntimeError(f"no RESULT line in the throughput script's output:\n{stdout[-2000:]}")


def cycle_line(stdout: str) -> str:
    """The ``Monthly cycle: …`` line of ``kycc backfill`` (progress bars and other output ignored)."""
    return next((m.group(0) for line in _lines(stdout) if (m := re.search(r"Monthly cycle:.*", line))), "")


def cycle_env(data: Path) -> dict[str, str]:
    """The environment of every command on the project state under ``data`` (its data root and MLflow)."""
    return {
        **os.environ,
        "KYCC_DATA_ROOT": str(data),
        "KEDRO_DISABLE_TELEMETRY": "1",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "KYCC_MLFLOW_URI": f"sqlite:///{data / 'mlflow.db'}",
        "KYCC_MLFLOW_ARTIFACTS": str(data / "mlruns"),
    }


def build_state(data: Path, customers: int) -> tuple[float, float, float, str]:
    """A built project state under ``data``: a generated world and ``kycc backfill`` over every month (trained
    champions in an sqlite MLflow, scorecard versions, decisions). Returns (generate wall s, backfill wall s,
    backfill peak MiB, the backfill's ``Monthly cycle`` line)."""
    env = cycle_env(data)
    generate = [str(BIN / "kycc"), "-q", "generate", "--customers", str(customers), "--end", "2025-06-01",
                "--json-months", "0", "--output", str(data / "01_raw")]  # fmt: skip
    gen_wall, _, _ = measure(generate, env)
    wall, peak, out = measure([str(BIN / "kycc"), "-q", "backfill"], env)
    return gen_wall, wall, peak, cycle_line(out)


def is_built(data: Path) -> bool:
    """``data`` holds a built state (:func:`build_state`, or any data root a ``kycc backfill`` ran on)."""
    return (data / "mlflow.db").is_file() and (data / "06_models" / "scorecard" / "scorecard.db").is_file()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--customers", type=int, default=int(os.environ.get("BENCH_CYCLE_CUSTOMERS", "10000"))
    )
    parser.add_argument("--rows", type=int, default=100_000, help="applications scored for the throughput")
    args = parser.parse_args()
    # BENCH_STATE_DIR (set by benchmarks/run.py): build the state there and leave it for bench_online.py
    shared = os.environ.get("BENCH_STATE_DIR")
    with tempfile.TemporaryDirectory(prefix="kycc-bench-cycle-") as tmp:
        data = Path(shared) if shared else Path(tmp)
        data.mkdir(parents=True, exist_ok=True)
        gen_wall, wall, peak, months = build_state(data, args.customers)
        _, _, result = measure([sys.executable, "-c", THROUGHPUT, str(data), str(args.rows)], cycle_env(data))
        n, t_scorecard, t_models = parse_throughput(result)
    print(f"world: {args.customers:,} customers over 2023-01..2025-06 (generated in {gen_wall:.1f} s)")
    print(f"{'step':<52}{'wall s':>9}{'peak MiB':>10}{'apps/s':>12}")
    print(f"{'kycc backfill (every month, end to end)':<52}{wall:>9.1f}{peak:>10.0f}{'':>12}")
    print(f"{'  ' + months:<52}")
    print(f"{f'scorecard decision ({n:,} applications)':<52}{float(t_scorecard):>9.2f}{'':>10}"
          f"{n / float(t_scorecard):>12,.0f}")  # fmt: skip
    for model, t in zip(("model_1", "model_2"), t_models, strict=True):
        print(
            f"{f'{model} champion PD ({n:,} applications)':<52}{float(t):>9.2f}{'':>10}{n / float(t):>12,.0f}"
        )
    total = float(t_scorecard) + sum(float(t) for t in t_models)
    print(f"{'inference: decision + both champions':<52}{total:>9.2f}{'':>10}{n / total:>12,.0f}")
    print("\npeak MiB: the whole `kycc backfill` process (Kedro, MLflow, the engines, every step).")


if __name__ == "__main__":
    main()
