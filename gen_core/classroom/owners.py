"""Who may act on a run: owners, the teacher, and what a class may see of each other's runs.

A shared classroom server must not let one student stop, pause or delete another's run, nor
land a fresh browser on someone else's half-trained model. Every run therefore carries the
*owner id* of whoever started it, and every control call on the registry names an `Actor`:

    actor = Actor.student(token)        # a browser; token from its cookie (ui/identity.py)
    actor = Actor.teacher_of(token)     # the same browser after the teacher password
    actor = None                        # the local process (CLI, notebook, tests): may do anything

The owner id is a hash of the browser's secret token, so run folders (run.json) and the
teacher's table never hold a token that would let someone act as that browser; knowing a
run id, or an owner id, is not enough to act.

`ClassroomPolicy` is what the teacher sets for the whole server: per-student caps (running
and waiting runs), whether students see other students' runs read-only or not at all, and
which runs are "shown to the class" (readable by everyone through their link). The registry
keeps one and saves it next to the runs (runs_dir/classroom.json), so it survives a restart.

No streamlit import.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
from dataclasses import asdict, dataclass, field

from gen_core.classroom.envvars import env_number


log = logging.getLogger("gen_core")

TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{20,64}")
POLICY_FILE = "classroom.json"
OTHERS_READONLY, OTHERS_HIDDEN = "read-only", "hidden"
DEFAULT_RUNNING_PER_STUDENT = 1
DEFAULT_QUEUED_PER_STUDENT = 2


def new_token() -> str:
    """A fresh secret for one browser (32 url-safe characters, 192 bits)."""
    return secrets.token_urlsafe(24)


def valid_token(token: object) -> bool:
    return isinstance(token, str) and TOKEN_PATTERN.fullmatch(token) is not None


def owner_id(token: str) -> str:
    """The public id of a token's owner: stored with runs, shown to the teacher (never the token)."""
    return hashlib.sha256(("gen_core-owner:" + token).encode()).hexdigest()[:16]


def owner_name(owner: str | None) -> str:
    """A short, stable name for an owner id, for tables: 'student 3fa9c1'."""
    return "this server" if owner is None else f"student {owner[:6]}"


def password_matches(given: str, expected: str | None) -> bool:
    """Constant-time comparison; no password configured means nobody is the teacher."""
    if not expected or not isinstance(given, str):
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True)
class Actor:
    """Who asks: a browser's owner id, and whether that browser unlocked the teacher's view."""
    owner: str
    teacher: bool = False

    @classmethod
    def student(cls, token: str) -> "Actor":
        return cls(owner_id(token))

    @classmethod
    def teacher_of(cls, token: str) -> "Actor":
        return cls(owner_id(token), teacher=True)


def may_control(actor: Actor | None, owner: str | None) -> bool:
    """Stop / pause / resume / step / dequeue / delete: the owner, the teacher, or the local process.

    Runs without an owner were started by the local process (a script, the CLI, an older
    version of the app): in the dashboard only the teacher may act on them."""
    if actor is None or actor.teacher:
        return True
    return owner is not None and hmac.compare_digest(actor.owner, owner)


def _env_int(name: str, default: int) -> int:
    return max(0, env_number(name, default, cast=int))


@dataclass
class ClassroomPolicy:
    """The teacher's settings for the whole server (saved as runs_dir/classroom.json)."""
    running_per_student: int = field(default_factory=lambda: max(1, _env_int(
        "GEN_CORE_RUNNING_PER_STUDENT", DEFAULT_RUNNING_PER_STUDENT)))
    queued_per_student: int = field(default_factory=lambda: _env_int(
        "GEN_CORE_QUEUED_PER_STUDENT", DEFAULT_QUEUED_PER_STUDENT))
    others: str = field(default_factory=lambda: os.environ.get("GEN_CORE_OTHERS_RUNS", OTHERS_READONLY)
                        if os.environ.get("GEN_CORE_OTHERS_RUNS") in (OTHERS_READONLY, OTHERS_HIDDEN)
                        else OTHERS_READONLY)
    shown: list = field(default_factory=list)      # run ids shown to the class (read-only for everyone)

    def may_view(self, actor: Actor | None, owner: str | None, run_id: str) -> bool:
        if may_control(actor, owner) or run_id in self.shown:
            return True
        return self.others == OTHERS_READONLY

    def to_json(self) -> dict:
        return {"format": "gen_core.classroom", "version": 1, **asdict(self)}

    @classmethod
    def from_json(cls, data) -> "ClassroomPolicy":
        policy = cls()
        if not isinstance(data, dict) or data.get("format") != "gen_core.classroom":
            return policy
        for name in ("running_per_student", "queued_per_student"):
            value = data.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1000:
                setattr(policy, name, max(1, value) if name == "running_per_student" else value)
        if data.get("others") in (OTHERS_READONLY, OTHERS_HIDDEN):
            policy.others = data["others"]
        shown = data.get("shown")
        if isinstance(shown, list):
            policy.shown = [s for s in shown if isinstance(s, str) and len(s) <= 64][:200]
        return policy

    @classmethod
    def load(cls, path) -> "ClassroomPolicy":
        try:
            with open(path, encoding="utf-8") as f:
                return cls.from_json(json.load(f))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as e:
            log.warning("ignoring %s: %s", path, e)
            return cls()


__all__ = ["Actor", "ClassroomPolicy", "may_control", "new_token", "valid_token", "owner_id", "owner_name",
           "password_matches", "OTHERS_READONLY", "OTHERS_HIDDEN", "POLICY_FILE"]
