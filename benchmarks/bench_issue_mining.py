"""issue_mining at a day's volume: items/s end to end vs the model's raw ``encode`` rate, clusters, quality, memory.

Items are the shipped day of volume (``samples/*/2026-11-23.json``, 2,168 posts over 20 themes and the four
sources): size N takes them in a fixed order and, beyond 2,168, replicates them with deterministic variations
(sentences reordered, a follow-up prefix), as one Hacker News recording of N items for one day that the real
collector replays (time-window pagination, 100 hits a page). The whole pipeline then runs (SequentialRunner,
the catalog of ``conf/``) on a fresh DuckDB file with a real PocketBase server on 127.0.0.1. Each size runs in
its own process, so its peak memory (max RSS, model included) is its own; the model is loaded before timing.

Printed per size: end-to-end items/s (the whole pipeline's wall time) and the model's raw ``encode`` rate on the
same texts (the limit: target ratio >= 80 %), the embed node's rate, clusters and the mean cosine silhouette of
the embeddings under them, the summary (LexRank) step's time, labeller calls (the offline labeller counts: one
per cluster), peak memory, and the load average before and after (the machine is shared: rates scale with it).

    python benchmarks/bench_issue_mining.py [--sizes 2000 10000] [--raw-sample 2000]
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import os
import random
import re
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")

import httpx  # noqa: E402

from kycc.mining.collectors import HackerNewsCollector  # noqa: E402
from kycc.mining.items import item_text  # noqa: E402
from kycc.mining.ratelimit import FakeClock, RateLimiter  # noqa: E402
from kycc.mining.replay import RecordingTransport  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CORPUS_DAY = date(2026, 11, 23)  # the shipped day of volume
DAY = date(2026, 11, 25)  # the benchmarked day (a recording made here, in a temp folder)
HN_SETTINGS = {"queries": ["ask hn"], "tags": "story", "hits_per_page": 100, "max_pages": 1000}
PREFIXES = ("", "Update: ", "Follow-up: ", "Still seeing this: ", "Again: ", "Question: ")
RESULT_TAG = "BENCH_RESULT "


def corpus_texts() -> list[tuple[str, str]]:
    """(title, body) of every stored item of the shipped day of volume, in collection order."""
    from kycc.mining.items import to_bronze_rows
    from kycc.mining.sources import SourceAccess, collect_sources

    params = {
        "mode": "recorded",
        "rate_limits": {"github": 30, "stackexchange": 30, "reddit": 60, "hackernews": 100},
    }
    items, _ = collect_sources(SourceAccess(), CORPUS_DAY, params)
    rows, _, _ = to_bronze_rows(items, CORPUS_DAY)
    return [(row["title"], row["body"] or "") for row in rows]


def synthesise_hits(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """n distinct HN hits on DAY: the corpus's posts, replicated with deterministic variations beyond its size."""
    base = corpus_texts()
    random.Random(seed).shuffle(base)
    start = int(datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC).timestamp())
    hits = []
    for i in range(n):
        title, body = base[i % len(base)]
        copy = i // len(base)
        if copy:
            rng = random.Random(seed * 1_000_003 + i)
            sentences = re.split(r"(?<=[.!?])\s+", body)
            rng.shuffle(sentences)
            body = " ".join(sentences)
            title = PREFIXES[copy % len(PREFIXES)] + title if copy % len(PREFIXES) else f"{title} ({copy})"
        created = start + int(i * 86_000 / max(n, 1))
        hits.append(
            {
                "objectID": str(48_000_000 + i),
                "title": title,
                "story_text": "<p>" + html.escape(body).replace("\n\n", "<p>"),
                "author": "bench",
                "created_at": datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "created_at_i": created,
                "points": 1,
                "num_comments": 0,
                "_tags": ["story", "ask_hn"],
            }
        )
    return hits


def write_recording(hits: list[dict[str, Any]], samples_dir: Path) -> None:
    """Record the real HN collector paging through ``hits`` (an Algolia stand-in) as a samples file."""
    ordered = sorted(hits, key=lambda h: -h["created_at_i"])

    def algolia(request: httpx.Request) -> httpx.Response:
        q = request.url.params
        lo = int(re.search(r"created_at_i>=(\d+)", q["numericFilters"]).group(1))
        hi = int(re.search(r"created_at_i<(\d+)", q["numericFilters"]).group(1))
        per = int(q["hitsPerPage"])
        window = [h for h in ordered if lo <= h["created_at_i"] < hi]
        return httpx.Response(200, json={"hits": window[:per], "nbHits": len(window), "hitsPerPage": per})

    recorder = RecordingTransport(httpx.MockTransport(algolia))
    clock = FakeClock()
    with httpx.Client(transport=recorder) as client:
        HackerNewsCollector(client, RateLimiter(100, 60, clock), settings=HN_SETTINGS, clock=clock).collect(
            DAY
        )
    recorder.save(samples_dir / "hackernews" / f"{DAY.isoformat()}.json", "hackernews", DAY, HN_SETTINGS)


