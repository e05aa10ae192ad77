"""The `ray` executor against a real local Ray (started and stopped here, num_cpus=2, a small object store).

Same behaviour as threads: streamed snapshots, pause / single step / resume / stop, the run folder,
resume from disk; and isolation: a worker that dies ends only its own run."""
from __future__ import annotations

import json

import pytest

from conftest import tiny_config, wait_for
from gen_core.classroom.executors.ray_actor import apply_delta, delta
from gen_core.classroom.runs import RunRegistry
from gen_core.training.runner import FAILED, FINISHED, INTERRUPTED, PAUSED, RUNNING, STOPPED


ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -r requirements-ray.txt)")

T = 60


@pytest.fixture(scope="module")
def executor():
    from gen_core.classroom.executors.ray_executor import RayExecutor
    ex = RayExecutor(init_options=dict(num_cpus=2, object_store_memory=100 * 1024 * 1024))
    # Connect as the server does: from a thread that then ends. (Ray's local processes die with the
    # thread that forked them; connecting on pytest's main thread hid that the server died this way.)
    connecting = ex.connect_in_background()
    connecting.join(T)
    assert not connecting.is_alive() and ex.connected, ex.problem
    yield ex
    ex.shutdown()


def _config(**kw):
    return tiny_config("mlp-gan", **{"epochs": 3, "images_per_epoch": 640, **kw})   # 20 steps an epoch


def test_history_deltas_send_only_what_is_new():
    a, b, c = {"s": 1}, {"s": 2}, {"s": 3}
    assert delta((), ()) is None and delta((a,), (a,)) is None
    assert delta((a,), (a, b, c)) == ("tail", (b, c))
    assert delta((a, b), (a, c)) == ("full", (a, c))          # thinned: b left
    assert apply_delta((a,), ("tail", (b,))) == (a, b) and apply_delta((a, b), ("full", (c,))) == (c,)


def test_ray_outlives_the_thread_that_connected(executor):
    # (the connecting thread has ended: its death signal, if Ray's processes had it, has been sent)
    assert ray.get(ray.put(41)) + 1 == 42
    assert ray.cluster_resources().get("CPU") == 2


def test_a_ray_run_behaves_like_a_thread_run(executor, tmp_path):
    reg = RunRegistry(max_active=2, runs_dir=tmp_path, executor=executor)
    try:
        rid = reg.create(_config(), run_id="rayrun1")
        runner = reg.get(rid)
        runner.pause()                                      # while "starting": it starts paused
        assert wait_for(lambda: reg.snapshot(rid).state == PAUSED and reg.snapshot(rid).total_steps > 0, T)
        assert reg.snapshot(rid).step == 0 and reg.status()["executor"] == "ray"
        runner.step(3)
        assert wait_for(lambda: reg.snapshot(rid).step == 3, T)
        assert reg.snapshot(rid).state == PAUSED and len(reg.snapshot(rid).step_history) == 3
        runner.step(20)                                     # through the end of epoch 1, then paused again
        assert wait_for(lambda: reg.snapshot(rid).step == 23 and reg.snapshot(rid).epoch == 1, T)
        snap = reg.snapshot(rid)
        assert snap.state == PAUSED and snap.epoch_snapshots and snap.epoch_history and snap.samples_per_sec > 0
        assert wait_for(lambda: reg.view(rid) is not None, T)    # the epoch's model came back to the server
        runner.stop()
        assert runner.join(T) and reg.snapshot(rid).state == STOPPED and reg.snapshot(rid).step == 23
        assert runner.poll_seconds and runner.worker_pid is not None
        assert (tmp_path / rid / "checkpoint.pt").is_file() and (tmp_path / rid / "grids" / "epoch_001.png").is_file()
        assert len(reg.checkpoint_bytes(rid)) > 1000
    finally:
        reg.clear()

    # A new server on the same folder lists it and resumes it through Ray, from the very step it stopped at.
    reg2 = RunRegistry(max_active=2, runs_dir=tmp_path, executor=executor)
    try:
        assert reg2.info(rid).state == STOPPED and reg2.resumable(rid)
        reg2.resume(rid)
        reg2.get(rid).pause()
        assert wait_for(lambda: reg2.snapshot(rid).state == PAUSED and reg2.snapshot(rid).total_steps > 0, T)
        assert reg2.snapshot(rid).step >= 23
        reg2.get(rid).resume()
        assert reg2.snapshot(rid).state == RUNNING
        assert reg2.get(rid).join(T)
        snap = reg2.snapshot(rid)
        assert snap.state == FINISHED and snap.step == 60 and snap.epoch == 3, (snap.state, snap.error)
        assert [r["epoch"] for r in snap.epoch_history] == [1, 2, 3] and len(snap.epoch_snapshots) == 3
        assert [r["step"] for r in snap.step_history] == list(range(1, 61))   # on from the very step it stopped at
        assert (tmp_path / rid / "grids" / "epoch_003.png").is_file()
        saved = json.loads((tmp_path / rid / "history.json").read_text())     # the folder the server wrote
        assert [r["step"] for r in saved["steps"]] == list(range(1, 61)) and len(saved["epochs"]) == 3
    finally:
        reg2.clear()


