"""Who this browser is: an owner token in a cookie, and the teacher's password.

Mechanism (see README, *Owners and the teacher's view*): each browser gets a random secret
token (192 bits) the first time it opens the app, kept in the cookie `gen_core_owner` for a
year. Streamlit 1.67 reads cookies (`st.context.cookies`, from the websocket's handshake) but
has no API to set one, so the first page run writes it with a two-line script through
`st.html(..., unsafe_allow_javascript=True)` (no third-party component); until the next page
load the token lives in session state. A refresh, a new tab of the same browser and a server
restart (runs keep their owner in run.json) all come back as the same owner; another browser,
or a private window, is someone else. The run's link (`?run=<id>`) holds no token, so sharing
it shares a read-only view, never control.

The teacher unlocks their view with the password in GEN_CORE_TEACHER_PASSWORD or in
`.streamlit/secrets.toml` (`teacher_password = "..."`); without one, there is no teacher.
"""
from __future__ import annotations

import os

import streamlit as st

from gen_core.classroom.owners import Actor, new_token, owner_id, password_matches, valid_token


COOKIE = "gen_core_owner"
TOKEN_KEY = "_gen_core_owner_token"
TEACHER_KEY = "_gen_core_teacher"
COOKIE_MAX_AGE_S = 365 * 24 * 3600


def _cookie_token() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 — no request context (AppTest, bare mode)
        return None
    return value if valid_token(value) else None


def token() -> str:
    """This browser's secret owner token (from its cookie, else a new one for this session)."""
    ss = st.session_state
    if not valid_token(ss.get(TOKEN_KEY)):
        ss[TOKEN_KEY] = _cookie_token() or new_token()
    return ss[TOKEN_KEY]


def write_cookie() -> None:
    """Make the token outlive this session: set the cookie unless the browser sent it already."""
    t = token()
    if _cookie_token() == t:
        return
    # The token is [A-Za-z0-9_-] only (valid_token), so it is safe inside the script.
    st.html(f"<script>document.cookie = '{COOKIE}={t}; path=/; max-age={COOKIE_MAX_AGE_S}; SameSite=Strict';"
            "</script>", unsafe_allow_javascript=True, width=1)


def teacher_password() -> str | None:
    env = os.environ.get("GEN_CORE_TEACHER_PASSWORD", "")
    if env:
        return env
    try:
        value = st.secrets.get("teacher_password")
    except Exception:  # noqa: BLE001 — no secrets.toml: that is fine
        return None
    return str(value) if value else None


def is_teacher() -> bool:
    return bool(st.session_state.get(TEACHER_KEY)) and teacher_password() is not None


def unlock_teacher(password: str) -> bool:
    ok = password_matches(password, teacher_password())
    st.session_state[TEACHER_KEY] = ok
    return ok


def lock_teacher() -> None:
    st.session_state.pop(TEACHER_KEY, None)


def actor() -> Actor:
    """Who is asking, for every registry call that acts on a run."""
    return Actor(owner_id(token()), teacher=is_teacher())


def me() -> str:
    return owner_id(token())
