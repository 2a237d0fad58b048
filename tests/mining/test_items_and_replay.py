"""Bronze rows: validation, quarantine with reasons, counts; recordings: clear errors for bad files."""

import json
from datetime import UTC, date, datetime

import pytest

from kycc.mining.items import RawItem, html_to_text, item_text, to_bronze_rows
from kycc.mining.replay import RecordingError, load_recording, pick_recording

DAY = date(2026, 11, 20)
T = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _item(
    url="https://github.com/a/b/issues/1", title="Payouts do not match", created=T, source="github", i="1"
):
    return RawItem(source=source, external_id=i, url=url, title=title, body="body", created_at=created)


def test_counts_add_up_and_bad_items_are_quarantined_with_a_reason():
    items = [
        _item(),
        _item(url="https://GITHUB.com/A/B/issues/1/", i="dup"),  # same item, other URL form
        _item(url="https://github.com/a/b/issues/2", title="  ", i="2"),  # no title
        _item(url=None, i="3"),  # no URL
        _item(url="ftp://x/y", i="4"),  # not http(s)
        _item(url="https://github.com/a/b/issues/5", created=None, i="5"),  # no date
        _item(url="https://github.com/a/b/issues/6", i="6"),  # stored on an earlier date
        _item(url="https://example.com/x", source="myspace", i="7"),  # unknown source
    ]
    earlier = {
        to_bronze_rows([_item(url="https://github.com/a/b/issues/6")], date(2026, 11, 19))[0][0]["url_hash"]
    }
    rows, quarantined, counts = to_bronze_rows(items, DAY, seen_elsewhere=earlier)
    assert counts == {"fetched": 8, "stored": 1, "duplicates": 1, "already_seen": 1, "quarantined": 5}
    assert (
        counts["fetched"]
        == counts["stored"] + counts["duplicates"] + counts["already_seen"] + counts["quarantined"]
    )
    reasons = {q["external_id"]: q["reason"] for q in quarantined}
    assert reasons["2"] == "missing title" and reasons["3"] == "missing url"
    assert "not an absolute http(s) URL" in reasons["4"] and "created_at" in reasons["5"]
    assert "unknown source" in reasons["7"]
    assert json.loads(quarantined[0]["payload"])["external_id"] == "2"
    row = rows[0]
    assert row["created_at"] == datetime(2026, 11, 20, 9, 30) and row["created_at"].tzinfo is None
    assert row["collection_date"] == DAY and len(row["url_hash"]) == 64


def test_html_and_text_helpers():
    assert (
        html_to_text("<p>Use &quot;Decimal&quot;</p><pre><code>x = 1\n</code></pre>")
        == 'Use "Decimal"\n\nx = 1'
    )
    assert item_text("Title", "") == "Title"
    assert (
        item_text("Title", "Body " * 1000, max_chars=50).startswith("Title\n\nBody")
        and len(item_text("Title", "Body " * 1000, max_chars=50)) == 50
    )


def test_malformed_recordings_fail_with_file_and_field(tmp_path):
    bad = tmp_path / "github" / "2026-11-20.json"
    bad.parent.mkdir()
    bad.write_text("{not json")
    with pytest.raises(RecordingError, match=r"2026-11-20\.json: not valid JSON"):
        load_recording(bad)
    bad.write_text(
        json.dumps(
            {
                "source": "github",
                "recorded_for": "2026-11-20",
                "settings": {},
                "exchanges": [{"request": {"path": "/search/issues"}, "response": {"status": "200"}}],
            }
        )
    )
    with pytest.raises(RecordingError, match=r"exchanges\[0\]\.response\.status"):
        load_recording(bad)
    bad.write_text(json.dumps({"source": "github", "settings": {}, "exchanges": []}))
    with pytest.raises(RecordingError, match="missing field 'recorded_for'"):
        load_recording(bad)
    with pytest.raises(RecordingError, match="no recorded samples"):
        pick_recording(tmp_path, "reddit", DAY)
