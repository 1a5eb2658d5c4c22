"""Sign-in state and the guard every page calls before rendering anything.

A file under pages/ can be opened by URL on a fresh server before streamlit_app.py ever ran, so
the guard does not rely on the entry script: with no signed-in user it renders the sign-in page
and stops the script.

Two ways in: a local account (argon2id password in the catalog) or OIDC through st.login when
`.streamlit/secrets.toml` has an [auth] section; an OIDC identity maps to the enabled account
with the same e-mail. Either way the session lasts CP_SESSION_TTL_MINUTES from sign-in, and the
account's current role and status are read on every run, so disabling or demoting applies at once.

A password sign-in also starts a server-side session (control_plane/services/sessions.py) that the
browser keeps in a signed cookie, so a reload or a second tab is still signed in. Streamlit reads
cookies only from the request that opened the session (st.context.cookies) and has no way for the
script to answer with Set-Cookie, so a small script rendered with st.html sets and clears the
cookie in the browser: it cannot be HttpOnly (docs/pages.md
"Staying signed in across reloads" says why that is accepted).
Every run checks the session in the catalog, so a sign-out in another tab, a disabled account or a
role change ends it at the next action, fragments included (ui/fragments.py).
"""

from __future__ import annotations

import html
import ipaddress
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

import streamlit as st

from control_plane.auth.permissions import Actor, Permission, Role
from control_plane.auth.session_tokens import COOKIE_NAME
from control_plane.errors import ControlPlaneError
from control_plane.services import sessions as session_service
from control_plane.services import users as user_service
from ui.context import app_context, context_or_stop
from ui.errors import catalog_or_stop
from ui.text import plain

_KEY = "cp_auth"
_NOTICE = "cp_auth_notice"
_OIDC_SEEN = "cp_oidc_seen"
_CLIENT = "cp_client_id"
_COOKIE_OP = "cp_cookie_op"  # what the next page run tells the browser: ("set", value, max_age) or ("clear",)
_COOKIE_TRIED = "cp_cookie_tried"  # the request cookie this Streamlit session already tried (once each)
_ENDED = {
    session_service.EXPIRED: ("info", "Your session expired; please sign in again."),
    session_service.DISABLED: ("warning", "Your account was disabled or removed; ask an admin."),
    session_service.REVOKED: ("info", "You were signed out (in another tab or window, or an admin changed your "
                                      "account). Please sign in again."),
}
ROLE_LABELS = {Role.FOUNDER: "Founder", Role.SUPPORT: "Support", Role.ONCALL: "On-call", Role.ADMIN: "Admin"}
ROLE_SEES = {
    Role.FOUNDER: "Overview, tenants, revenue, uptime, usage, audit log",
    Role.SUPPORT: "Overview, tenants and their actions, uptime, usage, audit log",
    Role.ONCALL: "Overview, tenants, uptime, jobs, scaling, usage, audit log",
    Role.ADMIN: "Everything, including archive/restore and users",
}


def current_actor() -> Actor | None:
    ctx = app_context()
    state = st.session_state.get(_KEY) or _cookie_session() or _oidc_session()
    if not state:
        return None
    if state.get("sid") is not None:  # a password session: the catalog says whether it still holds
        check = session_service.check(ctx, state["sid"])
        if check.session is None:
            _session_ended(check.problem)
            return None
        state["role"] = check.session.actor.role.value  # role changes apply at once
        return check.session.actor
    if time.time() - state["at"] > ctx.settings.session_ttl_minutes * 60:
        st.session_state.pop(_KEY, None)
        st.session_state[_NOTICE] = ("info", "Your session expired; please sign in again.")
        return None
    actor = user_service.actor_for(ctx, state["username"])  # role changes and disabling apply at once
    if actor is None:
        st.session_state.pop(_KEY, None)
        st.session_state[_NOTICE] = ("warning", "Your account was disabled or removed; ask an admin.")
    return actor


def session_expires_at() -> float | None:
    state = st.session_state.get(_KEY)
    if not state:
        return None
    return state.get("expires") or state["at"] + app_context().settings.session_ttl_minutes * 60


def sign_in_as(actor: Actor, method: str = "password", at: float | None = None,
               session: session_service.SignedInSession | None = None) -> None:
    state: dict[str, Any] = {"username": actor.name, "role": actor.role.value, "at": at or time.time(),
                             "method": method}
    if session is not None:
        state.update(at=session.created_at.timestamp(), expires=session.expires_at.timestamp(), sid=session.id)
    st.session_state[_KEY] = state


def sign_out() -> None:
    """Revoke the tab's session and the one named by the cookie the page was opened with (they
    differ when the browser's cookie is another sign-in's): a kept copy of either opens nothing."""
    state = st.session_state.pop(_KEY, None)
    cookie = _request_cookie()
    st.session_state[_COOKIE_TRIED] = cookie  # the cookie this page was opened with is over too
    if state:
        actor = Actor(state["username"], Role(state["role"]))
        if state.get("sid") is not None or cookie is not None:
            sids = [state["sid"]] if state.get("sid") is not None else []
            session_service.end(app_context(), actor, sids, cookie=cookie)  # audited as the sign-out
            st.session_state[_COOKIE_OP] = ("clear",)
        else:
            user_service.record_sign_out(app_context(), actor)
        st.session_state[_OIDC_SEEN] = "signed-out"
    if state and state.get("method") == "oidc":
        st.logout()  # clears the identity cookie and starts a new session


