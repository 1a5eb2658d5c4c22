"""pgserver reads platformdirs' user runtime directory when it is imported, which prints a
RuntimeDirWarning on stderr when XDG_RUNTIME_DIR is unset (two lines on every CLI command before
docs/cli.md "Command line" said otherwise). control_plane/db/embedded.py finds pgserver's binaries
without importing it, and names a private runtime folder when it does import it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from control_plane.db import embedded

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env.update(TMPDIR=str(tmp_path), PYTHONPATH=str(ROOT))  # the runtime folder lands in tmp_path
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=60, check=False)


def test_a_plain_pgserver_import_warns_without_xdg_runtime_dir(tmp_path):
    """The source of the warning, shown: what the embedded module must not do."""
    done = _python("import pgserver", tmp_path)
    assert done.returncode == 0 and "RuntimeDirWarning" in done.stderr


def test_pgserver_imported_through_the_embedded_module_prints_nothing(tmp_path):
    done = _python(
        "import os\n"
        "from control_plane.db import embedded\n"
        "with embedded._runtime_dir_for_pgserver():\n"
        "    import pgserver\n"
        "print(pgserver.PostgresServer.runtime_path)\n"
        "print(os.environ.get('XDG_RUNTIME_DIR'))\n", tmp_path)
    assert done.returncode == 0 and done.stderr == ""
    runtime_path, xdg = done.stdout.splitlines()
    folder = tmp_path / f"control-plane-runtime-{os.geteuid()}"
    assert Path(runtime_path) == folder / "python_PostgresServer"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert xdg == "None"  # not left behind for the server or other children


def test_a_planted_symlink_is_not_followed(tmp_path):
    """Someone else's link at the folder's name: its target's mode is left alone, and platformdirs
    refuses the folder (with its warning) instead of using it."""
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o755)
    target.chmod(0o755)
    (tmp_path / f"control-plane-runtime-{os.geteuid()}").symlink_to(target)
    done = _python("from control_plane.db import embedded\n"
                   "with embedded._runtime_dir_for_pgserver():\n"
                   "    import pgserver\n"
                   "print(pgserver.PostgresServer.runtime_path)\n", tmp_path)
    assert done.returncode == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    assert str(tmp_path / f"control-plane-runtime-{os.geteuid()}") not in done.stdout
    assert "symlink" in done.stderr


def test_the_binaries_folder_is_found_without_importing_pgserver(tmp_path):
    done = _python("import sys\n"
                   "from control_plane.db import embedded\n"
                   "print(embedded.pgserver_bin_dir())\n"
                   "print('pgserver' in sys.modules)\n", tmp_path)
    assert done.returncode == 0 and done.stderr == ""
    found, imported = done.stdout.splitlines()
    assert imported == "False"
    from pgserver._commands import POSTGRES_BIN_PATH

    assert Path(found) == Path(POSTGRES_BIN_PATH) == embedded.pgserver_bin_dir()
