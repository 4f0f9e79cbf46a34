"""Senders of one event to one receiver: a signed webhook (`WebhookSender`) or an Event Grid
topic (`EventGridSender`). Both turn whatever happened into an `Answer`; neither retries (the
delivery queue does, with backoff)."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from standardwebhooks import Webhook

from shared.adapters.pinned_http import DEFAULT_PORTS, pinned_request, pinned_session
from shared.json_bytes import json_utf8
from shared.notifications.policy import Answer, parse_retry_after
from shared.notifications.protocols import StoredEvent
from shared.notifications.settings import NotificationSettings
from shared.notifications.urls import addresses_problem, ascii_host, url_problem

logger = logging.getLogger(__name__)
USER_AGENT = "Tunedrop-Webhooks/1"

Resolver = Callable[[str, int], Iterable[str]]


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` (ASCII, as `ascii_host` spells it) resolves to."""
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


class WebhookSender:
    """POSTs the event as JSON, signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`,
    `webhook-signature` with one `v1,` signature per secret, current first), no redirects, to
    an address the SSRF guard checked (`shared.adapters.pinned_http`)."""

    def __init__(
        self,
        settings: NotificationSettings,
        resolver: Resolver = resolve,
        ca_bundle: str | None = None,
    ) -> None:
        self._settings = settings
        self._resolver = resolver
        self._verify: bool | str = ca_bundle or True  # a CA file only in tests

    def send(self, endpoint: str, event: StoredEvent) -> Answer:
        hook = self._settings.webhook(endpoint)
        if hook is None:
            return Answer(None, f"endpoint {endpoint!r} is not configured", refused=True)
        problem = url_problem(hook.url, self._settings.allow_private_urls)
        if problem:
            return Answer(None, f"the URL {problem}", refused=True)
        target = self._checked_address(hook.url)
        if isinstance(target, Answer):
            return target
        hostname, address = target
        url, host_header = pinned_request(hook.url, hostname, address)
        body = json_utf8(event.payload)
        signers = [Webhook(secret) for secret in self._settings.secrets_for(hook)]
        headers = {**signed_headers(signers, event.id, body, _now()), "host": host_header}
        timeout = self._settings.policy.timeout_seconds
        try:
            # A redirect is an answer, not an instruction: following it could reach an address
            # the guard above never saw.
            with pinned_session(hostname) as session, session.post(
                url, data=body, headers=headers, timeout=timeout, allow_redirects=False,
                stream=True, verify=self._verify,
            ) as response:  # fmt: skip
                status, reason = response.status_code, response.reason or ""
                retry_after = parse_retry_after(response.headers.get("retry-after"), _now())
        except requests.Timeout:
            return Answer(None, f"no answer within {timeout:g} s")
        except requests.RequestException as exc:
            # The exception's text quotes the URL, which may carry a token: name the host only.
            return Answer(None, f"{type(exc).__name__} talking to {hostname}")
        return Answer(status, reason, retry_after)

    def _checked_address(self, url: str) -> tuple[str, str] | Answer:
        """(host name, address) to connect to: the name resolved once, every address checked."""
        parts = urlsplit(url)
        try:
            hostname = ascii_host(parts.hostname or "")
        except ValueError as exc:
            return Answer(None, f"the URL {exc}", refused=True)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme, 443)
        try:
            addresses = list(self._resolver(hostname, port))
        except (OSError, UnicodeError) as exc:
            return Answer(None, f"{hostname} does not resolve ({type(exc).__name__})")
        if not addresses:
            return Answer(None, f"{hostname} does not resolve (no address)")
        problem = addresses_problem(url, addresses, self._settings.allow_private_urls)
        if problem:
            return Answer(None, problem, refused=True)
        return hostname, addresses[0]


def signed_headers(
    signers: list[Webhook], event_id: str, body: bytes, now: datetime
) -> dict[str, str]:
    """The Standard Webhooks headers; during a rotation one signature per secret."""
    signatures = [signer.sign(event_id, now, body.decode("utf-8")) for signer in signers]
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


class EventGridSender:
    """Publishes the event as a CloudEvent 1.0 to an Event Grid topic with `azure-eventgrid`
    (`source` /tunedrop/runs/<run>, `subject` the run, `data` the webhook payload's data)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def send(self, endpoint: str, event: StoredEvent) -> Answer:
        from azure.core.exceptions import AzureError, HttpResponseError
        from azure.core.messaging import CloudEvent

        payload = event.payload
        cloud_event = CloudEvent(
            source=f"/tunedrop/runs/{event.run}",
            type=event.type,
            data=payload["data"],
            subject=event.run,
            id=event.id,
            time=datetime.fromisoformat(payload["time"]),
        )
        try:
            self._client.send([cloud_event])
        except HttpResponseError as exc:
            headers = getattr(exc.response, "headers", None) or {}
            retry_after = parse_retry_after(headers.get("retry-after"), _now())
            return Answer(exc.status_code, str(exc.reason or exc.message)[:300], retry_after)
        except AzureError as exc:
            return Answer(None, f"{type(exc).__name__}: {exc}"[:300])
        return Answer(200, "published")


def _now() -> datetime:
    return datetime.now(UTC)