def make_catalog(data_root: Path, samples_dir: Path, pocketbase: Any = None):
    from kedro.config import OmegaConfigLoader
    from kedro.io import DataCatalog

    from kycc.settings import CONFIG_LOADER_ARGS

    previous = os.environ.get("KYCC_DATA_ROOT")
    os.environ["KYCC_DATA_ROOT"] = str(data_root)
    loader = OmegaConfigLoader(
        conf_source=str(PROJECT_ROOT / "conf"),
        env="test",
        base_env="base",
        default_run_env="local",
        merge_strategy=CONFIG_LOADER_ARGS["merge_strategy"],
        custom_resolvers=CONFIG_LOADER_ARGS["custom_resolvers"],
        config_patterns={
            "catalog": ["catalog_issue_mining*"],
            "parameters": ["parameters_issue_mining*"],
            "credentials": ["credentials_issue_mining*"],
        },
    )
    try:
        conf, params = dict(loader["catalog"]), loader["parameters"]["issue_mining"]
    finally:
        if previous is None:
            os.environ.pop("KYCC_DATA_ROOT", None)
        else:
            os.environ["KYCC_DATA_ROOT"] = previous
    conf["issue_mining.api_access"] = {**conf["issue_mining.api_access"], "samples_dir": str(samples_dir)}
    credentials = dict(loader["credentials"])
    if pocketbase is not None:
        conf["issue_mining.pocketbase_access"] = {
            **conf["issue_mining.pocketbase_access"],
            "url": pocketbase.url,
        }
        credentials = {
            "issue_mining": {"pocketbase": {"email": pocketbase.email, "password": pocketbase.password}}
        }
    params.update(run_date=DAY.isoformat())
    params["collect"].update(mode="recorded", sources=["hackernews"])
    params["labelling"].update(mode="offline")
    catalog = DataCatalog.from_config(conf, credentials=credentials)
    feed = {"params:issue_mining": params}
    feed.update({f"params:issue_mining.{k}": v for k, v in params.items()})
    for name, value in feed.items():
        catalog[name] = value
    return catalog


def _timed_pipeline(timings: dict[str, float]):
    """The issue_mining pipeline with every node's function timed into ``timings`` (seconds by node name)."""
    from kycc.pipelines.issue_mining import create_pipeline

    pipeline = create_pipeline()
    for node in pipeline.nodes:
        func, name = node.func, node.name.rsplit(".", 1)[-1]  # without the namespace

        def timed(*args, _func=func, _name=name, **kwargs):
            t0 = time.perf_counter()
            try:
                return _func(*args, **kwargs)
            finally:
                timings[_name] = timings.get(_name, 0.0) + time.perf_counter() - t0

        node.func = timed
    return pipeline


def _silhouette(db: Path) -> tuple[float, int]:
    """Mean cosine silhouette of the day's embeddings under their clusters (5,000 items sampled above that)."""
    import duckdb
    import numpy as np
    from sklearn.metrics import silhouette_score

    con = duckdb.connect(str(db), read_only=True)
    try:
        frame = con.execute(
            "SELECT embedding, cluster_id FROM silver.items WHERE cluster_date = ? AND cluster_id IS NOT NULL",
            [DAY],
        ).df()
    finally:
        con.close()
    x = np.vstack(frame["embedding"].to_numpy()).astype(np.float32)
    labels = frame["cluster_id"].to_numpy()
    sample = min(len(x), 5000)
    return float(silhouette_score(x, labels, metric="cosine", sample_size=sample, random_state=0)), len(x)


