"""Generate the shipped "real day's volume" issue-mining recordings (deterministic, seeded; CC0, written for KYCC).

Posts are composed from the pain-point themes of ``scripts/mining_corpus_themes.py`` (eight categories, about
twenty themes, varied wording) plus noise posts, spread over the four sources, for one UTC day. Each source's
recording is made by running the **real collector** against a local stand-in of its API (an
``httpx.MockTransport`` that pages like the real one) through ``RecordingTransport``, so replay serves exactly
the requests the collector makes: GitHub ``page``/``per_page`` with ``Link`` headers, StackExchange ``has_more``,
Reddit's OAuth token and ``after`` cursor per subreddit, Hacker News time-window paging.

A few items are deliberately imperfect, as a real day is: GitHub issues matching two queries (duplicates within
the collection) and Hacker News stories without a title (quarantined).

    .venv/bin/python scripts/make_mining_corpus.py            # writes src/kycc/mining/samples/<source>/2026-11-23.json
    .venv/bin/python scripts/make_mining_corpus.py --check    # exit 1 when the committed files differ
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mining_corpus_themes import NOISE_SENTENCES, NOISE_TITLES, SLOTS, THEMES  # noqa: E402

from kycc.mining.collectors import COLLECTORS, day_bounds  # noqa: E402
from kycc.mining.ratelimit import FakeClock, RateLimiter  # noqa: E402
from kycc.mining.replay import SAMPLES_DIR, RecordingTransport  # noqa: E402

DAY = date(2026, 11, 23)
SEED = 20261123
SOURCES = ("github", "stackexchange", "reddit", "hackernews")
ITEMS_PER_THEME = 104  # ~2,080 themed posts over 20 themes
NOISE_ITEMS = 90
UNTITLED_HN = 2  # quarantined: "missing title"
GITHUB_DUPLICATES = 12  # bug issues that also match the "workaround" query

SETTINGS: dict[str, dict[str, Any]] = {
    "github": {
        "queries": ["is:issue is:open label:enhancement", "is:issue is:open label:bug", 'is:issue is:open "workaround"'],
        "per_page": 100,
        "max_pages": 10,
    },
    "stackexchange": {"site": "stackoverflow", "queries": ["integration", "production"], "pagesize": 100, "max_pages": 10},
    "reddit": {
        "subreddits": [],  # filled with the subreddits of the generated posts, sorted
        "queries": ["how do you OR anyone OR struggling"],
        "limit": 100,
        "max_pages": 10,
    },
    "hackernews": {"queries": ["ask hn"], "tags": "story", "hits_per_page": 100, "max_pages": 20},
}  # fmt: skip

OPENERS = {
    "reddit": [
        "Genuinely curious how others handle this.",
        "Long time lurker, first post.",
        "Throwaway for obvious reasons.",
        "Not sure if this is the right sub, but here goes.",
        "",
        "",
    ],
    "hackernews": ["", "", "Asking for my team.", "We are {size} and this keeps coming up."],
    "stackexchange": ["", "", "I have searched for a while and found nothing that fits."],
    "github": [""],
}
CLOSERS = {
    "reddit": ["Thanks in advance.", "Any advice welcome.", "Edit: typo", "How do you do it?", ""],
    "hackernews": [
        "What does your setup look like?",
        "Curious what has worked for others.",
        "Would love to hear from people who solved this.",
        "",
    ],
    "stackexchange": ["Am I missing something obvious?", "Any pointers appreciated.", "Is there a better approach?"],
    "github": [""],
}  # fmt: skip
USERS = ["alex-ops", "hannahw", "jlee-dev", "amir.k", "lucia-r", "mkowalski", "ivan_p", "oyelowo", "tomasz88",
         "rjohnson", "wchen", "beatrice", "dkim", "felipe-m", "sara_n", "kofi.a", "mei-lin", "pdubois"]  # fmt: skip
_SLOT = re.compile(r"\{(\w+)\}")


def _fill(rng: random.Random, text: str, slots: dict[str, list[str]]) -> str:
    return _SLOT.sub(lambda m: rng.choice(slots.get(m.group(1)) or SLOTS[m.group(1)]), text)


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:50].rstrip("-")


def _compose(rng: random.Random, theme: dict[str, Any] | None, source: str) -> tuple[str, list[str], str]:
    """(title, body sentences, closing line) of one post; ``theme=None`` is a noise post."""
    if theme is None:
        title = rng.choice(NOISE_TITLES)
        sentences = rng.sample(NOISE_SENTENCES, rng.randint(2, 4))
        return title, sentences, rng.choice(CLOSERS[source])
    slots = {**SLOTS, **theme.get("slots", {})}
    title = _fill(rng, rng.choice(theme["titles"]), slots)
    sentences = [_fill(rng, s, slots) for s in rng.sample(theme["pains"], rng.randint(3, 5))]
    if rng.random() < 0.75:
        sentences.append(_fill(rng, rng.choice(theme["asks"]), slots))
    opener = _fill(rng, rng.choice(OPENERS[source]), slots)
    if opener:
        sentences.insert(0, opener)
    return title, sentences, _fill(rng, rng.choice(CLOSERS[source]), slots)


def _paragraphs(rng: random.Random, sentences: list[str]) -> list[str]:
    cut = rng.randint(1, max(1, len(sentences) - 1))
    return [" ".join(sentences[:cut]), " ".join(sentences[cut:])] if len(sentences) > 1 else sentences


def _posts(rng: random.Random) -> list[dict[str, Any]]:
    """Every post of the day: theme key (``None`` = noise), source, creation second (distinct), text."""
    start, end = day_bounds(DAY)
    plan: list[tuple[str | None, str]] = []
    for key, theme in THEMES.items():
        weights = theme["weights"]
        plan += [(key, rng.choices(SOURCES, weights=weights)[0]) for _ in range(ITEMS_PER_THEME)]
    plan += [(None, rng.choice(SOURCES)) for _ in range(NOISE_ITEMS)]
    seconds = rng.sample(range(start + 60, end - 60), len(plan))
    posts = []
    for (key, source), created in zip(plan, seconds, strict=True):
        theme = THEMES[key] if key else None
        title, sentences, closer = _compose(rng, theme, source)
        posts.append(
            {"theme": key, "category": theme["category"] if theme else "noise", "source": source,
             "created": created, "title": title, "sentences": sentences, "closer": closer}
        )  # fmt: skip
    return posts


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- per source: API objects and a stand-in server that pages like the real API ----------------------------------


def _github(rng: random.Random, posts: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    numbers: dict[str, int] = {}
    by_query: dict[str, list[dict[str, Any]]] = {q: [] for q in SETTINGS["github"]["queries"]}
    bugs = []
    for i, post in enumerate(posts):
        theme = THEMES.get(post["theme"] or "")
        repo = rng.choice(theme["repos"]) if theme else rng.choice(["devnotes/devnotes", "misc-tools/misc"])
        numbers[repo] = numbers.get(repo, 6000 + rng.randint(0, 400)) + rng.randint(1, 3)
        label = "bug" if rng.random() < 0.5 else "enhancement"
        paragraphs = _paragraphs(rng, post["sentences"])
        if label == "bug":
            body = (f"### Describe the bug\n\n{paragraphs[0]}\n\n### Expected behavior\n\n{paragraphs[-1]}\n\n"
                    f"### Environment\n\n{repo.split('/')[1]} {rng.choice(SLOTS['version'])}")  # fmt: skip
        else:
            body = (f"### Is your feature request related to a problem?\n\n{paragraphs[0]}\n\n"
                    f"### Describe the solution you'd like\n\n{paragraphs[-1]}")  # fmt: skip
        issue = {
            "url": f"https://api.github.com/repos/{repo}/issues/{numbers[repo]}",
            "html_url": f"https://github.com/{repo}/issues/{numbers[repo]}",
            "id": 3_900_000_000 + i * 7 + rng.randint(0, 6),
            "number": numbers[repo],
            "title": post["title"],
            "user": {"login": rng.choice(USERS), "type": "User"},
            "labels": [{"name": label}],
            "state": "open",
            "comments": rng.randint(0, 40),
            "created_at": _iso(post["created"]),
            "updated_at": _iso(post["created"] + rng.randint(60, 40_000)),
            "author_association": rng.choice(["NONE", "CONTRIBUTOR", "MEMBER"]),
            "body": body,
            "score": 1.0,
        }
        query = SETTINGS["github"]["queries"][0 if label == "enhancement" else 1]
        by_query[query].append(issue)
        if label == "bug":
            bugs.append(issue)
    workaround = SETTINGS["github"]["queries"][2]
    for issue in rng.sample(bugs, GITHUB_DUPLICATES):
        by_query[workaround].append(issue)
    for items in by_query.values():
        items.sort(key=lambda item: item["created_at"], reverse=True)
    return by_query


def _github_api(by_query: dict[str, list[dict[str, Any]]]):
    def handler(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        query = params["q"].rsplit(" created:", 1)[0]
        items, per_page, page = by_query[query], int(params["per_page"]), int(params["page"])
        chunk = items[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(items) // per_page))
        headers = {"x-ratelimit-limit": "30", "x-ratelimit-remaining": str(30 - handler.calls - 1),
                   "x-ratelimit-reset": str(day_bounds(DAY)[1] + 3 * 3600), "x-ratelimit-used": str(handler.calls + 1),
                   "x-ratelimit-resource": "search"}  # fmt: skip
        handler.calls += 1
        base = f"https://api.github.com/search/issues?q={params['q']}&per_page={per_page}"
        if page < last:
            headers["link"] = f'<{base}&page={page + 1}>; rel="next", <{base}&page={last}>; rel="last"'
        payload = {"total_count": len(items), "incomplete_results": False, "items": chunk}
        return httpx.Response(200, headers=headers, json=payload)

    handler.calls = 0
    return handler


def _stackexchange(rng: random.Random, posts: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    queries = SETTINGS["stackexchange"]["queries"]
    by_query: dict[str, list[dict[str, Any]]] = {q: [] for q in queries}
    for i, post in enumerate(posts):
        theme = THEMES.get(post["theme"] or "")
        tags = (
            rng.sample(theme["tags"], min(len(theme["tags"]), rng.randint(1, 3))) if theme else ["discussion"]
        )
        paragraphs = [f"<p>{p}</p>" for p in _paragraphs(rng, post["sentences"])]
        if theme and theme.get("code") and rng.random() < 0.5:
            code = theme["code"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            paragraphs.insert(1, f"<pre><code>{code}\n</code></pre>")
        paragraphs.append(f"<p>{post['closer']}</p>")
        question_id = 79_600_000 + i * 5 + rng.randint(0, 4)
        by_query[queries[i % len(queries)]].append(
            {
                "tags": tags,
                "owner": {"user_id": rng.randint(100_000, 30_000_000), "display_name": rng.choice(USERS)},
                "is_answered": rng.random() < 0.3,
                "view_count": rng.randint(5, 900),
                "answer_count": rng.randint(0, 5),
                "score": rng.randint(-1, 25),
                "creation_date": post["created"],
                "question_id": question_id,
                "content_license": "CC BY-SA 4.0",
                "link": f"https://stackoverflow.com/questions/{question_id}/{_slug(post['title'])}",
                "title": post["title"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
                "body": "\n\n".join(paragraphs),
            }
        )
    for items in by_query.values():
        items.sort(key=lambda item: item["creation_date"], reverse=True)
    return by_query


def _stackexchange_api(by_query: dict[str, list[dict[str, Any]]]):
    def handler(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        items, size, page = by_query[params["q"]], int(params["pagesize"]), int(params["page"])
        handler.calls += 1
        payload = {"items": items[(page - 1) * size : page * size], "has_more": page * size < len(items),
                   "quota_max": 10000, "quota_remaining": 9990 - handler.calls}  # fmt: skip
        return httpx.Response(200, json=payload)

    handler.calls = 0
    return handler


def _reddit(rng: random.Random, posts: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_sub: dict[str, list[dict[str, Any]]] = {}
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    used: set[str] = set()
    for post in posts:
        theme = THEMES.get(post["theme"] or "")
        sub = rng.choice(theme["subreddits"]) if theme else rng.choice(["smallbusiness", "programming"])
        post_id = ""
        while not post_id or post_id in used:
            post_id = "x" + "".join(rng.choice(alphabet) for _ in range(6))
        used.add(post_id)
        body = "\n\n".join([*_paragraphs(rng, post["sentences"]), post["closer"]]).strip()
        permalink = f"/r/{sub}/comments/{post_id}/{_slug(post['title']).replace('-', '_')}/"
        by_sub.setdefault(sub, []).append(
            {
                "subreddit": sub,
                "selftext": body,
                "title": post["title"] + (" - need advice" if rng.random() < 0.1 else ""),
                "subreddit_name_prefixed": f"r/{sub}",
                "name": f"t3_{post_id}",
                "score": rng.randint(1, 900),
                "upvote_ratio": round(rng.uniform(0.6, 0.99), 2),
                "created_utc": float(post["created"]),
                "num_comments": rng.randint(0, 150),
                "permalink": permalink,
                "url": f"https://www.reddit.com{permalink}",
                "id": post_id,
                "is_self": True,
            }
        )
    for items in by_sub.values():
        items.sort(key=lambda item: item["created_utc"], reverse=True)
    return dict(sorted(by_sub.items()))


def _reddit_api(by_sub: dict[str, list[dict[str, Any]]]):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/access_token"):
            return httpx.Response(200, json={"access_token": "recorded-sample-token", "token_type": "bearer",
                                             "expires_in": 86400, "scope": "*"})  # fmt: skip
        params = request.url.params
        posts = by_sub[request.url.path.split("/")[2]]
        limit, after = int(params["limit"]), params.get("after")
        first = next(i + 1 for i, p in enumerate(posts) if p["name"] == after) if after else 0
        page = posts[first : first + limit]
        handler.calls += 1
        headers = {"x-ratelimit-used": str(handler.calls), "x-ratelimit-remaining": f"{1000 - handler.calls}.0",
                   "x-ratelimit-reset": "600"}  # fmt: skip
        data = {"after": page[-1]["name"] if first + limit < len(posts) else None, "dist": len(page),
                "children": [{"kind": "t3", "data": p} for p in page]}  # fmt: skip
        return httpx.Response(200, headers=headers, json={"kind": "Listing", "data": data})

    handler.calls = 0
    return handler


def _hackernews(rng: random.Random, posts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    hits = []
    for i, post in enumerate(posts):
        object_id = str(47_100_000 + i * 9 + rng.randint(0, 8))
        title = post["title"]
        title = title if title.startswith(("Ask HN", "Show HN")) else f"Ask HN: {title}"
        text = "<p>".join(p for p in [*_paragraphs(rng, post["sentences"]), post["closer"]] if p)
        hits.append(
            {
                "_tags": ["story", f"author_{rng.choice(USERS)}", f"story_{object_id}", "ask_hn"],
                "author": rng.choice(USERS),
                "created_at": _iso(post["created"]),
                "created_at_i": post["created"],
                "num_comments": rng.randint(0, 300),
                "objectID": object_id,
                "points": rng.randint(1, 400),
                "story_text": text.replace("'", "&#x27;"),
                "title": title,
            }
        )
    for hit in rng.sample(hits, UNTITLED_HN):
        hit["title"] = None  # a story whose title the API did not return: quarantined "missing title"
    return sorted(hits, key=lambda hit: -hit["created_at_i"])


def _hackernews_api(hits: list[dict[str, Any]]):
    def handler(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        lo = int(re.search(r"created_at_i>=(\d+)", params["numericFilters"]).group(1))
        hi = int(re.search(r"created_at_i<(\d+)", params["numericFilters"]).group(1))
        window = [h for h in hits if lo <= h["created_at_i"] < hi]
        per = int(params["hitsPerPage"])
        return httpx.Response(200, headers={"content-type": "application/json"},
                              json={"hits": window[:per], "nbHits": len(window), "page": 0,
                                    "nbPages": -(-len(window) // per), "hitsPerPage": per, "query": params["query"]})  # fmt: skip

    return handler


# -- recording -----------------------------------------------------------------------------------------------------


def _record(source: str, handler, settings: dict[str, Any]) -> dict[str, Any]:
    """Run the real collector of ``source`` against ``handler`` and return the recording (as replay reads it)."""
    recorder = RecordingTransport(httpx.MockTransport(handler))
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC).timestamp()
    clock = FakeClock(start_epoch=start + 30 * 3600)  # as the replay's clock: Reddit's window is "week"
    credentials = {"client_id": "replay", "client_secret": "replay"} if source == "reddit" else {}
    with httpx.Client(transport=recorder) as client:
        collector = COLLECTORS[source](
            client, RateLimiter(1000, 60, clock), settings=settings, credentials=credentials, clock=clock
        )
        result = collector.collect(DAY)
    if result.stopped_reason != "complete":
        raise RuntimeError(f"{source}: collection stopped: {result.stopped_reason}")
    return {"source": source, "recorded_for": DAY.isoformat(), "settings": settings,
            "exchanges": recorder.exchanges, "_items": len(result.items)}  # fmt: skip


def post_themes() -> dict[int, str]:
    """Creation second (distinct per post) -> theme key, ``"noise"`` for noise posts: the corpus's ground truth."""
    return {post["created"]: post["theme"] or "noise" for post in _posts(random.Random(SEED))}


