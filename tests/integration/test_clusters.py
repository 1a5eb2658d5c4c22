"""`clusters add` / `clusters list` and `scaling decisions` through the CLI: validation with one-line
errors, the URL never stored, placement onto the new cluster."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from control_plane.db.models import Cluster, ScalingDecision
from control_plane.errors import InvalidInput
from control_plane.services import clusters
from control_plane.services.placement import choose_cluster
from tests.factories import make_tenant


def test_add_and_list(cli, ctx, database_url, monkeypatch):
    monkeypatch.setenv("CP_CLUSTER_URL_EU1", database_url)
    code, out, err = cli("clusters", "add", "eu1", "--url-env", "CP_CLUSTER_URL_EU1", "--acu-floor", "1",
                         "--acu-ceiling", "32", "--format", "json", "--no-verify")
    assert code == 0, err
    code, out, err = cli("clusters", "add", "eu2", "--url-env", "CP_CLUSTER_URL_EU1", "--format", "json")
    assert code == 0, err  # verified: the URL in the variable connects
    code, out, _ = cli("clusters", "list", "--format", "json")
    listed = {c["name"]: c for c in json.loads(out)}
    assert set(listed) == {"default", "eu1", "eu2"}
    assert listed["default"]["is_catalog"] is True
    assert (listed["eu1"]["acu_floor"], listed["eu1"]["acu_ceiling"], listed["eu1"]["url_env"]) == (1.0, 32.0,
                                                                                                   "CP_CLUSTER_URL_EU1")
    assert listed["eu2"]["acu_ceiling"] == ctx.settings.scaling_default_ceiling_acu
    with ctx.session_factory() as session:
        stored = [str(v) for row in session.execute(select(Cluster.__table__)).all() for v in row]
    assert not any(database_url in v or "host=" in v for v in stored)  # the URL itself is never stored


@pytest.mark.parametrize(("argv", "message"), [
    (["Bad Name", "--url-env", "CP_CLUSTER_URL_X"], "Invalid cluster name"),
    (["eu3", "--url-env", "postgresql://u:p@h/db"], "must be DATABASE_URL or a variable named CP_CLUSTER_URL_"),
    (["eu3", "--url-env", "CP_CLUSTER_URL_X", "--acu-floor", "8", "--acu-ceiling", "4"], "must not exceed"),
    (["eu3", "--url-env", "CP_CLUSTER_URL_X", "--acu-ceiling", "300"], "between 0.5 and 256"),
    (["eu3", "--url-env", "CP_CLUSTER_URL_X", "--acu-floor", "0.7"], "steps of 0.5"),
    (["eu3", "--url-env", "CP_CLUSTER_URL_NOT_SET"], "is not set"),
    (["default", "--url-env", "CP_CLUSTER_URL_X", "--no-verify"], "already registered"),
])
def test_bad_input_is_one_line(cli, argv, message):
    code, _, err = cli("clusters", "add", *argv)
    assert code != 0 and message in err and err.count("\n") == 1 and "Traceback" not in err


# Names that are not cluster URL variables (docs/operations.md "Clusters"): another secret of the process,
# ordinary variables, near misses of the contract.
NOT_CLUSTER_URLS = ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "CP_DATA_PLANE_PASSWORD", "HOME", "PATH",
                    "CP_CLUSTER_URL_", "cp_cluster_url_eu1", "CP_CLUSTER_URLS", "XCP_CLUSTER_URL_EU1",
                    "DATABASE_URL_2", "CP_CLUSTER_URL_EU-1", "CP_CLUSTER_URL_EU1\nX", "CP_CLUSTER_URL_" + "A" * 200,
                    "", " "]


@pytest.mark.parametrize("name", NOT_CLUSTER_URLS)
def test_url_env_must_be_a_cluster_url_variable(cli, ctx, monkeypatch, name):
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    if name.strip() and "\n" not in name:
        monkeypatch.setenv(name, secret)
    code, out, err = cli("clusters", "add", "eu9", "--url-env", name)
    assert code == 2 and err.count("\n") == 1 and "CP_CLUSTER_URL_<NAME>" in err, err
    assert secret not in out + err
    with ctx.session_factory() as session:
        assert session.get(Cluster, "eu9") is None


@pytest.mark.parametrize("name", ["AWS_SECRET_ACCESS_KEY", "CLUSTER_EU1_URL", "CP_CLUSTER_URL_"])
def test_service_refuses_other_variables(ctx, admin, name):
    """The same rule without the CLI (the service is what every entry point calls)."""
    with pytest.raises(InvalidInput, match="CP_CLUSTER_URL_"):
        clusters.add_cluster(ctx, admin, "eu9", name, verify=False)


@pytest.mark.parametrize("name", ["DATABASE_URL", "CP_CLUSTER_URL_EU1", "CP_CLUSTER_URL_2"])
def test_cluster_url_variables_are_accepted(ctx, admin, name):
    assert clusters.add_cluster(ctx, admin, "eu9", name, verify=False).url_env == name


def test_a_malformed_url_never_reaches_output_or_logs(cli, ctx, monkeypatch, caplog):
    """A cluster variable holding something that is not a URL (here an AWS secret pasted by
    mistake): the error names the variable, never the value or a piece of it."""
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    monkeypatch.setenv("CP_CLUSTER_URL_BAD", secret)
    caplog.set_level("DEBUG")
    code, out, err = cli("clusters", "add", "bad", "--url-env", "CP_CLUSTER_URL_BAD")
    assert code == 6 and "CP_CLUSTER_URL_BAD" in err and err.count("\n") == 1, err
    for fragment in (secret, "wJalrXUtnFEMI", "EXAMPLEKEY"):
        assert fragment not in out + err + caplog.text


def test_placement_prefers_the_emptier_cluster(ctx, admin, new_slug, database_url, monkeypatch):
    monkeypatch.setenv("CP_CLUSTER_URL_BIG", database_url)
    make_tenant(ctx, new_slug())
    clusters.add_cluster(ctx, admin, "big", "CP_CLUSTER_URL_BIG", capacity_weight=4, verify=False)
    with ctx.session_factory() as session:
        assert choose_cluster(session).name == "big"


def test_scaling_decisions_json(cli, ctx):
    with ctx.session_factory() as session:
        session.add(ScalingDecision(cluster_name="default", aurora_cluster_id="a-1", action="scale_up",
                                    outcome="applied", current_max_acu=4, new_max_acu=8, reason="busy",
                                    inputs={"util_min_15m": 91.0}))
        session.commit()
    code, out, err = cli("scaling", "decisions", "--format", "json")
    assert code == 0, err
    [row] = json.loads(out)
    assert (row["cluster"], row["action"], row["outcome"], row["new_max_acu"]) == ("default", "scale_up",
                                                                                   "applied", 8.0)
    assert row["inputs"] == {"util_min_15m": 91.0}
    code, _, err = cli("scaling", "decisions", "--since", "yesterday")
    assert code == 2 and "ISO" in err
