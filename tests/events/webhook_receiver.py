"""A webhook receiver on loopback: a real HTTP server that verifies every post with the
``standardwebhooks`` package, as a subscriber's endpoint would."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass(frozen=True)
class Received:
    webhook_id: str
    timestamp: int
    body: dict[str, Any]
    answered: int

    @property
    def type(self) -> str:
        return str(self.body["type"])

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.body["data"])


class Receiver:
    """Records every post; answers 204 when its signature verifies, else 401.

    ``answer`` may choose another status for a verified post (a receiver failing on
    purpose). ``port`` reopens a receiver where an earlier one listened.
    """

    def __init__(self, port: int = 0) -> None:
        self.secret: str | None = None
        self.received: list[Received] = []
        self.refused: list[str] = []
        self.answer: Callable[[Received], int] = lambda _r: 204
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                status = receiver._take(body, dict(self.headers.items()))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _take(self, body: bytes, headers: dict[str, str]) -> int:
        if self.secret is None:
            self.refused.append("no secret set")
            return 401
        try:
            payload = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError as exc:
            with self._lock:
                self.refused.append(str(exc))
            return 401
        lowered = {k.lower(): v for k, v in headers.items()}
        received = Received(
            webhook_id=lowered["webhook-id"],
            timestamp=int(lowered["webhook-timestamp"]),
            body=payload,
            answered=0,
        )
        status = self.answer(received)
        with self._lock:
            self.received.append(
                Received(received.webhook_id, received.timestamp, received.body, status)
            )
        return status

    def accepted(self) -> list[Received]:
        """The posts answered with a 2xx, in the order they came."""
        with self._lock:
            return [r for r in self.received if 200 <= r.answered < 300]

    def of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.accepted() if r.type == event_type]

    def wait_for(self, condition: Callable[[], bool], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"received {self.summary()}"
            time.sleep(0.02)

    def summary(self) -> str:
        return json.dumps([(r.type, r.answered, r.data) for r in self.received])[:3000]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
