"""The key that signs sign-in cookies: CP_SESSION_SECRET, or on the embedded default one generated
once and kept under the data directory (so a restart keeps everybody signed in). A kept file that
group or others may read or write, or whose content is not random enough, is refused: anybody who
read it could sign a cookie for any session id."""

from __future__ import annotations

import os
import secrets
import stat
import tempfile
from functools import cache
from pathlib import Path

from control_plane.config import MIN_SESSION_SECRET, Settings, secret_weakness
from control_plane.errors import ConfigError

SECRET_FILE = "session-secret"  # noqa: S105 - a file name, not a secret


def resolve(settings: Settings) -> bytes:
    if settings.session_secret is not None:
        return settings.session_secret.encode()
    settings.check_app_settings()  # DATABASE_URL without CP_SESSION_SECRET: refused, never generated
    return kept_secret(settings.data_dir)


@cache
def kept_secret(data_dir: Path) -> bytes:
    """The generated secret under `data_dir` (created, mode 0600, on first use)."""
    path = data_dir / SECRET_FILE
    if not path.exists():
        _create(path)
    recover = "Delete the file to have a new one generated (everybody signs in again)."
    try:
        with path.open("rb") as handle:
            mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)  # the file read, not a swapped one
            raw = handle.read(4096)
        value = raw.decode("ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read the session secret {path}: {exc.__class__.__name__}. {recover}") from None
    if mode & 0o077:
        raise ConfigError(f"The session secret {path} has mode {mode:04o}: group or others may read or change "
                          f"it. {recover} (Or chmod 600 it, if nobody else can have read it.)")
    weakness = secret_weakness(value, MIN_SESSION_SECRET)
    if weakness is not None:
        raise ConfigError(f"The session secret {path} is not a random string of at least {MIN_SESSION_SECRET} "
                          f"characters ({weakness}). {recover}")
    return value.encode()


def _create(path: Path) -> None:
    """Write the whole file under a temporary name, then link it into place: two processes
    starting together never read a half-written secret, and the first one to link wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".session-secret-", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process was first: use its secret
    finally:
        os.unlink(tmp)
