"""The SSRF guard on webhook URLs: https only, and never a private, loopback, link-local or other
non-public address unless the local-only setting `WEBHOOK_ALLOW_PRIVATE_URLS` allows it.

Webhook URLs come from settings today and may come from `run.json` tomorrow: a URL that reaches
the Function App's own network (the instance metadata service at 169.254.169.254, a storage
private endpoint, localhost) must never be called. The check runs on the URL when settings are
read and on every address the host name resolves to before each delivery. No I/O here: the
caller resolves names.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit


def url_problem(url: str, allow_private: bool = False) -> str | None:
    """Why `url` may not be called (scheme, form, a literal private address), or None. The
    sentence never quotes the URL: a webhook URL often carries a token in its path."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return "is not a URL"
    if not parts.hostname:
        return "has no host"
    if parts.username or parts.password:
        return "must not carry credentials"
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        return "must use https"
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        if not allow_private and parts.hostname.lower().rstrip(".") in ("localhost",):
            return "points at this machine"
        return None
    return addresses_problem(url, [str(address)], allow_private)


def addresses_problem(url: str, addresses: Iterable[str], allow_private: bool) -> str | None:
    """Why the addresses `url`'s host resolved to may not be called, or None."""
    if allow_private:
        return None
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            host = urlsplit(url).hostname
            return f"{host} resolves to {address}, a private or reserved address"
    return None
