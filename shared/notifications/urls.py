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

import idna


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
        try:
            host = ascii_host(parts.hostname)
        except ValueError as exc:
            return str(exc)
        if not allow_private and (host == "localhost" or host.endswith(".localhost")):
            return "points at this machine"
        return None
    return addresses_problem(url, [str(address)], allow_private)


def ascii_host(hostname: str) -> str:
    """The host name as the connection spells it: UTS 46 (what `requests` and browsers use),
    not Python's IDNA 2003 codec, which maps "straße" to "strasse". Raises ValueError for a name
    that cannot be encoded (a label over 63 characters, a forbidden character)."""
    try:
        ipaddress.ip_address(hostname)
        return hostname
    except ValueError:
        pass
    try:
        return idna.encode(hostname.rstrip("."), uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError) as exc:
        raise ValueError(f"has a host name that cannot be encoded ({type(exc).__name__})") from exc


def addresses_problem(url: str, addresses: Iterable[str], allow_private: bool) -> str | None:
    """Why the addresses `url`'s host resolved to may not be called, or None. One refused
    address refuses the name: the connection could go to any of them."""
    if allow_private:
        return None
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if inside(address):
            host = urlsplit(url).hostname
            return f"{host} resolves to {address}, a private or reserved address"
    return None


def inside(address: IPAddress) -> bool:
    """True for an address that is not a public unicast one, looking through every form that
    carries an IPv4 address inside an IPv6 one."""
    embedded = embedded_ipv4(address)
    if embedded is not None:
        return inside(embedded)
    if any(address in network for network in REFUSED if network.version == address.version):
        return True
    return not address.is_global or address.is_multicast


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv6 one that carries one (mapped, compatible, translated,
    NAT64 and 6to4), or None."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    packed = address.packed
    if address in NAT64_LOCAL:  # RFC 6052 /48: the address around the reserved "u" octet
        return ipaddress.IPv4Address(packed[6:8] + packed[9:11])
    if address in SIX_TO_FOUR:
        return ipaddress.IPv4Address(packed[2:6])
    if any(address in network for network in LAST_32_BITS):
        return ipaddress.IPv4Address(packed[12:])
    return None


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Forms whose last 32 bits are an IPv4 address: IPv4-compatible (deprecated, ::/96, which also
# holds :: and ::1), IPv4-mapped, IPv4-translated (RFC 2765) and NAT64's well-known prefix.
LAST_32_BITS = tuple(
    ipaddress.IPv6Network(text)
    for text in ("::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96")
)
NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
# Not public, though Python's `is_global` says they are.
REFUSED = tuple(
    ipaddress.ip_network(text)
    for text in (
        "fec0::/10",  # site-local (deprecated, still routed inside some networks)
        "192.0.0.0/24",  # IETF protocol assignments
        "168.63.129.16/32",  # Azure's platform address: DNS, DHCP, the host's health probes
    )
)
