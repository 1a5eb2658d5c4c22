"""The embedded default: a PostgreSQL server of our own under the data directory.

Preference order: the `pgserver` wheel (bundles PostgreSQL 16), then the PostgreSQL binaries on
the machine (`initdb`/`pg_ctl`, run as an unprivileged user when we are root), else a clear error
that tells the operator to set DATABASE_URL. Several processes started on the same data directory
share one server: whoever finds it running just connects.

Permissions: nothing outside the data directory is ever chmod-ed. As root, the server runs as an
unprivileged system user that must be able to traverse every folder above the data directory;
when it cannot, starting fails with a message saying what is needed (docs/troubleshooting.md).
pgserver, run as root, opens g+rx,o+rx on every parent of its data and binaries, so as root it is
used only when that would change nothing; otherwise the machine's binaries are used.

Logical replication (docs/operations.md "Embedded default"): every embedded server runs with the settings in
LOGICAL_REPLICATION, so tenants can be moved online between two of them. A server that lacks them
(a data directory made before, or pgserver's fresh initdb, which we cannot configure before its
first start) gets them by ALTER SYSTEM and one restart; when that restart is not ours to make,
the log says what to run.
"""

from __future__ import annotations

import fcntl
import glob
import importlib.util
import logging
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from control_plane.errors import ConfigError, DatabaseUnavailable

log = logging.getLogger(__name__)

DATABASE_NAME = "control_plane"
# The default cluster's tenant schemas live beside the catalog, not in it (docs/operations.md "The
# default cluster"): a dump of one never locks the other's tables.
TENANT_DATABASE_NAME = "control_plane_tenants"
PGDATA_NAME = "pg"  # the catalog's server; a second local server uses another name under the same data dir
# What logical replication between two servers on one machine needs (docs/operations.md "Embedded default"):
# wal_level, slots and senders on the source; workers on the target for the apply and the table
# syncs of several moves at once (each takes one apply worker and up to two sync workers).
LOGICAL_REPLICATION = {
    "wal_level": "logical",
    "max_replication_slots": "20",
    "max_wal_senders": "20",
    "max_logical_replication_workers": "16",
    "max_worker_processes": "32",
}
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
    pgdata: Path | None = None

    @property
    def log_file(self) -> Path | None:
        """Where the server writes its log (stderr, no logging collector): pg_ctl's -l file."""
        if self.pgdata is None:
            return None
        return self.pgdata / ("log" if self.engine == "pgserver" else "server.log")

    def url(self, database: str = DATABASE_NAME) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}&port={self.port}"

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; `mode` is pg_ctl's (`immediate` is a crash, for fault tests) and
        applies to the binaries engine."""
        if self.engine == "pgserver" and self.handle is not None:
            self.handle.cleanup()  # stops only when no other process still uses it
        elif self.engine == "binaries":
            pg_ctl = str(self.bin_dir / "pg_ctl")
            _run_as_owner(self.socket_dir, [pg_ctl, "-D", str(self.socket_dir), "-m", mode, "-w", "stop"])


def pgdata_of(data_dir: Path, name: str = PGDATA_NAME) -> Path:
    """The server's data folder under the data directory, whichever engine made it."""
    return (data_dir / name).resolve()


def running_server(data_dir: Path, name: str = PGDATA_NAME) -> tuple[Path, int] | None:
    """(socket folder, port) of a server already up under `data_dir`, read from PostgreSQL's
    postmaster.pid (line 1 pid, 4 port, 5 socket folder, 8 status) without importing pgserver or
    running pg_ctl; None when there is none, it is not ready, or anything is off (the caller then
    takes `start`, which starts or attaches properly). A stale file whose pid was reused fails
    at connect, which the caller treats the same way."""
    try:
        lines = (pgdata_of(data_dir, name) / "postmaster.pid").read_text(encoding="utf-8").splitlines()
        pid, port, socket_dir = int(lines[0]), int(lines[3]), Path(lines[4].strip())
        ready = lines[7].strip() == "ready"
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return None
    if not ready or pid <= 0 or not socket_dir.is_absolute() or not (socket_dir / f".s.PGSQL.{port}").exists():
        return None
    try:
        os.kill(pid, 0)
    except PermissionError:
        pass  # alive, owned by the server's user (we are not root)
    except OSError:
        return None
    return socket_dir, port


