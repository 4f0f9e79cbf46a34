"""Serves a FunctionApp's HTTP functions on loopback, as `func start` does on port 7071."""

from __future__ import annotations

import hmac
import json
import logging
import sys
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func

from localdev.host.blob_webhook import PATH as BLOB_WEBHOOK_PATH
from localdev.host.blob_webhook import BlobWebhook
from localdev.host.discovery import HttpFunction
from localdev.host.invoke import call_handler
from localdev.host.routes import RouteTemplate

logger = logging.getLogger(__name__)


class HttpFunctionServer(ThreadingHTTPServer):
    """Routes `/<prefix>/<route>` to the function declaring it, checking function keys."""

    daemon_threads = True
    # The stdlib's backlog of 5 drops connections under a burst; clients then wait 1 s to retry.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        functions: Sequence[HttpFunction],
        *,
        route_prefix: str = "api",
        function_key: str = "",
        blob_webhook: BlobWebhook | None = None,
    ) -> None:
        super().__init__(address, _RequestHandler)
        self.blob_webhook = blob_webhook
        self.functions = [(RouteTemplate.parse(f.route), f) for f in functions]
        self.route_prefix = route_prefix.strip("/")
        self.function_key = function_key
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        # A short poll keeps stop() quick: shutdown() waits for the loop's next poll (0.5 s by
        # default), and tests start and stop hosts by the dozen.
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="http-host",
            daemon=True,
        )  # fmt: skip
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that stopped waiting (its own timeout, on a busy machine) is not a failure of
        # the host: note it, without the traceback the standard library would print.
        if isinstance(sys.exc_info()[1], ConnectionError):
            logger.info("client %s went away before its answer was sent", client_address)
            return
        super().handle_error(request, client_address)

    def find(self, method: str, path: str) -> tuple[HttpFunction, dict[str, str]] | int:
        """The function and route values for a request, or the status to answer instead."""
        found = self.allowed(method, path)
        return found if not isinstance(found, frozenset) else (405 if found else 404)

    def allowed(
        self, method: str, path: str
    ) -> tuple[HttpFunction, dict[str, str]] | frozenset[str]:
        """The function and route values for a request, or the methods its path takes."""
        prefix = f"/{self.route_prefix}/" if self.route_prefix else "/"
        if not path.startswith(prefix):
            return frozenset()
        relative = path[len(prefix) :]
        methods: set[str] = set()
        for template, function in self.functions:
            values = template.match(relative)
            if values is None:
                continue
            if method in function.methods:
                return function, values
            methods |= function.methods
        return frozenset(methods)

    def authorized(
        self, function: HttpFunction, headers: dict[str, str], query: dict[str, str]
    ) -> bool:
        # Like `func start`: keys are enforced only when one is configured.
        if function.auth_level == "anonymous" or not self.function_key:
            return True
        given = headers.get("x-functions-key") or query.get("code") or ""
        return hmac.compare_digest(given.encode(), self.function_key.encode())


class _RequestHandler(BaseHTTPRequestHandler):
    server: HttpFunctionServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without this the body waits for a delayed ACK.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def _handle(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        webhook = self.server.blob_webhook
        if webhook is not None and url.path.rstrip("/").lower() == BLOB_WEBHOOK_PATH:
            query = dict(parse_qsl(url.query, keep_blank_values=True))
            answer = webhook.handle(self.command, query, dict(self.headers.items()), body)
            payload = json.dumps(answer.body).encode() if answer.body else b""
            self._send_response(
                func.HttpResponse(payload, status_code=answer.status, mimetype="application/json")
            )
            return
        found = self.server.allowed(self.command, url.path)
        if isinstance(found, frozenset):
            # 405 names the methods the path takes (RFC 9110), as the real host does.
            allow = {"Allow": ", ".join(sorted(found))} if found else {}
            self._send_response(func.HttpResponse(status_code=405 if found else 404, headers=allow))
            return
        function, route_params = found
        headers = {k.lower(): v for k, v in self.headers.items()}
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        if not self.server.authorized(function, headers, query):
            self._send_status(401)
            return
        request = func.HttpRequest(
            self.command,
            f"{self.server.url}{self.path}",
            headers=headers,
            params=query,
            route_params=route_params,
            body=body,
        )
        try:
            response = call_handler(function.handler, {function.arg_name: request})
        except Exception:
            # The real host answers 500 with no detail and logs the exception.
            logger.exception("function %s failed", function.name)
            self._send_status(500)
            return
        self._send_response(response)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle  # noqa: N815

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, QUERY, ...) is routed too: a route answers 405 for a method
        # it does not take, as the real host does, where http.server would answer 501.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def _send_status(self, status: int) -> None:
        self._send_response(func.HttpResponse(status_code=status))

    def _send_response(self, response: func.HttpResponse | None) -> None:
        if response is None:
            response = func.HttpResponse(status_code=204)
        body = response.get_body() or b""
        self.send_response(response.status_code)
        headers = {k.lower(): v for k, v in response.headers.items()}
        if body and "content-type" not in headers:
            mimetype = response.mimetype or "text/plain"
            headers["content-type"] = f"{mimetype}; charset={response.charset or 'utf-8'}"
        headers["content-length"] = str(len(body))
        for name, value in headers.items():
            self.send_header(name, value)
        try:
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up waiting (its timeout); the real host just drops the answer too.
            path = urlsplit(self.path).path  # never the query: it may hold ?code=<key>
            logger.info("%s %s: the client left before the answer", self.command, path)
            self.close_connection = True
