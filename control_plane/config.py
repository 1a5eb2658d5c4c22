"""Every setting, read from the environment in one place and validated at start.

docs/configuration.md lists these; keep both in step.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from control_plane.errors import ConfigError
from control_plane.uptime.probe_guard import Network, parse_networks

_TRUE = {"1", "true", "yes", "on"}
MIN_SESSION_SECRET = 32  # characters; secrets.token_urlsafe(32) gives 43
MIN_SECRET_DISTINCT = 12  # different characters; token_urlsafe(32) has ~31, token_hex(32) ~16
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    data_dir: Path = Path(".data")
    embedded_engine: str = "auto"  # auto | pgserver | binaries
    demo: bool = True
    demo_tenants: int = 300
    demo_months: int = 18
    run_scheduler_in_app: bool = True
    database_wait_seconds: float = 30.0  # how long a starting process waits for the catalog to answer

    session_ttl_minutes: int = 480
    # Signs the sign-in cookie (control_plane/auth/session_tokens.py). None: the embedded default
    # keeps a generated one under data_dir; required when DATABASE_URL is set (check_app_settings).
    session_secret: str | None = None

    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None
    archive_bucket: str = "control-plane-archives"
    archive_retention_days: int = 90
    # Where dumps are staged (private cp-archive-*/cp-restore-* folders); None: the system temp.
    work_dir: Path | None = None
    # Every AWS call is bounded: attempts x (connect + read) plus botocore's backoff, so a hung S3
    # cannot keep an archiving tenant offline for minutes.
    aws_connect_timeout_seconds: float = 5.0
    aws_read_timeout_seconds: float = 10.0
    aws_max_attempts: int = 3
    sns_topic_arn: str | None = None
    cloudwatch_namespace: str = "SaaS/Tenants"
    cloudwatch_tenant_dimension: str = "TenantId"
    # The soak's error-rate comparison reads CloudWatch only when the namespace was set on purpose:
    # an unconfigured install (and the test suite) never waits on an AWS endpoint between waves.
    cloudwatch_tenant_metrics: bool = False

    health_interval_seconds: int = 60
    probe_timeout_seconds: float = 2.0
    probe_concurrency: int = 50
    # Networks the endpoint probe may reach although they are not public (loopback, private,
    # link-local...): empty by default, so a tenant URL can never aim the worker at our own network.
    probe_allow_networks: tuple[Network, ...] = ()
    incident_threshold: int = 3
    raw_check_retention_days: int = 7
    slo_target: float = 0.999
    latency_slo_ms: int = 200

    scaling_dry_run: bool = False
    scaling_cooldown_minutes: int = 15
    scaling_max_step_acu: float = 8.0
    scaling_default_floor_acu: float = 0.5
    scaling_default_ceiling_acu: float = 64.0
    noisy_neighbour_factor: float = 10.0


    @property
    def embedded(self) -> bool:
        return self.database_url is None

    def check_app_settings(self) -> None:
        """What only the web app needs, checked when it starts (the CLI and the worker never sign a
        cookie, so they run without it): a shared CP_SESSION_SECRET when the catalog is reached
        through DATABASE_URL, since every app process must accept the cookies the others signed."""
        if self.session_secret is None and not self.embedded:
            raise ConfigError("Invalid configuration: CP_SESSION_SECRET is required when DATABASE_URL is set "
                              f"(at least {MIN_SESSION_SECRET} characters, the same for every app process; "
                              "e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        problems: list[str] = []
        reader = _Reader(env, problems)

        database_url = env.get("DATABASE_URL") or None
        if database_url is not None:
            database_url = _normalise_database_url(database_url, problems)
        demo_default = database_url is None
        settings = cls(
            database_url=database_url,
            data_dir=Path(env.get("CP_DATA_DIR") or ".data").resolve(),
            embedded_engine=reader.choice("CP_EMBEDDED_ENGINE", "auto", {"auto", "pgserver", "binaries"}),
            demo=reader.boolean("CP_DEMO", demo_default),
            demo_tenants=reader.integer("CP_DEMO_TENANTS", 300, minimum=0, maximum=5000),
            demo_months=reader.integer("CP_DEMO_MONTHS", 18, minimum=1, maximum=60),
            run_scheduler_in_app=reader.boolean("CP_RUN_SCHEDULER_IN_APP", demo_default),
            database_wait_seconds=reader.number("CP_DATABASE_WAIT_SECONDS", 30.0, minimum=0, maximum=600),
            session_ttl_minutes=reader.integer("CP_SESSION_TTL_MINUTES", 480, minimum=1),
            session_secret=reader.secret("CP_SESSION_SECRET", MIN_SESSION_SECRET),
            aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            aws_endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            archive_bucket=env.get("CP_ARCHIVE_BUCKET") or "control-plane-archives",
            archive_retention_days=reader.integer("CP_ARCHIVE_RETENTION_DAYS", 90, minimum=1),
            work_dir=Path(env["CP_WORK_DIR"]).resolve() if env.get("CP_WORK_DIR") else None,
            aws_connect_timeout_seconds=reader.number("CP_AWS_CONNECT_TIMEOUT_SECONDS", 5.0, minimum=0.1,
                                                      maximum=60),
            aws_read_timeout_seconds=reader.number("CP_AWS_READ_TIMEOUT_SECONDS", 10.0, minimum=0.1, maximum=300),
            aws_max_attempts=reader.integer("CP_AWS_MAX_ATTEMPTS", 3, minimum=1, maximum=10),
            sns_topic_arn=env.get("CP_SNS_TOPIC_ARN") or None,
            cloudwatch_namespace=env.get("CP_CLOUDWATCH_NAMESPACE") or "SaaS/Tenants",
            cloudwatch_tenant_dimension=env.get("CP_CLOUDWATCH_TENANT_DIMENSION") or "TenantId",
            cloudwatch_tenant_metrics=bool(env.get("CP_CLOUDWATCH_NAMESPACE")),
            health_interval_seconds=reader.integer("CP_HEALTH_INTERVAL_SECONDS", 60, minimum=5),
            probe_timeout_seconds=reader.number("CP_PROBE_TIMEOUT_SECONDS", 2.0, minimum=0.1),
            probe_concurrency=reader.integer("CP_PROBE_CONCURRENCY", 50, minimum=1, maximum=1000),
            probe_allow_networks=reader.networks("CP_PROBE_ALLOW_NETWORKS"),
            incident_threshold=reader.integer("CP_INCIDENT_THRESHOLD", 3, minimum=1),
            raw_check_retention_days=reader.integer("CP_RAW_CHECK_RETENTION_DAYS", 7, minimum=1),
            slo_target=reader.number("CP_SLO_TARGET", 0.999, minimum=0.5, maximum=0.99999),
            latency_slo_ms=reader.integer("CP_LATENCY_SLO_MS", 200, minimum=1),
            scaling_dry_run=reader.boolean("CP_SCALING_DRY_RUN", False),
            scaling_cooldown_minutes=reader.integer("CP_SCALING_COOLDOWN_MINUTES", 15, minimum=0),
            scaling_max_step_acu=reader.number("CP_SCALING_MAX_STEP_ACU", 8.0, minimum=0.5),
            scaling_default_floor_acu=reader.number("CP_SCALING_FLOOR_ACU", 0.5, minimum=0.5),
            scaling_default_ceiling_acu=reader.number("CP_SCALING_CEILING_ACU", 64.0, minimum=1, maximum=256),
            noisy_neighbour_factor=reader.number("CP_NOISY_NEIGHBOUR_FACTOR", 10.0, minimum=1.5),
        )
        if settings.scaling_default_floor_acu > settings.scaling_default_ceiling_acu:
            problems.append("CP_SCALING_FLOOR_ACU must not exceed CP_SCALING_CEILING_ACU")
        if problems:
            raise ConfigError("Invalid configuration: " + "; ".join(problems))
        return settings


def secret_weakness(value: str, minimum: int = MIN_SESSION_SECRET) -> str | None:
    """Why `value` cannot be a signing key (never quoting it), or None: shorter than `minimum`,
    fewer than MIN_SECRET_DISTINCT different characters, or one short piece repeated."""
    if len(value) < minimum:
        return f"got {len(value)} characters"
    if len(set(value)) < MIN_SECRET_DISTINCT:
        return f"got only {len(set(value))} different characters, at least {MIN_SECRET_DISTINCT} needed"
    if (value + value).find(value, 1) < len(value):
        return "got one piece repeated"
    return None


def _normalise_database_url(url: str, problems: list[str]) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    problems.append("DATABASE_URL must start with postgresql:// (e.g. postgresql://user:pass@host:5432/db)")
    return url


def libpq_url(sqlalchemy_url: str) -> str:
    """The form psycopg/libpq take of a URL in SQLAlchemy's form (`postgresql+psycopg://`)."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if sqlalchemy_url.startswith(prefix):
            return "postgresql://" + sqlalchemy_url[len(prefix):]
    return sqlalchemy_url


