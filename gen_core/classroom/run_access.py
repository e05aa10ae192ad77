"""Who may do what to a run: its owner or the teacher control it; the teacher's policy decides who sees
it. A mixin of `RunRegistry` (it uses the registry's lock and entries).
"""
from __future__ import annotations

import logging
import time

from gen_core.classroom.describe import clean_name, clean_note
from gen_core.classroom.owners import POLICY_FILE, Actor, ClassroomPolicy, may_control
from gen_core.classroom.run_info import CONTROL_ACTIONS, NotYourRun, RunError
from gen_core.persistence.persist import describe_os_error


log = logging.getLogger("gen_core")

class OwnerControls:
    """Who may do what to a run: its owner or the teacher control it; the teacher's policy decides who sees
    it. A mixin of `RunRegistry` (it uses the registry's lock and entries).
    """
    

    # ------------------------------------------------------------------ owners and the teacher
    def owner_of(self, run_id: str | None) -> str | None:
        with self._lock:
            entry = self._runs.get(run_id) if isinstance(run_id, str) else None
            record = self._disk.get(run_id) if isinstance(run_id, str) else None
        return entry.owner if entry is not None else (record.owner if record is not None else None)

    def may_control(self, run_id: str | None, actor: Actor | None) -> bool:
        """May `actor` stop, pause, resume, step, dequeue or delete this run? (owner or teacher)."""
        return run_id in self and may_control(actor, self.owner_of(run_id))

    def may_view(self, run_id: str | None, actor: Actor | None) -> bool:
        """May `actor` see this run (read-only unless `may_control`)? The teacher's policy decides."""
        return run_id in self and self.policy.may_view(actor, self.owner_of(run_id), run_id)

    def _check(self, run_id: str, actor: Actor | None, what: str) -> None:
        if run_id not in self:
            raise RunError(f"no run with id {run_id!r}.")
        if not may_control(actor, self.owner_of(run_id)):
            raise NotYourRun(what)

    def control(self, run_id: str, action: str, actor: Actor | None) -> None:
        """pause / resume / step / stop / dequeue a run — only its owner or the teacher may.

        Every button of the dashboard goes through here (never the runner directly), so knowing a
        run's id is not enough to act on it. Raises NotYourRun or RunError."""
        if action not in CONTROL_ACTIONS:
            raise RunError(f"unknown action {action!r}; one of {', '.join(CONTROL_ACTIONS)}.")
        self._check(run_id, actor, {"dequeue": "take out of the line"}.get(action, action))
        runner = self.get(run_id)
        if runner is None:
            raise RunError(f"no run with id {run_id!r}.")
        if action == "pause":
            runner.pause()
        elif action == "resume":
            runner.resume()
            with self._lock:
                entry = self._runs.get(run_id)
                if entry is not None:
                    entry.paused_since = None
        elif action == "step":
            runner.step()
        else:
            runner.stop()

    def delete(self, run_id: str, actor: Actor | None, *, wait: float = 5.0) -> None:
        """Stop a run, forget it and remove its folder (owner or teacher only)."""
        self._check(run_id, actor, "delete")
        runner = self.get(run_id)
        if runner is not None:
            runner.stop()
            if not runner.join(wait):  # its worker may still write into the folder
                raise RunError("this run is still stopping; try again in a moment.")
        self.remove(run_id, wait=wait)
        if self.store is not None:
            try:
                self.store.delete(run_id)
            except OSError as e:
                raise RunError(f"the run was removed from the list, but its folder could not be deleted "
                               f"({describe_os_error(e)}).") from None
        self._set_shown(run_id, False)

    def _save_policy(self) -> None:
        if self.store is None:
            return
        import json

        from gen_core.persistence.atomic import atomic_write
        try:
            data = json.dumps(self.policy.to_json(), indent=1).encode()
            atomic_write(self.store.root / POLICY_FILE, lambda f: f.write(data))
        except OSError as e:
            log.warning("classroom settings not saved: %s", describe_os_error(e))

    @staticmethod
    def _teacher_only(actor: Actor | None) -> None:
        if actor is not None and not actor.teacher:
            raise NotYourRun("change the class settings of")

    def set_policy(self, actor: Actor | None, *, running_per_student: int | None = None,
                   queued_per_student: int | None = None, others: str | None = None) -> ClassroomPolicy:
        """The teacher's settings: per-student caps and whether students see each other's runs."""
        self._teacher_only(actor)
        if running_per_student is not None:
            self.policy.running_per_student = max(1, int(running_per_student))
        if queued_per_student is not None:
            self.policy.queued_per_student = max(0, int(queued_per_student))
        if others is not None:
            self.policy.others = others if others in ("read-only", "hidden") else self.policy.others
        self.scheduler.set_caps(self.policy.running_per_student, self.policy.queued_per_student)
        self._save_policy()
        return self.policy

    def _set_shown(self, run_id: str, shown: bool) -> None:
        ids = [r for r in self.policy.shown if r != run_id] + ([run_id] if shown else [])
        if ids != self.policy.shown:
            self.policy.shown = ids
            self._save_policy()

    def show_to_class(self, run_id: str, actor: Actor | None, shown: bool = True) -> None:
        """Every session may open this run (read-only) through its link: the teacher's choice."""
        self._teacher_only(actor)
        if run_id not in self:
            raise RunError(f"no run with id {run_id!r}.")
        self._set_shown(run_id, shown)

    def clear_old(self, actor: Actor | None, older_than_s: float) -> list[str]:
        """Delete every run that is over and was created more than `older_than_s` ago (teacher)."""
        self._teacher_only(actor)
        cutoff = time.time() - older_than_s
        gone = []
        for info in self.list():
            if not info.is_active and info.created < cutoff:
                try:
                    self.delete(info.run_id, actor)
                    gone.append(info.run_id)
                except RunError as e:
                    log.warning("could not delete run %s: %s", info.run_id, e)
        return gone

    # ------------------------------------------------------------------ names, notes, deleting
    def rename(self, run_id: str, name: str, actor: Actor | None = None) -> str:
        """Give a run a name (shown in every picker; saved in its run.json). Returns the cleaned name.
        Only its owner or the teacher may (actor None: the local process). Raises RunError for an
        unknown run or an unusable name, NotYourRun for someone else's run."""
        return self._set_text(run_id, actor, "rename", "label", clean_name, name)

    def set_note(self, run_id: str, note: str, actor: Actor | None = None) -> str:
        """Attach a note to a run ("lr too high: D wins by epoch 2"). Returns the cleaned note.
        Owner or teacher only, as `rename`."""
        return self._set_text(run_id, actor, "write a note on", "note", clean_note, note)

    def _set_text(self, run_id: str, actor: Actor | None, what: str, field: str, clean, text: str) -> str:
        self._check(run_id, actor, what)
        try:
            text = clean(text)
        except ValueError as e:
            raise RunError(str(e)) from None
        self._edit_record(run_id, **{field: text})
        return text

    def _edit_record(self, run_id: str, **fields) -> None:
        with self._lock:
            entry = self._runs.get(run_id) if isinstance(run_id, str) else None
            record = self._disk.get(run_id) if isinstance(run_id, str) else None
            if entry is None and record is None:
                raise RunError(f"no run with id {run_id!r}.")
            if entry is not None:
                for k, v in fields.items():
                    setattr(entry, k, v)
                if entry.persistence is not None:
                    for k, v in fields.items():
                        setattr(entry.persistence.record, k, v)
            else:
                for k, v in fields.items():
                    setattr(record, k, v)
        if entry is not None and entry.persistence is not None:
            entry.persistence.save_record()
        elif record is not None and self.store is not None:
            try:
                self.store.write_record(record)
            except OSError as e:
                raise RunError(f"the change could not be saved ({describe_os_error(e)}).") from None

