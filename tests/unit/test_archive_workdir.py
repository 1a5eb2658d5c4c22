"""Archive work folders are private, and the folders of dead processes are removed (docs/operations.md
"Archive, restore, purge"); the PostgreSQL tools die with the process that started them."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time

import psutil
import pytest

from control_plane.archive import workdir
from control_plane.errors import ConfigError


def mode(path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_work_folders_are_private_and_removed_after_use(tmp_path):
    parent = tmp_path / "work"
    parent.mkdir(mode=0o755)
    with workdir.work_folder(parent, "restore") as folder:
        assert mode(parent) == 0o700 and mode(folder) == 0o700
        assert folder.name.startswith(f"cp-restore-{os.getpid()}-")
        (folder / "tenant.dump").write_bytes(b"secret rows")
    assert list(parent.iterdir()) == []


def test_a_parent_that_is_not_ours_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "link"
    link.symlink_to(elsewhere)
    with pytest.raises(ConfigError, match="not a folder owned by this user"):
        workdir.ensure_parent(link)
    if os.getuid() == 0:  # as root, a folder handed to another user shows the ownership check too
        foreign = tmp_path / "foreign"
        foreign.mkdir(mode=0o700)
        os.chown(foreign, 4242, 4242)
        with pytest.raises(ConfigError, match="CP_WORK_DIR"):
            workdir.ensure_parent(foreign)


def test_only_folders_of_processes_that_are_gone_are_removed(tmp_path):
    me = os.getpid()
    started = int(psutil.Process(me).create_time())
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
    dead = int(finished.stdout)
    names = {
        f"cp-archive-{dead}-{started}-a": True,            # its process has exited
        f"cp-restore-{me}-{started - 3600}-b": True,       # the pid lives on in another process
        f"cp-archive-{me}-{started}-c": False,             # ours, still running
        "cp-archive-notapid-x": False,                     # not ours to judge
        "unrelated": False,
    }
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / "tenant.dump").write_bytes(b"rows")

    removed = {p.name for p in workdir.clean_stale(tmp_path)}

    assert removed == {name for name, stale in names.items() if stale}
    assert {p.name for p in tmp_path.iterdir()} == {name for name, stale in names.items() if not stale}


CHILD = """
import subprocess, sys, time
from control_plane.archive import pgtools
child = pgtools.popen(["sleep", "300"], {})
print(child.pid, flush=True)
time.sleep(300)
"""


def test_tools_die_with_the_process_that_started_them():
    parent = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True,
                              cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    child = None
    try:
        child = int(parent.stdout.readline())
        assert psutil.pid_exists(child)
        parent.kill()  # SIGKILL: no handler, no atexit
        parent.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if psutil.Process(child).status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.02)
        else:
            raise AssertionError("the child outlived its parent")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if child is not None and psutil.pid_exists(child):
            try:
                psutil.Process(child).kill()
            except psutil.NoSuchProcess:
                pass
