"""The dependencies a service needs, built once per process (bootstrap) and passed in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: importing this module must not load the adapters (fast CLI start)
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from control_plane.adapters.clusters import ClusterConnections
    from control_plane.aws.clients import AwsClients
    from control_plane.config import Settings
    from control_plane.db.embedded import EmbeddedServer


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clusters: ClusterConnections
    aws: AwsClients
    catalog_url: str
    embedded_server: EmbeddedServer | None = None
    extras: dict[str, object] = field(default_factory=dict)

    def close(self) -> None:
        self.clusters.close()
        self.engine.dispose()
