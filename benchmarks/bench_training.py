"""Training benchmark: CPU and wall time per step and peak memory per model at two model-input sizes.

Runs the training pipeline's own node functions (contract, windows, split, then per model: fit
preprocessing, apply it, choose hyperparameters on validation, evaluate every window) with the models and
grids of ``conf/base/parameters_training.yml``, without MLflow (tracking cost is measured separately by the
end-to-end tests). Each (size, model) runs in a fresh process so that peak RSS is the model's own. Each line
shows the model's training CPU seconds beside the target (60 s at 100k rows on 2 cores, issue #19) and the
load average (the machine may be shared: CPU seconds are the comparable figure).

The model input is a real one when given (``--model-input`` or ``$BENCH_MODEL_INPUT``: a model_input.parquet,
e.g. ``$KYCC_DATA_ROOT/05_model_input/model_input.parquet`` of a generated world; resampled with replacement
within each application month to each size, so the shape and the windows are the world's; under ``make bench``
the world ``bench_cycle.py`` built in ``$BENCH_STATE_DIR``), else the synthetic
``kycc.modeling.sample_data.make_model_input`` table (23 columns: far fewer features than a world's 69).

    .venv/bin/python benchmarks/bench_training.py                   # 10k and 100k rows
    .venv/bin/python benchmarks/bench_training.py --sizes 5000       # quicker
    .venv/bin/python benchmarks/bench_training.py --model-input /tmp/w/05_model_input/model_input.parquet \
        --training-date 2024-12-01 --sizes 100000 1000000 \
        --set training.models.model_2.search.sample_rows=null      # a lever off
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SIZES = (10_000, 100_000)
TARGET_SECONDS = 60.0  # each model at 100k rows on 2 cores (issue #19)


def _rss_mib() -> float:
    """Current resident set size (MiB), from /proc (Linux)."""
    with open("/proc/self/statm", encoding="ascii") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def _reset_peak() -> bool:
    """Reset the kernel's high-water mark of this process (Linux ``clear_refs``); False if not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
        return True
    except OSError:
        return False


def _peak_mib() -> float:
    """Peak RSS since the last reset (VmHWM), else since the process started (ru_maxrss)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _params(overrides: list[str] | None = None) -> dict[str, Any]:
    text = (PROJECT_ROOT / "conf" / "base" / "parameters_training.yml").read_text(encoding="utf-8")
    params = yaml.safe_load(text)
    for item in overrides or []:
        key, _, value = item.partition("=")
        *path, last = key.split(".")
        node = params
        for part in path:
            node = node.setdefault(part, {})
        node[last] = yaml.safe_load(value)
    return params["training"]


def _resample(table: Any, n_rows: int, seed: int = 0) -> Any:
    """``n_rows`` rows drawn with replacement within each application month (shares of months kept)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    month = table["application_date"].dt.to_period("M")
    shares = month.value_counts(normalize=True)
    picks = []
    for m, share in shares.items():
        where = np.flatnonzero((month == m).to_numpy())
        picks.append(rng.choice(where, size=max(1, round(n_rows * share)), replace=True))
    out = table.iloc[np.sort(np.concatenate(picks))].reset_index(drop=True)
    for col in ("loan_id", "customer_id"):
        if col in out:
            out[col] = [f"{v}-{i}" for i, v in enumerate(out[col].astype(str))]
    return out


def _prepare(n_rows: int, params: dict[str, Any], model_input: str | None, training_date: str | None):
    from kycc.modeling.sample_data import make_model_input
    from kycc.pipelines.training import nodes

    if model_input:
        import pandas as pd

        table = pd.read_parquet(model_input)
        table = table[table[params["data_contract"]["label_column"]].notna()]
        table = _resample(table, n_rows) if n_rows else table
    else:
        table = make_model_input(n_rows, start="2023-01-01", n_months=18, seed=0)
    data, spec = nodes.validate_model_input(table, params["data_contract"])
    date = training_date or params["training_date"]
    windows, _ = nodes.compute_training_windows(data, spec, params["windows"], date)
    windowed, profile = nodes.split_by_windows(data, spec, windows)
    return windowed, spec, profile


