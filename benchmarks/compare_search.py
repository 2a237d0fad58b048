"""Does a search lever change the chosen model? Same data, same training date: the default search beside each
lever, per model: chosen hyperparameters, iterations, CPU seconds of the search, OOT ROC-AUC, and the paired
DeLong difference of the OOT AUCs (lever - default) with its 95 % CI.

    .venv/bin/python benchmarks/compare_search.py --model-input $KYCC_DATA_ROOT/05_model_input/model_input.parquet \\
        --training-dates 2024-12-01 2025-03-01 2025-06-01

Not part of ``make bench`` (it needs a world's model input); the figures are in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]

LEVERS: dict[str, dict[str, Any]] = {
    "default": {},
    "early_stopping=validation": {"early_stopping": "validation"},
    "early_stopping=internal": {"early_stopping": "internal"},
    "halving": {"method": "halving"},
    "max_candidates=4": {"max_candidates": 4},
    "sample_rows=20000": {"sample_rows": 20000},
    "sample_rows=5000": {"sample_rows": 5000},
}


def _params() -> dict[str, Any]:
    text = (PROJECT_ROOT / "conf" / "base" / "parameters_training.yml").read_text(encoding="utf-8")
    return yaml.safe_load(text)["training"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-input", required=True)
    parser.add_argument("--training-dates", nargs="+", default=[None])
    parser.add_argument("--models", nargs="+", default=None)
    parser.add_argument("--levers", nargs="+", default=list(LEVERS))
    args = parser.parse_args(argv)
    logging.disable(logging.INFO)
    import pandas as pd

    from kycc.modeling.compare import paired_auc_delong
    from kycc.pipelines.training import nodes

    params = _params()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.model_input}", flush=True)
    table = pd.read_parquet(args.model_input)
    data, spec = nodes.validate_model_input(table, params["data_contract"])
    for date in args.training_dates:
        windows, _ = nodes.compute_training_windows(data, spec, params["windows"], date)
        windowed, profile = nodes.split_by_windows(data, spec, windows)
        for model in args.models or list(params["models"]):
            options = params["models"][model]
            cpu = time.process_time()
            prep = nodes.fit_preprocessing(model, windowed, spec, options)
            prep_cpu = time.process_time() - cpu
            features = nodes.apply_preprocessing(prep, windowed)
            print(f"{date} {model}: preprocessing fit {prep_cpu:.1f} CPU s on {profile['windows']['train']['rows']:,} "
                  f"train rows ({len(windowed):,} rows in all windows)", flush=True)  # fmt: skip
            reference = None
            for lever in args.levers:
                fitting = {**params["fitting"], "search": LEVERS[lever]}
                cpu = time.process_time()
                try:
                    est, search = nodes.train_model(model, features, windowed, spec, options, fitting)
                except ValueError as err:
                    print(f"{date} {model} {lever}: not applicable ({err})", flush=True)
                    continue
                cpu = time.process_time() - cpu
                eval_cpu = time.process_time()
                evaluation, preds = nodes.evaluate_model(model, prep, est, windowed, spec, options)
                eval_cpu = time.process_time() - eval_cpu
                best = next(c for c in search["candidates"] if c["best"])
                mask = (preds["window"] == "oot").to_numpy()
                y, p = preds["label"].to_numpy()[mask], preds["pd"].to_numpy()[mask]
                if reference is None:
                    reference = (best["params"], p)
                cmp = paired_auc_delong(y, p, reference[1])
                record = {
                    "training_date": date,
                    "model": model,
                    "lever": lever,
                    "train_rows": profile["windows"]["train"]["rows"],
                    "oot_rows": int(mask.sum()),
                    "fits": len(search["candidates"]) + (1 if "refit_rows" in best else 0),
                    "search_cpu_s": round(cpu, 2),
                    "fits_cpu_s": [c["cpu_seconds"] for c in search["candidates"]],
                    "refit_cpu_s": best.get("refit_cpu_seconds"),
                    "evaluate_cpu_s": round(eval_cpu, 2),
                    "chosen": best["params"],
                    "same_choice": best["params"] == reference[0],
                    "n_iter": best.get("refit_n_iter", best.get("n_iter")),
                    "oot_auc": round(evaluation["metrics"]["oot"]["roc_auc"], 4),
                    "diff": round(cmp["difference"], 4),
                    "diff_ci": [round(cmp["difference_lower"], 4), round(cmp["difference_upper"], 4)],
                }
                print(json.dumps(record, default=str), flush=True)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
