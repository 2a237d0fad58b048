"""Test doubles that run real protocols on 127.0.0.1: an OpenAI-compatible chat server (stdlib only)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

VALID_LABEL = {
    "canonical_title": "Reconciling Stripe payouts with bank deposits",
    "category": "finance",
    "description": "Finance teams match netted payouts to ledger entries by hand every month.",
    "would_pay_signal": True,
    "impact_level": "high",
}


@dataclass
class Reply:
    """One scripted answer: HTTP ``status``, chat ``content`` (for 200), extra ``headers``, ``delay`` seconds."""

    status: int = 200
    content: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @staticmethod
    def label(**overrides: Any) -> Reply:
        return Reply(content=json.dumps({**VALID_LABEL, **overrides}))


class FakeChatServer:
    """``POST /v1/chat/completions`` on a free loopback port; replies come from ``script(request_json)``.

    Attributes:
        requests: Every request body received.
        max_in_flight: The most requests handled at the same time.
    """

    def __init__(self, script: Callable[[dict[str, Any]], Reply] | None = None) -> None:
        self.script = script or (lambda body: Reply.label())
        self.requests: list[dict[str, Any]] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                with server._lock:
                    server.requests.append(body)
                    server._in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server._in_flight)
                try:
                    reply = server.script(body)
                    if reply.delay:
                        time.sleep(reply.delay)
                    if reply.status == 200:
                        payload = {
                            "id": "chatcmpl-test",
                            "object": "chat.completion",
                            "created": 1_795_132_800,
                            "model": body.get("model", "fake"),
                            "choices": [
                                {
                                    "index": 0,
                                    "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": reply.content},
                                }
                            ],
                            "usage": {"prompt_tokens": 50, "completion_tokens": 40, "total_tokens": 90},
                        }
                    else:
                        payload = {
                            "error": {"message": f"scripted {reply.status}", "type": "test", "code": None}
                        }
                    data = json.dumps(payload).encode()
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)
                finally:
                    with server._lock:
                        server._in_flight -= 1

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> FakeChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
