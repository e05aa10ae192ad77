"""Faults a classroom server meets, each injected on purpose:

* the server process killed mid-training (SIGKILL): at most the unfinished epoch is lost;
* a crash inside one run (exception, NaN loss, MemoryError): that run fails with its reason,
  its slot goes to the next in line, the other runs finish;
* a full disk and a read-only runs folder: a warning on the run, training completes in memory;
* a run left behind by every browser: stopped after the idle timeout, results kept, resumable;
* very long runs: history and epoch images capped in memory, every epoch record kept;
and the dashboard showing each of these without an exception (AppTest).
"""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from conftest import me, tiny_config, wait_for
from gen_core.classroom.runs import RunRegistry
from gen_core.persistence import persist
from gen_core.training.history import History, TrainingDiverged, thin_snapshots
from gen_core.training.runner import FAILED, FINISHED, INTERRUPTED, QUEUED, RUNNING, STOPPED
from gen_core.training.trainer import Trainer
from ui import state


REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
JOIN_S = 60



# ---------------------------------------------------------------------------- kill -9

KILLED_SERVER = textwrap.dedent("""
    import sys, time
    sys.path[:0] = [{repo!r}, {tests!r}]
    from conftest import tiny_config
    from gen_core.classroom.runs import RunRegistry
    reg = RunRegistry(runs_dir={runs!r})
    rid = reg.create(tiny_config("mlp-gan", epochs=400, images_per_epoch=320, batch_size=32), run_id="victim")
    print("started", flush=True)
    time.sleep(600)
""")


def test_sigkill_mid_training_loses_at_most_the_current_epoch(tmp_path):
    runs = tmp_path / "runs"
    script = KILLED_SERVER.format(repo=str(REPO), tests=str(REPO / "tests"), runs=str(runs))
    env = {**os.environ, "GEN_CORE_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    record = runs / "victim" / persist.RUN_FILE
    try:
        def epochs_on_disk():
            try:
                return json.loads(record.read_text()).get("checkpoint_epoch") or 0
            except (OSError, ValueError):
                return 0
        assert wait_for(lambda: epochs_on_disk() >= 2, 120), proc.stderr.read() if proc.poll() else "too slow"
        saved = epochs_on_disk()
    finally:
        proc.send_signal(signal.SIGKILL)  # no clean-up, no atexit: as if the machine lost power
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL

    reg = RunRegistry(runs_dir=runs)
    [info] = reg.list()
    assert info.run_id == "victim" and info.state == INTERRUPTED and info.resumable
    assert info.epoch >= saved                    # nothing that was on disk before the kill is lost
    snap = reg.snapshot("victim")
    steps_per_epoch = 10
    resumed_from = snap.step
    assert resumed_from == snap.epoch * steps_per_epoch and snap.epoch >= saved
    assert [r["step"] for r in snap.step_history] == list(range(1, resumed_from + 1))

    # Finish it sooner: the run is long; resume, let two more epochs pass, stop, check continuity.
    reg.resume("victim")
    runner = reg.get("victim")
    assert wait_for(lambda: runner.snapshot().epoch >= snap.epoch + 2)
    runner.stop()
    assert runner.join(JOIN_S) and runner.state == STOPPED
    after = runner.snapshot()
    assert [r["step"] for r in after.step_history] == list(range(1, after.step + 1))
    assert [e["epoch"] for e in after.epoch_history] == list(range(1, after.epoch + 1))


# ---------------------------------------------------------------------------- crashes in one run

FAULTY_SEED = 666


@pytest.fixture
def inject(monkeypatch):
    """inject(kind) → gate: runs with seed FAULTY_SEED crash at their 3rd step with `kind`, once
    `gate` is set (set at once unless the test holds it)."""
    def install(kind: str, hold: bool = False):
        original = Trainer.train_step
        gate = threading.Event()
        if not hold:
            gate.set()

        def train_step(self):
            if self.config.seed == FAULTY_SEED and self.step == 2:
                gate.wait(30)
                if kind == "exception":
                    raise RuntimeError("injected fault in the training step")
                if kind == "memory":
                    raise MemoryError()
                if kind == "nan":  # a real NaN through the model: the finite check refuses it
                    self.batcher.images = self.batcher.images.float().fill_(float("nan"))
            return original(self)
        monkeypatch.setattr(Trainer, "train_step", train_step)
        return gate
    return install


@pytest.mark.parametrize("kind, reason", [
    ("exception", "RuntimeError: injected fault"),
    ("memory", "ran out of memory"),
    ("nan", "training diverged"),
])
def test_a_crash_ends_only_that_run_and_frees_its_slot(kind, reason, inject, tmp_path, mini_data):
    gate = inject(kind, hold=True)
    reg = RunRegistry(runs_dir=tmp_path / "runs", max_running=2)
    bad = reg.create(tiny_config("mlp-vae", epochs=3, seed=FAULTY_SEED), data=mini_data)
    good = reg.create(tiny_config("mlp-gan", epochs=3, images_per_epoch=640), data=mini_data)
    third = reg.create(tiny_config("mlp-vae", epochs=1), data=mini_data)      # waits for a slot
    assert reg.snapshot(third).state == QUEUED
    gate.set()
    for rid in (bad, good, third):
        assert wait_for(lambda: reg.get(rid).started) and reg.get(rid).join(JOIN_S)
    snap = reg.snapshot(bad)
    assert snap.state == FAILED and reason in snap.error and snap.step == 2
    assert reg.snapshot(good).state == FINISHED and reg.snapshot(third).state == FINISHED
    assert not reg.scheduler.running_ids and not reg.scheduler.queued_ids
    record = json.loads((tmp_path / "runs" / bad / persist.RUN_FILE).read_text())
    assert record["state"] == FAILED and reason in record["error"]
    assert not reg.info(bad).resumable


def test_a_bad_config_that_only_the_data_reveals_fails_cleanly(mini_data):
    from gen_core.config.checks import ConfigError
    reg = RunRegistry()
    with pytest.raises(ConfigError, match="more than the 10,000 training images"):
        reg.create(tiny_config("mlp-gan", images_per_epoch=20_000), data=mini_data)
    assert reg.list() == []


# ---------------------------------------------------------------------------- disk faults

def _enospc_fsync(switch):
    real = os.fsync

    def fsync(fd):
        if switch["full"]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)
    return fsync


