"""The key that signs sign-in cookies (docs/configuration.md "Configuration", CP_SESSION_SECRET): required when the
catalog is reached through DATABASE_URL, generated once and kept under the data directory on the
embedded default, never a short or placeholder value; the cookie is refused under another key."""

from __future__ import annotations

import stat
import threading

import pytest

from control_plane.auth import session_secret, session_tokens
from control_plane.config import Settings
from control_plane.errors import ConfigError

URL = "postgres://u:p@db:5432/cp"
SECRET = "k3y-Q9v2-wXz7-Lm4P-8rTs-Ye6U-1aBc-D5fG"


def test_required_by_the_app_when_database_url_is_set_but_not_by_the_cli():
    settings = Settings.from_env({"DATABASE_URL": URL})  # the CLI and the worker load this fine
    with pytest.raises(ConfigError, match="CP_SESSION_SECRET is required when DATABASE_URL is set"):
        settings.check_app_settings()
    with pytest.raises(ConfigError, match="CP_SESSION_SECRET is required"):
        session_secret.resolve(settings)  # never a generated one for a shared catalog
    Settings.from_env({"DATABASE_URL": URL, "CP_SESSION_SECRET": SECRET}).check_app_settings()


@pytest.mark.parametrize("bad", ["short", "x" * 64, "change-me" * 2, "abcabcabcabcabcabcabcabcabcabcabcabc"])
def test_short_or_placeholder_secrets_are_refused_without_quoting_them(bad):
    with pytest.raises(ConfigError, match="CP_SESSION_SECRET must be a random string") as err:
        Settings.from_env({"CP_SESSION_SECRET": bad})
    assert bad not in str(err.value)


def test_the_embedded_default_generates_one_keeps_it_and_nobody_else_can_read_it(tmp_path):
    settings = Settings.from_env({"CP_DATA_DIR": str(tmp_path / "data")})
    settings.check_app_settings()
    first = session_secret.resolve(settings)
    path = tmp_path / "data" / session_secret.SECRET_FILE
    assert len(first) >= 43 and path.read_bytes().strip() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    session_secret.kept_secret.cache_clear()  # as a restarted process would
    assert session_secret.resolve(settings) == first
    assert [p.name for p in path.parent.iterdir()] == [session_secret.SECRET_FILE]  # no temporary left
    explicit = Settings.from_env({"CP_DATA_DIR": str(tmp_path / "data"), "CP_SESSION_SECRET": SECRET})
    assert session_secret.resolve(explicit) == SECRET.encode()


def test_processes_starting_together_agree_on_one_secret(tmp_path):
    results: list[bytes] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        results.append(session_secret.kept_secret.__wrapped__(tmp_path))  # no shared cache: like processes

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and len(set(results)) == 1


def test_a_damaged_kept_secret_says_how_to_recover(tmp_path):
    (tmp_path / session_secret.SECRET_FILE).write_text("short\n")
    with pytest.raises(ConfigError, match="Delete the file"):
        session_secret.kept_secret.__wrapped__(tmp_path)


def test_a_cookie_signed_under_another_secret_is_refused():
    session_id = session_tokens.new_session_id()
    cookie = session_tokens.sign(SECRET.encode(), session_id)
    assert session_tokens.unsign(SECRET.encode(), cookie) == session_id
    assert session_tokens.unsign(b"another-secret-of-forty-characters-long!", cookie) is None
    with pytest.raises(ValueError):
        session_tokens.sign(SECRET.encode(), "not an id; with=cookie;chars")


@pytest.mark.parametrize("mode", [0o666, 0o644, 0o640, 0o620, 0o604, 0o602])
def test_a_kept_secret_others_may_read_or_change_is_refused(tmp_path, mode):
    path = tmp_path / session_secret.SECRET_FILE
    path.write_text(SECRET + "\n")
    path.chmod(mode)
    with pytest.raises(ConfigError, match=f"has mode {mode:04o}: group or others may read or change it") as err:
        session_secret.kept_secret.__wrapped__(tmp_path)
    assert SECRET not in str(err.value)
    path.chmod(0o600)
    assert session_secret.kept_secret.__wrapped__(tmp_path) == SECRET.encode()


@pytest.mark.parametrize("weak", ["x" * 64, "ab" * 40, "0123456789abcdef" * 3, "aaaaaaaaaabbbbbbbbbbccccccccccdd",
                                  "short"])
def test_a_kept_secret_without_enough_randomness_is_refused(tmp_path, weak):
    path = tmp_path / session_secret.SECRET_FILE
    path.write_text(weak + "\n")
    path.chmod(0o600)
    with pytest.raises(ConfigError, match="is not a random string of at least 32 characters") as err:
        session_secret.kept_secret.__wrapped__(tmp_path)
    assert weak not in str(err.value) and "Delete the file" in str(err.value)


@pytest.mark.parametrize("weak", ["ab" * 40, "0123456789abcdef" * 3, "abcdefghijk" * 4])
def test_the_environment_secret_gets_the_same_randomness_check(weak):
    with pytest.raises(ConfigError, match="CP_SESSION_SECRET must be a random string") as err:
        Settings.from_env({"CP_SESSION_SECRET": weak})
    assert weak not in str(err.value)


def test_generated_secrets_pass_the_randomness_check():
    import secrets

    from control_plane.config import secret_weakness

    assert all(secret_weakness(secrets.token_urlsafe(32)) is None for _ in range(200))
    assert all(secret_weakness(secrets.token_hex(32)) is None for _ in range(200))
    assert secret_weakness(SECRET) is None