def start(data_dir: Path, engine: str = "auto", *, name: str = PGDATA_NAME,
          settings: Mapping[str, str] | None = None) -> EmbeddedServer:
    """Start (or attach to) the server under `data_dir/name`, with logical replication on, and
    ensure our database exists. Servers under different names are independent: each has its
    own socket folder (its data folder), so all of them listen on port 5432 side by side.
    `settings`: more server settings, kept like LOGICAL_REPLICATION (tests start a server with
    statement logging and pg_stat_statements this way)."""
    pgdata = pgdata_of(data_dir, name)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # One start at a time per server (the app and the worker start together): a process must not
    # attach, or start a postmaster of its own, while another restarts it for logical replication.
    with _file_lock(pgdata.parent / f".{pgdata.name}.start.lock"):
        return _start_locked(pgdata, engine, {**LOGICAL_REPLICATION, **(settings or {})})


def _start_locked(pgdata: Path, engine: str, wanted: dict[str, str]) -> EmbeddedServer:
    fresh = not (pgdata / "PG_VERSION").exists()
    reasons: list[str] = []
    if engine in ("auto", "pgserver"):
        try:
            would_open = _pgserver_would_open(pgdata)
            if would_open:
                why = (f"pgserver, run as root, would open permissions on {would_open[0]}"
                       f"{f' and {len(would_open) - 1} more' if len(would_open) > 1 else ''} outside the data "
                       "directory, which we never do")
                if engine == "pgserver":
                    raise ConfigError(f"Cannot use the embedded pgserver: {why}. Run as a non-root user, use "
                                      "CP_EMBEDDED_ENGINE=binaries, or set DATABASE_URL.")
                reasons.append(why)
            else:
                server = _start_pgserver(pgdata)
                _ensure_logical_replication(server, pgdata, fresh=fresh, wanted=wanted)
                _ensure_database(server)
                return server
        except ImportError:
            reasons.append("the pgserver wheel is not installed")
        if engine == "pgserver":
            raise DatabaseUnavailable(_UNAVAILABLE.format(why="; ".join(reasons)))
    bin_dir = find_postgres_binaries()
    if bin_dir is None:
        reasons.append("no initdb/pg_ctl found on PATH or under /usr/lib/postgresql")
        raise DatabaseUnavailable(_UNAVAILABLE.format(why="; ".join(reasons)))
    server = _start_binaries(pgdata, bin_dir, wanted)
    _ensure_logical_replication(server, pgdata, fresh=fresh, wanted=wanted)
    _ensure_database(server)
    return server


# Linux's sun_path holds 108 bytes with the terminating NUL; macOS 104. Longer socket paths make
# pgserver put its socket under the runtime dir, whose parents it opens as root.
_SOCKET_PATH_MAX = 103
_GROUP_OTHER_RX = stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
_GROUP_OTHER_R = stat.S_IRGRP | stat.S_IROTH


def _pgserver_would_open(pgdata: Path) -> list[Path]:
    """What pgserver would chmod outside the data directory (pgserver's ensure_prefix_permissions
    and ensure_folder_permissions, which it runs only as root): every parent of the data directory
    and of its binaries gets g+rx,o+rx, and so does every file of its bin and lib folders. Empty
    when we are not root or when every such mode already has those bits. Raises ImportError
    without pgserver."""
    bin_path = pgserver_bin_dir().resolve()
    if os.geteuid() != 0:
        return []
    needs: list[tuple[Path, int]] = [(p, _GROUP_OTHER_RX) for p in pgdata.parent.parents]
    needs += [(p, _GROUP_OTHER_RX) for p in bin_path.parents]
    for tree, file_bits in ((bin_path, _GROUP_OTHER_RX), (bin_path.parent / "lib", _GROUP_OTHER_R)):
        for path in [tree, *tree.rglob("*")] if tree.exists() else []:
            needs.append((path, _GROUP_OTHER_RX if path.is_dir() else file_bits))
    would_open = [p for p, bits in needs if p.stat().st_mode & bits != bits]
    socket_path = pgdata / ".s.PGSQL.5432"
    if len(os.fsencode(str(socket_path))) > _SOCKET_PATH_MAX:
        would_open.append(socket_path.parent)  # it would move the socket to an opened runtime dir
    return would_open


