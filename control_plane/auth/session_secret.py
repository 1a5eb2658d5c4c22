"""The key that signs sign-in cookies: CP_SESSION_SECRET, or on the embedded default one generated
once and kept under the data directory (so a restart keeps everybody signed in)."""

from __future__ import annotations

import os
import secrets
import tempfile
from functools import cache
from pathlib import Path

from control_plane.config import MIN_SESSION_SECRET, Settings
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
    try:
        value = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read the session secret {path}: {exc.__class__.__name__}. "
                          "Delete the file to have a new one generated (everybody signs in again).") from None
    if len(value) < MIN_SESSION_SECRET:
        raise ConfigError(f"The session secret {path} is shorter than {MIN_SESSION_SECRET} characters. "
                          "Delete the file to have a new one generated (everybody signs in again).")
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