# --- the session cookie -------------------------------------------------------------------------

def _request_cookie() -> str | None:
    """The session cookie of the request that opened this Streamlit session (a reload opens a new one)."""
    try:
        value = st.context.cookies.get(COOKIE_NAME)
    except Exception:  # no request in this context (scripts)
        return None
    return value if isinstance(value, str) and value else None


def _cookie_session() -> dict[str, Any] | None:
    """Sign in from the browser's cookie, once per cookie value and Streamlit session (each try is
    audited: a rerun must not try, and write, again)."""
    cookie = _request_cookie()
    if cookie is None or st.session_state.get(_COOKIE_TRIED) == cookie:
        return None
    st.session_state[_COOKIE_TRIED] = cookie
    resumed = session_service.resume(app_context(), cookie, client=client_id())
    if resumed.session is None:
        st.session_state[_COOKIE_OP] = ("clear",)  # a cookie that signs nobody in goes
        if resumed.problem in _ENDED:
            st.session_state[_NOTICE] = _ENDED[resumed.problem]
        return None
    sign_in_as(resumed.session.actor, session=resumed.session)
    return st.session_state[_KEY]


def _session_ended(problem: str | None) -> None:
    st.session_state.pop(_KEY, None)
    st.session_state[_COOKIE_OP] = ("clear",)
    st.session_state[_NOTICE] = _ENDED.get(problem or "", _ENDED[session_service.REVOKED])


def flush_cookie(where: Any, *, then_show: str | None = None) -> bool:
    """Tell the browser what changed since the last run: set the cookie after a sign-in, clear it
    after a sign-out or when it no longer signs anyone in. Called before anything signed-in is
    drawn (streamlit_app.py, page_guard): a reload the moment "Signed in as" shows must find the
    cookie already written, or it would sign out. The browser runs the script after it has painted
    the element (and, the first time, after loading the code that runs it), so `then_show`, plain
    text, is drawn by the same script once the cookie is written; returns True when it was. The
    value is ours (cookie-safe characters, JSON-quoted); nothing a person typed reaches the script
    except `then_show`, escaped as HTML."""
    op = st.session_state.pop(_COOKIE_OP, None)
    if not op:
        return False
    if op[0] == "set":
        attributes = f"; Path=/; Max-Age={int(op[2])}; SameSite=Strict"
        value = json.dumps(f"{COOKIE_NAME}={op[1]}{attributes}")
    else:
        value = json.dumps(f"{COOKIE_NAME}=; Path=/; Max-Age=0; SameSite=Strict")
        then_show = None
    shown = ""
    reveal = ""
    if then_show is not None:
        shown = f'<p hidden style="font-size:0.875rem;opacity:0.6;margin:0">{html.escape(then_show)}</p>'
        reveal = " var shown = document.currentScript.previousElementSibling; if (shown) shown.hidden = false;"
    # Secure whenever the page itself came over https (the browser knows; a proxy in front may not say).
    where.html(f'{shown}<script>document.cookie = {value} + (location.protocol === "https:" ? "; Secure" : "");'
               f'{reveal}</script>', unsafe_allow_javascript=True)
    return bool(shown)


# --- OIDC -------------------------------------------------------------------------------------

def oidc_providers() -> list[str | None]:
    """Providers configured under [auth] in secrets: [None] for a single unnamed one."""
    try:
        auth = st.secrets.to_dict().get("auth")
    except FileNotFoundError:  # no secrets.toml at all
        return []
    if not isinstance(auth, Mapping):
        return []
    if "client_id" in auth:
        return [None]
    return [name for name, conf in auth.items() if isinstance(conf, Mapping) and "client_id" in conf]


def _user_info() -> Mapping[str, Any]:
    try:
        return st.user.to_dict() if hasattr(st.user, "to_dict") else dict(st.user)
    except Exception:  # no identity in this context
        return {}


def _oidc_session() -> dict[str, Any] | None:
    """Map a logged-in OIDC identity to an account, once per app session (audited)."""
    info = _user_info()
    if not info.get("is_logged_in"):
        return None
    email = str(info.get("email") or "").strip().lower()
    if st.session_state.get(_OIDC_SEEN) in (email, "signed-out"):
        return None  # already refused (or signed out) in this session
    st.session_state[_OIDC_SEEN] = email
    ctx = app_context()
    actor = user_service.actor_for_email(ctx, email)
    user_service.record_oidc_sign_in(ctx, email, actor)
    if actor is None:
        st.session_state[_NOTICE] = ("error", f"You are signed in as {plain(email or 'an identity without e-mail')}, "
                                     "but no enabled account has that e-mail. Ask an admin to add one.")
        return None
    issued = info.get("iat")
    sign_in_as(actor, "oidc", at=float(issued) if isinstance(issued, int | float) else None)
    return st.session_state[_KEY]


