"""Which pages watch which run, the idle stop and the memory rules, applied by one daemon thread per
process; and the save-everything hook at exit.
"""
from __future__ import annotations

import gc
import logging
import threading
import time
import weakref

from gen_core.classroom.run_info import IDLE_RELEASE_S, _ended, _Entry
from gen_core.training.runner import ACTIVE_STATES, PAUSED


log = logging.getLogger("gen_core")



_LIVE: "weakref.WeakSet" = weakref.WeakSet()  # every live RunRegistry


def _shutdown_all() -> None:
    for registry in list(_LIVE):
        try:
            registry.shutdown()
        except Exception:  # noqa: BLE001 — exiting: do what can be done for the others
            log.exception("could not stop the runs of a registry at exit")


def _release_memory() -> None:
    """After runs left memory: collect their reference cycles (runner ⇄ callbacks) now, and hand
    the freed heap back to the OS (glibc keeps it otherwise), so a server's memory goes back down."""
    gc.collect()
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _reaper_loop(ref, interval: float, closed: threading.Event) -> None:
    while not closed.wait(interval):
        registry = ref()
        if registry is None:
            return
        try:
            registry.reap()
        except Exception:  # noqa: BLE001 — the reaper must outlive any one bad run
            log.exception("run reaper failed")
        del registry


class IdleReaper:
    """Which pages watch which run, the idle stop and the memory rules (applied by the reaper thread). A
    mixin of `RunRegistry`.
    """
    

    # ------------------------------------------------------------------ sessions and the reaper
    def touch(self, run_id: str | None, session_id: str | None = None) -> None:
        """A page shows `run_id` now. Cheap; call it on every render or live tick."""
        if not isinstance(run_id, str):
            return
        now = time.monotonic()
        with self._lock:
            entry = self._runs.get(run_id)
            if entry is None:
                return
            entry.last_seen = now
            if session_id is not None:
                entry.sessions[str(session_id)] = now
                if len(entry.sessions) > 64:
                    horizon = now - min(self.idle_timeout, 3600.0)
                    entry.sessions = {k: t for k, t in entry.sessions.items() if t >= horizon}

    def sessions_watching(self, within_s: float = 10.0) -> int:
        """Distinct sessions that touched any run in the last `within_s` seconds (server-wide load)."""
        now = time.monotonic()
        with self._lock:
            return len({sid for e in self._runs.values() for sid, t in e.sessions.items() if now - t <= within_s})

    def watchers(self, run_id: str, within_s: float = 10.0) -> int:
        """Sessions that touched `run_id` in the last `within_s` seconds."""
        now = time.monotonic()
        with self._lock:
            entry = self._runs.get(run_id)
            return 0 if entry is None else sum(1 for t in entry.sessions.values() if now - t <= within_s)

    def _ensure_reaper(self) -> None:
        if self._reaper is not None and self._reaper.is_alive():
            return
        ref = weakref.ref(self)
        self._reaper = threading.Thread(target=_reaper_loop, args=(ref, self.reap_interval, self._closed),
                                        name="gen_core-reaper", daemon=True)
        self._reaper.start()

    def reap(self, now: float | None = None) -> list[str]:
        """Stop idle runs and move old finished runs out of memory. Returns the ids stopped.

        Called by the reaper thread every `reap_interval` s; tests call it with a made-up `now`."""
        now = time.monotonic() if now is None else now
        stopped = []
        with self._lock:
            entries = list(self._runs.values())
        if self.idle_timeout != float("inf"):
            for e in entries:
                if e.runner.state in ACTIVE_STATES and e.last_seen is not None and now - e.last_seen > self.idle_timeout:
                    minutes = self.idle_timeout / 60
                    e.runner.stop(reason=f"Stopped automatically: no page had this run open for "
                                         f"{minutes:.0f} min{'' if minutes >= 1 else ' (less than a minute)'}. "
                                         "Its results are kept; resume it from the sidebar.")
                    stopped.append(e.runner.run_id)
        if self.paused_release_s != float("inf"):
            for e in entries:
                if e.runner.state != PAUSED:
                    e.paused_since = None
                    continue
                if e.paused_since is None:
                    e.paused_since = now
                elif now - e.paused_since > self.paused_release_s and e.runner.run_id not in stopped:
                    minutes = self.paused_release_s / 60
                    e.runner.stop(reason=f"Stopped automatically: paused for {minutes:.0f} min, so its training "
                                         "slot went to the next in line. Its results are kept; resume it to "
                                         "continue.")
                    stopped.append(e.runner.run_id)
        busy = any(e.runner.state in ACTIVE_STATES for e in entries)
        del entries  # (so that evicted runs are really unreferenced when memory is released)
        with self._lock:
            gone = self._evict_locked(now)
        # Release memory after runs left it, and now and then while nothing trains (what closed
        # browser sessions held — e.g. their buttons' callbacks on a runner — goes when they expire).
        if gone or (not busy and now - self._last_release > IDLE_RELEASE_S):
            del gone
            self._last_release = now
            _release_memory()
        return stopped

    def _evict_locked(self, now: float | None = None) -> list:
        """Finished runs leave memory: beyond `max_runs`, or unwatched for `keep_finished_s`."""
        now = time.monotonic() if now is None else now
        over = [e for e in self._runs.values() if _ended(e.runner)]
        saved = lambda e: e.persistence is not None and e.persistence.healthy  # noqa: E731
        gone: list[_Entry] = []
        for e in over:
            last = max(t for t in (e.ended_at, e.last_seen, 0.0) if t is not None)
            if saved(e) and e.ended_at is not None and now - last > self.keep_finished_s:
                gone.append(e)
        remaining = [e for e in over if e not in gone]
        excess = len(remaining) - self.max_runs
        if excess > 0:
            # Saved runs first (they stay listed and re-open from disk), oldest first.
            gone += sorted(remaining, key=lambda e: (not saved(e), e.created))[:excess]
        for e in gone:
            rid = e.runner.run_id
            self._runs.pop(rid, None)
            if saved(e):
                rec = e.persistence.record
                self._disk[rid] = rec
        return gone