@contextmanager
def _modes_kept(paths: list[Path]) -> Iterator[None]:
    """Belt and braces around pgserver: put back any mode it changed on these paths anyway."""
    before = {p: stat.S_IMODE(p.stat().st_mode) for p in paths}
    try:
        yield
    finally:
        for path, mode in before.items():
            if stat.S_IMODE(path.stat().st_mode) != mode:
                log.warning("pgserver changed the mode of %s; restored %o", path, mode)
                path.chmod(mode)


def pgserver_bin_dir() -> Path:
    """pgserver's bundled binaries (its `_commands.POSTGRES_BIN_PATH`, `<package>/pginstall/bin`),
    found without importing pgserver: its import reads platformdirs' user runtime directory, which
    prints a RuntimeDirWarning when XDG_RUNTIME_DIR is unset, and a command that ends up on the
    machine's binaries (root) or attaches to a running server has no use for it. Raises
    ImportError without pgserver."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("pgserver is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


@contextmanager
def _runtime_dir_for_pgserver() -> Iterator[None]:
    """pgserver keeps its lock file (and a socket folder for over-long data paths) in platformdirs'
    user runtime directory, read when pgserver is imported. Without XDG_RUNTIME_DIR platformdirs
    falls back to a folder of its own with a RuntimeDirWarning on stderr (two lines on every
    command); we name a private runtime folder explicitly for the import instead. It is short and
    under the temporary directory, as platformdirs' fallback is, so an over-long data path still
    gets a socket; every process of ours uses the same one, so they share pgserver's lock.
    platformdirs still checks it (a directory of ours, mode 0700) and falls back on its own, with
    its warning, from one it must not use (say another user created that name first)."""
    if os.environ.get("XDG_RUNTIME_DIR"):
        yield
        return
    runtime = Path(tempfile.gettempdir()) / f"control-plane-runtime-{os.geteuid()}"
    runtime.mkdir(mode=0o700, exist_ok=True)
    info = runtime.lstat()
    if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid():
        runtime.chmod(0o700)  # mkdir's mode is masked by the umask
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    try:
        yield
    finally:
        os.environ.pop("XDG_RUNTIME_DIR", None)  # the server and our other children do not inherit it


def _start_pgserver(pgdata: Path) -> EmbeddedServer:
    with _runtime_dir_for_pgserver():
        import pgserver
    bin_path = pgserver_bin_dir()

    outside = [*pgdata.parent.parents, *bin_path.resolve().parents]
    with _modes_kept(list(dict.fromkeys(outside))):
        handle = pgserver.get_server(pgdata, cleanup_mode="stop")
    info = handle.get_postmaster_info()
    return EmbeddedServer(
        engine="pgserver",
        socket_dir=Path(info.socket_dir),
        port=int(info.port or 5432),
        bin_dir=bin_path,
        handle=handle,
        pgdata=pgdata,
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


def _start_binaries(pgdata: Path, bin_dir: Path, wanted: Mapping[str, str] = LOGICAL_REPLICATION) -> EmbeddedServer:
    owner = _server_user()
    if owner is not None:
        _require_reachable(pgdata, owner)
    if not (pgdata / "PG_VERSION").exists():
        pgdata.mkdir(parents=True, exist_ok=True)
        if owner is not None:
            shutil.chown(pgdata, owner.pw_uid, owner.pw_gid)
        pgdata.chmod(0o700)
        _run_as_owner(pgdata, [str(bin_dir / "initdb"), "-D", str(pgdata), "-U", "postgres",
                               "--auth=trust", "--encoding=UTF8", "--no-instructions"])
        with open(pgdata / "postgresql.conf", "a") as conf:
            conf.write("\n# control plane embedded defaults\nlisten_addresses = ''\n"
                       f"unix_socket_directories = '{pgdata}'\nport = 5432\nmax_connections = 200\n"
                       + "".join(f"{k} = '{v}'\n" for k, v in wanted.items()))
    status = subprocess.run([str(bin_dir / "pg_ctl"), "-D", str(pgdata), "status"],
                            capture_output=True, text=True, user=_uid_or_none(owner), check=False)
    if status.returncode != 0:
        result = _run_as_owner(pgdata, [str(bin_dir / "pg_ctl"), "-D", str(pgdata), "-l",
                                        str(pgdata / "server.log"), "-w", "-t", "60", "start"], check=False)
        if result.returncode != 0 and not _socket_ready(pgdata):
            log_tail = _tail(pgdata / "server.log")
            raise DatabaseUnavailable(f"Embedded PostgreSQL did not start: {log_tail}")
    _wait_for_socket(pgdata)
    return EmbeddedServer(engine="binaries", socket_dir=pgdata, port=5432, bin_dir=bin_dir, pgdata=pgdata)


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


def _can_traverse(path: Path, user: pwd.struct_passwd, groups: set[int]) -> bool:
    st = path.stat()
    if st.st_uid == user.pw_uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid in groups:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def _require_reachable(pgdata: Path, user: pwd.struct_passwd) -> None:
    """The server user must traverse every folder down to its data. Folders above the data
    directory are the operator's: we say what is missing and never chmod them. The data
    directory itself (pgdata's parent) is ours: it gets o+x (traverse, not list) when needed."""
    groups = set(os.getgrouplist(user.pw_name, user.pw_gid))
    data_dir = pgdata.parent
    for folder in reversed(data_dir.parents):
        if not _can_traverse(folder, user, groups):
            st = folder.stat()
            raise ConfigError(
                f"The embedded PostgreSQL runs as the system user {user.pw_name!r} (initdb refuses root), "
                f"which cannot reach the data directory {data_dir}: {folder} is mode "
                f"{stat.S_IMODE(st.st_mode):04o} (owner uid {st.st_uid}). We never change permissions outside "
                f"the data directory. Set CP_DATA_DIR to a folder that user can reach (e.g. "
                f"/var/lib/control-plane), allow it yourself (chmod o+x {folder}), run as a non-root user, "
                "or set DATABASE_URL.")
    if not _can_traverse(data_dir, user, groups):
        data_dir.chmod(stat.S_IMODE(data_dir.stat().st_mode) | stat.S_IXOTH)


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


def _admin_connection(server: EmbeddedServer, timeout: float = 30.0):  # -> psycopg.Connection
    """An autocommit superuser connection to the `postgres` database, retried until `timeout`
    (the server may still be coming up, or restarting for another process)."""
    import psycopg

    from control_plane.db import privileged

    deadline = time.monotonic() + timeout
    while True:
        try:
            # The superuser's session resolves nothing through `public` (db/privileged.py).
            return psycopg.connect(host=str(server.socket_dir), port=server.port, user="postgres",
                                   dbname="postgres", autocommit=True, options=privileged.OPTIONS)
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def missing_logical_settings(conn, wanted: Mapping[str, str] = LOGICAL_REPLICATION) -> dict[str, str]:
    """The LOGICAL_REPLICATION (or `wanted`) settings this running server lacks (a number counts
    when it is at least ours: an operator's higher value is kept), with the value each needs."""
    current = dict(conn.execute("SELECT name, setting FROM pg_catalog.pg_settings WHERE name = ANY(%s)",
                                (list(wanted),)).fetchall())
    missing = {}
    for name, value in wanted.items():
        have = current.get(name)
        enough = have == value if not value.isdigit() else have is not None and int(have) >= int(value)
        if not enough:
            missing[name] = value
    return missing


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """One process at a time (the app and the worker start together on one data directory)."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _ensure_logical_replication(server: EmbeddedServer, pgdata: Path, *, fresh: bool,
                                wanted: Mapping[str, str] = LOGICAL_REPLICATION) -> None:
    """Turn logical replication on for a server that lacks it: ALTER SYSTEM (kept in
    postgresql.auto.conf, so every later start has it) and one restart (under start's lock, so
    two processes starting together restart it once). Sessions of other processes on this
    server are ended by the restart; that happens once per data directory."""
    from psycopg import sql

    with _admin_connection(server) as conn:
        missing = missing_logical_settings(conn, wanted)
        if not missing:
            return  # the common case: one query
        for name, value in missing.items():
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
    # pgserver's own initdb cannot be configured before its first start: expected, not news
    log.log(logging.INFO if fresh else logging.WARNING,
            "restarting the embedded PostgreSQL in %s once to turn on logical replication (%s)",
            pgdata, ", ".join(f"{k}={v}" for k, v in missing.items()))
    _restart(server, pgdata)


def _restart(server: EmbeddedServer, pgdata: Path) -> None:
    """pg_ctl restart keeps the options the server was started with (postmaster.opts: pgserver's
    socket folder), run as the data folder's owner, which is the server's user."""
    logfile = pgdata / ("log" if server.engine == "pgserver" else "server.log")
    argv = [str(server.bin_dir / "pg_ctl"), "-D", str(pgdata), "-l", str(logfile), "-m", "fast", "-w", "-t", "60",
            "restart"]
    result = _run_as_data_owner(pgdata, argv)
    if result.returncode != 0:
        if _reachable(server):  # not ours to restart (another user's server): it runs on as it was
            log.warning("could not restart the embedded PostgreSQL in %s (%s); logical replication (tenant moves "
                        "online) is off until it restarts: run `pg_ctl -D %s restart` as its owner",
                        pgdata, (result.stderr or result.stdout).strip()[:200], pgdata)
            return
        raise DatabaseUnavailable(f"Embedded PostgreSQL did not come back after a restart to turn on logical "
                                  f"replication: {_tail(logfile)}")
    if server.engine == "pgserver" and server.handle is not None:
        # pgserver 0.1.4 remembers the postmaster it started and, at cleanup, stops the server only
        # while that process lives: point it at the new postmaster so that stop() still stops.
        from pgserver.utils import PostmasterInfo

        server.handle._postmaster_info = PostmasterInfo.read_from_pgdata(pgdata)


def _run_as_data_owner(pgdata: Path, argv: list[str]) -> subprocess.CompletedProcess:
    """pg_ctl refuses root: as root, run it as the owner of the data folder (`postgres`/
    `cpostgres` for the binaries engine, `pgserver` for pgserver)."""
    kwargs: dict[str, object] = {}
    if os.geteuid() == 0:
        owner = pwd.getpwuid(pgdata.stat().st_uid)
        kwargs = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
    return subprocess.run(argv, capture_output=True, text=True, cwd="/", check=False, **kwargs)


def _reachable(server: EmbeddedServer) -> bool:
    import psycopg

    try:
        _admin_connection(server, timeout=0).close()
    except psycopg.OperationalError:
        return False
    return True


def _ensure_database(server: EmbeddedServer) -> None:
    import psycopg

    conn = _admin_connection(server)
    with conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)).fetchone()
        if not exists:
            try:
                conn.execute("CREATE DATABASE control_plane")
            except psycopg.errors.DuplicateDatabase:
                pass  # another process won the race
    harden_database(server, DATABASE_NAME)


_TENANT_DATABASE_STATE = """
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_database d WHERE d.datname OPERATOR(pg_catalog.=) %s::pg_catalog.name),
       EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n
                WHERE n.nspname OPERATOR(pg_catalog.~~) 'tenant\\_%%'::pg_catalog.text)
