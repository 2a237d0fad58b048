"""The API's front door, before any route or body parsing: the API key of mutating requests, then the size limit.

A pure ASGI middleware (no body is read, let alone parsed, before the key is checked):

1. a ``POST``/``PUT``/``PATCH``/``DELETE`` without the right ``X-API-Key`` is answered **401** at once — a wrong
   key with a huge or malformed body gets 401, never 413 or 422;
2. a body larger than ``max_body_bytes`` (by its ``Content-Length``, or counted while it streams in) is answered
   **413** naming the limit and how to change it;
3. everything else reaches the app with its body replayed.

The endpoints keep their own key dependency (:func:`kycc.api.app.require_key`), which documents the key in the
OpenAPI schema; both use :func:`key_problem`.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse

from kycc.api.config import API_KEY_ENV, CREDENTIALS_KEY, MAX_BODY_ENV

logger = logging.getLogger(__name__)

__all__ = ["API_KEY_HEADER", "MUTATING_METHODS", "RequestGuard", "key_problem"]

API_KEY_HEADER = "X-API-Key"
MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def key_problem(expected: str | None, given: str | None) -> str | None:
    """Why a request's key is refused (the 401 message), or None when it is the server's key."""
    if not expected:
        return (
            f"The server has no API key configured: set {CREDENTIALS_KEY}.api_key in "
            f"conf/local/credentials.yml (or {API_KEY_ENV}) and restart `kycc serve`"
        )
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        return f"Missing or wrong API key: send it in the {API_KEY_HEADER} header"
    return None


class RequestGuard:
    """ASGI middleware: key check, then size limit, for every HTTP request (see the module docstring).

    Args:
        app: The ASGI app behind it.
        api_key: The server's key (None: every mutating request is refused, saying how to configure one).
        max_body_bytes: Largest body accepted.
    """

    def __init__(self, app: Any, api_key: str | None, max_body_bytes: int) -> None:
        self.app = app
        self.api_key = api_key
        self.max_body_bytes = int(max_body_bytes)

    def _too_large(self) -> JSONResponse:
        return JSONResponse(
            {
                "detail": f"The request body is larger than the limit of {self.max_body_bytes} bytes "
                f"(set {MAX_BODY_ENV} to change it)"
            },
            status_code=413,
        )

    def _refusal(self, headers: Headers, mutating: bool) -> JSONResponse | None:
        """The answer to a request refused from its headers alone (wrong key, declared size), or None."""
        if mutating:
            problem = key_problem(self.api_key, headers.get(API_KEY_HEADER))
            if problem:
                return JSONResponse(
                    {"detail": problem}, status_code=401, headers={"WWW-Authenticate": "APIKey"}
                )
        length = headers.get("content-length")
        if length is not None:
            if not length.strip().isdigit():
                return JSONResponse({"detail": "Content-Length is not a number"}, status_code=400)
            if int(length) > self.max_body_bytes:
                return self._too_large()
        return None

    async def _read_body(self, receive: Any) -> bytes | None:
        """The body, read (not parsed) up to the limit; None when it is larger or the client went away."""
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                return None
            if not message.get("more_body", False):
                return bytes(body)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        mutating = scope["method"].upper() in MUTATING_METHODS
        refusal = self._refusal(headers, mutating)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if not mutating and headers.get("content-length") is None:
            await self.app(scope, receive, send)
            return
        body = await self._read_body(receive)
        if body is None:  # too large (a client gone away gets the answer nobody reads)
            await self._too_large()(scope, receive, send)
            return
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
