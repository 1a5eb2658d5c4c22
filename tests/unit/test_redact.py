"""control_plane.redact: credentials masked in text, driver errors and every log record."""

from __future__ import annotations

import logging

import httpx
import pytest

from control_plane import redact

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize(("raw", "secret", "kept"), [
    ("GET http://alice:s3cret@api.example.com/health", "s3cret", "http://***@api.example.com/health"),
    ("GET https://alice:p@ss/w0rd@api.example.com/x", "p@ss/w0rd", "https://***@api.example.com/x"),
    ("url='postgresql://cp:Hunter22@db:5432/app' next", "Hunter22", "postgresql://***@db:5432/app'"),
    ("postgres://only-user@db/app", "only-user", "postgres://***@db/app"),
    ("host=db user=cp password=Hunter22 dbname=app", "Hunter22", "password=*** dbname=app"),
    ("host=db password='with space\\'s' dbname=app", "with space", "password=*** dbname=app"),
    ("PGPASSWORD=Hunter22 psql", "Hunter22", "PGPASSWORD=***"),
    ("postgresql://db/app?sslmode=require&password=Hunter22", "Hunter22", "sslmode=require&password=***"),
    ('{"password": "Hunter22"}', "Hunter22", '"password": ***'),
    (f'missing "=" after "{AWS_SECRET}" in connection info string', "wJalrXUtnFEMI", "in connection info string"),
    ('invalid percent-encoded token: "Hunt%zz"', "Hunt%zz", 'token: "***"'),
    ('invalid URI query parameter: "secretish"', "secretish", 'parameter: "***"'),
])
def test_text_masks_credentials(raw, secret, kept):
    clean = redact.text(raw, environ={})
    assert secret not in clean and kept in clean


@pytest.mark.parametrize("plain", [
    "GET https://api.example.com/health 200",
    'FATAL:  password authentication failed for user "cp"',
    "probe of http:acme: HTTP 503",
    "",
])
def test_text_leaves_ordinary_lines_alone(plain):
    assert redact.text(plain, environ={}) == plain


def test_values_of_secret_variables_are_masked_anywhere():
    env = {"AWS_SECRET_ACCESS_KEY": AWS_SECRET, "CP_CLUSTER_URL_EU1": "postgresql://cp:Pw%40rd99@db.internal/app",
           "CP_DATA_PLANE_PASSWORD": "dataplane-pw", "HOME": "/root", "CP_DEMO": "true"}
    line = f"boom: {AWS_SECRET} / Pw@rd99 / Pw%40rd99 / dataplane-pw / /root / true"
    clean = redact.text(line, environ=env)
    assert clean == "boom: *** / *** / *** / *** / /root / true"


def test_connection_error_drops_every_part_of_the_dsn():
    dsn = "postgresql://cpadmin:Hunter22@db.internal:6543/tenants"
    exc = Exception('connection to server at "db.internal" (10.0.0.5), port 6543 failed: FATAL:  password '
                    'authentication failed for user "cpadmin"\nDETAIL: more')
    message = redact.connection_error(exc, dsn)
    for part in ("cpadmin", "Hunter22", "db.internal", "6543", "DETAIL"):
        assert part not in message
    assert message.startswith('connection to server at "***"') and "authentication failed" in message


def test_connection_error_of_an_unparsable_dsn():
    exc = Exception(f'missing "=" after "{AWS_SECRET}" in connection info string\n')
    message = redact.connection_error(exc, AWS_SECRET)
    assert "wJalr" not in message and "EXAMPLEKEY" not in message and "connection info string" in message


@pytest.fixture
def installed(monkeypatch):
    """redact.install() for one test, then the process's logging as it was."""
    factory = logging.getLogRecordFactory()
    levels = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    monkeypatch.setattr(redact, "_installed", False)
    redact.install()
    yield
    logging.setLogRecordFactory(factory)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_install_quiets_httpx(installed):
    assert logging.getLogger("httpx").level == logging.WARNING
    assert logging.getLogger("httpcore").level == logging.WARNING


def test_an_httpx_request_log_line_comes_out_redacted(installed, caplog):
    """httpx logs every request URL with its user:password at INFO. Even when someone turns that
    logger back up, the line is redacted. MockTransport: httpx's own, no network at all."""
    caplog.set_level(logging.INFO, logger="httpx")
    with httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200))) as client:
        client.get("http://probe-user:Sup3rSecret@tenant.example.com/health")
    (record,) = [r for r in caplog.records if r.name == "httpx"]
    assert "Sup3rSecret" not in record.getMessage() and "probe-user" not in caplog.text
    assert "http://***@tenant.example.com/health" in caplog.text


def test_exception_text_and_arguments_are_redacted(installed, caplog):
    log = logging.getLogger("control_plane.test_redact")
    try:
        raise RuntimeError("cannot open postgresql://cp:Hunter22@db/app")
    except RuntimeError:
        log.exception("job failed for %s", "host=db password=Hunter22")
    assert "Hunter22" not in caplog.text
    assert "password=***" in caplog.text and "postgresql://***@db/app" in caplog.text


def test_ordinary_records_keep_their_arguments(installed, caplog):
    logging.getLogger("control_plane.test_redact").warning("%d checks", 3)
    (record,) = caplog.records
    assert record.args == (3,) and record.getMessage() == "3 checks"
