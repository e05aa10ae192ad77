"""Presenter mode: the Train pages laid out for a 1280×720 projector.

On (sidebar toggle, or `?present=1` in a link), a run's page shows in one screen, without
scrolling: one compact row (name, state, progress, Pause / Resume / Step / Stop), then the live
loss chart, D(x) vs D(G(z)) (a VAE: the ELBO terms) and the current fixed-noise grid side by
side, in type large enough to read from the back of a room. Settings and the rest of the page
stay below the fold. The sidebar starts collapsed.
"""
from __future__ import annotations

import streamlit as st


KEY = "present"            # session key of the toggle (bound to ?present=1)
_URL_SEEN = "_url_present_seen"
CHART_HEIGHT = 440         # px: the charts' row fits 720 px under the compact row
FONT_SIZE = 17             # px: chart text in presenter mode
GRID_PX = 400              # px: the fixed-noise grid's side

# Streamlit's default top padding is 6 rem and its type 16 px: too much air, too small for a room.
CSS = """
<style>
.block-container, [data-testid="stMainBlockContainer"] {padding-top: 2.6rem !important;
  padding-bottom: 0.5rem !important; padding-left: 1.2rem !important; padding-right: 1.2rem !important;}
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li {font-size: 1.2rem;}
[data-testid="stCaptionContainer"] {font-size: 1.0rem;}
[data-testid="stHeader"] {height: 2rem; min-height: 2rem;}
h1 {font-size: 1.9rem !important; padding: 0.2rem 0 !important;}
h3 {font-size: 1.6rem !important; padding: 0 !important;}
[data-testid="stMetricValue"] {font-size: 1.6rem;}
[data-testid="stVerticalBlock"] {gap: 0.45rem;}
</style>
"""


def from_url() -> None:
    """Apply ?present=1 / ?present=0 once per session (a slide's link opens in presenter mode)."""
    wanted = st.query_params.get(KEY)
    if wanted is not None and wanted != st.session_state.get(_URL_SEEN):
        st.session_state[_URL_SEEN] = wanted
        st.session_state[KEY] = wanted.strip().lower() in ("1", "true", "yes", "on")


def is_on() -> bool:
    return bool(st.session_state.get(KEY, False))


def keep_url() -> None:
    """?present=1 while presenting (so a refresh stays in presenter mode), no key otherwise."""
    try:
        if is_on():
            if st.query_params.get(KEY) != "1":
                st.query_params[KEY] = "1"
            st.session_state[_URL_SEEN] = "1"
        elif KEY in st.query_params:
            del st.query_params[KEY]
            st.session_state.pop(_URL_SEEN, None)
    except Exception:  # noqa: BLE001 — the URL is a convenience
        pass


def toggle() -> None:
    """The sidebar switch."""
    st.session_state.setdefault(KEY, False)
    st.toggle("Presenter mode", key=KEY, help="For a projector (1280×720): the live charts and the current "
              "samples on one screen, large type, compact controls. Links with ?present=1 open in it.")


def style() -> None:
    """Large type and tight spacing (only while presenting)."""
    if is_on():
        st.html(CSS)


def exit_button(key: str) -> None:
    st.button("Exit", key=key, icon=":material/fullscreen_exit:", on_click=_off, help="Leave presenter mode.")


def _off() -> None:
    st.session_state[KEY] = False


def title(text: str, family: str | None = None) -> None:
    """The page title; in presenter mode none over a run (its own row says what is on screen), a small
    one otherwise."""
    if not is_on():
        st.title(text)
        return
    from . import state
    if family is not None and state.focus(family) is not None:
        return
    st.markdown(f"### {text}")
