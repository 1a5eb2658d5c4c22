"""The test session's network safety net refuses non-loopback targets before any packet is sent."""

from __future__ import annotations

import socket

import httpx
import pytest

from tests.loopback_only import NonLoopbackRefused


@pytest.mark.parametrize("address", [("169.254.169.254", 80), ("10.0.0.1", 5432), ("93.184.216.34", 443),
                                     ("::ffff:10.0.0.1", 80)])
def test_connections_beyond_loopback_are_refused(address):
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock, pytest.raises(NonLoopbackRefused):
        sock.connect(address)


def test_public_names_are_not_resolved_and_loopback_works():
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("example.com", 443)
    with pytest.raises(httpx.ConnectError):
        httpx.get("http://example.com/", timeout=1)
    assert socket.getaddrinfo("localhost", 80)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=1):
            pass
