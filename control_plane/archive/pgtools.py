"""pg_dump / pg_restore / psql matching the server's major version.

pg_dump refuses a newer server, so the tools are chosen per server: the embedded server's own
binaries first, then the pgserver wheel's, then PATH, then /usr/lib/postgresql/*/bin (newest
first). An exact major version match is preferred; a newer client also works.

Every tool is started so that it dies with us: on Linux the kernel sends it SIGKILL when the
thread that started it goes away (prctl PR_SET_PDEATHSIG), so a `kill -9` of the CLI or the worker
never leaves a pg_dump writing tenant data into a work folder nobody will clean. Callers wait for
their tools in the thread that started them, which is what PDEATHSIG needs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from control_plane.db.embedded import machine_bin_dirs, pgserver_bin_dir
from control_plane.errors import ConfigError, ExternalServiceError

TOOLS = ("pg_dump", "pg_restore", "psql")


def candidate_dirs(preferred: Path | None = None) -> list[Path]:
    dirs: list[Path] = []
    if preferred is not None:
        dirs.append(Path(preferred))
    try:
        dirs.append(pgserver_bin_dir())  # without importing pgserver (no RuntimeDirWarning)
    except ImportError:
        pass
    on_path = shutil.which("pg_dump")
    if on_path:
        dirs.append(Path(on_path).parent)
    dirs += machine_bin_dirs()
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


@functools.lru_cache(maxsize=64)
def tool_major(path: Path) -> int | None:
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return None
    match = re.search(r"\)\s+(\d+)", out.stdout)
    return int(match.group(1)) if match else None


@functools.lru_cache(maxsize=32)
def _find(name: str, server_major: int, dirs: tuple[Path, ...]) -> Path:
    newer: list[tuple[int, Path]] = []
    seen: list[str] = []
    for d in dirs:
        path = d / name
        if not path.exists():
            continue
        major = tool_major(path)
        seen.append(f"{path} ({major})")
        if major == server_major:
            return path
        if major is not None and major > server_major:
            newer.append((major, path))
    if newer:
        return min(newer)[1]
    raise ConfigError(f"No {name} for PostgreSQL {server_major} found (looked at: {', '.join(seen) or 'nothing'}). "
                      f"Install the PostgreSQL {server_major} client tools so that {name} is on PATH.")


def find_tool(name: str, server_major: int, preferred: Path | None = None) -> Path:
    return _find(name, server_major, tuple(candidate_dirs(preferred)))


def connection_args(url: str) -> tuple[str, dict[str, str]]:
    """A conninfo for the tools' --dbname without the password, which goes in PGPASSWORD instead
    (command lines are visible to every user of the machine)."""
    params = conninfo_to_dict(url)
    env = dict(os.environ)
    password = params.pop("password", None)
    if password:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**{k: str(v) for k, v in params.items()}), env


_PR_SET_PDEATHSIG = 1


@functools.lru_cache(maxsize=1)
def _prctl() -> Callable[..., int] | None:
    """libc's prctl, loaded before any fork (nothing may be loaded between fork and exec)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn that makes the child get SIGKILL when its parent dies; None off Linux."""
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect: nobody would wait for us
            os._exit(1)

    return hook


def popen(argv: list[str], env: dict[str, str], **kwargs: Any) -> subprocess.Popen:
    """subprocess.Popen for a PostgreSQL tool, tied to our life (see the module docstring)."""
    # preexec_fn is only unsafe with threads when the hook takes locks or imports; ours calls a
    # prctl pointer resolved before the fork, and getppid.
    return subprocess.Popen(argv, env=env, preexec_fn=die_with_parent(), **kwargs)  # noqa: PLW1509


def run(argv: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, env=env, check=False,
                            preexec_fn=die_with_parent())
    if result.returncode != 0:
        err = result.stderr.decode(errors="replace").strip().splitlines()
        raise ExternalServiceError(f"{what} failed: {' | '.join(err[-3:]) or f'exit code {result.returncode}'}")
    return result
