"""Owners, the teacher and per-student budgets (issue 9): B cannot act on A's run, the teacher can;
a click flood stays within the caps; the line is fair between students; paused runs give their
slot back; a resumed run survives the reaper; the teacher's settings survive a restart."""
from __future__ import annotations

import time

import pytest

from conftest import tiny_config, wait_for
from gen_core.classroom.owners import OTHERS_HIDDEN, Actor, ClassroomPolicy, may_control, owner_id
from gen_core.classroom.run_info import NotYourRun, RunError
from gen_core.classroom.runs import RunRegistry
from gen_core.training.runner import FINAL_STATES, PAUSED, QUEUED, RUNNING, STOPPED


A = Actor.student("student-a-token-000000000")
B = Actor.student("student-b-token-000000000")
TEACHER = Actor.teacher_of("teacher-token-0000000000000")
LONG = dict(epochs=400)


@pytest.fixture
def reg(tmp_path):
    r = RunRegistry(runs_dir=tmp_path / "runs", max_running=2, reap_interval=60)
    yield r
    r.clear()


def test_the_owner_id_is_a_hash_not_the_token():
    assert A.owner == owner_id("student-a-token-000000000") and "student-a" not in A.owner
    assert may_control(A, A.owner) and not may_control(B, A.owner) and may_control(TEACHER, A.owner)
    assert not may_control(B, None)  # runs the local process started: the teacher's, in the dashboard


def test_another_student_cannot_act_on_a_run_but_the_teacher_can(reg, mini_data):
    rid = reg.create(tiny_config("mlp-gan", **LONG), data=mini_data, actor=A)
    assert reg.owner_of(rid) == A.owner and reg.may_control(rid, A) and not reg.may_control(rid, B)
    for action in ("pause", "resume", "step", "stop", "dequeue"):
        with pytest.raises(NotYourRun):
            reg.control(rid, action, B)
    with pytest.raises(NotYourRun):
        reg.delete(rid, B)
    assert reg.get(rid).state in ("starting", RUNNING)
    reg.control(rid, "pause", A)
    assert wait_for(lambda: reg.get(rid).state == PAUSED, 30)
    reg.control(rid, "stop", TEACHER)
    assert reg.get(rid).join(30) and reg.get(rid).state == STOPPED
    with pytest.raises(NotYourRun):
        reg.resume(rid, B)
    reg.resume(rid, A)
    reg.delete(rid, TEACHER)
    assert rid not in reg and not (reg.store.root / rid).exists()


def test_the_teacher_chooses_whether_students_see_each_others_runs(reg, mini_data):
    rid = reg.create(tiny_config("mlp-gan", epochs=1), data=mini_data, actor=A)
    assert [i.run_id for i in reg.list(actor=B)] == [rid]               # default: read-only
    assert reg.list(actor=B, mine=True) == []
    with pytest.raises(NotYourRun):
        reg.set_policy(B, others=OTHERS_HIDDEN)
    reg.set_policy(TEACHER, others=OTHERS_HIDDEN)
    assert reg.list(actor=B) == [] and not reg.may_view(rid, B) and reg.may_view(rid, A)
    reg.show_to_class(rid, TEACHER)                                     # the read-only link for everyone
    assert reg.may_view(rid, B) and not reg.may_control(rid, B) and reg.info(rid).shown
    # the settings live next to the runs: a restarted server keeps them
    again = RunRegistry(runs_dir=reg.store.root, reap_interval=60)
    assert again.policy.others == OTHERS_HIDDEN and again.policy.shown == [rid]
    assert again.owner_of(rid) == A.owner and not again.may_control(rid, B)


def test_a_34_click_flood_stays_within_the_caps_and_others_still_start(reg, mini_data):
    made, refused = [], []
    for _ in range(34):  # "Train a matched pair" 34 times: two runs per click
        for model in ("mlp-gan", "mlp-vae"):
            try:
                made.append(reg.create(tiny_config(model, **LONG), data=mini_data, actor=A))
            except RunError as e:
                refused.append(str(e))
    running, queued = reg.scheduler.owner_counts(A.owner)
    assert (running, queued) == (1, 2) and len(made) == 3
    assert "the most one student may have" in refused[0]
    assert len(reg.store.scan()) == 3                                   # refused runs leave no folder
    other = reg.create(tiny_config("mlp-gan", **LONG), data=mini_data, actor=B)
    assert reg.get(other).state in ("starting", RUNNING)               # a free slot, at once


