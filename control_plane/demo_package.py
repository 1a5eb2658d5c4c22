"""Whether this installation carries the demo: the seeder (control_plane/demo) and the simulated AWS
it starts (moto, requirements-demo.txt). The production image leaves both out (docs/operations.md
"Docker"), so demo mode there stops at start with one message instead of an ImportError later."""

from __future__ import annotations

import importlib.util

from control_plane.errors import ConfigError

PACKAGE = "control_plane.demo"
SIMULATED_AWS = "moto"


def installed(*, simulated_aws: bool = False) -> bool:
    modules = (PACKAGE, SIMULATED_AWS) if simulated_aws else (PACKAGE,)
    return all(importlib.util.find_spec(name) is not None for name in modules)


def require(what: str, *, simulated_aws: bool = False) -> None:
    if not installed(simulated_aws=simulated_aws):
        raise ConfigError(f"{what} needs the demo package (control_plane/demo and requirements-demo.txt), which "
                          "this installation leaves out (the production image): set DATABASE_URL and CP_DEMO=false, "
                          "or run the demo image (docker build --target demo).")
