"""Loopback HTTP(S) listeners that turn raw requests into `Request`s for an app function.

The standard library's ThreadingHTTPServer is enough here: one thread per connection, keep-alive
(HTTP/1.1) for the clients' connection pools, and TLS by wrapping the listening socket. The TLS
handshake is deferred to the connection's own thread so one slow client cannot stall accept().
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from localdev.emulator.wire import Request, Response, json_response

logger = logging.getLogger(__name__)

App = Callable[[Request], Response]
MAX_BODY_BYTES = 512 * 1024 * 1024


class Listener:
    """One listening socket served on a daemon thread until `stop()`."""

    def __init__(
        self,
        app: App,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        stopping: threading.Event,
    ) -> None:
        handler = _handler_class(app, stopping)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
        self.host = host
        self.port: int = self._server.server_address[1]
        # A short poll keeps stop() quick: shutdown() waits for the loop's next poll.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"emulator-{self.port}",
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() would wait forever for a loop never started
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()


def _handler_class(app: App, stopping: threading.Event) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; without this the body waits for a delayed ACK.
        disable_nagle_algorithm = True
        server_version = "TunedropEmulator/1.0"

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self.send_error(413, "Request body too large for the emulator")
                return
            body = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                path=parts.path,
                query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            try:
                response = app(request)
            except Exception:  # the connection's boundary: log it, answer 500, keep serving
                logger.exception("emulator failed on %s %s", self.command, parts.path)
                response = json_response(
                    500, {"error": {"code": "internalFailure", "message": "Emulator bug."}}
                )
            if response.drop_after is not None:
                _hold(response.drop_after, stopping, response.released)
                self.close_connection = True
                return
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            logger.debug("%s " + format, self.address_string(), *args)

    return Handler


def _hold(seconds: float, stopping: threading.Event, released: threading.Event | None) -> None:
    """Waits `seconds`, or less if the emulator stops or a test releases the holds."""
    deadline = time.monotonic() + seconds
    while not stopping.is_set() and not (released is not None and released.is_set()):
        left = deadline - time.monotonic()
        if left <= 0:
            return
        stopping.wait(min(left, 0.05))
