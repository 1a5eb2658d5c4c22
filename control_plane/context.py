"""The dependencies a service needs, built once per process (bootstrap) and passed in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from control_plane.clock import Clock, utcnow

if TYPE_CHECKING:  # types only: importing this module must not load the adapters (fast CLI start)
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from control_plane.adapters.clusters import ClusterConnections
    from control_plane.aws.clients import AwsClients
    from control_plane.config import Settings
    from control_plane.db.embedded import EmbeddedServer


@dataclass(frozen=True)
class SimulatedAws:
    url: str
    label: str
    aurora_cluster_id: str


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clusters: ClusterConnections
    aws: AwsClients
    catalog_url: str
    embedded_server: EmbeddedServer | None = None
    # The demo's second local server (cluster local-2): held so it lives as long as the context
    # (pgserver stops a server with its last handle).
    local_cluster_server: EmbeddedServer | None = None
    # Set while the demo simulates AWS locally (control_plane/demo/aws.py); None against real AWS.
    simulated_aws: SimulatedAws | None = None
    clock: Clock = utcnow

    def close(self) -> None:
        self.clusters.close()
        self.engine.dispose()
