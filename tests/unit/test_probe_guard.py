"""The probe target guard: which endpoint URLs the health sweep may request, and proof that a
refused one never opens a socket. No traffic leaves this process: refused targets are refused
before any connection, accepted public ones are only checked, never requested, and names other
than 'localhost' (hosts file) go through a resolver given by the test."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from control_plane import probe_guard
from control_plane.config import Settings
from control_plane.errors import ConfigError, InvalidInput
from control_plane.probe_guard import ProbeHostUnresolved, ProbeTargetRefused, parse_networks, vet
from control_plane.uptime import probes
from tests.jobs.http_targets import Connections

PUBLIC_V4, PUBLIC_V6 = "93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"

# Every way of writing an internal target we know of: literal forms, encodings, IPv6 carriers.
HOSTILE = [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://169.254.170.2/v2/credentials",  # ECS task credentials
    "http://[fd00:ec2::254]/latest/meta-data/",  # EC2 metadata over IPv6
    "http://127.0.0.1:5432/", "http://127.255.255.254/", "http://[::1]:5432/", "http://localhost:8501/",
    "http://LOCALHOST/", "http://2130706433/", "http://0x7f000001/", "http://0x7f.1/",
    "http://127.1/", "http://0/", "http://0.0.0.0:8501/", "http://[::]/",
    "http://10.0.0.5/", "http://172.16.3.4/", "http://172.31.255.255/", "http://192.168.1.1/",
    "http://100.64.0.1/", "http://100.127.255.254/",  # CGNAT
    "http://198.18.0.1/", "http://192.0.0.170/", "http://192.0.2.1/", "http://240.0.0.1/",
    "http://224.0.0.251/", "http://255.255.255.255/", "http://[ff02::1]/",
    "http://[fe80::1]/", "http://[fe80::1%25eth0]/", "http://[fc00::1]/", "http://[fec0::1]/",
    "http://[::ffff:127.0.0.1]/", "http://[::ffff:a9fe:a9fe]/", "http://[::ffff:10.0.0.1]/",
    "http://[::127.0.0.1]/", "http://[2002:a9fe:a9fe::]/", "http://[2002:7f00:1::]/",  # 6to4
    "http://[64:ff9b::a9fe:a9fe]/", "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # NAT64, Teredo
    "https://169.254.169.254:443/", "HTTP://169.254.169.254/",
]
MALFORMED = [
    "ftp://93.184.216.34/", "file:///etc/passwd", "gopher://93.184.216.34/", "dict://93.184.216.34:11211/",
    "javascript:alert(1)", "//93.184.216.34/", "93.184.216.34", "http://", "http:///x", "http://:80/",
    "http://user:pass@93.184.216.34/", "http://user@93.184.216.34/", "http://evil.com\\@127.0.0.1/",
    "http://93.184.216.34/a b", "http://93.184.216.34/\r\nHost: 127.0.0.1", "http://93.184.216.34/\x00",
    "http://93.184.216.34/" + "a" * 3000, "http://93.184.216.34/\u202e", "http://93.184.216.34/\ud800",
    "http://93.184.216.34/\x7f", "http://93.184.216.34/\x1b[31m", "http://[::1/", "http://93.184.216.34:99999/",
    "http://93.184.216.34:0/", "http://0177.0.0.1/",
]


@pytest.fixture
def connections(monkeypatch) -> Connections:
    return Connections(monkeypatch, block=True)


def public(host: str, port: int) -> list[str]:
    return [PUBLIC_V4, PUBLIC_V6]


@pytest.mark.parametrize("url", HOSTILE)
def test_internal_targets_are_refused(url):
    with pytest.raises(ProbeTargetRefused, match="range"):
        vet(url)


@pytest.mark.parametrize("url", MALFORMED)
def test_malformed_or_credentialed_urls_are_refused(url):
    with pytest.raises(ProbeTargetRefused):
        vet(url, resolve=public)


@pytest.mark.parametrize("url", HOSTILE + MALFORMED)
def test_a_refused_target_opens_no_socket(url, connections):
    with probes.http_client(1.0, 1) as client:
        outcome = probes.probe_http(client, url, 1.0)
    assert (outcome.ok, outcome.error) == (False, "refused by probe policy")
    assert connections.calls == []


@pytest.mark.parametrize("answers", [
    ["127.0.0.1"], ["169.254.169.254"], ["10.0.0.7"], ["::1"], ["::ffff:169.254.169.254"],
    [PUBLIC_V4, "10.0.0.7"], ["10.0.0.7", PUBLIC_V4], [PUBLIC_V6, "fd00::1"],  # EVERY address counts
])
def test_names_resolving_to_internal_addresses_are_refused(answers, connections):
    resolve = lambda host, port: answers  # noqa: E731
    with pytest.raises(ProbeTargetRefused, match=r"host 'tenant\.example\.com' resolves to"):
        vet("https://tenant.example.com/health", resolve=resolve)
    with probes.http_client(1.0, 1) as client:
        outcome = probes.probe_http(client, "https://tenant.example.com/health", 1.0, resolve=resolve)
    assert outcome.error == "refused by probe policy" and connections.calls == []


def test_public_targets_pass_and_keep_their_name_for_host_and_tls():
    target = vet("https://tenant.example.com:8443/health?x=1", resolve=public)
    assert str(target.connect_url) == f"https://{PUBLIC_V4}:8443/health?x=1"
    assert target.host_header == "tenant.example.com:8443" and target.sni_hostname == "tenant.example.com"
    assert target.addresses == (ipaddress.ip_address(PUBLIC_V4), ipaddress.ip_address(PUBLIC_V6))
    literal = vet(f"https://[{PUBLIC_V6}]/")
    assert literal.sni_hostname is None and literal.host_header == f"[{PUBLIC_V6}]"
    assert vet("http://93.184.216.34:5432/").connect_url.port == 5432  # public: any port


def test_unresolvable_names_are_dns_failures(connections):
    def nothing(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(ProbeHostUnresolved):
        vet("https://nowhere.example.com/", resolve=nothing)
    with pytest.raises(ProbeHostUnresolved):
        vet("https://nowhere.example.com/", resolve=lambda host, port: [])
    with probes.http_client(1.0, 1) as client:
        assert probes.probe_http(client, "https://nowhere.example.com/", 1.0, resolve=nothing).error == "DNS failure"
    assert connections.calls == []


def test_allow_list_admits_only_its_networks():
    allow = parse_networks("127.0.0.0/8, 10.1.0.0/16")
    assert vet("http://127.0.0.1:5432/", allow).connect_url.host == "127.0.0.1"
    assert vet("http://localhost/", allow).connect_url.host == "127.0.0.1"
    assert vet("http://[::ffff:127.0.0.1]/", allow).addresses  # the IPv4 it carries is allowed
    assert vet("http://10.1.2.3/", allow)
    for url in ("http://10.2.0.1/", "http://169.254.169.254/", "http://[::1]/", "http://0.0.0.0/"):
        with pytest.raises(ProbeTargetRefused):
            vet(url, allow)
    with pytest.raises(ProbeTargetRefused):  # one allowed address does not admit the others
        vet("http://mixed.example.com/", allow, resolve=lambda host, port: ["127.0.0.1", "10.2.0.1"])


def test_allow_list_setting():
    assert Settings.from_env({}).probe_allow_networks == ()
    assert Settings.from_env({"CP_PROBE_ALLOW_NETWORKS": " 127.0.0.0/8 ,::1, 10.0.0.5"}).probe_allow_networks == (
        ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"), ipaddress.ip_network("10.0.0.5/32"))
    for bad in ("127.0.0.0/33", "localhost", "10.0.0.0/8;rm -rf /", "*"):
        with pytest.raises(ConfigError, match="CP_PROBE_ALLOW_NETWORKS"):
            Settings.from_env({"CP_PROBE_ALLOW_NETWORKS": bad})


def test_refusals_are_input_errors_with_a_reason():
    with pytest.raises(InvalidInput) as caught:
        vet("http://169.254.169.254/latest/meta-data/")
    assert str(caught.value) == "'169.254.169.254' is an address in the link-local (cloud metadata) range"
    assert issubclass(probe_guard.ProbeHostUnresolved, InvalidInput)


def test_the_connection_recorder_sees_what_httpx_would_open(connections):
    """Without this, an empty `connections.calls` above would prove nothing. The recorder blocks
    the connect, so nothing is sent even here."""
    with probes.http_client(1.0, 1) as client:
        outcome = probes.probe_http(client, "http://tenant.example.com/health", 1.0, resolve=public)
    assert connections.calls == [(PUBLIC_V4, 80)]  # the checked address, not a new lookup of the name
    assert outcome.error == "connection refused"
