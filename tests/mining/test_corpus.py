"""The shipped day of volume (2026-11-23): size, sources, categories, replay, and that it is the generator's output."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import pytest

from kycc.mining.items import item_text, to_bronze_rows
from kycc.mining.labelling import CATEGORIES, ClusterPrompt, OfflineLabeller
from kycc.mining.replay import SAMPLES_DIR, load_recording
from kycc.mining.sources import SourceAccess, collect_sources
from kycc.mining.urls import url_hash

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2026, 11, 23)
PARAMS = {
    "mode": "recorded",
    "sources": ["github", "stackexchange", "reddit", "hackernews"],
    "rate_limits": {"github": 30, "stackexchange": 30, "reddit": 60, "hackernews": 100},
    "window_seconds": 60,
}


@pytest.fixture(scope="module")
def generator():
    """scripts/make_mining_corpus.py as a module."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        spec = importlib.util.spec_from_file_location(
            "make_mining_corpus", ROOT / "scripts" / "make_mining_corpus.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    return module


@pytest.fixture(scope="module")
def collected():
    return collect_sources(SourceAccess(), DAY, PARAMS)


def test_the_day_of_volume_has_over_2000_items_from_four_sources(collected):
    items, report = collected
    assert {s: r["used"] for s, r in report.items()} == dict.fromkeys(PARAMS["sources"], "recorded (mode)")
    assert all(r["exact"] for r in report.values())
    per_source = Counter(item.source for item in items)
    assert set(per_source) == set(PARAMS["sources"]) and min(per_source.values()) >= 400
    rows, quarantined, counts = to_bronze_rows(items, DAY)
    assert counts == {"fetched": 2182, "stored": 2168, "duplicates": 12, "already_seen": 0, "quarantined": 2}
    assert {q["reason"] for q in quarantined} == {"missing title"}
    hashes = [row["url_hash"] for row in rows]
    assert len(set(hashes)) == len(hashes) == 2168  # one url_hash per stored item
    # The 12 duplicates are GitHub issues fetched by two queries, nothing else collides.
    dupes = Counter(url_hash(i.url) for i in items)
    assert sorted(Counter(v for v in dupes.values() if v > 1).items()) == [(2, 12)]


def test_the_pages_replay_exactly_as_recorded(generator):
    from tests.mining.test_collectors import replay_collect

    for source in PARAMS["sources"]:
        result, replay, _ = replay_collect(source, DAY)
        assert replay.served == list(range(len(replay.recording.exchanges))), source
        assert result.pages >= 5, source  # paginated, not one page
    reddit = load_recording(SAMPLES_DIR / "reddit" / f"{DAY}.json")
    assert len(reddit.settings["subreddits"]) >= 8


def test_every_category_has_themes_whose_posts_read_as_that_category(collected, generator):
    items, _ = collected
    themes = generator.post_themes()
    by_theme = defaultdict(list)
    for item in items:
        by_theme[themes[int(item.created_at.timestamp())]].append(item)
    categories = {generator.THEMES[t]["category"] for t in by_theme if t != "noise"}
    assert categories == set(CATEGORIES)
    assert 60 <= len(by_theme.pop("noise")) <= 120
    for theme, members in by_theme.items():
        assert len(members) >= 100, theme
        # Ten posts of a theme, as a cluster of them: the offline labeller's keywords find the theme's category.
        for start in (0, 50, 90):
            sample = members[start : start + 10]
            label = OfflineLabeller().label(
                ClusterPrompt(
                    str(DAY),
                    0,
                    len(sample),
                    [i.title for i in sample],
                    "",
                    [item_text(i.title, i.body) for i in sample],
                )
            )
            assert label.category == generator.THEMES[theme]["category"], (theme, start, label)
        # Varied wording: no two posts of a theme share their text.
        texts = [item_text(i.title, i.body) for i in members]
        assert len(set(texts)) >= len(texts) - 12, theme  # minus the GitHub duplicates


def test_the_committed_files_are_the_generators_output(generator, tmp_path):
    recordings = generator.build()
    for source, recording in recordings.items():
        committed = SAMPLES_DIR / source / f"{DAY}.json"
        assert committed.read_text(encoding="utf-8") == generator.serialise(recording), committed
    total = sum(len(generator.serialise(r).encode()) for r in recordings.values())
    assert total < 3_000_000  # a few MB at most
    assert (
        generator.main(["--out", str(tmp_path)]) == 0
        and generator.main(["--check", "--out", str(tmp_path)]) == 0
    )
    (tmp_path / "github" / f"{DAY}.json").write_text("{}", encoding="utf-8")
    assert generator.main(["--check", "--out", str(tmp_path)]) == 1


def test_the_samples_readme_states_the_licence():
    text = (SAMPLES_DIR / "README.md").read_text(encoding="utf-8")
    assert "CC0 1.0" in text and "written for the KYCC project" in text