def test_the_line_is_round_robin_between_students(tmp_path, mini_data):
    reg = RunRegistry(max_running=1, reap_interval=60)
    try:
        first = reg.create(tiny_config("mlp-gan", **LONG), data=mini_data, actor=TEACHER)
        a1 = reg.create(tiny_config("mlp-gan", **LONG), data=mini_data, actor=A)
        a2 = reg.create(tiny_config("mlp-gan", **LONG), data=mini_data, actor=A)
        b1 = reg.create(tiny_config("mlp-gan", **LONG), data=mini_data, actor=B)
        assert reg.scheduler.queued_ids == [a1, b1, a2]                  # not a1, a2, b1 (clicks)
        assert [reg.snapshot(r).queue_position for r in (a1, b1, a2)] == [1, 2, 3]
        reg.control(first, "stop", TEACHER)
        assert wait_for(lambda: reg.get(a1).started, 30)
        # A now trains: B's run is next, although A's second was queued before it
        assert reg.scheduler.queued_ids == [b1, a2]
        reg.control(a1, "stop", A)
        assert wait_for(lambda: reg.get(b1).started, 30) and reg.get(a2).state == QUEUED
    finally:
        reg.clear()


def test_the_teacher_raises_the_caps_and_waiting_runs_start(reg, mini_data):
    a1 = reg.create(tiny_config("mlp-gan", **LONG), data=mini_data, actor=A)
    a2 = reg.create(tiny_config("mlp-gan", **LONG), data=mini_data, actor=A)
    assert reg.get(a2).state == QUEUED                                   # a free slot, but A's cap is 1
    reg.set_policy(TEACHER, running_per_student=2)
    assert wait_for(lambda: reg.get(a2).started, 30)
    assert reg.get(a1).state not in FINAL_STATES


def test_a_paused_run_gives_its_slot_back_after_a_while(tmp_path, mini_data):
    reg = RunRegistry(max_running=1, paused_release_s=5, reap_interval=60)
    try:
        rid = reg.create(tiny_config("mlp-gan", **LONG), data=mini_data, actor=A)
        waiting = reg.create(tiny_config("mlp-gan", **LONG), data=mini_data, actor=B)
        reg.control(rid, "pause", A)
        assert wait_for(lambda: reg.get(rid).state == PAUSED, 30)
        now = time.monotonic()
        assert reg.reap(now=now) == []                                   # first seen paused
        assert reg.reap(now=now + 6) == [rid]
        assert wait_for(lambda: reg.get(waiting).started, 30)
        assert reg.info(rid).resumable and any("paused for" in w for w in reg.snapshot(rid).warnings)
    finally:
        reg.clear()


def test_a_resumed_run_survives_the_reaper(tmp_path, mini_data):
    reg = RunRegistry(runs_dir=tmp_path / "runs", idle_timeout=5.0, reap_interval=60)
    try:
        rid = reg.create(tiny_config("mlp-gan", **LONG), data=mini_data, actor=A)
        reg.touch(rid, "page")
        assert reg.reap(now=time.monotonic() + 6) == [rid]              # nobody watched for 6 s
        assert reg.get(rid).join(30) and reg.get(rid).state == STOPPED
        reg.resume(rid, A)                                               # resuming is watching it
        assert reg.reap(now=time.monotonic() + 2) == []
        assert reg.get(rid).state not in FINAL_STATES
    finally:
        reg.clear()


def test_policy_files_that_are_damaged_fall_back_to_the_defaults(tmp_path):
    path = tmp_path / "classroom.json"
    path.write_text("{not json")
    assert ClassroomPolicy.load(path) == ClassroomPolicy()
    path.write_text('{"format": "gen_core.classroom", "running_per_student": -3, "others": "everyone", '
                    '"shown": ["ok", 5]}')
    policy = ClassroomPolicy.load(path)
    assert policy.running_per_student == ClassroomPolicy().running_per_student
    assert policy.others == ClassroomPolicy().others and policy.shown == ["ok"]
