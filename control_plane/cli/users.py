"""`users add NAME --role founder|support|oncall|admin`."""

from __future__ import annotations

import getpass
import sys

from control_plane.cli.common import actor, add_actor, context
from control_plane.errors import InvalidInput

# The handler imports the users service (argon2) when it runs (a fast start: control_plane/cli/__init__.py).


def register(groups) -> None:
    group = groups.add_parser("users", help="accounts that sign in to the app")
    commands = group.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=type(group))
    p = commands.add_parser("add", help="add an account (password from --password-stdin or a prompt)")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=["founder", "support", "oncall", "admin"])
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--no-password", action="store_true", help="OIDC-only account, no local password")
    p.add_argument("--display-name")
    p.add_argument("--email")
    add_actor(p)
    p.set_defaults(func=_add)


def _add(args) -> int:
    from control_plane.services import users as service

    password: str | None
    if args.no_password:
        password = None
    elif args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = getpass.getpass(f"Password for {args.name}: ")
        if getpass.getpass("Repeat: ") != password:
            raise InvalidInput("The passwords differ.")
    else:
        raise InvalidInput("No terminal to ask for a password: use --password-stdin or --no-password.")
    user = service.add_user(context(), actor(args), args.name, args.role, password,
                            display_name=args.display_name, email=args.email)
    print(f"added {user.username} ({user.role})")
    return 0
