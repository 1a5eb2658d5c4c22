"""boto3 clients built from settings (AWS_ENDPOINT_URL honoured, bounded timeouts and retries) and passed in.

Nothing here runs at import time; tests point the factory at moto. boto3 itself is imported when
the first client is built: a command that never calls AWS (`tenants show`) does not pay ~0.2 s and
~20 MB to load it (docs/cli.md "Command line").
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from control_plane.config import Settings

if TYPE_CHECKING:
    from boto3.session import Session
    from botocore.config import Config

    from control_plane.aws.rds import AuroraAdapter
    from control_plane.aws.s3 import ArchiveStore


class AwsClients:
    def __init__(self, settings: Settings, endpoint_url: str | None = None) -> None:
        self.region = settings.aws_region
        self.endpoint_url = endpoint_url or settings.aws_endpoint_url
        self._settings = settings
        self._session: Session | None = None
        self._config: Config | None = None
        self._clients: dict[str, Any] = {}
        self._adapters: dict[tuple, tuple[Any, Any]] = {}  # key -> (client it wraps, adapter)
        self._lock = threading.Lock()  # boto3 sessions are not thread-safe; clients are

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                session, config = self._session_and_config()
                self._clients[service] = session.client(
                    service, region_name=self.region, endpoint_url=self.endpoint_url, config=config)
            return self._clients[service]

    def aurora(self) -> AuroraAdapter:
        """The Aurora adapter over this context's RDS client, built once."""
        from control_plane.aws.rds import AuroraAdapter

        return self._adapter(AuroraAdapter, self.client("rds"))

    def archives(self, bucket: str) -> ArchiveStore:
        """The archive store of `bucket` over this context's S3 client, built once per bucket."""
        from control_plane.aws.s3 import ArchiveStore

        return self._adapter(ArchiveStore, self.client("s3"), bucket)

    def _adapter(self, kind: type, client: Any, *args: Any) -> Any:
        # Keyed by the client it wraps too: a client swapped in (a test's failing one) gets its own.
        key = (kind, *args)
        with self._lock:
            wrapped, adapter = self._adapters.get(key, (None, None))
            if adapter is None or wrapped is not client:
                adapter = kind(client, *args)
                self._adapters[key] = (client, adapter)
            return adapter

    def _session_and_config(self) -> tuple[Session, Config]:
        """Built on first use, under the lock."""
        if self._session is None or self._config is None:
            import boto3
            from botocore.config import Config

            settings = self._settings
            # Bounded: a hung endpoint fails a call after max_attempts x (connect + read timeout) plus
            # backoff, never "whenever TCP gives up" (settings; docs/configuration.md "Configuration").
            self._config = Config(
                region_name=self.region,
                retries={"mode": "adaptive", "max_attempts": settings.aws_max_attempts},
                connect_timeout=settings.aws_connect_timeout_seconds,
                read_timeout=settings.aws_read_timeout_seconds,
            )
            self._session = boto3.session.Session()
        return self._session, self._config
