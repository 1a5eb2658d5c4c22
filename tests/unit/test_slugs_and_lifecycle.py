import pytest

from control_plane.domain.lifecycle import Status, can_transition, require_transition
from control_plane.domain.slugs import role_name, schema_name, validate_slug
from control_plane.errors import Conflict, InvalidInput


@pytest.mark.parametrize("slug", ["ab", "acme", "acme_corp", "a1", "x" * 40, "z_9_"])
def test_valid_slugs(slug):
    assert validate_slug(slug) == slug
    assert schema_name(slug) == role_name(slug) == f"tenant_{slug}"


@pytest.mark.parametrize("slug", [
    "", "a", "1abc", "_abc", "Acme", "acme-corp", "acme corp", "x" * 41, "acme;drop", 'a"b', "ä_b",
    "acme\n", None, 42,
])
def test_malformed_slugs_are_refused(slug):
    with pytest.raises(InvalidInput):
        validate_slug(slug)


@pytest.mark.parametrize("slug", ["public", "information_schema", "control_plane", "pg_catalog", "pg_x", "postgres"])
def test_reserved_slugs_are_refused(slug):
    with pytest.raises(InvalidInput, match=r"reserved|Invalid"):
        validate_slug(slug)


def test_lifecycle_graph():
    assert can_transition(Status.PROVISIONING, Status.ACTIVE)
    assert can_transition("active", "suspended") and can_transition("suspended", "active")
    assert can_transition("archived", "active")  # restore
    assert not can_transition("provisioning", "suspended")
    assert not can_transition("archived", "suspended")
    assert not can_transition("purged", "active")
    with pytest.raises(Conflict, match="Cannot suspend tenant 'acme': it is archived"):
        require_transition("acme", "archived", "suspended", "suspend")
