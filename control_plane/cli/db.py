"""`db upgrade`: create or upgrade the catalog (idempotent)."""

from __future__ import annotations

from control_plane.cli.common import context


def register(groups) -> None:
    group = groups.add_parser("db", help="catalog database")
    commands = group.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=type(group))
    upgrade = commands.add_parser("upgrade", help="create or upgrade the catalog schema (idempotent)")
    upgrade.set_defaults(func=_upgrade)


def _upgrade(args) -> int:
    from control_plane.db.migrate import current_revision

    ctx = context()  # bootstrap runs the migrations
    print(f"catalog at revision {current_revision(ctx.engine)}")
    return 0
