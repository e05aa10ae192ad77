"""The live panel: an `st.fragment` that redraws a run from its thread-safe snapshot.

While any of the runs shown is active (starting, training or paused) the fragment re-runs
itself every `interval` seconds, re-reading `TrainingRunner.snapshot()`; nothing else on the
page re-runs. When the last of them ends, the fragment asks for one full re-run, and the page
then defines it again *without* a timer, so a finished run costs nothing.
Worker threads never touch streamlit: they only publish snapshots.
"""
from __future__ import annotations

from typing import Callable, Sequence

import streamlit as st

from gen_core.runner import RunSnapshot, TrainingRunner

from . import state

LIVE_INTERVAL_S = 1.0


def live_panel(run_ids: Sequence[str], body: Callable[[list[RunSnapshot], list[TrainingRunner]], None], *,
               interval: float = LIVE_INTERVAL_S) -> None:
    """Draw `body(snapshots, runners)` now, and again every `interval` s while a run is active."""
    reg = state.registry()
    runners = [reg.get(rid) for rid in run_ids]
    if not runners or any(r is None for r in runners):
        st.warning("That run is no longer in memory (the server restarted or it was cleared).")
        return
    active_at_start = any(r.snapshot().is_active for r in runners)

    @st.fragment(run_every=interval if active_at_start else None)
    def _panel():
        snaps = [r.snapshot() for r in runners]
        body(snaps, runners)
        if active_at_start and not any(s.is_active for s in snaps):
            st.rerun()  # the whole page once more: redefined without a timer

    _panel()