def run_one(n: int, raw_sample: int) -> dict[str, Any]:
    """One size, in this process: raw encode rate, then the whole pipeline."""
    from kedro.runner import SequentialRunner

    from kycc.mining import labelling
    from kycc.mining.pocketbase import LocalPocketBase

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="kycc-bench-") as tmp:  # the model as the catalog configures it
        embedder = make_catalog(Path(tmp), Path(tmp)).load("issue_mining.embedding_model")
    t0 = time.perf_counter()
    model = embedder._model()
    model.encode(["warm up the model"] * 8)
    load_s = time.perf_counter() - t0
    hits = synthesise_hits(n)
    texts = [item_text(h["title"], html.unescape(re.sub(r"<[^>]+>", " ", h["story_text"]))) for h in hits]
    sample = texts if raw_sample >= n else random.Random(0).sample(texts, raw_sample)
    t0 = time.perf_counter()
    model.encode(
        [t[:2000] for t in sample],
        batch_size=embedder.encode_batch_size,
        convert_to_numpy=True,
        normalize_embeddings=True,
        show_progress_bar=False,
    )
    raw_rate = len(sample) / (time.perf_counter() - t0)

    calls = {"n": 0}
    label = labelling.OfflineLabeller.label

    def counted(self, prompt):  # noqa: ANN001, ANN202 - the offline labeller's calls, counted
        calls["n"] += 1
        return label(self, prompt)

    labelling.OfflineLabeller.label = counted
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="kycc-bench-") as tmp, LocalPocketBase() as pocketbase:
        root = Path(tmp)
        write_recording(hits, root / "samples")
        catalog = make_catalog(root / "data", root / "samples", pocketbase)
        pipeline = _timed_pipeline(timings)
        t0 = time.perf_counter()
        SequentialRunner().run(pipeline, catalog)
        pipeline_s = time.perf_counter() - t0
        summary = json.loads(
            (root / "data" / "08_reporting" / "issue_mining" / "run_summary.json").read_text()
        )
        silhouette, clustered = _silhouette(
            root / "data" / "03_primary" / "issue_mining" / "issue_mining.duckdb"
        )
    labelling.OfflineLabeller.label = label
    embedded = summary["embedding"]["embedded"]
    embed_s = timings.get("embed_new_items", float("nan"))
    return {
        "items": n,
        "stored": summary["collection"]["stored"],
        "model_load_s": load_s,
        "max_seq_length": embedder.max_seq_length,
        "encode_batch_size": embedder.encode_batch_size,
        "raw_encode_items_per_s": raw_rate,
        "raw_sample": len(sample),
        "embed_node_items_per_s": embedded / embed_s if embed_s else None,
        "pipeline_s": pipeline_s,
        "end_to_end_items_per_s": n / pipeline_s,
        "ratio_to_raw": (n / pipeline_s) / raw_rate,
        "clusters": summary["clustering"]["clusters"],
        "clustered": clustered,
        "silhouette": silhouette,
        "summary_s": timings.get("summarise_clusters"),
        "labeller_calls": calls["n"],
        "labelled": summary["labelling"].get("labelled"),
        "synced": summary["sync"].get("synced"),
        "node_s": timings,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }


def report(result: dict[str, Any]) -> str:
    r = {k: (float("nan") if v is None else v) for k, v in result.items()}
    nodes = ", ".join(f"{k} {v:.1f}s" for k, v in r["node_s"].items())
    return (
        f"issue_mining n={r['items']:,}: end to end {r['end_to_end_items_per_s']:.1f} items/s "
        f"({r['pipeline_s']:.1f}s) vs raw encode {r['raw_encode_items_per_s']:.1f} items/s "
        f"(max_seq_length {r['max_seq_length']}, on {r['raw_sample']:,} of the texts): "
        f"{100 * r['ratio_to_raw']:.0f} % (target >= 80 %); embed step {r['embed_node_items_per_s']:.1f} items/s\n"
        f"  {r['clusters']} clusters, silhouette {r['silhouette']:.3f} (cosine, {r['clustered']:,} items); "
        f"summaries {r['summary_s']:.1f}s; labeller calls {r['labeller_calls']} (offline); "
        f"{r['synced']} synced; peak {r['peak_rss_mib']:.0f} MiB; model load {r['model_load_s']:.1f}s (excluded)\n"
        f"  steps: {nodes}\n"
        f"  load average before {'/'.join(f'{v:.1f}' for v in r['load_before'])}, "
        f"after {'/'.join(f'{v:.1f}' for v in r['load_after'])} ({os.cpu_count()} CPUs)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument(
        "--raw-sample", type=int, default=2000, help="texts encoded raw (a sample above that)"
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    for name in ("kedro", "kycc"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if args.child:
        print(RESULT_TAG + json.dumps(run_one(args.child, args.raw_sample)), flush=True)
        return 0
    sys.path.insert(0, str(Path(__file__).parent))
    from run import measure  # benchmarks/run.py: a subprocess's wall time and peak memory

    results = []
    for n in args.sizes:
        cmd = [sys.executable, str(Path(__file__)), "--child", str(n), "--raw-sample", str(args.raw_sample)]
        _, _, out = measure(cmd, {**os.environ})
        result = parse_result(out)
        results.append(result)
        print(report(result), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


def parse_result(stdout: str) -> dict[str, Any]:
    """The child's result line (anything else on stdout, e.g. progress bars, is ignored)."""
    for line in reversed(re.split(r"[\r\n]+", stdout)):
        if RESULT_TAG in line:
            return json.loads(line.split(RESULT_TAG, 1)[1])
    raise RuntimeError(f"no {RESULT_TAG.strip()} line in the benchmark's output:\n{stdout[-2000:]}")


if __name__ == "__main__":
    raise SystemExit(main())
