"""Signing in to the team pages: who is rating, kept across reloads by a signed cookie.

The accounts, secrets, cookies' signatures and the throttle live in `emotionet.team.accounts`; this
module draws the forms and moves the cookies. Streamlit 1.67 reads cookies (`st.context.cookies`,
as sent when the browser session opened) but cannot set them from the server, so a sign-in writes
them with a line of JavaScript in the page (`st.html(..., unsafe_allow_javascript=True)`, which runs
in the app's own document): `SameSite=Strict`, `Secure` over HTTPS, never `HttpOnly` (JavaScript
cannot set that; the threat model in docs/reference.md says what follows). The server's copy decides:
a cookie is worth something only while its sign-in row is open, so signing out ends it everywhere.

`keep()` runs in the entry script on every page: it finds the signed-in member (this session's, else
the cookie's), charges uploads to them, writes pending cookies, and shows who is signed in with a
Sign out button. `require_member()` stops a team page until someone is signed in; `close_internals()`
answers Streamlit's /_stcore/metrics only to a signed-in coordinator.
"""

from __future__ import annotations

import json

import streamlit as st

from ..team import accounts
from . import uploads, webapp

SESSION_COOKIE = "emotionet_sign_in"
DEVICE_COOKIE = "emotionet_device"
DEVICE_DAYS = 365
INTERNAL_PATHS = ("/_stcore/metrics", "/_stcore/agent")  # the server's sessions and memory; its agent API


@st.cache_resource
def throttle() -> accounts.Throttle:
    """The server process's one Throttle (`throttle.clear()` starts a new one)."""
    return accounts.Throttle()


def _key() -> bytes:
    return accounts.server_key()


def _cookie(name: str) -> str | None:
    try:
        value = st.context.cookies.get(name)
    except Exception:  # no browser session (a bare script run)
        return None
    return value if isinstance(value, str) else None


def member() -> accounts.Member | None:
    """The person signed in in this browser session (by a sign-in here, or the browser's cookie), or None."""
    state = st.session_state
    cookie = state.get("sign_in_cookie") or (None if state.get("signed_out") else _cookie(SESSION_COOKIE))
    if not cookie:
        return None
    found = accounts.signed_in(webapp.engine(), _key(), cookie)
    if found is None:  # ended, expired, or not this server's: forget it here and in the browser
        state.pop("sign_in_cookie", None)
        if not state.get("signed_out"):
            state["signed_out"] = True
            _write_cookie(SESSION_COOKIE, "", 0)
        return None
    state["sign_in_cookie"] = cookie
    return found


def _write_cookie(name: str, value: str, seconds: int) -> None:
    st.session_state.setdefault("cookie_writes", {})[name] = (value, seconds)


def _cookie_script(writes: dict) -> str:
    lines = [
        f"document.cookie = {json.dumps(f'{name}={value}; Path=/; Max-Age={seconds}; SameSite=Strict')} + secure;"
        for name, (value, seconds) in sorted(writes.items())
    ]
    return "<script>const secure = location.protocol === 'https:' ? '; Secure' : '';\n" + "\n".join(lines) + "</script>"


def _signed_in(found: accounts.Member) -> None:
    """Start a sign-in of `found` in this session and have the browser keep it."""
    state = st.session_state
    cookie, seconds = accounts.start_sign_in(webapp.engine(), _key(), found)
    state["sign_in_cookie"] = cookie
    state.pop("signed_out", None)
    _write_cookie(SESSION_COOKIE, cookie, seconds)
    device = accounts.device_of(_key(), _cookie(DEVICE_COOKIE))
    if device is None or device[0] != found.id:
        _write_cookie(DEVICE_COOKIE, accounts.device_cookie(_key(), found), DEVICE_DAYS * 86400)


def sign_out() -> None:
    """End this browser's sign-in on the server and in the browser (a callback)."""
    state = st.session_state
    accounts.end_sign_in(webapp.engine(), _key(), state.pop("sign_in_cookie", None) or _cookie(SESSION_COOKIE))
    state["signed_out"] = True
    _write_cookie(SESSION_COOKIE, "", 0)
    for key in ("label_track", "evaluation", "adaptation", "export_zip"):  # what the last person had open
        state.pop(key, None)


