import pytest

from control_plane.auth.passwords import hash_password, verify_password
from control_plane.auth.permissions import GRANTS, Actor, Permission, Role
from control_plane.config import Settings
from control_plane.errors import ConfigError


def test_defaults_are_the_embedded_demo():
    s = Settings.from_env({})
    assert s.embedded and s.demo and s.run_scheduler_in_app
    assert s.incident_threshold == 3 and s.archive_retention_days == 90


def test_database_url_turns_demo_off_and_is_normalised():
    s = Settings.from_env({"DATABASE_URL": "postgres://u:p@db:5432/cp"})
    assert s.database_url == "postgresql+psycopg://u:p@db:5432/cp"
    assert not s.demo and not s.run_scheduler_in_app and not s.embedded


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"CP_INCIDENT_THRESHOLD": "zero", "CP_DEMO": "maybe", "DATABASE_URL": "mysql://x",
                           "CP_SCALING_FLOOR_ACU": "10", "CP_SCALING_CEILING_ACU": "2"})
    message = str(err.value)
    for name in ("CP_INCIDENT_THRESHOLD", "CP_DEMO", "DATABASE_URL", "CP_SCALING_FLOOR_ACU"):
        assert name in message


def test_role_grants_follow_the_design():
    support, founder, oncall = (Actor("x", r) for r in (Role.SUPPORT, Role.FOUNDER, Role.ONCALL))
    assert support.can(Permission.TENANTS_PROVISION) and support.can(Permission.TENANTS_SUSPEND)
    assert not support.can(Permission.TENANTS_ARCHIVE) and not support.can(Permission.USERS_MANAGE)
    assert not founder.can(Permission.TENANTS_SUSPEND) and founder.can(Permission.REVENUE_READ)
    assert not oncall.can(Permission.TENANTS_PROVISION) and oncall.can(Permission.JOBS_RUN)
    # on-call handles alerts and incidents (docs/runbook.md "Handling an item"); founders and support read them
    assert oncall.can(Permission.ALERTS_MANAGE) and oncall.can(Permission.INCIDENTS_MANAGE)
    handling = (Permission.ALERTS_MANAGE, Permission.INCIDENTS_MANAGE)
    assert not any(a.can(p) for a in (support, founder) for p in handling)
    assert GRANTS[Role.ADMIN] == frozenset(Permission)


def test_passwords_are_hashed_and_verified():
    digest = hash_password("s3cret")
    assert digest.startswith("$argon2id$") and "s3cret" not in digest
    assert verify_password(digest, "s3cret")
    assert not verify_password(digest, "wrong") and not verify_password(None, "s3cret")
