"""Private work folders for dumps on their way to and from S3.

A dump holds a whole tenant's data unencrypted, so it lives only in `cp-archive-*` /
`cp-restore-*` folders (mode 0700) under one parent folder (`CP_WORK_DIR`, by default
`<system temp>/control-plane-<uid>`, also 0700 and ours). A folder's name carries the pid and
start time of the process that made it; a process that dies without cleaning up (kill -9, OOM,
power) leaves its folder behind, and the next archive, restore or purge run removes every folder
whose process is gone. A pid that was reused by another process does not keep a folder alive: the
start time must match too.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

from control_plane.errors import ConfigError

KINDS = ("archive", "restore", "backup")
_NAME = re.compile(r"^cp-(archive|restore|backup)-(\d+)-(\d+)-")


def default_parent() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else os.getpid()
    return Path(tempfile.gettempdir()) / f"control-plane-{uid}"


def ensure_parent(parent: Path) -> Path:
    """Create the parent folder 0700, or check that an existing one is a real folder of ours.

    Another user of a shared /tmp could create the folder first (or a symlink) and read our dumps,
    so anything not owned by us is refused rather than used."""
    parent = Path(parent)
    try:
        parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = parent.lstat()
    except OSError as exc:
        raise ConfigError(f"Cannot use {parent} for archive work folders ({exc.strerror}); set CP_WORK_DIR "
                          "to a folder this user can write.") from exc
    if not stat.S_ISDIR(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
        raise ConfigError(f"{parent} is not a folder owned by this user, so tenant dumps cannot be kept "
                          "private there; remove it or set CP_WORK_DIR to another folder.")
    if stat.S_IMODE(info.st_mode) != 0o700:
        parent.chmod(0o700)  # our own folder: only its own mode changes, never an ancestor's
    return parent


def _started(pid: int) -> int | None:
    """When process `pid` started, in whole seconds since the epoch; None when there is none."""
    try:
        return int(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    except psutil.AccessDenied:
        return -1  # alive but not ours to inspect: treat as alive


def _alive(pid: int, started: int) -> bool:
    now = _started(pid)
    return now == -1 or (now is not None and abs(now - started) <= 1)


def clean_stale(parent: Path) -> list[Path]:
    """Remove the work folders of processes that no longer run; returns what was removed."""
    removed: list[Path] = []
    try:
        entries = list(Path(parent).iterdir())
    except FileNotFoundError:
        return removed
    for entry in entries:
        match = _NAME.match(entry.name)
        if not match or entry.is_symlink() or not entry.is_dir():
            continue
        if _alive(int(match.group(2)), int(match.group(3))):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        if not entry.exists():
            removed.append(entry)
    return removed


@contextmanager
def work_folder(parent: Path, kind: str) -> Iterator[Path]:
    """A fresh private folder for one archive or restore, removed when the block ends."""
    if kind not in KINDS:
        raise ValueError(kind)
    parent = ensure_parent(parent)
    clean_stale(parent)
    me = os.getpid()
    folder = Path(tempfile.mkdtemp(prefix=f"cp-{kind}-{me}-{_started(me)}-", dir=parent))  # mkdtemp: 0700
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