"""


def tenant_database(server: EmbeddedServer, catalog: str = DATABASE_NAME,
                    name: str = TENANT_DATABASE_NAME) -> str | None:
    """The URL of the default cluster's database on this server, created (passing `clusters check`)
    when missing; None for a data folder made before the split, whose catalog database already holds
    tenant schemas: those keep working where they are. One statement when it exists."""
    import psycopg
    from psycopg import sql

    from control_plane.db import privileged

    with psycopg.connect(host=str(server.socket_dir), port=server.port, user="postgres", dbname=catalog,
                         autocommit=True, options=privileged.OPTIONS) as conn:
        exists, legacy = conn.execute(_TENANT_DATABASE_STATE, (name,)).fetchone()
        if exists:
            return server.url(name)
        if legacy:
            return None
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            pass  # another process won the race; hardening again is harmless
    harden_database(server, name)
    return server.url(name)


def harden_database(server: EmbeddedServer, database: str) -> None:
    """The posture `clusters check` asks for (docs/security.md "Cluster posture"): PUBLIC may create
    nothing in schema public and no temporary objects in the database (tenant roles get neither).
    Idempotent: run on every start, so data folders from before it pass too."""
    harden(f"host={server.socket_dir} port={server.port} user=postgres", database)


def harden(conninfo: str, database: str) -> None:
    """harden_database for any server: `conninfo` reaches it as a superuser (its dbname is replaced)."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    from control_plane.db import privileged

    with psycopg.connect(privileged.privileged_conninfo(make_conninfo(conninfo, dbname=database)),
                         autocommit=True) as conn, conn.transaction():
        conn.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC; "
                             "REVOKE CREATE, TEMPORARY ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database)))
