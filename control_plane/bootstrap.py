"""Build an AppContext from settings: start the embedded database if needed, wait for it,
and bring the catalog up to date."""

from __future__ import annotations

from control_plane import demo_package
from control_plane.adapters.clusters import ClusterConnections
from control_plane.aws.clients import AwsClients
from control_plane.config import Settings
from control_plane.context import AppContext
from control_plane.db import embedded, migrate
from control_plane.db.engine import make_engine, make_session_factory, wait_for_database


def _second_local_cluster(settings: Settings, server: embedded.EmbeddedServer) -> embedded.EmbeddedServer | None:
    """The second local server that demo mode made (docs/operations.md "Embedded default"), attached
    when it exists; an installation without the demo package never made one."""
    if not demo_package.installed():
        return None
    from control_plane.demo import local_cluster

    return local_cluster.attach_if_present(settings.data_dir, server.engine)


def bootstrap(settings: Settings | None = None, *, run_migrations: bool = True,
              database_url: str | None = None) -> AppContext:
    settings = settings or Settings.from_env()
    server = second = None
    url = database_url or settings.database_url
    default_url = settings.cluster_url_default
    if url is None:
        server = embedded.start(settings.data_dir, settings.embedded_engine)
        url = server.url()
        if default_url is None:
            default_url = embedded.tenant_database(server)  # docs/operations.md "The default cluster"
        second = _second_local_cluster(settings, server)
    engine = make_engine(url)
    wait_for_database(engine, timeout=settings.database_wait_seconds)
    if run_migrations:
        migrate.ensure_current(engine)  # one query when the catalog is at head; Alembic only to upgrade
    return AppContext(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        clusters=ClusterConnections(url, default_url=default_url),
        aws=AwsClients(settings),
        catalog_url=url,
        embedded_server=server,
        local_cluster_server=second,
    )