def test_disk_full_warns_and_training_completes_in_memory(tmp_path, mini_data, monkeypatch):
    switch = {"full": True}
    monkeypatch.setattr(os, "fsync", _enospc_fsync(switch))   # every write fails at fsync, as on a full disk
    reg = RunRegistry(runs_dir=tmp_path / "runs")
    rid = reg.create(tiny_config("mlp-gan", epochs=3), data=mini_data)
    assert reg.get(rid).join(JOIN_S)
    snap = reg.snapshot(rid)
    assert snap.state == FINISHED and snap.epoch == 3 and len(snap.epoch_snapshots) == 3
    assert any("the disk is full" in w and "goes on in memory" in w for w in snap.warnings)
    assert not (tmp_path / "runs" / rid / "checkpoint.pt").exists()
    assert not list((tmp_path / "runs").rglob("*.tmp"))       # failed writes leave no debris
    assert reg.view(rid) is not None and reg.checkpoint_bytes(rid)   # still usable, downloadable
    reg.reap()
    assert reg.info(rid).in_memory                            # not saved, so never dropped from memory


def test_saving_recovers_when_space_comes_back(tmp_path, mini_data, monkeypatch):
    switch = {"full": True}
    monkeypatch.setattr(os, "fsync", _enospc_fsync(switch))
    reg = RunRegistry(runs_dir=tmp_path / "runs")
    rid = reg.create(tiny_config("mlp-gan", epochs=4), data=mini_data, start=False)
    reg.get(rid).on_epoch_end.insert(0, lambda trainer: switch.update(full=trainer.epoch < 2))
    reg.start(rid)
    assert reg.get(rid).join(JOIN_S)
    warnings = reg.snapshot(rid).warnings
    assert any("disk is full" in w for w in warnings) and any("works again" in w for w in warnings)
    record = json.loads((tmp_path / "runs" / rid / persist.RUN_FILE).read_text())
    assert record["state"] == FINISHED and record["checkpoint_epoch"] == 4


