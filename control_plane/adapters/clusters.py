"""Connections to the clusters that hold tenant schemas. URLs come from environment variables
named in the catalog (never stored there); the default cluster is the catalog database."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping

import psycopg
from psycopg_pool import ConnectionPool

from control_plane.errors import ConfigError


def libpq_url(sqlalchemy_url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if sqlalchemy_url.startswith(prefix):
            return "postgresql://" + sqlalchemy_url[len(prefix):]
    return sqlalchemy_url


class ClusterConnections:
    def __init__(self, catalog_url: str, environ: Mapping[str, str] | None = None) -> None:
        self.catalog_url = libpq_url(catalog_url)
        self._environ = environ if environ is not None else os.environ
        self._pools: dict[str, ConnectionPool] = {}
        self._lock = threading.Lock()

    def url_for(self, url_env: str | None) -> str:
        if url_env is None:
            return self.catalog_url
        url = self._environ.get(url_env)
        if not url:
            raise ConfigError(f"Cluster connection variable {url_env} is not set in this process's environment.")
        return libpq_url(url)

    def connect(self, url_env: str | None, **kwargs) -> psycopg.Connection:
        try:
            return psycopg.connect(self.url_for(url_env), connect_timeout=10, **kwargs)
        except psycopg.OperationalError as exc:
            raise ConfigError(f"Cannot connect to cluster ({url_env or 'catalog database'}): "
                              f"{str(exc).strip().splitlines()[0]}") from exc

    def pool(self, url_env: str | None, max_size: int = 10) -> ConnectionPool:
        key = url_env or ""
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                pool = ConnectionPool(self.url_for(url_env), min_size=1, max_size=max_size, open=True,
                                      kwargs={"autocommit": True})
                self._pools[key] = pool
            return pool

    def close(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()
