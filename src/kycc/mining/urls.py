"""URL normalisation and the ``url_hash`` primary key of ``bronze.raw_items``.

The same item reached through two forms of its URL (``http`` vs ``https``, ``www.``/``old.``/``m.`` hosts,
tracking parameters, fragments, trailing slashes, StackOverflow short links, case of GitHub owners) must
normalise to one string and therefore one hash.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["normalize_url", "url_hash"]

# Query parameters that never identify content.
_TRACKING_PARAMS = frozenset(
    {
        "ref",
        "ref_src",
        "ref_url",
        "source",
        "share",
        "share_id",
        "context",
        "fbclid",
        "gclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "si",
        "sort",
        "answertab",
        "noredirect",
        "rdt",
        "correlation_id",
    }
)
_TRACKING_PREFIXES = ("utm_", "__")
_HOST_ALIASES = {
    "old.reddit.com": "reddit.com",
    "new.reddit.com": "reddit.com",
    "np.reddit.com": "reddit.com",
    "m.reddit.com": "reddit.com",
    "i.reddit.com": "reddit.com",
    "mobile.stackoverflow.com": "stackoverflow.com",
    "m.ycombinator.com": "news.ycombinator.com",
}
_SO_QUESTION = re.compile(r"^/(?:questions|q)/(\d+)(?:/.*)?$")
_REDDIT_POST = re.compile(r"^/r/([^/]+)/comments/([a-z0-9]+)(?:/.*)?$", re.IGNORECASE)
_REDDIT_SHORT = re.compile(r"^/([a-z0-9]+)$", re.IGNORECASE)
_GITHUB_ISSUE = re.compile(r"^/([^/]+)/([^/]+)/(issues|pull|discussions)/(\d+)(?:/.*)?$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_url(url: str) -> str:
    """Return the canonical form of ``url``.

    Args:
        url: An absolute http(s) URL as an API returned it.

    Returns:
        ``https`` URL with a lower-case host without ``www.``, no default port, no fragment, no tracking
        parameters, query parameters sorted, no trailing slash, and per-site canonical paths (a StackOverflow
        question by id, a Reddit post by id, a GitHub issue by lower-case owner/repo and number).

    Raises:
        ValueError: ``url`` is empty or not an absolute http(s) URL.
    """
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"not a URL: {url!r}")
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    host = parts.hostname.lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    host = _HOST_ALIASES.get(host, host)
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"

    path = re.sub(r"/{2,}", "/", parts.path or "/")
    if len(path) > 1:
        path = path.rstrip("/")
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=False)
        if key.lower() not in _TRACKING_PARAMS and not key.lower().startswith(_TRACKING_PREFIXES)
    ]

    if host in {"stackoverflow.com", "superuser.com", "serverfault.com"} or host.endswith(
        ".stackexchange.com"
    ):
        match = _SO_QUESTION.match(path)
        if match:  # /questions/123/slug, /q/123/456 (share link with user id) -> /questions/123
            path, query = f"/questions/{match.group(1)}", []
    elif host == "reddit.com":
        match = _REDDIT_POST.match(path)
        if match:  # post ids are global: subreddit and slug are cosmetic (redd.it links carry neither)
            path, query = f"/comments/{match.group(2).lower()}", []
        elif re.match(r"^/comments/[a-z0-9]+", path, re.IGNORECASE):
            path, query = f"/comments/{path.split('/')[2].lower()}", []
    elif host == "redd.it":
        match = _REDDIT_SHORT.match(path)
        if match:
            host, netloc, path, query = "reddit.com", "reddit.com", f"/comments/{match.group(1).lower()}", []
    elif host == "github.com":
        match = _GITHUB_ISSUE.match(path)
        if match:  # owners and repositories are case-insensitive; comment anchors and sub-pages dropped
            owner, repo, kind, number = match.groups()
            path, query = f"/{owner.lower()}/{repo.lower()}/{kind}/{number}", []
    elif host == "news.ycombinator.com":
        query = [(key, value) for key, value in query if key == "id"]

    return urlunsplit(("https", netloc, path, urlencode(sorted(query)), ""))


def url_hash(url: str) -> str:
    """SHA-256 (hex, 64 chars) of the normalised URL: the primary key of an item."""
    return hashlib.sha256(normalize_url(url).encode("utf-8")).hexdigest()
