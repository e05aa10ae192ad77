"""gen_core.classroom.scheduler: at most K runs train at once, the rest wait first come first served, and the
running ones share the CPU threads fairly (re-balanced as runs start and end)."""
from __future__ import annotations

import threading

import pytest
import torch

from conftest import tiny_config, wait_for
from gen_core.classroom.run_info import RunError
from gen_core.classroom.runs import RunRegistry
from gen_core.classroom.scheduler import (Scheduler, SchedulerFull, default_max_running, ordinal, threads_per_run,
                                          training_cores)
from gen_core.training.runner import FAILED, FINISHED, QUEUED, RUNNING, STOPPED, TrainingRunner
from gen_core.training.trainer import Trainer


JOIN_S = 60



def long_runner(mini_data, **kw) -> TrainingRunner:
    return TrainingRunner(tiny_config("mlp-gan", epochs=kw.pop("epochs", 400), **kw), mini_data)


def stop_all(*runners) -> None:
    for r in runners:
        r.stop()
    for r in runners:
        assert r.join(JOIN_S)


# ---------------------------------------------------------------------------- pure helpers

def test_threads_per_run_is_a_fair_share_of_at_least_one():
    assert [threads_per_run(2, n) for n in (0, 1, 2, 3, 20)] == [2, 2, 1, 1, 1]
    assert [threads_per_run(16, n) for n in (1, 2, 3, 4, 5)] == [16, 8, 5, 4, 3]


def test_the_dashboard_keeps_one_core_for_its_pages(monkeypatch):
    """training_cores: all cores but GEN_CORE_UI_CORES (default 1) go to the runs, never fewer than one,
    so one run on a 2-core demo laptop trains on 1 thread and leaves a core to the page and browser."""
    monkeypatch.delenv("GEN_CORE_UI_CORES", raising=False)
    assert [training_cores(n) for n in (1, 2, 16)] == [1, 1, 15]
    assert threads_per_run(training_cores(2), 1) == 1 and threads_per_run(training_cores(16), 1) == 15
    monkeypatch.setenv("GEN_CORE_UI_CORES", "0")
    assert training_cores(2) == 2
    monkeypatch.setenv("GEN_CORE_UI_CORES", "4")
    assert training_cores(2) == 1 and training_cores(8) == 4
    monkeypatch.setenv("GEN_CORE_UI_CORES", "lots")     # ignored (logged): the default applies
    assert training_cores(2) == 1


def test_ordinals():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]


def test_slots_come_from_the_environment_or_the_core_count(monkeypatch):
    monkeypatch.setenv("GEN_CORE_MAX_RUNS", "5")
    assert default_max_running() == 5 and Scheduler().max_running == 5
    assert RunRegistry().max_active == 5
    for bad in ("zero", "0", "-3", ""):
        monkeypatch.setenv("GEN_CORE_MAX_RUNS", bad)
        assert default_max_running() >= 1  # ignored: the core count
    assert Scheduler(max_running=7).max_running == 7 and RunRegistry(max_running=3).max_active == 3


def test_torch_threads_are_set_per_calling_thread():
    """The finding the scheduler relies on (OpenMP backend): a worker's set_num_threads is its own."""
    before = torch.get_num_threads()
    seen = {}

    def worker():
        torch.set_num_threads(1)
        torch.ones(1000).sum()
        seen["worker"] = torch.get_num_threads()

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen["worker"] == 1
    if "OpenMP" in torch.__config__.parallel_info():
        assert torch.get_num_threads() == before  # the main thread kept its count


# ---------------------------------------------------------------------------- the line

def test_first_come_first_served_with_positions(mini_data):
    s = Scheduler(max_running=1, cores=2)
    a, b, c = (long_runner(mini_data) for _ in range(3))
    assert s.submit(a) is True
    assert s.submit(b) is False and s.submit(c) is False
    assert (b.state, c.state) == (QUEUED, QUEUED)
    assert (b.snapshot().queue_position, c.snapshot().queue_position) == (1, 2)
    assert s.position(c.run_id) == 2 and s.queued_ids == [b.run_id, c.run_id]
    assert wait_for(lambda: a.state == RUNNING)
    a.stop()
    assert a.join(JOIN_S) and a.state == STOPPED
    assert wait_for(lambda: b.started) and not c.started       # b was first in line
    assert c.snapshot().queue_position == 1 and s.running_ids == [b.run_id]
    stop_all(b, c)
    assert not s.running_ids and not s.queued_ids