def keep() -> accounts.Member | None:
    """Every page, every run: who is signed in (None: a visitor), their uploads charged to them, the
    cookies a sign-in or sign-out left to write, and in the sidebar who is signed in."""
    found = member()
    uploads.upload_guard().assign(uploads.session_id(), f"person:{found.id}" if found else None)
    if writes := st.session_state.get("cookie_writes"):
        with st.sidebar:
            st.html(_cookie_script(writes), unsafe_allow_javascript=True)
    if found is not None:
        with st.sidebar:
            st.caption(f"Signed in as **{webapp.plain(found.name)}** ({found.role})")
            st.button("Sign out", key="sign_out", on_click=sign_out)
    return found


# --- the forms ------------------------------------------------------------------------------------


def _wait_words(seconds: float) -> str:
    return f"{round(seconds)} seconds" if seconds < 90 else f"{round(seconds / 60)} minutes"


def _try_sign_in() -> None:
    """on_click of Sign in: one try, counted by the server per person and per browser session."""
    state = st.session_state
    name, secret = state.get("sign_in_name", ""), state.get("sign_in_secret", "")
    state["sign_in_secret"] = ""
    if not name or not secret:
        state["sign_in_flash"] = "Give your name and your secret."
        return
    engine, guard = webapp.engine(), throttle()
    known = accounts.account_id(engine, name)
    keys = guard.keys(name, uploads.session_id(), accounts.device_of(_key(), _cookie(DEVICE_COOKIE)), known)
    if (wait := guard.wait(keys)) > 0:
        state["sign_in_flash"] = (
            f"Too many wrong tries for this name or in this browser: try again in {_wait_words(wait)}."
        )
        return
    found = accounts.check_secret(engine, name, secret)
    if found is None:
        wait = guard.failed(keys)
        left = guard.tries_left(keys)
        state["sign_in_flash"] = "That name and secret do not match. " + (
            f"Try again in {_wait_words(wait)}."
            if wait
            else f"{left} more {'try' if left == 1 else 'tries'} before a wait."
        )
        return
    guard.succeeded(keys)
    _signed_in(found)


def _join() -> None:
    """on_click of Join the team: use the invitation, with the secret chosen twice."""
    state = st.session_state
    secret, again = state.get("join_secret", ""), state.get("join_again", "")
    state["join_secret"] = state["join_again"] = ""
    try:
        found = accounts.accept_invite(webapp.engine(), state.get("invite_token", ""), secret, again)
    except accounts.AccountError as error:
        state["join_flash"] = str(error)
        return
    state.pop("invite_token", None)
    _signed_in(found)


def _invitation(engine) -> None:
    """The form of a personal link (?invite=…), taken out of the address bar at once."""
    state = st.session_state
    invited = accounts.invited(engine, state.get("invite_token"))
    if invited is None:
        state.pop("invite_token", None)
        st.error("This invitation link is used, expired or not valid: ask a coordinator for a new one.")
        return
    st.subheader(f"Welcome, {webapp.plain(invited.name)}", anchor=False)
    role = "a coordinator" if invited.coordinator else "a rater"
    st.write(
        f"You are invited to the team as {role}. Choose your own secret: with your name, it signs you in "
        "on another browser. This browser keeps you signed in."
    )
    with st.form("join"):
        st.text_input("Your secret (at least 8 characters)", type="password", key="join_secret")
        st.text_input("The same secret again", type="password", key="join_again")
        st.form_submit_button("Join the team", type="primary", on_click=_join)
    if flash := state.pop("join_flash", None):
        st.error(flash)
    st.stop()


def require_member(coordinator: bool = False) -> accounts.Member:
    """The signed-in member; otherwise the page shows only a way in (a personal link, or name and
    secret) and stops. With `coordinator`, a rater is told the page is for coordinators and stopped."""
    state = st.session_state
    if token := st.query_params.get("invite"):
        state["invite_token"] = token
        st.query_params.pop("invite", None)
    found = member()
    if found is not None and "invite_token" not in state:
        if coordinator and not found.coordinator:
            st.info("This is for the team's coordinators.")
            st.stop()
        return found
    engine = webapp.engine()
    if "invite_token" in state:
        _invitation(engine)
    if not any(a.active for a in accounts.list_accounts(engine)):
        st.info(
            "No one is on the team yet. Whoever runs the server adds the first coordinator with "
            "`python -m emotionet team add-coordinator NAME`, which prints their personal sign-in link."
        )
        st.stop()
    st.write("Ratings are personal: sign in as yourself.")
    with st.form("sign_in"):
        st.text_input("Your name", key="sign_in_name")
        st.text_input("Your secret", type="password", key="sign_in_secret")
        st.form_submit_button("Sign in", type="primary", on_click=_try_sign_in)
    if flash := state.pop("sign_in_flash", None):
        st.error(flash)
    st.caption("New to the team, or forgot your secret? A coordinator sends you a personal link.")
    st.stop()