def test_read_only_runs_folder_warns_and_training_completes(tmp_path, mini_data, monkeypatch):
    def read_only(src, dst):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dst))
    monkeypatch.setattr(persist.os, "replace", read_only)      # (chmod does not stop root: patch the rename)
    reg = RunRegistry(runs_dir=tmp_path / "runs")
    rid = reg.create(tiny_config("mlp-vae", epochs=2), data=mini_data)
    assert reg.get(rid).join(JOIN_S)
    snap = reg.snapshot(rid)
    assert snap.state == FINISHED and snap.epoch == 2
    assert any("read-only" in w for w in snap.warnings)


# ---------------------------------------------------------------------------- abandoned runs

def test_a_run_nobody_watches_any_more_is_stopped_and_can_be_resumed(tmp_path, mini_data):
    reg = RunRegistry(runs_dir=tmp_path / "runs", idle_timeout=0.5, reap_interval=0.05)
    watched = reg.create(tiny_config("mlp-gan", epochs=400), data=mini_data)
    unwatched = reg.create(tiny_config("mlp-gan", epochs=400), data=mini_data)  # e.g. a script's run
    reg.touch(watched, "session-1")
    assert reg.watchers(watched) == 1
    assert wait_for(lambda: reg.get(watched).state == STOPPED, 10)
    snap = reg.snapshot(watched)
    assert any("Stopped automatically" in w for w in snap.warnings) and reg.info(watched).resumable
    assert reg.get(unwatched).state == RUNNING                      # never watched: never reaped
    reg.resume(watched)
    assert reg.get(watched).state in (RUNNING, "starting", QUEUED)
    reg.clear()


def test_touching_keeps_a_run_alive(mini_data):
    reg = RunRegistry(idle_timeout=0.3, reap_interval=0.05)
    rid = reg.create(tiny_config("mlp-gan", epochs=400), data=mini_data)
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        reg.touch(rid, "s")
        time.sleep(0.05)
    assert reg.get(rid).state == RUNNING
    assert reg.reap(now=time.monotonic() + 10) == [rid]             # as if 10 s had passed untouched
    reg.clear()


def test_queued_runs_of_gone_sessions_leave_the_line(mini_data):
    reg = RunRegistry(max_running=1, idle_timeout=5.0, reap_interval=60)
    first = reg.create(tiny_config("mlp-gan", epochs=400), data=mini_data)
    waiting = reg.create(tiny_config("mlp-gan", epochs=400), data=mini_data)
    reg.touch(first, "a"), reg.touch(waiting, "b")
    reg.touch(first, "a")
    later = time.monotonic() + 6
    assert set(reg.reap(now=later)) == {first, waiting}
    assert reg.get(waiting).state == STOPPED and not reg.get(waiting).started
    reg.clear()


# ---------------------------------------------------------------------------- memory caps

def test_step_history_is_thinned_with_age_and_epochs_are_all_kept(mini_data):
    h = History(steps=[{"step": i} for i in range(1, 1001)])
    assert h.thin_steps(100)
    steps = [r["step"] for r in h.steps]
    assert len(steps) <= 100 and steps[0] == 1 and steps == sorted(steps)
    assert steps[-50:] == list(range(951, 1001))                    # the newest stay raw

    trainer = Trainer(tiny_config("mlp-gan", epochs=30, images_per_epoch=128, batch_size=32), mini_data)
    trainer.max_step_records = 40
    while not trainer.done:
        trainer.train_step()
    assert len(trainer.history.steps) <= 40 and trainer.history.steps[-1]["step"] == 120
    assert [e["epoch"] for e in trainer.history.epochs] == list(range(1, 31))


def test_epoch_images_are_capped_in_memory(mini_data):
    trainer = Trainer(tiny_config("mlp-gan", epochs=40, images_per_epoch=64, batch_size=32), mini_data)
    one = None
    trainer.max_snapshot_bytes = 10 ** 9
    trainer.train_step(), trainer.train_step()
    from gen_core.training.history import snapshot_nbytes
    one = snapshot_nbytes(trainer.snapshots[0])
    trainer.max_snapshot_bytes = one * 25
    while not trainer.done:
        trainer.train_step()
    epochs = [s.epoch for s in trainer.snapshots]
    assert sum(snapshot_nbytes(s) for s in trainer.snapshots) <= one * 25
    assert epochs[0] == 1 and epochs[-20:] == list(range(21, 41)) and epochs == sorted(epochs)
    assert len(trainer.history.epochs) == 40
    assert thin_snapshots([], 0) == []


