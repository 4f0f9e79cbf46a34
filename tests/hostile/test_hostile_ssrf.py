"""The SSRF guard against names and addresses chosen to slip past it: IPv4 hidden inside IPv6,
reserved and platform addresses, a name that resolves differently the second time, a name that
IDNA 2003 and UTS 46 spell differently, and proxy variables. No external network: a fake
resolver answers for the guard, and servers on loopback prove where the connection went."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from localdev.emulator.tls import LoopbackCertificate, make_loopback_certificate
from shared.adapters.event_senders import WebhookSender
from shared.notifications.policy import DeliveryPolicy
from shared.notifications.protocols import StoredEvent
from shared.notifications.settings import NotificationSettings, WebhookEndpoint
from shared.notifications.urls import addresses_problem

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
EVENT = StoredEvent(
    "kitsune", 1, "evt_" + "e" * 32, "tunedrop.run.queued",
    {"id": "evt_" + "e" * 32, "type": "tunedrop.run.queued", "time": "2026-12-01T00:00:00+00:00",
     "data": {"run": "kitsune", "sequence": 1}},
)  # fmt: skip


@pytest.mark.parametrize(
    "address",
    [
        "::a9fe:a9fe",  # IPv4-compatible 169.254.169.254
        "::127.0.0.1",
        "::ffff:0:7f00:1",  # IPv4-translated 127.0.0.1
        "::ffff:169.254.169.254",  # IPv4-mapped
        "64:ff9b::a9fe:a9fe",  # NAT64 well-known prefix
        "64:ff9b::10.0.0.1",
        "64:ff9b:1:a9fe:a9:fe00::",  # NAT64 local-use /48: 169.254.169.254 around the u octet
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "fec0::1",  # site-local
        "feff::1",
        "192.0.0.8",
        "192.0.0.170",
        "168.63.129.16",  # Azure's platform address (DNS, DHCP, health probes)
        "169.254.169.254",
        "::1",
        "::",
        "fe80::1%eth0",
    ],
)
def test_the_guard_refuses_every_form_of_an_inside_address(address: str) -> None:
    problem = addresses_problem("https://hooks.example.com/x", [address], allow_private=False)
    assert problem and "private or reserved" in problem


@pytest.mark.parametrize(
    "address",
    ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "64:ff9b::5db8:d70e",
     "2002:5db8:d70e::1", "::ffff:93.184.215.14"],
)  # fmt: skip
def test_public_addresses_pass_also_when_wrapped_in_ipv6(address: str) -> None:
    assert addresses_problem("https://hooks.example.com/x", [address], allow_private=False) is None


def test_one_inside_address_among_public_ones_refuses_the_name() -> None:
    answer = ["93.184.215.14", "::a9fe:a9fe"]
    assert addresses_problem("https://hooks.example.com/x", answer, allow_private=False)


class Recording(BaseHTTPRequestHandler):
    seen: ClassVar[list[Any]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def loopback_server(tls: LoopbackCertificate | None = None) -> Iterator[tuple[int, list[Any]]]:
    """A server on 127.0.0.1 recording each request's headers (and, with TLS, each SNI)."""
    seen: list[Any] = []

    class Handler(Recording):
        pass

    Handler.seen = seen
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        context = tls.server_context()
        context.sni_callback = lambda sock, name, ctx: seen.append(("sni", name))  # type: ignore[assignment,misc]
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


def sender(url: str, resolver: Any, *, allow_private: bool, **extra: Any) -> WebhookSender:
    settings = NotificationSettings(
        webhooks=(WebhookEndpoint("hook", url, frozenset({EVENT.type})),),
        secret=SECRET,
        policy=DeliveryPolicy(timeout_seconds=2),
        allow_private_urls=allow_private,
    )
    return WebhookSender(settings, resolver=resolver, **extra)


def test_the_connection_goes_to_the_address_the_guard_checked_with_the_name_as_host() -> None:
    # `hooks.tunedrop.test` resolves nowhere but in the guard's resolver: a second resolution
    # (by requests) could not reach the server at all.
    asked: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return ["127.0.0.1"]

    with loopback_server() as (port, seen):
        url = f"http://hooks.tunedrop.test:{port}/hook?x=1"
        answer = sender(url, resolver, allow_private=True).send("hook", EVENT)
    assert answer.ok, answer
    assert asked == [("hooks.tunedrop.test", port)]
    assert [(item["path"], item["host"]) for item in seen] == [
        ("/hook?x=1", f"hooks.tunedrop.test:{port}")
    ]


def test_a_rebinding_name_is_resolved_once_so_its_second_answer_is_never_used() -> None:
    answers = iter([["127.0.0.2"], ["127.0.0.1"]])
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    with loopback_server() as (port, seen):
        url = f"http://rebind.tunedrop.test:{port}/hook"
        answer = sender(url, rebinding, allow_private=True).send("hook", EVENT)
    assert calls == ["rebind.tunedrop.test"]
    # 127.0.0.2 is where the checked answer pointed: nothing listens there on this port.
    assert seen == [] and not answer.ok


def test_tls_names_the_host_in_sni_and_checks_the_certificate_against_the_name(
    tmp_path: Path,
) -> None:
    tls = make_loopback_certificate(tmp_path)
    to_loopback = lambda host, port: ["127.0.0.1"]  # noqa: E731
    with loopback_server(tls) as (port, seen):
        good = sender(
            f"https://localhost:{port}/hook", to_loopback, allow_private=True,
            ca_bundle=str(tls.ca_cert_path),
        ).send("hook", EVENT)  # fmt: skip
        # The certificate covers localhost and 127.0.0.1, not this name: it must be refused,
        # though the address connected to is one the certificate names.
        wrong = sender(
            f"https://other.tunedrop.test:{port}/hook", to_loopback, allow_private=True,
            ca_bundle=str(tls.ca_cert_path),
        ).send("hook", EVENT)  # fmt: skip
    assert good.ok, good
    assert ("sni", "localhost") in seen
    assert [item["host"] for item in seen if isinstance(item, dict)] == [f"localhost:{port}"]
    assert not wrong.ok and "SSLError" in wrong.detail


def test_proxy_variables_cannot_route_a_delivery_around_the_guard(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with loopback_server() as (proxy_port, through_proxy), loopback_server() as (port, direct):
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy_port}")
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        url = f"http://hooks.tunedrop.test:{port}/hook"
        answer = sender(url, lambda host, p: ["127.0.0.1"], allow_private=True).send("hook", EVENT)
    assert answer.ok and through_proxy == [] and len(direct) == 1


def test_the_guard_resolves_the_name_as_the_connection_spells_it_uts46() -> None:
    asked: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["10.0.0.9"]

    answer = sender("https://straße.example/hook", resolver, allow_private=False).send(
        "hook", EVENT
    )
    assert asked == ["xn--strae-oqa.example"]
    assert answer.refused and "10.0.0.9" in answer.detail


def test_a_name_that_cannot_be_encoded_is_refused_not_raised() -> None:
    url = f"https://{'a' * 64}.example.com/hook"
    answer = sender(url, lambda host, port: ["93.184.215.14"], allow_private=False).send(
        "hook", EVENT
    )
    assert answer.refused and "host name" in answer.detail


def test_a_name_that_does_not_resolve_is_a_failed_attempt_tried_again() -> None:
    def nowhere(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    hook = sender("https://gone.tunedrop.test/h", nowhere, allow_private=False)
    answer = hook.send("hook", EVENT)
    assert not answer.refused and answer.status is None and "does not resolve" in answer.detail
