"""A moto server on a free local port for the whole test session (AWS calls go over HTTP, as in
production), reset before every test that asks for `aws`. Import the fixtures into a test module:
`from tests.moto_server import aws, moto_endpoint  # noqa: F401`."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator

import httpx
import pytest
from moto.server import ThreadedMotoServer

from control_plane.aws.clients import AwsClients
from control_plane.context import AppContext

FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_SESSION_TOKEN": "testing"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    for key, value in FAKE_CREDENTIALS.items():
        os.environ.setdefault(key, value)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws(ctx: AppContext, moto_endpoint: str) -> Iterator[AwsClients]:
    """ctx.aws pointed at a freshly reset moto server for this test."""
    httpx.post(f"{moto_endpoint}/moto-api/reset", timeout=10).raise_for_status()
    saved = ctx.aws
    ctx.aws = AwsClients(ctx.settings, endpoint_url=moto_endpoint)
    yield ctx.aws
    ctx.aws = saved
