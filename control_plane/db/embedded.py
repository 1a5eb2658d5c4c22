"""The embedded default: a PostgreSQL server of our own under the data directory.

Preference order: the `pgserver` wheel (bundles PostgreSQL 16), then the PostgreSQL binaries on
the machine (`initdb`/`pg_ctl`, run as an unprivileged user when we are root), else a clear error
that tells the operator to set DATABASE_URL. Several processes started on the same data directory
share one server: whoever finds it running just connects.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from control_plane.errors import DatabaseUnavailable

DATABASE_NAME = "control_plane"
_UNAVAILABLE = (
    "No DATABASE_URL is set and no embedded PostgreSQL could be started ({why}). Either install "
    "the dependencies with `pip install -r requirements.txt` on CPython 3.11/3.12 (Linux x86_64 "
    "or macOS arm64, which brings the `pgserver` wheel) or install PostgreSQL so that `initdb` and "
    "`pg_ctl` are found, or point the app at an existing database with "
    "DATABASE_URL=postgresql://USER:PASSWORD@HOST:5432/DBNAME."
)


@dataclass(frozen=True)
class EmbeddedServer:
    """Where a running embedded server can be reached, and how to stop it."""

    engine: str
    socket_dir: Path
    port: int
    bin_dir: Path
    handle: object | None = None

    def url(self, database: str = DATABASE_NAME) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}&port={self.port}"

    def stop(self) -> None:
        if self.engine == "pgserver" and self.handle is not None:
            self.handle.cleanup()  # stops only when no other process still uses it
        elif self.engine == "binaries":
            pg_ctl = str(self.bin_dir / "pg_ctl")
            _run_as_owner(self.socket_dir, [pg_ctl, "-D", str(self.socket_dir), "-m", "fast", "-w", "stop"])


def start(data_dir: Path, engine: str = "auto") -> EmbeddedServer:
    """Start (or attach to) the server under `data_dir/pg` and ensure our database exists."""
    pgdata = (data_dir / "pg").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    reasons: list[str] = []
    if engine in ("auto", "pgserver"):
        try:
            server = _start_pgserver(pgdata)
        except ImportError:
            reasons.append("the pgserver wheel is not installed")
        else:
            _ensure_database(server)
            return server
        if engine == "pgserver":
            raise DatabaseUnavailable(_UNAVAILABLE.format(why="; ".join(reasons)))
    bin_dir = find_postgres_binaries()
    if bin_dir is None:
        reasons.append("no initdb/pg_ctl found on PATH or under /usr/lib/postgresql")
        raise DatabaseUnavailable(_UNAVAILABLE.format(why="; ".join(reasons)))
    server = _start_binaries(pgdata, bin_dir)
    _ensure_database(server)
    return server


def _start_pgserver(pgdata: Path) -> EmbeddedServer:
    import pgserver
    from pgserver._commands import POSTGRES_BIN_PATH

    handle = pgserver.get_server(pgdata, cleanup_mode="stop")
    info = handle.get_postmaster_info()
    return EmbeddedServer(
        engine="pgserver",
        socket_dir=Path(info.socket_dir),
        port=int(info.port or 5432),
        bin_dir=Path(POSTGRES_BIN_PATH),
        handle=handle,
    )


def find_postgres_binaries() -> Path | None:
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    for candidate in machine_bin_dirs():
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    return None


def machine_bin_dirs() -> list[Path]:
    """Debian-style /usr/lib/postgresql/<major>/bin folders, newest major first."""
    return sorted((Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")), key=_major, reverse=True)


def _major(bin_dir: Path) -> int:
    try:
        return int(bin_dir.parent.name)
    except ValueError:
        return 0


def _start_binaries(pgdata: Path, bin_dir: Path) -> EmbeddedServer:
    owner = _server_user()
    if not (pgdata / "PG_VERSION").exists():
        pgdata.mkdir(parents=True, exist_ok=True)
        if owner is not None:
            _open_parents(pgdata)
            shutil.chown(pgdata, owner.pw_uid, owner.pw_gid)
        pgdata.chmod(0o700)
        _run_as_owner(pgdata, [str(bin_dir / "initdb"), "-D", str(pgdata), "-U", "postgres",
                               "--auth=trust", "--encoding=UTF8", "--no-instructions"])
        with open(pgdata / "postgresql.conf", "a") as conf:
            conf.write("\n# control plane embedded defaults\nlisten_addresses = ''\n"
                       f"unix_socket_directories = '{pgdata}'\nport = 5432\nmax_connections = 200\n")
    status = subprocess.run([str(bin_dir / "pg_ctl"), "-D", str(pgdata), "status"],
                            capture_output=True, text=True, user=_uid_or_none(owner), check=False)
    if status.returncode != 0:
        result = _run_as_owner(pgdata, [str(bin_dir / "pg_ctl"), "-D", str(pgdata), "-l",
                                        str(pgdata / "server.log"), "-w", "-t", "60", "start"], check=False)
        if result.returncode != 0 and not _socket_ready(pgdata):
            log_tail = _tail(pgdata / "server.log")
            raise DatabaseUnavailable(f"Embedded PostgreSQL did not start: {log_tail}")
    _wait_for_socket(pgdata)
    return EmbeddedServer(engine="binaries", socket_dir=pgdata, port=5432, bin_dir=bin_dir)


def _server_user() -> pwd.struct_passwd | None:
    """initdb refuses root: use the `postgres` account (or create one) when we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "cpostgres"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "cpostgres"], check=True)
    return pwd.getpwnam("cpostgres")


def _uid_or_none(owner: pwd.struct_passwd | None) -> int | None:
    return owner.pw_uid if owner is not None else None


def _run_as_owner(pgdata: Path, argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
    owner = _server_user() if os.geteuid() == 0 else None
    kwargs = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []} if owner else {}
    result = subprocess.run(argv, capture_output=True, text=True, cwd="/", check=False, **kwargs)
    if check and result.returncode != 0:
        raise DatabaseUnavailable(f"{Path(argv[0]).name} failed: {(result.stderr or result.stdout).strip()[:400]}")
    return result


def _open_parents(path: Path) -> None:
    """The server user must be able to traverse to its data directory."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


def _socket_ready(pgdata: Path) -> bool:
    return (pgdata / ".s.PGSQL.5432").exists()


def _wait_for_socket(pgdata: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not _socket_ready(pgdata):
        if time.monotonic() > deadline:
            raise DatabaseUnavailable(f"Embedded PostgreSQL socket did not appear in {pgdata}")
        time.sleep(0.05)


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text().strip().splitlines()[-lines:])
    except OSError:
        return "no server log"


def _ensure_database(server: EmbeddedServer) -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            conn = psycopg.connect(host=str(server.socket_dir), port=server.port, user="postgres",
                                   dbname="postgres", autocommit=True)
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    with conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)).fetchone()
        if not exists:
            try:
                conn.execute("CREATE DATABASE control_plane")
            except psycopg.errors.DuplicateDatabase:
                pass  # another process won the race

