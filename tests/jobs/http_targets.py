"""A local HTTP server with endpoints that are up, down, slow, hanging or redirecting (for probe
tests). It counts connections and records each request's Host header, so a test can prove that
the probe guard let nothing through.

The probe refuses loopback unless allowed (docs/monitoring.md "Probe policy"), so tests that probe
this server set `probe_allow_networks=ALLOW_LOOPBACK` explicitly."""

from __future__ import annotations

import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from control_plane.probe_guard import parse_networks

ALLOW_LOOPBACK = parse_networks("127.0.0.0/8")


class Targets:
    def __init__(self) -> None:
        self.release = threading.Event()
        self.down_status = 503
        self.connections = 0
        self.hosts: list[str] = []  # Host header of every request, in arrival order
        targets = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                targets.hosts.append(self.headers.get("Host", ""))
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path == "/hang":
                    targets.release.wait(30)
                    return
                if self.path == "/slow":
                    targets.release.wait(0.3)
                status = {"/down": targets.down_status}.get(self.path, 200)
                body = b"ok"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def get_request(self):
                accepted = super().get_request()
                targets.connections += 1
                return accepted

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def __enter__(self) -> Targets:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class Connections:
    """Records every connect this process attempts through Python sockets (httpx's way out).
    Only loopback connects go through, and none at all with `block=True`: even a regression of
    the guard sends nothing off this machine."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, block: bool = False) -> None:
        self.calls: list[tuple] = []
        create, connect = socket.create_connection, socket.socket.connect
        # Threads already running when the spy is installed belong to earlier tests (a pool's or a
        # client's background worker): held to the same policy, but not counted as this test's.
        earlier = {t.ident for t in threading.enumerate() if t is not threading.current_thread()}

        def allowed(address) -> bool:
            try:
                return not block and ipaddress.ip_address(address[0]).is_loopback
            except ValueError:
                return False

        def record(address) -> None:
            if threading.get_ident() not in earlier:
                self.calls.append(tuple(address))

        def create_connection(address, *args, **kwargs):
            if not allowed(address):  # refused before even a lookup; allowed ones are recorded below
                record(address)
                raise ConnectionRefusedError("blocked by the test")
            return create(address, *args, **kwargs)

        def sock_connect(sock, address):
            if isinstance(address, tuple):  # AF_UNIX paths (PostgreSQL's socket) are not network
                record(address)
                if not allowed(address):
                    raise ConnectionRefusedError("blocked by the test")
            return connect(sock, address)

        monkeypatch.setattr(socket, "create_connection", create_connection)
        monkeypatch.setattr(socket.socket, "connect", sock_connect)