class _Reader:
    def __init__(self, env: dict[str, str], problems: list[str]) -> None:
        self.env = env
        self.problems = problems

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.env.get(name)
        if raw is None:
            return default
        value = raw.strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        self.problems.append(f"{name} must be true or false, got {raw!r}")
        return default

    def integer(self, name: str, default: int, minimum: int | None = None, maximum: int | None = None) -> int:
        raw = self.env.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problems.append(f"{name} must be a whole number, got {raw!r}")
            return default
        return self._bounded(name, value, default, minimum, maximum)

    def number(self, name: str, default: float, minimum: float | None = None, maximum: float | None = None) -> float:
        raw = self.env.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            value = float(raw)
        except ValueError:
            self.problems.append(f"{name} must be a number, got {raw!r}")
            return default
        return self._bounded(name, value, default, minimum, maximum)

    def networks(self, name: str) -> tuple[Network, ...]:
        try:
            return parse_networks(self.env.get(name) or "")
        except ValueError as exc:
            self.problems.append(f"{name}: {exc}")
            return ()

    def secret(self, name: str, minimum: int) -> str | None:
        """A signing key: unset or empty is None; a short or placeholder one is refused (never quoted)."""
        raw = (self.env.get(name) or "").strip()
        if not raw:
            return None
        weakness = secret_weakness(raw, minimum)
        if weakness is not None:
            self.problems.append(f"{name} must be a random string of at least {minimum} characters "
                                 f"({weakness})")
            return None
        return raw

    def choice(self, name: str, default: str, allowed: set[str]) -> str:
        raw = (self.env.get(name) or default).strip().lower()
        if raw not in allowed:
            self.problems.append(f"{name} must be one of {', '.join(sorted(allowed))}, got {raw!r}")
            return default
        return raw

    def _bounded(self, name, value, default, minimum, maximum):
        if minimum is not None and value < minimum:
            self.problems.append(f"{name} must be at least {minimum}, got {value}")
            return default
        if maximum is not None and value > maximum:
            self.problems.append(f"{name} must be at most {maximum}, got {value}")
            return default
        return value