# --- team management (coordinators) ---------------------------------------------------------------


def base_url() -> str:
    """This app's address as the browser sees it (for invitation links)."""
    try:
        url = st.context.url or ""
    except Exception:
        url = ""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "http://localhost:8501"


def team_panel(coordinator: accounts.Member) -> None:
    """Who is on the team, invitations (a personal link, shown once) and removing someone."""
    engine = webapp.engine()
    people = accounts.list_accounts(engine)
    st.dataframe(
        [
            {
                "name": a.name,
                "role": a.role,
                "state": "removed"
                if not a.active
                else ("invited: link not used yet" if a.invite_hash else "signed up" if a.secret_hash else "no link"),
            }
            for a in people
        ],
        hide_index=True,
    )
    with st.form("invite", clear_on_submit=True):
        left, right = st.columns([3, 2])
        left.text_input(
            "Name", key="invite_name", help="Their ratings carry this name. An existing name gets a new link."
        )
        right.selectbox("Role", accounts.ROLES, key="invite_role")
        st.form_submit_button("✉️ Make a personal link", on_click=_make_invite)
    if flash := st.session_state.pop("invite_flash", None):
        (st.error if flash[0] == "error" else st.success)(flash[1])
        if len(flash) > 2:
            st.code(flash[2], language=None)
            st.caption(
                f"Send it to them alone: it works once, for {accounts.INVITE_DAYS} days, and lets whoever "
                "opens it choose the secret of that name."
            )
    others = [a.name for a in people if a.active and a.id != coordinator.id]
    if others:
        left, right = st.columns([3, 2], vertical_alignment="bottom")
        gone = left.selectbox("Take someone off the team (their ratings stay)", others, key="remove_name")
        if right.button("Remove", key="remove_member"):
            accounts.remove(engine, gone)
            st.rerun()


def _make_invite() -> None:
    state = st.session_state
    try:
        invited, token = accounts.invite(webapp.engine(), state.get("invite_name", ""), state.get("invite_role"))
    except accounts.LabellingError as error:  # no name, too long, an unknown role
        state["invite_flash"] = ("error", str(error))
        return
    state["invite_flash"] = (
        "success",
        f"The personal link of {webapp.plain(invited.name)} ({invited.role}):",
        accounts.invite_link(base_url(), token),
    )


# --- what a visitor without a sign-in may not read ------------------------------------------------


@st.cache_resource
def close_internals() -> bool:
    """Answer Streamlit's internal endpoints (INTERNAL_PATHS: the metrics of sessions, caches and
    memory, and the agent API that drives an app without a browser) only to a request carrying a
    signed-in coordinator's cookie; everyone else gets 404. From the app's first run on (Streamlit
    runs no code of the app before a browser opens it).
    Wraps Starlette's Route.handle once per process (the only Starlette app here is Streamlit's)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    if getattr(Route, "emotionet_closed", False):
        return True
    handle = Route.handle
    engine, key = webapp.engine(), _key()

    def coordinator(scope) -> bool:
        from http.cookies import CookieError, SimpleCookie

        jar = SimpleCookie()
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                try:
                    jar.load(value.decode("latin-1"))
                except CookieError:
                    return False
        cookie = jar.get(SESSION_COOKIE)
        found = accounts.signed_in(engine, key, cookie.value) if cookie is not None else None
        return found is not None and found.coordinator

    async def guarded(self, scope, receive, send):
        path = scope.get("path", "").rstrip("/") + "/"
        internal = any(f"{prefix}/" in path for prefix in INTERNAL_PATHS)  # under any server.baseUrlPath
        if scope.get("type") == "http" and internal and not await run_in_threadpool(coordinator, scope):
            await PlainTextResponse("Not found", status_code=404)(scope, receive, send)
            return
        await handle(self, scope, receive, send)

    Route.handle, Route.emotionet_closed = guarded, True
    return True
