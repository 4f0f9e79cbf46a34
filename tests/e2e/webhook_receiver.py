"""A webhook receiver on loopback for the end-to-end tests: verifies every delivery through the
`standardwebhooks` package, as a real receiver would, and answers from a script."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Delivery:
    event: dict[str, Any]
    verified_by: list[str]
    """The names of the receiver's secrets that verified the signature."""
    status: int


@dataclass
class Receiver:
    secrets: dict[str, str]
    """Secrets the receiver knows, by a name the test uses."""
    answer: Callable[[dict[str, Any], int], int] = lambda event, seen: 200
    """The status to answer for an event seen `seen` times before."""
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def accepted(self) -> list[dict[str, Any]]:
        """Events answered 2xx whose signature verified, in the order they arrived."""
        with self.lock:
            return [d.event for d in self.deliveries if d.status < 300 and d.verified_by]

    def times_seen(self, event_id: str) -> int:
        with self.lock:
            return sum(1 for d in self.deliveries if d.event.get("id") == event_id)

    def handle(self, body: bytes, headers: dict[str, str]) -> int:
        verified = []
        for name, secret in self.secrets.items():
            try:
                Webhook(secret).verify(body, headers)
                verified.append(name)
            except WebhookVerificationError:
                pass
        event = json.loads(body)
        with self.lock:
            seen = sum(1 for d in self.deliveries if d.event.get("id") == event.get("id"))
            status = self.answer(event, seen) if verified else 401
            self.deliveries.append(Delivery(event, verified, status))
        return status


@contextmanager
def running_receiver(secrets: dict[str, str], answer: Any = None) -> Iterator[Receiver]:
    receiver = Receiver(secrets) if answer is None else Receiver(secrets, answer)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = receiver.handle(body, {k: v for k, v in self.headers.items()})
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