# ---------------------------------------------------------------------------- what the dashboard shows

@pytest.fixture
def app_registry(tmp_path, monkeypatch):
    from ui import sources
    monkeypatch.setattr(sources, "CHECKPOINT_DIRS", (tmp_path / "no-checkpoints",))
    reg = state.registry()
    reg.clear()
    slots = reg.scheduler.max_running
    yield reg
    reg.clear()
    reg.scheduler.max_running = slots


def gan_page(run_id: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["dataset"] = "mnist-mini"
    at.query_params["run"] = run_id
    at.run()
    at.switch_page("app_pages/train_gan.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at, kind) -> list[str]:
    return [e.value for e in getattr(at, kind)]


def test_the_page_shows_the_place_in_line(app_registry, mini_data):
    app_registry.scheduler.max_running = 1
    first = app_registry.create(tiny_config("mlp-gan", epochs=400), data=mini_data)
    second = app_registry.create(tiny_config("mlp-gan", epochs=400), data=mini_data, actor=me())
    at = gan_page(second)
    assert any("1st in line" in t for t in texts(at, "info")), texts(at, "info")
    assert app_registry.watchers(second) == 1                    # the page touched it
    assert not at.get("plotly_chart")                            # nothing to chart while waiting
    at.button(key=f"live_leave_{second}").click().run()          # leaving the line is allowed
    assert not at.exception
    assert app_registry.snapshot(second).state == STOPPED and not app_registry.get(second).started
    assert app_registry.scheduler.queued_ids == []
    app_registry.get(first).stop()


def test_the_page_shows_why_a_run_failed_and_disk_warnings(app_registry, mini_data, inject, monkeypatch):
    inject("exception")
    monkeypatch.setattr(os, "fsync", _enospc_fsync({"full": True}))
    rid = app_registry.create(tiny_config("mlp-vae", epochs=3, seed=FAULTY_SEED), data=mini_data)
    assert app_registry.get(rid).join(JOIN_S)
    at = gan_page(rid)
    at.switch_page("app_pages/train_vae.py").run()
    assert not at.exception
    assert any("injected fault" in t for t in texts(at, "error")), texts(at, "error")
    assert any("disk is full" in t for t in texts(at, "warning")), texts(at, "warning")


def test_resume_an_interrupted_run_from_the_page(app_registry, mini_data, tmp_path):
    # a run that a "dead server" left after 1 epoch of 3, in the app's runs folder
    old = RunRegistry(runs_dir=state.runs_dir())
    rid = old.create(tiny_config("mlp-gan", epochs=3), data=mini_data, start=False, actor=me())
    runner = old.get(rid)
    runner.on_epoch_end.append(lambda trainer: runner.pause() if trainer.epoch == 1 else None)
    old.start(rid)
    assert wait_for(lambda: runner.snapshot().epoch == 1 and runner.state == "paused")
    time.sleep(0.1)
    runner.on_epoch_end.clear(), runner.on_end.clear()
    assert rid in app_registry.rescan()                            # what the app sees after a restart
    at = gan_page(rid)
    assert any("interrupted" in t for t in texts(at, "warning")), texts(at, "warning")
    at.button(key=f"live_resume_{rid}").click().run()
    assert not at.exception
    assert wait_for(lambda: app_registry.get(rid).started) and app_registry.get(rid).join(JOIN_S)
    snap = app_registry.snapshot(rid)
    assert snap.state == FINISHED and snap.epoch == 3
    assert [r["step"] for r in snap.step_history] == list(range(1, snap.step + 1))
    runner.stop()


def test_an_oversized_upload_is_refused_with_the_limit(app_registry):
    from gen_core.persistence.checkpoints import UPLOAD_MAX_BYTES
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["dataset"] = "mnist-mini"
    at.run()
    at.switch_page("app_pages/latent_explorer.py").run()
    at.selectbox(key="explore_source").set_value("upload").run()
    at.get("file_uploader")[0].upload("huge.pt", b"PK\x03\x04" + bytes(UPLOAD_MAX_BYTES)).run()
    assert not at.exception
    assert any("too large" in t and f"{UPLOAD_MAX_BYTES:,}" in t for t in texts(at, "error")), texts(at, "error")