def test_a_crashed_worker_fails_only_its_run_and_a_lost_one_is_resumable(executor):
    reg = RunRegistry(max_active=2, executor=executor)
    try:
        crash = reg.create(_config(), run_id="crashme")
        lost = reg.create(_config(epochs=2), run_id="loseme")
        for rid in (crash, lost):
            reg.get(rid).pause()
        assert wait_for(lambda: all(reg.snapshot(r).state == PAUSED for r in (crash, lost)), T)
        reg.get(lost).step(20)                                      # one whole epoch, then paused again
        assert wait_for(lambda: reg.snapshot(lost).epoch == 1 and reg.view(lost) is not None, T)

        reg.get(crash)._test_abort_worker()                         # os.abort() in that worker
        assert reg.get(crash).join(T)
        snap = reg.snapshot(crash)
        assert snap.state == FAILED and "crashed" in snap.error, (snap.state, snap.error)
        assert not reg.resumable(crash)
        assert reg.snapshot(lost).state == PAUSED                   # the other run is untouched

        ray.kill(reg.get(lost)._actor, no_restart=True)             # its worker is lost (as with a dead node)
        assert reg.get(lost).join(T)
        snap = reg.snapshot(lost)
        assert snap.state == INTERRUPTED and "lost" in snap.error, (snap.state, snap.error)
        assert reg.resumable(lost)
        reg.resume(lost)                                            # from its last epoch
        assert reg.get(lost).join(T)
        snap = reg.snapshot(lost)
        assert snap.state == FINISHED and snap.epoch == 2 and snap.step == 40, (snap.state, snap.error)
    finally:
        reg.clear()


def test_a_run_over_its_memory_cap_fails_with_the_reason_while_the_other_run_finishes(executor, monkeypatch):
    from gen_core.classroom.executors.ray_executor import RayExecutor
    monkeypatch.setenv("GEN_CORE_MAX_RUN_MB", "100000")   # the server's estimate lets it through: the worker's cap acts
    capped = RayExecutor(memory_mb_per_run=400)            # on the Ray the module started
    capped.connect()
    reg = RunRegistry(max_active=2, executor=capped)
    try:
        fits = reg.create(_config(epochs=2), run_id="fitsin")
        # ~75M parameters: weights, gradients and Adam's moments need ~1.2 GB, three times the cap
        hog = reg.create(_config(epochs=1, model_overrides=dict(g_hidden=(4096,) * 3, d_hidden=(4096,) * 3)),
                         run_id="hogsmem")
        assert reg.get(hog).join(T)
        snap = reg.snapshot(hog)
        assert snap.state == FAILED and "ran out of memory" in snap.error, (snap.state, snap.error)
        # Caught before its worker allocates (the estimate is over the cap), with the numbers: allocating up
        # to the cap raced Ray's own serialiser for the last bytes, and lost as a "crash" 1 time in ~8.
        assert "more than the 400 MB its Ray worker may use" in snap.error, snap.error
        assert reg.get(fits).join(T) and reg.snapshot(fits).state == FINISHED, reg.snapshot(fits).error
        assert ray.get(ray.put(1)) == 1                    # and Ray (with the server) is still there
    finally:
        reg.clear()


def test_the_environment_chooses_ray_and_the_slots_follow_the_cluster(executor, monkeypatch):
    monkeypatch.setenv("GEN_CORE_EXECUTOR", "ray")
    monkeypatch.delenv("GEN_CORE_MAX_RUNS", raising=False)
    reg = RunRegistry()
    try:
        assert wait_for(lambda: reg.status()["ray_connected"], T)
        status = reg.status()
        assert status["executor"] == "ray" and status["executor_problem"] is None
        assert status["max_running"] == 2 and status["ray_cpus"] == 2        # 2 CPUs, 1 per run
    finally:
        reg.clear()