# --- pages ------------------------------------------------------------------------------------

def render_signed_out() -> None:
    """What a signed-out visitor sees: the sign-in page, or how to add the first account."""
    ctx = app_context()
    st.title("Sign in")
    if user_service.count_users(ctx) == 0:
        _render_no_accounts()
        return
    notice = st.session_state.pop(_NOTICE, None)
    if notice:
        getattr(st, notice[0])(notice[1])
    providers = oidc_providers()
    for provider in providers:
        label = "Sign in with single sign-on" if provider is None else f"Sign in with {provider.title()}"
        if st.button(label, key=f"oidc_{provider or 'default'}", type="primary", icon=":material/key:"):
            st.session_state.pop(_OIDC_SEEN, None)
            if provider is None:
                st.login()
            else:
                st.login(provider)
    if providers:
        with st.expander("Local account"):
            _password_form()
    else:
        _password_form()
    if user_service.demo_accounts_allowed(ctx):  # never with DATABASE_URL, even if CP_DEMO=true
        _render_demo_accounts()
    flush_cookie(st)


def _password_form() -> None:
    ctx = app_context()
    with st.form("sign_in"):
        username = st.text_input("Username", key="signin_username", autocomplete="username")
        password = st.text_input("Password", type="password", key="signin_password",
                                 autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        if not username.strip() or not password:
            st.error("Enter a username and a password.")
            return
        try:
            with st.spinner("Checking…"):
                started = session_service.sign_in(ctx, username, password, client=client_id(),
                                                  user_agent=_user_agent())
        except ControlPlaneError as exc:  # input out of bounds, or throttled after repeated failures
            st.error(str(exc))
            return
        if started is None:
            st.error("Wrong username or password, or the account is disabled.")
            return
        st.session_state.pop(_NOTICE, None)
        sign_in_as(started.session.actor, session=started.session)
        max_age = (started.session.expires_at - started.session.created_at).total_seconds()
        st.session_state[_COOKIE_OP] = ("set", started.cookie, max_age)
        st.rerun()


def _user_agent() -> str | None:
    try:
        return st.context.headers.get("User-Agent")
    except Exception:  # no request headers in this context
        return None


def client_id() -> str:
    """Who is attempting a sign-in, for the per-client throttle: the connection's IP address; behind
    a reverse proxy on this machine (Streamlit reports loopback as None) the address that proxy
    appended last to X-Forwarded-For; else this browser session."""
    ip = st.context.ip_address
    if ip is None:
        try:
            forwarded = st.context.headers.get("X-Forwarded-For") or ""
        except Exception:  # no request headers in this context (tests, scripts)
            forwarded = ""
        ip = forwarded.rsplit(",", 1)[-1].strip() or None
    if ip:
        try:
            return f"ip:{ipaddress.ip_address(ip)}"
        except ValueError:
            pass  # a malformed header: fall back to the session
    return "session:" + st.session_state.setdefault(_CLIENT, secrets.token_hex(8))


def _render_demo_accounts() -> None:
    from control_plane.demo.seed import DEMO_ACCOUNTS, DEMO_PASSWORD  # demo mode only: not in the production image

    st.divider()
    st.subheader("Demo accounts")
    st.caption(f"Demo mode: every account below signs in with the password `{DEMO_PASSWORD}`. "
               "The data is generated; AWS is simulated.")
    st.table([{"Username": name, "Role": ROLE_LABELS[role], "Sees": ROLE_SEES[role]}
              for name, role, _ in DEMO_ACCOUNTS])


def _render_no_accounts() -> None:
    st.subheader("No accounts yet")
    st.write("This catalog has no user accounts, so nobody can sign in. Add the first admin on a machine "
             "that has the catalog's `DATABASE_URL`, then reload this page:")
    st.code("python -m control_plane users add alice --role admin\n"
            "# or, for single sign-on only (matched by e-mail):\n"
            "python -m control_plane users add alice --role admin --no-password --email alice@example.com",
            language="bash")
    st.caption("The admin then adds everyone else on the Users page.")


def page_guard(permission: Permission) -> Actor:
    """First line of every page: returns the signed-in actor or stops the script."""
    context_or_stop()
    with catalog_or_stop():  # a page opened by URL runs without streamlit_app.py's guard
        actor = current_actor()
        if actor is None:
            render_signed_out()
    if actor is None:
        st.stop()
    flush_cookie(st.sidebar)  # after a sign-in (a page opened by URL): before the page draws anything
    if not actor.can(permission):
        st.title("Not allowed")
        st.error(f"Your role ({role_label(actor.role)}) cannot open this page. Ask an admin if you need it.")
        st.stop()
    return actor


def role_label(role: Role) -> str:
    return ROLE_LABELS[Role(role)]
