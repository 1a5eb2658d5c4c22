"""boto3 clients built from settings (AWS_ENDPOINT_URL honoured, bounded timeouts and retries) and passed in.

Nothing here runs at import time; tests point the factory at moto.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from control_plane.config import Settings


class AwsClients:
    def __init__(self, settings: Settings, endpoint_url: str | None = None) -> None:
        self.region = settings.aws_region
        self.endpoint_url = endpoint_url or settings.aws_endpoint_url
        # Bounded: a hung endpoint fails a call after max_attempts x (connect + read timeout) plus
        # backoff, never "whenever TCP gives up" (settings; README "Configuration").
        self._config = Config(
            region_name=self.region,
            retries={"mode": "adaptive", "max_attempts": settings.aws_max_attempts},
            connect_timeout=settings.aws_connect_timeout_seconds,
            read_timeout=settings.aws_read_timeout_seconds,
        )
        self._session = boto3.session.Session()
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()  # boto3 sessions are not thread-safe; clients are

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(
                    service, region_name=self.region, endpoint_url=self.endpoint_url, config=self._config)
            return self._clients[service]
