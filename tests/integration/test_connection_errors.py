"""Issue 20: what cannot fix itself fails at once with a configuration error (exit 6); only what
comes back by itself (server down, starting, full) is retried until the deadline (exit 7)."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from control_plane.db.engine import make_engine, wait_for_database
from control_plane.errors import ConfigError, DatabaseUnavailable


def counted(url: str):
    engine = make_engine(url)
    attempts = []
    event.listen(engine, "do_connect", lambda *args: attempts.append(1))
    return engine, attempts


@pytest.mark.parametrize("kind", ["database", "role"])
def test_an_unknown_database_or_role_is_not_retried(pg_server, kind):
    url = pg_server.url("no_such_database") if kind == "database" else \
        pg_server.url("postgres").replace("postgres@", "no_such_role@", 1)
    engine, attempts = counted(url)
    with pytest.raises(ConfigError, match=f'{kind} "no_such_[a-z]+" does not exist.*check DATABASE_URL'):
        wait_for_database(engine, timeout=30, interval=0.05)
    engine.dispose()
    assert len(attempts) == 1


def test_a_server_that_is_not_there_is_retried_until_the_deadline(tmp_path):
    engine, attempts = counted(f"postgresql+psycopg://postgres@/postgres?host={tmp_path}&port=5432")
    with pytest.raises(DatabaseUnavailable, match="Cannot reach the catalog database"):
        wait_for_database(engine, timeout=1.0, interval=0.05)
    assert len(attempts) > 2


def test_cli_with_an_unknown_catalog_database_exits_6_in_one_line(cli, pg_server, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", pg_server.url("no_such_database"))
    code, out, err = cli("tenants", "list", "--format", "json")
    assert code == 6, err
    assert err.startswith("error: Cannot connect to the catalog database") and err.count("\n") == 1
    assert out == ""


@pytest.mark.parametrize("url", [
    "postgresql://admin:s3cr3t-pw@db.example:notaport/catalog",
    "postgresql://admin:s3cr3t-pw@[::1/catalog",
    "postgresql://admin:s3cr3t-pw@/catalog?host=/tmp&sslmode=s3cr3t-pw",
    "postgresql://admin:s3cr3t-pw@/catalog?host=/tmp&bogus_option=s3cr3t-pw",
])
def test_an_invalid_catalog_url_is_a_configuration_error_that_does_not_echo_it(cli, monkeypatch, url):
    monkeypatch.setenv("DATABASE_URL", url)
    code, _, err = cli("tenants", "list", "--format", "json")
    assert code == 6, err
    assert "s3cr3t-pw" not in err and err.count("\n") == 1 and "Traceback" not in err
