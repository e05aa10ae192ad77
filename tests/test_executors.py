"""gen_core.classroom.executors: the registry trains through an executor; `thread` is the default and imports nothing."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import tiny_config

from gen_core.classroom.executors import ExecutorError, ThreadExecutor, make_executor, resolve_executor
from gen_core.classroom.runs import RunRegistry
from gen_core.training.runner import FINISHED, TrainingRunner


def test_thread_is_the_default_and_builds_plain_runners(monkeypatch):
    monkeypatch.delenv("GEN_CORE_EXECUTOR", raising=False)
    ex = make_executor()
    assert isinstance(ex, ThreadExecutor) and ex.name == "thread"
    runner = ex.runner(tiny_config("mlp-gan"), run_id="abc")
    assert type(runner) is TrainingRunner and runner.run_id == "abc" and runner.state == "idle"


def test_an_unknown_executor_is_a_clear_error_and_the_registry_falls_back_to_threads(monkeypatch, mini_data):
    with pytest.raises(ExecutorError, match="unknown executor 'gpu-farm'"):
        make_executor("gpu-farm")
    monkeypatch.setenv("GEN_CORE_EXECUTOR", "gpu-farm")
    ex, problem = resolve_executor(None)
    assert isinstance(ex, ThreadExecutor) and "threads of this server" in problem
    reg = RunRegistry(max_active=1)
    try:
        assert reg.status()["executor"] == "thread" and reg.status()["executor_problem"] == problem
        rid = reg.create(tiny_config("mlp-vae", epochs=1), data=mini_data)
        assert reg.get(rid).join(60) and reg.snapshot(rid).state == FINISHED
        assert any("unknown executor" in w for w in reg.snapshot(rid).warnings)  # the run says why
    finally:
        reg.clear()


def test_the_registry_asks_its_executor_for_every_runner(mini_data):
    made = []

    class Recording(ThreadExecutor):
        name = "recording"

        def runner(self, config, data=None, *, trainer=None, run_id=None):
            made.append((run_id, trainer is not None))
            return super().runner(config, data, trainer=trainer, run_id=run_id)

    reg = RunRegistry(max_active=1, executor=Recording())
    try:
        rid = reg.create(tiny_config("mlp-gan", epochs=2), data=mini_data, run_id="rec1", start=False)
        reg.get(rid).pause()
        reg.start(rid)
        reg.get(rid).stop()
        assert reg.get(rid).join(60)
        reg.resume(rid)                      # a resumed run comes from the executor too
        assert reg.get(rid).join(60) and reg.snapshot(rid).state == FINISHED
        assert made == [("rec1", False), ("rec1", True)] and reg.status()["executor"] == "recording"
    finally:
        reg.clear()


def test_the_thread_executor_imports_no_ray():
    code = ("import sys, gen_core.classroom.runs, gen_core.classroom.executors as e; r = gen_core.classroom.runs.RunRegistry(); "
            "assert r.executor.name == 'thread'; print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "GEN_CORE_EXECUTOR": "thread"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_a_capped_worker_process_gets_a_memory_error_past_its_cap():
    """ray_actor.cap_memory (the backstop behind the estimate check in RayExecutor.spawn): past the cap a
    tensor allocation fails with an error the run reports as "ran out of memory", and the process lives."""
    if not sys.platform.startswith("linux"):
        pytest.skip("RLIMIT_DATA caps are Linux-only")
    code = ("from gen_core.classroom.executors.ray_actor import cap_memory\n"
            "from gen_core.training.runner import failure_reason\n"
            "import torch\n"
            "assert cap_memory(64) is not None\n"
            "small = torch.ones(4 * 1024 * 1024)\n"             # 16 MB: fits
            "try:\n"
            "    torch.ones(64 * 1024 * 1024)\n"                # 256 MB: over the cap
            "except (MemoryError, RuntimeError) as e:\n"
            "    print(failure_reason(e).split(':')[0])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=str(Path(__file__).resolve().parents[1]))
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().startswith("ran out of memory"), out.stdout