def build() -> dict[str, dict[str, Any]]:
    """The four recordings of ``DAY`` (deterministic for ``SEED``)."""
    rng = random.Random(SEED)
    posts = _posts(rng)
    per_source = {s: [p for p in posts if p["source"] == s] for s in SOURCES}
    recordings = {}
    github = _github(random.Random(SEED + 1), per_source["github"])
    recordings["github"] = _record("github", _github_api(github), SETTINGS["github"])
    stack = _stackexchange(random.Random(SEED + 2), per_source["stackexchange"])
    recordings["stackexchange"] = _record(
        "stackexchange", _stackexchange_api(stack), SETTINGS["stackexchange"]
    )
    reddit = _reddit(random.Random(SEED + 3), per_source["reddit"])
    recordings["reddit"] = _record(
        "reddit", _reddit_api(reddit), {**SETTINGS["reddit"], "subreddits": list(reddit)}
    )
    hits = _hackernews(random.Random(SEED + 4), per_source["hackernews"])
    recordings["hackernews"] = _record("hackernews", _hackernews_api(hits), SETTINGS["hackernews"])
    return recordings


def serialise(recording: dict[str, Any]) -> str:
    """The file text: one exchange per line (compact, diffable), UTF-8."""
    head = {k: recording[k] for k in ("source", "recorded_for", "settings")}
    exchanges = ",\n".join(
        json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in recording["exchanges"]
    )
    return json.dumps(head, ensure_ascii=False)[:-1] + ', "exchanges": [\n' + exchanges + "\n]}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=SAMPLES_DIR, help="samples folder (default: the package's)"
    )
    parser.add_argument("--check", action="store_true", help="compare with the files instead of writing them")
    args = parser.parse_args(argv)
    differ = []
    for source, recording in build().items():
        path = args.out / source / f"{DAY.isoformat()}.json"
        text = serialise(recording)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                differ.append(str(path))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(  # noqa: T201 - a command-line script's output
            f"{path}: {recording['_items']} items, {len(recording['exchanges'])} exchanges, {len(text) / 1e6:.2f} MB"
        )
    if differ:
        print("differ from the generator's output: " + ", ".join(differ), file=sys.stderr)  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
