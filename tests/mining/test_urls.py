"""URL normalisation: one item reached through two forms of its URL has one url_hash."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kycc.mining.urls import normalize_url, url_hash

SAME = [
    (
        "https://github.com/acme/ledger/issues/42",
        "http://www.GitHub.com/Acme/Ledger/issues/42/?utm_source=newsletter#issuecomment-1",
    ),
    (
        "https://stackoverflow.com/questions/79411633/fhir-server-returns-422",
        "https://stackoverflow.com/q/79411633/6884853",
    ),
    (
        "https://www.reddit.com/r/fintech/comments/ab12cd/stripe_payouts_never_match/",
        "https://old.reddit.com/r/FinTech/comments/AB12CD/?utm_source=share&utm_medium=web2x",
    ),
    ("https://www.reddit.com/r/fintech/comments/ab12cd/x/", "https://redd.it/ab12cd"),
    (
        "https://news.ycombinator.com/item?id=46100123",
        "http://news.ycombinator.com/item?id=46100123&utm_campaign=x",
    ),
    ("https://example.com/a/b?b=2&a=1", "https://EXAMPLE.com:443/a/b/?a=1&b=2&fbclid=zzz"),
]


@pytest.mark.parametrize(("first", "second"), SAME)
def test_two_forms_of_one_url_give_one_hash(first, second):
    assert normalize_url(first) == normalize_url(second)
    assert url_hash(first) == url_hash(second)
    assert len(url_hash(first)) == 64


def test_different_items_keep_different_hashes():
    assert url_hash("https://github.com/acme/ledger/issues/42") != url_hash(
        "https://github.com/acme/ledger/issues/43"
    )
    assert url_hash("https://news.ycombinator.com/item?id=1") != url_hash(
        "https://news.ycombinator.com/item?id=2"
    )
    # query parameters that identify content are kept
    assert normalize_url("https://example.com/search?q=kyc") != normalize_url(
        "https://example.com/search?q=aml"
    )


@pytest.mark.parametrize("bad", ["", "   ", "ftp://example.com/x", "not a url", "/relative/path", None])
def test_invalid_urls_are_rejected_with_a_clear_error(bad):
    with pytest.raises(ValueError, match="URL"):
        normalize_url(bad)


@given(
    st.sampled_from([u for pair in SAME for u in pair]), st.sampled_from(["", "/", "#frag", "?utm_term=x"])
)
def test_normalisation_is_idempotent(url, noise):
    once = normalize_url(url + noise if "?" not in url or not noise.startswith("?") else url)
    assert normalize_url(once) == once
