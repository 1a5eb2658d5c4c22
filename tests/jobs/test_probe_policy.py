"""SSRF through tenant endpoint URLs: the health sweep requests only what the probe policy allows
(docs/monitoring.md "Probe policy"), checked when the URL is set and again at every probe, pinned
to the checked address; its errors are a fixed vocabulary. Real PostgreSQL, a real HTTP server on
loopback (the only address these tests ever connect to)."""

from __future__ import annotations

import logging
import socket
from dataclasses import replace

import pytest
from sqlalchemy import select, text

from control_plane import redact
from control_plane.db.models import Tenant
from control_plane.errors import InvalidInput
from control_plane.services import clusters, tenants
from control_plane.uptime import probes
from control_plane.uptime.sweep import run_sweep
from tests import raw_checks
from tests.factories import make_tenant
from tests.jobs.http_targets import ALLOW_LOOPBACK, Connections, Targets

VOCABULARY = {"timeout", "connection refused", "connection failed", "TLS error", "DNS failure",
              "refused by probe policy", "protocol error", "probe failed"}


@pytest.fixture
def http():
    with Targets() as server:
        yield server


@pytest.fixture
def allowed(ctx):
    """The context of an operator who set CP_PROBE_ALLOW_NETWORKS=127.0.0.0/8."""
    return replace(ctx, settings=replace(ctx.settings, probe_timeout_seconds=1.0, probe_allow_networks=ALLOW_LOOPBACK))


def http_checks(ctx) -> dict:
    with ctx.session_factory() as s:
        return {r.target: r for r in raw_checks.stored(s) if r.target.startswith("http:")}


def store_endpoint_behind_the_services_back(ctx, slug: str, url: str) -> None:
    """As a row written before the URL was checked (or by hand): the probe must refuse it too."""
    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE control_plane.tenants SET endpoint_url = :u WHERE slug = :s"), {"u": url, "s": slug})


def internal_urls(http: Targets) -> list[str]:
    return ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.5:8080/", f"http://[::1]:{http.port}/up",
            http.url("/up", host="localhost"), http.url("/up"), "http://127.0.0.1:5432/"]


def test_loopback_endpoint_receives_no_request_without_an_allow_list(ctx, http, new_slug, monkeypatch):
    slug = new_slug("ssrf")
    with pytest.raises(InvalidInput, match="loopback range"):
        make_tenant(ctx, slug, endpoint_url=http.url("/up"))
    with ctx.session_factory() as s:
        assert s.scalar(select(Tenant).where(Tenant.slug == slug)) is None  # refused before anything was written

    make_tenant(ctx, slug)
    store_endpoint_behind_the_services_back(ctx, slug, http.url("/up"))
    connections = Connections(monkeypatch)
    run_sweep(ctx)
    check = http_checks(ctx)[f"http:{slug}"]
    assert (check.ok, check.error, check.latency_ms is not None) == (False, "refused by probe policy", True)
    assert http.connections == 0 and http.hosts == [] and connections.calls == []


def test_with_the_allow_list_loopback_is_probed(allowed, http, new_slug):
    slug = new_slug("allowed")
    make_tenant(allowed, slug, endpoint_url=http.url("/up"))
    run_sweep(allowed)
    assert http_checks(allowed)[f"http:{slug}"].ok
    assert http.connections == 1 and http.hosts == [f"127.0.0.1:{http.port}"]


def test_internal_targets_are_refused_when_set(ctx, http, new_slug, admin, cli):
    slug = new_slug("set")
    make_tenant(ctx, slug)
    for url in internal_urls(http):
        with pytest.raises(InvalidInput, match="range"):
            tenants.provision(ctx, admin, new_slug("new"), "New Co", "team", endpoint_url=url)
        with pytest.raises(InvalidInput, match="range"):
            tenants.update_details(ctx, admin, slug, endpoint_url=url)
    code, _, err = cli("tenants", "provision", new_slug("cli"), "--name", "Cli Co", "--plan", "team",
                       "--endpoint-url", "http://169.254.169.254/latest/meta-data/")
    assert code == 2 and err.count("\n") == 1 and "link-local" in err and "CP_PROBE_ALLOW_NETWORKS" in err
    with ctx.session_factory() as s:
        assert s.scalar(select(Tenant.endpoint_url).where(Tenant.slug == slug)) is None
    assert http.connections == 0


