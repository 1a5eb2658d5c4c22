"""Which endpoint URLs the health sweep may request (docs/monitoring.md "Probe policy").

Support staff type a tenant's endpoint URL, and the worker requests it from inside our network
every minute: without a guard it reaches the cloud metadata service, the catalog's port or any
internal host, and its error strings map the network. A URL passes only when it is http(s)
without credentials and EVERY address its host resolves to is public, or inside a network the
operator allowed. The probe then connects to the address that was checked, so a DNS answer that
changes between the check and the connection (rebinding) cannot redirect it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from control_plane.errors import InvalidInput

if TYPE_CHECKING:
    import httpx

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

URL_MAX = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}

# IANA special-purpose ranges, besides what the ipaddress flags say: the flags changed between
# Python patch releases (and miss e.g. site-local fec0::/10), this list does not.
_SPECIAL = {
    "current-network (0.0.0.0/8)": ["0.0.0.0/8"],
    "private": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
    "loopback": ["127.0.0.0/8", "::1/128"],
    "link-local (cloud metadata)": ["169.254.0.0/16", "fe80::/10"],
    "shared address space (CGNAT)": ["100.64.0.0/10"],
    "reserved for protocols or documentation": [
        "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "198.18.0.0/15", "198.51.100.0/24",
        "203.0.113.0/24", "240.0.0.0/4", "100::/64", "2001::/23", "2001:db8::/32", "fec0::/10"],
    "multicast or broadcast": ["224.0.0.0/4", "255.255.255.255/32", "ff00::/8"],
    "unspecified": ["::/128"],
    "IPv4-mapped or NAT64": ["::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "::/96"],
}
_CARRIERS = [ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "::/96")]
_SPECIAL_NETS = [(kind, ipaddress.ip_network(n)) for kind, nets in _SPECIAL.items() for n in nets]


class ProbeTargetRefused(InvalidInput):
    """The URL, or an address its host resolves to, is not one the sweep may request."""


class ProbeHostUnresolved(InvalidInput):
    """The host name does not resolve (at all, or to anything usable)."""


@dataclass(frozen=True)
class VettedTarget:
    """A URL whose every address passed; requests go to `addresses[0]`, never to a new lookup."""

    url: httpx.URL
    addresses: tuple[Address, ...]

    @property
    def connect_url(self) -> httpx.URL:
        """The URL with its host replaced by the checked address: the connection goes there."""
        return self.url.copy_with(host=str(self.addresses[0]))

    @property
    def host_header(self) -> str:
        return self.url.netloc.decode("ascii")

    @property
    def sni_hostname(self) -> str | None:
        """The name TLS is verified against (None for an IP literal: no SNI for addresses)."""
        host = self.url.raw_host.decode("ascii")
        return None if self.url.scheme != "https" or _literal(host) is not None else host


def system_resolver(host: str, port: int) -> list[str]:
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def parse_networks(raw: str) -> tuple[Network, ...]:
    """A comma-separated list of CIDRs (a bare address is one host); ValueError names the bad one."""
    networks = []
    for item in (p.strip() for p in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"{item!r} is not a network in CIDR form (e.g. 127.0.0.0/8)") from exc
    return tuple(networks)


def parse(url: str) -> httpx.URL:
    """The URL as httpx will request it (one parser for the check and the request), or refused.
    httpx is imported here: config and the tenants service import this module, and a command that
    never checks a URL (`tenants show`) should not load an HTTP client (docs/cli.md "Command line")."""
    import httpx

    if len(url) > URL_MAX:
        raise ProbeTargetRefused(f"the URL is longer than {URL_MAX} characters")
    if not url.isprintable() or any(c.isspace() for c in url):  # also bidi overrides, surrogates
        raise ProbeTargetRefused("the URL contains spaces or control characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
        raise ProbeTargetRefused("the URL cannot be parsed") from exc
    if parsed.scheme not in DEFAULT_PORTS:
        raise ProbeTargetRefused("only http:// and https:// URLs are probed")
    if parsed.userinfo:
        raise ProbeTargetRefused("the URL must not carry a user name or password")
    if not parsed.raw_host:
        raise ProbeTargetRefused("the URL has no host")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise ProbeTargetRefused("the URL's port must be between 1 and 65535")
    return parsed


def refusal(address: Address, allow: Sequence[Network] = ()) -> str | None:
    """Why the sweep may not connect to `address`, or None when it may."""
    embedded = _embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
    if any(a in net for net in allow for a in (address, embedded) if a is not None and a.version == net.version):
        return None
    for candidate in (embedded, address):  # the carried IPv4 first: it names the real target
        if candidate is None:
            continue
        for kind, net in _SPECIAL_NETS:
            if candidate.version == net.version and candidate in net:
                return kind
        if candidate.is_loopback or candidate.is_link_local or candidate.is_private:
            return "private"
        if candidate.is_multicast or candidate.is_reserved or candidate.is_unspecified or not candidate.is_global:
            return "reserved for protocols or documentation"
        if isinstance(candidate, ipaddress.IPv6Address) and candidate.is_site_local:
            return "reserved for protocols or documentation"
    return None


def vet(url: str, allow: Sequence[Network] = (), resolve: Resolver = system_resolver) -> VettedTarget:
    """Parse, resolve once, check every address. Raises ProbeTargetRefused or ProbeHostUnresolved
    with a message for the person who typed the URL."""
    parsed = parse(url)
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or DEFAULT_PORTS[parsed.scheme]
    literal = _literal(host)
    if literal is not None:
        found = [literal]
    else:
        try:
            answers = resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise ProbeHostUnresolved(f"host {host!r} does not resolve") from exc
        found = []
        for answer in answers:
            address = _literal(answer)
            if address is None:  # e.g. an IPv6 address with a zone: nothing a probe should use
                raise ProbeTargetRefused(f"host {host!r} resolves to an address that is not usable")
            found.append(address)
        if not found:
            raise ProbeHostUnresolved(f"host {host!r} does not resolve")
    for address in found:
        reason = refusal(address, allow)
        if reason is not None:
            shown = f"{host!r} is" if literal is not None else f"host {host!r} resolves to"
            raise ProbeTargetRefused(f"{shown} an address in the {reason} range")
    return VettedTarget(parsed, tuple(dict.fromkeys(found)))


def _literal(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo client, NAT64, compatible)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    carried = any(address in net for net in _CARRIERS) and int(address) > 0xFFFF  # not ::, ::1
    return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if carried else None