def test_stopping_a_queued_run_takes_it_out_of_line_at_once(mini_data):
    s = Scheduler(max_running=1, cores=2)
    a, b, c = (long_runner(mini_data) for _ in range(3))
    s.submit(a), s.submit(b), s.submit(c)
    b.stop(reason="changed my mind")
    assert b.state == STOPPED and not b.started and b.join(0)
    assert s.queued_ids == [c.run_id] and c.snapshot().queue_position == 1
    assert b.snapshot().warnings == ("changed my mind",) and not b.snapshot().is_active
    stop_all(a, c)
    assert not b.started  # never got a slot


def test_a_crashing_run_frees_its_slot(mini_data):
    s = Scheduler(max_running=1, cores=2)
    bad_trainer = Trainer(tiny_config("mlp-gan", epochs=3), mini_data)

    release = threading.Event()

    def boom():
        release.wait(JOIN_S)  # hold the slot until the test has seen the other run queued
        raise RuntimeError("injected fault")
    bad_trainer.train_step = boom
    bad = TrainingRunner(bad_trainer.config, trainer=bad_trainer)
    good = TrainingRunner(tiny_config("mlp-vae", epochs=1), mini_data)
    s.submit(bad), s.submit(good)
    assert good.state == QUEUED
    release.set()
    assert bad.join(JOIN_S) and bad.state == FAILED and "injected fault" in bad.snapshot().error
    assert wait_for(lambda: good.started) and good.join(JOIN_S) and good.state == FINISHED
    assert not s.running_ids


def test_the_line_is_bounded(mini_data):
    s = Scheduler(max_running=1, max_queued=1, cores=2)
    a, b, c = (long_runner(mini_data) for _ in range(3))
    s.submit(a), s.submit(b)
    with pytest.raises(SchedulerFull, match="waiting"):
        s.submit(c)
    assert not c.started and c.state == "idle"
    stop_all(a, b)


def test_registry_says_when_the_line_is_full(mini_data):
    reg = RunRegistry(max_running=1, max_queued=1)
    reg.create(tiny_config("mlp-gan", epochs=400), data=mini_data)
    reg.create(tiny_config("mlp-gan", epochs=400), data=mini_data)
    with pytest.raises(RunError, match="the most this server takes"):
        reg.create(tiny_config("mlp-gan", epochs=1), data=mini_data)
    assert len(reg) == 2
    reg.clear()


# ---------------------------------------------------------------------------- fair threads

def test_running_runs_share_the_cores_and_rebalance(mini_data):
    s = Scheduler(max_running=4, cores=4)
    seen: dict[str, set] = {}

    def record(runner):
        def cb(trainer):  # runs in the worker thread, after an epoch
            seen.setdefault(runner.run_id, set()).add(torch.get_num_threads())
        runner.on_epoch_end.append(cb)
        return runner

    a = record(long_runner(mini_data))
    s.submit(a)
    assert a._threads_wanted == 4
    b = record(long_runner(mini_data))
    s.submit(b)
    assert a._threads_wanted == b._threads_wanted == 2
    c, d = record(long_runner(mini_data)), record(long_runner(mini_data))
    s.submit(c), s.submit(d)
    assert {r._threads_wanted for r in (a, b, c, d)} == {1}
    assert wait_for(lambda: all(1 in seen.get(r.run_id, ()) for r in (a, b, c, d)))
    assert all(r.snapshot().threads == 1 for r in (a, b, c, d) if r.snapshot().step > 0)
    stop_all(b, c, d)
    assert wait_for(lambda: a._threads_wanted == 4)   # the survivor gets the machine back …
    assert wait_for(lambda: 4 in seen[a.run_id])      # … and its worker applies it
    stop_all(a)


def test_main_thread_keeps_its_thread_count_while_runs_train(mini_data):
    before = torch.get_num_threads()
    s = Scheduler(max_running=2, cores=2)
    a, b = long_runner(mini_data), long_runner(mini_data)
    s.submit(a), s.submit(b)
    assert wait_for(lambda: a.snapshot().threads == 1 and b.snapshot().threads == 1)
    if "OpenMP" in torch.__config__.parallel_info():
        assert torch.get_num_threads() == before
    stop_all(a, b)
