"""The sign-in cookie: a random session id, signed with the server's secret.

The id is `secrets.token_urlsafe(32)` (256 random bits); the catalog keeps only its SHA-256
(`token_hash`), so neither a copy of the catalog nor the audit log can be replayed as a cookie. The
HMAC-SHA256 signature (itsdangerous) lets a forged or altered cookie be refused before any catalog
lookup, and ties every cookie to this deployment's CP_SESSION_SECRET: changing the secret signs
everybody out.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from itsdangerous import BadSignature, Signer

COOKIE_NAME = "cp_session"
MAX_COOKIE = 256  # a real cookie is 43 + 1 + 43 characters; anything longer is refused unread
_SALT = "control-plane.sign-in-session.v1"  # a key of its own, even if the secret were reused elsewhere
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def token_hash(session_id: str) -> str:
    """What the catalog stores and looks up instead of the id itself."""
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


def _signer(secret: bytes) -> Signer:
    return Signer(secret, salt=_SALT, sep=".", key_derivation="hmac", digest_method=hashlib.sha256)


def sign(secret: bytes, session_id: str) -> str:
    """The cookie value for a session id: `<id>.<signature>` (cookie-safe characters only)."""
    if not _SESSION_ID.fullmatch(session_id):
        raise ValueError("not a session id")
    return _signer(secret).sign(session_id).decode("ascii")


def unsign(secret: bytes, cookie: object) -> str | None:
    """The session id in a cookie this server signed, or None for anything else (missing, too long,
    not ASCII, altered, signed with another secret, not an id)."""
    if not isinstance(cookie, str) or not cookie or len(cookie) > MAX_COOKIE or not cookie.isascii():
        return None
    try:
        session_id = _signer(secret).unsign(cookie).decode("ascii")
    except (BadSignature, UnicodeDecodeError):
        return None
    return session_id if _SESSION_ID.fullmatch(session_id) else None