def test_internal_targets_are_refused_at_probe_time_before_any_connection(ctx, http, new_slug, monkeypatch):
    slugs = {}
    for url in internal_urls(http):
        slugs[url] = new_slug("probe")
        make_tenant(ctx, slugs[url])
        store_endpoint_behind_the_services_back(ctx, slugs[url], url)
    connections = Connections(monkeypatch, block=True)
    run_sweep(ctx)
    seen = http_checks(ctx)
    assert {url: seen[f"http:{slug}"].error for url, slug in slugs.items()} == dict.fromkeys(
        slugs, "refused by probe policy")
    assert connections.calls == [] and http.connections == 0


def test_the_connection_goes_to_the_checked_address(allowed, http, monkeypatch):
    """DNS rebinding: the name is resolved once per probe, that answer is checked, and the
    connection goes to it with the name as Host header; a later answer pointing inside is refused."""
    answers = iter([["127.0.0.1"], ["10.0.0.1"]])
    asked: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        asked.append(host)
        return next(answers)

    connections = Connections(monkeypatch)  # loopback only: a regression could not reach 10.0.0.1
    url = f"http://tenant.example.com:{http.port}/up"
    with probes.http_client(1.0, 1) as client:
        first = probes.probe_http(client, url, 1.0, allow=ALLOW_LOOPBACK, resolve=rebinding)
        second = probes.probe_http(client, url, 1.0, allow=ALLOW_LOOPBACK, resolve=rebinding)
    assert first.ok and (second.ok, second.error) == (False, "refused by probe policy")
    assert asked == ["tenant.example.com", "tenant.example.com"]
    assert connections.calls == [("127.0.0.1", http.port)]
    assert http.hosts == [f"tenant.example.com:{http.port}"]


def test_localhost_is_probed_at_the_address_checked(allowed, http, new_slug, monkeypatch):
    slug = new_slug("lh")
    make_tenant(allowed, slug, endpoint_url=http.url("/up", host="localhost"))
    connections = Connections(monkeypatch)
    run_sweep(allowed)
    assert http_checks(allowed)[f"http:{slug}"].ok
    assert connections.calls == [("127.0.0.1", http.port)] and http.hosts == [f"localhost:{http.port}"]


def test_probe_errors_are_a_fixed_vocabulary(allowed, http, new_slug):
    with socket.socket() as spare:  # a loopback port nobody listens on
        spare.bind(("127.0.0.1", 0))
        closed = spare.getsockname()[1]
    cases = {"/down": "HTTP 503", "/hang": "timeout", "/redirect": None}
    slugs = {}
    for path, expected in cases.items():
        slugs[new_slug("voc")] = (http.url(path), expected)
    slugs[new_slug("voc")] = (f"http://127.0.0.1:{closed}/", "connection refused")
    slugs[new_slug("voc")] = (f"https://127.0.0.1:{http.port}/up", "TLS error")  # TLS to a plain-HTTP server
    for slug, (url, _) in slugs.items():
        make_tenant(allowed, slug, endpoint_url=url)
    run_sweep(allowed)
    seen = http_checks(allowed)
    assert {slug: seen[f"http:{slug}"].error for slug in slugs} == {slug: e for slug, (_, e) in slugs.items()}
    assert all(c.error is None or c.error in VOCABULARY or c.error.startswith("HTTP ") for c in seen.values())
    # /redirect answered 302 to the metadata address: up, and the Location was not followed
    assert http.hosts.count(f"127.0.0.1:{http.port}") == 3  # /down, /hang, /redirect; nothing else asked


def test_a_cluster_url_secret_never_reaches_the_worker_log_or_checks(ctx, admin, monkeypatch, caplog):
    """`clusters add --url-env` used to accept any variable; a value that is not a URL (an AWS
    secret) was then quoted by libpq on every sweep. Rows registered before the name rule may
    still point at one."""
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    monkeypatch.setenv("CP_CLUSTER_URL_PASTED", secret)
    monkeypatch.setattr(redact, "_installed", False)
    factory = logging.getLogRecordFactory()
    redact.install()  # as the worker does at start
    try:
        clusters.add_cluster(ctx, admin, "pasted", "CP_CLUSTER_URL_PASTED", verify=False)
        caplog.set_level(logging.DEBUG)
        run_sweep(ctx)
        run_sweep(ctx)
    finally:
        logging.setLogRecordFactory(factory)
        ctx.clusters.close()
    with ctx.session_factory() as s:
        rows = raw_checks.stored(s)
    stored = " ".join(str(r.error) for r in rows)
    for fragment in (secret, "wJalrXUtnFEMI", "EXAMPLEKEY"):
        assert fragment not in caplog.text and fragment not in stored
    pasted = [r for r in rows if r.target == "db:pasted"]
    assert len(pasted) == 2 and not any(r.ok for r in pasted)
