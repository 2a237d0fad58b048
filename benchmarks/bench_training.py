"""Training benchmark: wall time and peak memory per model at two model-input sizes.

Runs the training pipeline's own node functions (contract, windows, split, then per model: fit
preprocessing, apply it, choose hyperparameters on validation, evaluate every window) with the models and
grids of ``conf/base/parameters_training.yml``, without MLflow (tracking cost is measured separately by the
end-to-end tests). Each (size, model) runs in a fresh process so that peak RSS is the model's own.

    .venv/bin/python benchmarks/bench_training.py              # 10k and 100k rows
    .venv/bin/python benchmarks/bench_training.py --sizes 5000  # quicker
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SIZES = (10_000, 100_000)


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


def _params() -> dict[str, Any]:
    text = (PROJECT_ROOT / "conf" / "base" / "parameters_training.yml").read_text(encoding="utf-8")
    return yaml.safe_load(text)["training"]


def _prepare(n_rows: int, params: dict[str, Any]):
    from kycc.modeling.sample_data import make_model_input
    from kycc.pipelines.training import nodes

    table = make_model_input(n_rows, start="2023-01-01", n_months=18, seed=0)
    data, spec = nodes.validate_model_input(table, params["data_contract"])
    windows, _ = nodes.compute_training_windows(data, spec, params["windows"], params["training_date"])
    windowed, profile = nodes.split_by_windows(data, spec, windows)
    return windowed, spec, profile


def _one_model(n_rows: int, model: str, queue: Any) -> None:
    """Child process: prepare the data, then time one model's chain and report peak memory."""
    import logging

    logging.disable(logging.INFO)
    from kycc.pipelines.training import nodes

    params = _params()
    options = params["models"][model]
    started = time.perf_counter()
    windowed, spec, profile = _prepare(n_rows, params)
    prepare_s = time.perf_counter() - started
    baseline = _rss_mib()
    reset = _reset_peak()
    started = time.perf_counter()
    prep = nodes.fit_preprocessing(model, windowed, spec, options)
    features = nodes.apply_preprocessing(prep, windowed)
    estimator, search = nodes.train_model(model, features, windowed, spec, options, params["fitting"])
    evaluation, _ = nodes.evaluate_model(model, prep, estimator, windowed, spec, options)
    seconds = time.perf_counter() - started
    queue.put(
        {
            "rows": n_rows,
            "model": model,
            "estimator": options["estimator"],
            "candidates": len(search["candidates"]),
            "train_rows": profile["windows"]["train"]["rows"],
            "prepare_s": prepare_s,
            "train_s": seconds,
            "peak_rss_mib": _peak_mib(),
            "baseline_mib": baseline,
            "oot_auc": evaluation["metrics"]["oot"]["roc_auc"],
            "peak_is_model_only": reset,
        }
    )


def run(sizes: tuple[int, ...] = DEFAULT_SIZES, models: list[str] | None = None) -> list[dict[str, Any]]:
    """Benchmark every model at every size; returns one record per (size, model)."""
    models = models or list(_params()["models"])
    ctx = mp.get_context("spawn")
    results = []
    for n_rows in sizes:
        for model in models:
            queue = ctx.Queue()
            proc = ctx.Process(target=_one_model, args=(n_rows, model, queue))
            proc.start()
            result = queue.get()
            proc.join()
            results.append(result)
            print(_line(result), flush=True)
    return results


def _line(r: dict[str, Any]) -> str:
    return (
        f"training  {r['rows']:>7,} rows  {r['model']:<8} {r['estimator']:<24} "
        f"{r['candidates']:>2} candidates on {r['train_rows']:>6,} train rows: "
        f"{r['train_s']:6.1f} s, peak RSS {r['peak_rss_mib']:6.0f} MiB "
        f"({r['peak_rss_mib'] - r['baseline_mib']:+.0f} MiB over the prepared data"
        f"{'' if r['peak_is_model_only'] else ', peak includes data preparation'}), OOT AUC {r['oot_auc']:.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--models", nargs="+", default=None)
    args = parser.parse_args(argv)
    print(f"Training benchmark (model input sizes {args.sizes}; fresh process per model; no MLflow)")
    run(tuple(args.sizes), args.models)
    return 0


if __name__ == "__main__":
    sys.exit(main())
