"""The embedded default's second local cluster (docs/operations.md "Embedded default"): a PostgreSQL server
of its own under the data directory (`pg-cluster2`, next to the catalog's `pg`), with logical replication on
as every embedded server, so that a demo tenant can be moved to another cluster online.

The app creates it on the embedded demo default and registers it as cluster `local-2`, not
accepting new tenants (they still land on `default` unless one is named). Every process on the
embedded catalog (the app, the worker, the command line) that finds it under the data directory
starts or attaches to it and exports its URL in CP_CLUSTER_URL_LOCAL2, the variable the catalog
names for it; the URL is never stored.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from control_plane.db import embedded

if TYPE_CHECKING:
    from control_plane.context import AppContext

log = logging.getLogger(__name__)

NAME = "local-2"
URL_ENV = "CP_CLUSTER_URL_LOCAL2"
PGDATA_NAME = "pg-cluster2"


def exists(data_dir: Path) -> bool:
    return (embedded.pgdata_of(data_dir, PGDATA_NAME) / "PG_VERSION").exists()


def start(data_dir: Path, engine: str) -> embedded.EmbeddedServer:
    """Start (or attach to) the server and export its URL. `engine` is the catalog server's:
    as root both then run as the same system user, which each needs to reach the other's
    socket (it sits in the other's data folder, mode 0700) for replication."""
    server = embedded.start(data_dir, engine, name=PGDATA_NAME)
    url = server.url()
    previous = os.environ.get(URL_ENV)
    if previous and previous != url:
        log.warning("%s was set in the environment; the embedded default replaces it with its second local "
                    "server's URL (the variable is reserved for it on the embedded catalog)", URL_ENV)
    os.environ[URL_ENV] = url  # this process and what it starts (the in-process scheduler) see it
    return server


def attach_if_present(data_dir: Path, engine: str) -> embedded.EmbeddedServer | None:
    """For every process on the embedded catalog: the cluster is reachable wherever it exists."""
    return start(data_dir, engine) if exists(data_dir) else None


def prepare(ctx: AppContext) -> embedded.EmbeddedServer:
    """The embedded demo default, on every start: the server up, its URL exported, the cluster
    registered once (idempotent; two processes starting together register it once)."""
    from control_plane.auth.permissions import system_actor
    from control_plane.db.models import Cluster
    from control_plane.errors import Conflict
    from control_plane.services import clusters

    server = ctx.local_cluster_server
    if server is None:
        server = start(ctx.settings.data_dir, ctx.embedded_server.engine)
        ctx.local_cluster_server = server
    with ctx.session_factory() as session:
        registered = session.get(Cluster, NAME)
        if registered is not None:
            if registered.url_env != URL_ENV:
                log.warning("a cluster named %r is registered with %s, not %s: the second local server is not "
                            "registered", NAME, registered.url_env, URL_ENV)
            return server
    try:
        clusters.add_cluster(ctx, system_actor("demo-setup"), NAME, URL_ENV, accepts_tenants=False)
    except Conflict:
        pass  # another process registered it first
    else:
        log.info("registered the second local cluster %r (%s); it accepts tenants only when named", NAME, URL_ENV)
    return server
