"""HTTP to an address checked before connecting: the webhook sender's half of the SSRF guard.

The guard resolves a webhook's host once and checks every address; the connection then goes to
one of those addresses, never to a second answer of the resolver (a rebinding name answers a
public address to the check and 169.254.169.254 to the connection). TLS still names the host:
SNI and the certificate check use the host name, and so does the `Host` header. Proxy variables
are ignored (`trust_env = False`), so a proxy cannot carry the request somewhere unchecked.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

DEFAULT_PORTS = {"http": 80, "https": 443}


class _PinnedAdapter(HTTPAdapter):
    """Connects wherever the URL says (the checked address) while TLS names `hostname`."""

    def __init__(self, hostname: str) -> None:
        self._hostname = hostname
        super().__init__(max_retries=0)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        if host_params.get("scheme") == "https":
            pool_kwargs["server_hostname"] = self._hostname
            pool_kwargs["assert_hostname"] = self._hostname
        return host_params, pool_kwargs


def pinned_session(hostname: str) -> requests.Session:
    """A session whose connections go where the URL's address says, with `hostname` for TLS."""
    session = requests.Session()
    session.trust_env = False
    adapter = _PinnedAdapter(hostname)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def pinned_request(url: str, hostname: str, address: str) -> tuple[str, str]:
    """The URL with its host replaced by `address`, and the `Host` header naming `hostname`."""
    parts = urlsplit(url)
    literal = ipaddress.ip_address(address.split("%", 1)[0])
    host = f"[{literal}]" if literal.version == 6 else str(literal)
    port = parts.port
    netloc = f"{host}:{port}" if port else host
    shown_port = port if port and port != DEFAULT_PORTS.get(parts.scheme) else None
    header = hostname if ":" not in hostname else f"[{hostname}]"
    header = f"{header}:{shown_port}" if shown_port else header
    return urlunsplit(parts._replace(netloc=netloc)), header
