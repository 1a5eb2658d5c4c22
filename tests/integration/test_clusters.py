"""`clusters add` / `clusters list` and `scaling decisions` through the CLI: validation with one-line
errors, the URL never stored, placement onto the new cluster."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from control_plane.db.models import Cluster, ScalingDecision
from control_plane.services import clusters
from control_plane.services.placement import choose_cluster
from tests.factories import make_tenant


def test_add_and_list(cli, ctx, database_url, monkeypatch):
    monkeypatch.setenv("CLUSTER_EU1_URL", database_url)
    code, out, err = cli("clusters", "add", "eu1", "--url-env", "CLUSTER_EU1_URL", "--acu-floor", "1",
                         "--acu-ceiling", "32", "--format", "json", "--no-verify")
    assert code == 0, err
    code, out, err = cli("clusters", "add", "eu2", "--url-env", "CLUSTER_EU1_URL", "--format", "json")
    assert code == 0, err  # verified: the URL in the variable connects
    code, out, _ = cli("clusters", "list", "--format", "json")
    listed = {c["name"]: c for c in json.loads(out)}
    assert set(listed) == {"default", "eu1", "eu2"}
    assert listed["default"]["is_catalog"] is True
    assert (listed["eu1"]["acu_floor"], listed["eu1"]["acu_ceiling"], listed["eu1"]["url_env"]) == (1.0, 32.0,
                                                                                                   "CLUSTER_EU1_URL")
    assert listed["eu2"]["acu_ceiling"] == ctx.settings.scaling_default_ceiling_acu
    with ctx.session_factory() as session:
        stored = [str(v) for row in session.execute(select(Cluster.__table__)).all() for v in row]
    assert not any(database_url in v or "host=" in v for v in stored)  # the URL itself is never stored


@pytest.mark.parametrize(("argv", "message"), [
    (["Bad Name", "--url-env", "X_URL"], "Invalid cluster name"),
    (["eu3", "--url-env", "postgresql://u:p@h/db"], "must name an environment variable"),
    (["eu3", "--url-env", "X_URL", "--acu-floor", "8", "--acu-ceiling", "4"], "must not exceed"),
    (["eu3", "--url-env", "X_URL", "--acu-ceiling", "300"], "between 0.5 and 256"),
    (["eu3", "--url-env", "X_URL", "--acu-floor", "0.7"], "steps of 0.5"),
    (["eu3", "--url-env", "CP_TEST_CLUSTER_NOT_SET"], "is not set"),
    (["default", "--url-env", "X_URL", "--no-verify"], "already registered"),
])
def test_bad_input_is_one_line(cli, argv, message):
    code, _, err = cli("clusters", "add", *argv)
    assert code != 0 and message in err and err.count("\n") == 1 and "Traceback" not in err


def test_placement_prefers_the_emptier_cluster(ctx, admin, new_slug, database_url, monkeypatch):
    monkeypatch.setenv("CLUSTER_BIG_URL", database_url)
    make_tenant(ctx, new_slug())
    clusters.add_cluster(ctx, admin, "big", "CLUSTER_BIG_URL", capacity_weight=4, verify=False)
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
