"""issue_mining throughput: items/s for embedding and for the whole pipeline, at two sizes.

Items are synthesised from the recorded samples (titles and sentences of all four sources recombined) into one
Hacker News recording of N items for one day, which the real collector replays (time-window pagination, 100
hits a page); the whole pipeline then runs on a fresh DuckDB file with a real PocketBase server on 127.0.0.1.
The embedding model is loaded before timing (loading takes ~10 s once per process).

    python benchmarks/bench_issue_mining.py [--sizes 200 1000]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
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
from kycc.mining.replay import SAMPLES_DIR, RecordingTransport, load_recording  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[1]

DAY = date(2026, 11, 20)
HN_SETTINGS = {"queries": ["ask hn"], "tags": "story", "hits_per_page": 100, "max_pages": 100}


def sample_texts() -> list[tuple[str, str]]:
    """(title, body) of every recorded item, all sources and days."""
    pairs = []
    for file in sorted(SAMPLES_DIR.glob("*/*.json")):
        for exchange in load_recording(file).exchanges:
            payload = exchange["response"].get("json") or {}
            if isinstance(payload, dict) and "items" in payload:
                pairs += [(i["title"], i.get("body") or "") for i in payload["items"]]
            elif isinstance(payload, dict) and "hits" in payload:
                pairs += [(h["title"], h.get("story_text") or "") for h in payload["hits"] if h.get("title")]
            elif isinstance(payload, dict) and "data" in payload:
                pairs += [
                    (c["data"]["title"], c["data"].get("selftext") or "")
                    for c in payload["data"].get("children", [])
                ]
    return sorted(set(pairs))


def synthesise_hits(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """n distinct HN hits on DAY: recorded titles with bodies recombined from recorded sentences."""
    rng = random.Random(seed)
    pairs = sample_texts()
    sentences = sorted(
        {
            s.strip()
            for _, body in pairs
            for s in re.split(r"(?<=[.!?])\s+", re.sub(r"<[^>]+>", " ", body))
            if len(s.split()) >= 5
        }
    )
    start = int(datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC).timestamp())
    hits = []
    for i in range(n):
        title, _ = pairs[i % len(pairs)]
        body = " ".join(rng.sample(sentences, 4))
        created = start + int(i * 86_000 / max(n, 1))
        hits.append(
            {
                "objectID": str(47_000_000 + i),
                "title": title,
                "story_text": f"<p>{body}",
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

    def algolia(request: httpx.Request) -> httpx.Response:
        q = request.url.params
        lo = int(re.search(r"created_at_i>=(\d+)", q["numericFilters"]).group(1))
        hi = int(re.search(r"created_at_i<(\d+)", q["numericFilters"]).group(1))
        window = sorted((h for h in hits if lo <= h["created_at_i"] < hi), key=lambda h: -h["created_at_i"])
        per = int(q["hitsPerPage"])
        return httpx.Response(
            200,
            json={
                "hits": window[:per],
                "nbHits": len(window),
                "page": 0,
                "nbPages": -(-len(window) // per),
                "hitsPerPage": per,
            },
        )

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
    params["collect"].update(mode="samples", sources=["hackernews"])
    catalog = DataCatalog.from_config(conf, credentials=credentials)
    feed = {"params:issue_mining": params}
    feed.update({f"params:issue_mining.{k}": v for k, v in params.items()})
    for name, value in feed.items():
        catalog[name] = value
    return catalog


def bench(sizes: list[int]) -> list[dict[str, Any]]:
    from kedro.runner import SequentialRunner

    from kycc.mining.pocketbase import LocalPocketBase
    from kycc.pipelines.issue_mining import create_pipeline

    with tempfile.TemporaryDirectory(prefix="kycc-bench-") as tmp:  # the model as the catalog configures it
        embedder = make_catalog(Path(tmp), Path(tmp)).load("issue_mining.embedding_model")
    started = time.perf_counter()
    embedder.embed(["warm up the model"])
    print(
        f"issue_mining: embedding model loaded in {time.perf_counter() - started:.1f}s "
        f"(max_seq_length={embedder.max_seq_length})"
    )
    results = []
    with LocalPocketBase() as pocketbase:
        for n in sizes:
            hits = synthesise_hits(n)
            texts = [item_text(h["title"], re.sub(r"<[^>]+>", " ", h["story_text"])) for h in hits]
            t0 = time.perf_counter()
            embedder.embed(texts, batch_size=1000)
            embed_s = time.perf_counter() - t0
            with tempfile.TemporaryDirectory(prefix="kycc-bench-") as tmp:
                root = Path(tmp)
                write_recording(hits, root / "samples")
                catalog = make_catalog(root / "data", root / "samples", pocketbase)
                t0 = time.perf_counter()
                SequentialRunner().run(create_pipeline(), catalog)
                pipeline_s = time.perf_counter() - t0
                summary = json.loads(
                    (root / "data" / "08_reporting" / "issue_mining" / "run_summary.json").read_text()
                )
            result = {
                "items": n,
                "embedding_items_per_s": n / embed_s,
                "embedding_s": embed_s,
                "pipeline_items_per_s": n / pipeline_s,
                "pipeline_s": pipeline_s,
                "stored": summary["collection"]["stored"],
                "clusters": summary["clustering"]["clusters"],
                "synced": summary["sync"]["synced"],
            }
            results.append(result)
            print(
                f"issue_mining n={n}: embedding {result['embedding_items_per_s']:.1f} items/s ({embed_s:.1f}s), "
                f"whole pipeline {result['pipeline_items_per_s']:.1f} items/s ({pipeline_s:.1f}s; "
                f"{result['stored']} stored, {result['clusters']} clusters, {result['synced']} synced)"
            )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    for name in ("kedro", "kycc"):
        logging.getLogger(name).setLevel(logging.WARNING)
    bench(args.sizes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