def _timed(fn: Any, *args: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def _one_model(n_rows: int, model: str, queue: Any, settings: dict[str, Any]) -> None:
    """Child process: prepare the data, then time one model's chain and report peak memory."""
    import logging

    logging.disable(logging.INFO)
    from kycc.pipelines.training import nodes

    params = _params(settings.get("overrides"))
    options = params["models"][model]
    started = time.perf_counter()
    windowed, spec, profile = _prepare(
        n_rows, params, settings.get("model_input"), settings.get("training_date")
    )
    prepare_s = time.perf_counter() - started
    baseline = _rss_mib()
    reset = _reset_peak()
    started, cpu_started = time.perf_counter(), time.process_time()
    prep, _, prep_cpu = _timed(nodes.fit_preprocessing, model, windowed, spec, options)
    features, _, apply_cpu = _timed(nodes.apply_preprocessing, prep, windowed)
    (estimator, search), _, search_cpu = _timed(
        nodes.train_model, model, features, windowed, spec, options, params["fitting"]
    )
    (evaluation, _), _, eval_cpu = _timed(
        nodes.evaluate_model, model, prep, estimator, windowed, spec, options
    )
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    best = next(c for c in search["candidates"] if c["best"])
    queue.put(
        {
            "rows": len(windowed),
            "model": model,
            "estimator": options["estimator"],
            "candidates": len({c["candidate"] for c in search["candidates"]}),
            "fits": len(search["candidates"]) + (1 if "refit_rows" in best else 0),
            "train_rows": profile["windows"]["train"]["rows"],
            "prepare_s": prepare_s,
            "train_s": seconds,
            "cpu_s": cpu,
            "steps_cpu_s": {
                "preprocessing_fit": prep_cpu,
                "preprocessing_apply": apply_cpu,
                "search": search_cpu - best.get("refit_cpu_seconds", 0.0),
                "refit": best.get("refit_cpu_seconds", 0.0),
                "evaluate": eval_cpu,
            },
            "candidates_cpu_s": [c["cpu_seconds"] for c in search["candidates"]],
            "best_params": best["params"],
            "n_iter": best.get("refit_n_iter", best.get("n_iter")),
            "peak_rss_mib": _peak_mib(),
            "baseline_mib": baseline,
            "oot_auc": evaluation["metrics"]["oot"]["roc_auc"],
            "validation_auc": evaluation["metrics"]["validation"]["roc_auc"],
            "peak_is_model_only": reset,
        }
    )


def run(
    sizes: tuple[int, ...] = DEFAULT_SIZES,
    models: list[str] | None = None,
    settings: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Benchmark every model at every size; returns one record per (size, model)."""
    settings = settings or {}
    models = models or list(_params(settings.get("overrides"))["models"])
    ctx = mp.get_context("spawn")
    results = []
    for n_rows in sizes:
        for model in models:
            queue = ctx.Queue()
            load_before = os.getloadavg()
            proc = ctx.Process(target=_one_model, args=(n_rows, model, queue, settings))
            proc.start()
            result = queue.get()
            proc.join()
            result["load"] = (load_before[0], os.getloadavg()[0])
            results.append(result)
            print(_line(result), flush=True)
            if settings.get("json"):
                print(json.dumps(result, default=str), flush=True)
    return results


def _line(r: dict[str, Any]) -> str:
    steps = ", ".join(f"{k} {v:.1f}" for k, v in r["steps_cpu_s"].items() if v)
    target = f" (target {TARGET_SECONDS:.0f} s at 100k)" if r["rows"] >= 50_000 else ""
    iters = "" if r["n_iter"] is None else f" ({r['n_iter']} iterations)"
    return (
        f"training  {r['rows']:>9,} rows  {r['model']:<8} {r['estimator']:<24} "
        f"{r['candidates']:>2} candidates ({r['fits']} fits) on {r['train_rows']:>7,} train rows: "
        f"{r['cpu_s']:6.1f} CPU s{target}, {r['train_s']:6.1f} s wall [{steps}], "
        f"peak RSS {r['peak_rss_mib']:6.0f} MiB "
        f"({r['peak_rss_mib'] - r['baseline_mib']:+.0f} MiB over the prepared data"
        f"{'' if r['peak_is_model_only'] else ', peak includes data preparation'}), "
        f"chosen {r['best_params']}{iters}, "
        f"validation AUC {r['validation_auc']:.4f}, OOT AUC {r['oot_auc']:.4f}, "
        f"load {r['load'][0]:.1f} -> {r['load'][1]:.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--models", nargs="+", default=None)
    parser.add_argument("--model-input", default=os.environ.get("BENCH_MODEL_INPUT"),
                        help="a model_input.parquet to resample (default: the synthetic table)")  # fmt: skip
    parser.add_argument("--training-date", default=None, help="training.training_date (YYYY-MM-01)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        help="a parameter override, e.g. training.fitting.search.method=halving (YAML value)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="also print each record as JSON")
    args = parser.parse_args(argv)
    if not args.model_input and os.environ.get(
        "BENCH_STATE_DIR"
    ):  # make bench: bench_cycle.py's make run world
        found = sorted(Path(os.environ["BENCH_STATE_DIR"]).glob("**/05_model_input/model_input.parquet"))
        args.model_input = str(found[0]) if found else None
    settings = {"model_input": args.model_input, "training_date": args.training_date,
                "overrides": args.overrides, "json": args.json}  # fmt: skip
    print(
        f"Training benchmark (model input sizes {args.sizes}, {args.model_input or 'synthetic table'}; "
        f"fresh process per model; no MLflow; {os.cpu_count()} CPUs, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; target: each model < {TARGET_SECONDS:.0f} s at 100k rows)"
    )
    if args.overrides:
        print("overrides: " + "; ".join(args.overrides))
    run(tuple(args.sizes), args.models, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
