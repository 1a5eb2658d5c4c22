"""Probes: a tenant's schema through its own role, a tenant's HTTP endpoint, a cluster's
database, an Aurora cluster's status. A probe never raises; it returns what it saw."""

from __future__ import annotations

import logging
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx
import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from control_plane import probe_guard
from control_plane.adapters.tenant_context import tenant_transaction
from control_plane.aws.errors import AWS_FAILURES, translate

if TYPE_CHECKING:
    from control_plane.aws.rds import AuroraAdapter

log = logging.getLogger(__name__)
ERROR_MAX = 300


@dataclass(frozen=True)
class Outcome:
    checked_at: datetime
    ok: bool
    latency_ms: float | None
    error: str | None = None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__)[:ERROR_MAX]


def _timed(check: Callable[[], str | None], now: Callable[[], datetime]) -> Outcome:
    started_at = now()
    t0 = time.perf_counter()
    error = check()
    latency = round((time.perf_counter() - t0) * 1000, 2)
    return Outcome(started_at, error is None, latency, error)


def probe_schema(pool: ConnectionPool, slug: str, timeout_s: float,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Outcome:
    """Reach the tenant's tables as the tenant's role, with a short statement timeout. The wait
    for a pooled connection is not the tenant's latency, so it is not timed."""
    try:
        with pool.connection(timeout=max(30.0, timeout_s)) as conn:
            def check() -> str | None:
                try:
                    with tenant_transaction(conn, slug, statement_timeout_ms=int(timeout_s * 1000)) as c:
                        c.execute("SELECT 1 FROM users LIMIT 1").fetchall()
                except psycopg.errors.QueryCanceled:
                    return f"no answer within {timeout_s:g}s (statement timeout)"
                except psycopg.Error as exc:
                    return _first_line(exc)
                return None

            return _timed(check, now)
    except PoolTimeout as exc:
        return Outcome(now(), False, None, f"no database connection available: {_first_line(exc)}")
    except psycopg.Error as exc:
        return Outcome(now(), False, None, _first_line(exc))


def probe_database(pool: ConnectionPool, timeout_s: float,
                   now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Outcome:
    def check() -> str | None:
        try:
            with pool.connection(timeout=timeout_s) as conn:
                conn.execute("SELECT 1").fetchone()
        except PoolTimeout:
            return f"no connection within {timeout_s:g}s"
        except psycopg.Error as exc:
            return _first_line(exc)
        return None

    return _timed(check, now)


def http_client(timeout_s: float, concurrency: int) -> httpx.Client:
    """A client for endpoint probes. No keep-alive: connections are keyed by the checked address,
    and one opened with another tenant's TLS name must not be reused. No environment proxies or
    .netrc (trust_env), no redirects: the request goes only to the address the guard checked."""
    return httpx.Client(timeout=httpx.Timeout(timeout_s), follow_redirects=False, trust_env=False,
                        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=0),
                        headers={"User-Agent": "control-plane-health-check/1"})


# Probe errors are stored and shown to every role: a fixed vocabulary, never the raw exception,
# so the sweep cannot be used to read the network (which port answers, which name resolves how).
TIMEOUT, REFUSED, CONNECTION, TLS = "timeout", "connection refused", "connection failed", "TLS error"
DNS, POLICY, PROTOCOL, OTHER = "DNS failure", "refused by probe policy", "protocol error", "probe failed"


def probe_http(client: httpx.Client, url: str, timeout_s: float,
               now: Callable[[], datetime] = lambda: datetime.now(UTC), *,
               allow: Sequence[probe_guard.Network] = (),
               resolve: probe_guard.Resolver = probe_guard.system_resolver) -> Outcome:
    """Up when the endpoint answers below 400 within the timeout (redirects count as up and are
    not followed). The URL is checked again here (DNS may have changed since it was set) and the
    connection goes to the address that was checked, with the URL's host as Host header and SNI."""
    def check() -> str | None:
        try:
            target = probe_guard.vet(url, allow, resolve)
        except probe_guard.ProbeHostUnresolved:
            return DNS
        except probe_guard.ProbeTargetRefused as exc:
            log.info("endpoint probe refused by policy: %s", exc)
            return POLICY
        extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else None
        try:
            response = client.get(target.connect_url, headers={"Host": target.host_header}, extensions=extensions)
        except httpx.TimeoutException:
            return TIMEOUT
        except httpx.HTTPError as exc:
            return _summarise(exc)
        except Exception:  # a probe reports, it never stops the sweep; details for operators only
            log.warning("endpoint probe failed unexpectedly", exc_info=True)
            return OTHER
        if response.status_code >= 400:
            return f"HTTP {response.status_code}"
        return None

    return _timed(check, now)


def _summarise(exc: BaseException) -> str:
    """The fixed-vocabulary name of a failed request, from the OS/TLS error underneath."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ssl.SSLError):
            return TLS
        if isinstance(cause, ConnectionRefusedError):
            return REFUSED
        if isinstance(cause, socket.gaierror):
            return DNS
        if isinstance(cause, (TimeoutError, socket.timeout)):
            return TIMEOUT
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.LocalProtocolError, httpx.DecodingError,
                        httpx.TooManyRedirects)):
        return PROTOCOL
    if isinstance(exc, httpx.TransportError):
        return CONNECTION
    return OTHER


def aurora_statuses(aurora: AuroraAdapter, cluster_ids: list[str]) -> dict[str, str] | str:
    """Status per Aurora cluster id (absent: not found), or the error that stopped the call."""
    try:
        found = aurora.describe_many(cluster_ids)
    except AWS_FAILURES as exc:
        return str(translate(exc, "RDS describe_db_clusters"))
    except Exception as exc:  # the probe reports; it never stops the sweep
        return _first_line(exc)
    return {cid: scaling.status for cid, scaling in found.items()}
