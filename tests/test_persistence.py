"""gen_core.persistence.persist + RunRegistry(runs_dir=...): runs written after every epoch, listed again by a new
registry (a restarted server), re-opened from disk when they left memory, and resumed to the end."""
from __future__ import annotations

import json
import time

import pytest

from conftest import tiny_config, wait_for
from gen_core.classroom.run_info import RunError
from gen_core.classroom.runs import RunRegistry
from gen_core.persistence.persist import RUN_FILE, RunStore, default_runs_dir, valid_run_id
from gen_core.training.runner import FINISHED, INTERRUPTED, PAUSED, QUEUED, STOPPED


JOIN_S = 60



@pytest.fixture
def runs(tmp_path):
    return tmp_path / "runs"


def finished_run(reg, mini_data, model="mlp-gan", **kw) -> str:
    rid = reg.create(tiny_config(model, **kw), data=mini_data)
    assert reg.get(rid).join(JOIN_S)
    return rid


def assert_continuous(steps, epochs_done, steps_per_epoch):
    assert [r["step"] for r in steps] == list(range(1, epochs_done * steps_per_epoch + 1))


def detach(runner):
    """Forget a runner's disk hooks (as if its process had died): it may not write any more."""
    runner.on_epoch_end.clear()
    runner.on_end.clear()


# ---------------------------------------------------------------------------- layout

def test_a_finished_run_leaves_its_folder(runs, mini_data):
    reg = RunRegistry(runs_dir=runs)
    rid = finished_run(reg, mini_data, "mlp-vae", epochs=2)
    folder = runs / rid
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"run.json", "config.json", "checkpoint.pt", "history.json", "grids/epoch_001.png",
            "grids/epoch_002.png", "grids/recon_002.png", "grids/latent_map_002.png"} <= names
    assert not [n for n in names if n.endswith(".tmp")]  # atomic writes leave no temporaries
    record = json.loads((folder / RUN_FILE).read_text())
    assert record["format"] == "gen_core.run" and record["state"] == FINISHED
    assert record["epoch"] == 2 and record["checkpoint_epoch"] == 2 and record["run_id"] == rid
    history = json.loads((folder / "history.json").read_text())
    assert [e["epoch"] for e in history["epochs"]] == [1, 2] and len(history["steps"]) == 8
    assert json.loads((folder / "config.json").read_text())["model"] == "mlp-vae"


def test_the_default_runs_dir_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GEN_CORE_RUNS_DIR", str(tmp_path / "x"))
    assert default_runs_dir() == tmp_path / "x"
    monkeypatch.delenv("GEN_CORE_RUNS_DIR")
    assert str(default_runs_dir()) == "runs"


def test_run_ids_are_safe_folder_names(runs, mini_data):
    for bad in ("../evil", "a/b", "", ".hidden", "x" * 65, None, 7):
        assert not valid_run_id(bad)
    reg = RunRegistry(runs_dir=runs)
    with pytest.raises(RunError, match="letters, digits"):
        reg.create(tiny_config("mlp-gan"), data=mini_data, run_id="../../etc")
    assert "../../etc" not in reg and reg.get("../../etc") is None and reg.snapshot("..") is None


# ---------------------------------------------------------------------------- restart

def test_a_new_registry_lists_saved_runs_and_reopens_them(runs, mini_data):
    reg = RunRegistry(runs_dir=runs)
    gan = finished_run(reg, mini_data, "mlp-gan", epochs=2)
    vae = finished_run(reg, mini_data, "mlp-vae", epochs=1)
    before = reg.snapshot(gan)

    restarted = RunRegistry(runs_dir=runs)
    infos = restarted.list()
    assert [i.run_id for i in infos] == [vae, gan]                    # newest first, as before
    assert all(not i.in_memory and i.state == FINISHED and not i.resumable for i in infos)
    assert restarted.info(gan).label == reg.info(gan).label and gan in restarted
    snap = restarted.snapshot(gan)                                    # re-opened from its checkpoint
    assert snap.state == FINISHED and snap.epoch == 2 and snap.step == before.step
    assert snap.step_history == before.step_history and len(snap.epoch_snapshots) == 2
    assert restarted.info(gan).in_memory
    view = restarted.view(gan)
    assert view.epoch == 2 and not view.model.training
    assert restarted.checkpoint_bytes(gan)                            # still downloadable
    with pytest.raises(RunError, match="finished all its epochs"):
        restarted.resume(gan)


def test_an_unfinished_run_is_interrupted_after_a_restart_and_resumes_to_the_end(runs, mini_data):
    """The 'kill' fault in-process: a run paused after epoch 2 of 4 is abandoned (its process 'dies');
    a new registry on the same folder lists it as interrupted and resumes it; history is continuous."""
    reg = RunRegistry(runs_dir=runs)
    rid = reg.create(tiny_config("mlp-gan", epochs=4), data=mini_data, start=False)
    runner = reg.get(rid)
    runner.on_epoch_end.append(lambda trainer: runner.pause() if trainer.epoch == 2 else None)
    reg.start(rid)
    assert wait_for(lambda: runner.state == PAUSED and runner.snapshot().epoch == 2)
    time.sleep(0.1)
    detach(runner)  # from here on the old "server" is dead: it writes nothing

    restarted = RunRegistry(runs_dir=runs)
    [info] = restarted.list()
    assert info.state == INTERRUPTED and info.epoch == 2 and info.resumable and not info.in_memory
    snap = restarted.snapshot(rid)
    assert snap.state == INTERRUPTED and snap.epoch == 2 and not snap.is_active
    assert restarted.resume(rid) == rid
    assert restarted.get(rid).join(JOIN_S)
    done = restarted.snapshot(rid)
    assert done.state == FINISHED and done.epoch == 4
    assert_continuous(done.step_history, 4, 4)
    assert [e["epoch"] for e in done.epoch_history] == [1, 2, 3, 4]
    assert [s.epoch for s in done.epoch_snapshots] == [1, 2, 3, 4]
    record = json.loads((runs / rid / RUN_FILE).read_text())
    assert record["state"] == FINISHED and record["epoch"] == 4
    assert sorted(p.name for p in (runs / rid / "grids").glob("epoch_*.png")) == [
        f"epoch_00{i}.png" for i in range(1, 5)]
    runner.stop()
    runner.join(JOIN_S)


def test_a_run_stopped_mid_epoch_resumes_from_that_step(runs, mini_data):
    reg = RunRegistry(runs_dir=runs)
    cfg = tiny_config("mlp-gan", epochs=3, images_per_epoch=640, batch_size=32)  # 20 steps per epoch
    rid = reg.create(cfg, data=mini_data)
    runner = reg.get(rid)
    assert wait_for(lambda: runner.snapshot().step >= 25)
    runner.stop()
    assert runner.join(JOIN_S) and runner.state == STOPPED
    stopped_at = runner.trainer.step
    assert stopped_at % 20 != 0 or stopped_at == 60
    record = json.loads((runs / rid / RUN_FILE).read_text())
    assert record["state"] == STOPPED and record["checkpoint_step"] == stopped_at  # saved mid-epoch
    assert reg.info(rid).resumable

    # in memory: continues the same trainer; after a restart: from the mid-epoch checkpoint
    restarted = RunRegistry(runs_dir=runs)
    restarted.resume(rid)
    assert restarted.get(rid).join(JOIN_S)
    snap = restarted.snapshot(rid)
    assert snap.state == FINISHED and snap.step == 60
    assert_continuous(snap.step_history, 3, 20)


def test_a_resumed_run_waits_in_line_like_any_other(runs, mini_data):
    reg = RunRegistry(runs_dir=runs, max_running=1)
    rid = reg.create(tiny_config("mlp-gan", epochs=400), data=mini_data)
    reg.get(rid).stop()
    reg.get(rid).join(JOIN_S)
    busy = reg.create(tiny_config("mlp-gan", epochs=400), data=mini_data)
    reg.resume(rid)
    assert reg.snapshot(rid).state == QUEUED and reg.snapshot(rid).queue_position == 1
    reg.clear()
    assert busy not in reg


# ---------------------------------------------------------------------------- memory

def test_finished_runs_leave_memory_but_stay_listed_and_reopen(runs, mini_data):
    reg = RunRegistry(runs_dir=runs, keep_finished_s=0.05, max_runs=16)
    rid = finished_run(reg, mini_data, "mlp-vae", epochs=1)
    steps = reg.snapshot(rid).step_history
    time.sleep(0.1)
    reg.reap()
    info = reg.info(rid)
    assert info is not None and not info.in_memory and rid in reg     # out of memory, still listed
    assert reg.status()["on_disk_only"] == 1 and reg.status()["in_memory"] == 0
    assert reg.snapshot(rid).step_history == steps                     # re-opened on demand
    assert reg.info(rid).in_memory


def test_memory_only_runs_are_kept_until_the_count_limit(mini_data):
    reg = RunRegistry(keep_finished_s=0.01, max_runs=2)  # no runs_dir: nothing to re-open them from
    ids = [finished_run(reg, mini_data, "mlp-vae", epochs=1) for _ in range(3)]
    time.sleep(0.05)
    reg.reap()
    assert [i in reg for i in ids] == [False, True, True]


def test_clear_forgets_the_listing_but_not_the_folders(runs, mini_data):
    reg = RunRegistry(runs_dir=runs)
    rid = finished_run(reg, mini_data, epochs=1)
    reg.clear()
    assert rid not in reg and reg.list() == []
    assert [i.run_id for i in RunRegistry(runs_dir=runs).list()] == [rid]


def test_damaged_folders_are_skipped_or_refused_never_fatal(runs, mini_data):
    reg = RunRegistry(runs_dir=runs)
    good = finished_run(reg, mini_data, epochs=1)
    stopped = reg.create(tiny_config("mlp-gan", epochs=400), data=mini_data)
    assert wait_for(lambda: reg.snapshot(stopped).epoch >= 1)
    reg.get(stopped).stop()
    reg.get(stopped).join(JOIN_S)
    (runs / "junk").mkdir()
    (runs / "junk" / RUN_FILE).write_text("{not json")
    (runs / "cli-output").mkdir()                                   # a folder without run.json
    (runs / stopped / "checkpoint.pt").write_bytes(b"PK\x03\x04 truncated")

    restarted = RunRegistry(runs_dir=runs)
    assert {i.run_id for i in restarted.list()} == {good, stopped}
    snap = restarted.snapshot(stopped)                              # opens, says why it cannot go on
    assert snap.state == STOPPED and any("cannot be resumed" in w for w in snap.warnings)
    with pytest.raises(RunError, match="checkpoint cannot be used"):
        restarted.resume(stopped)
    assert RunStore(runs).scan()  # scanning again is fine


def test_a_runs_dir_that_cannot_be_created_gives_a_warning_not_a_crash(tmp_path, mini_data):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    reg = RunRegistry(runs_dir=blocker / "runs")
    assert reg.store_problem and "memory only" in reg.store_problem
    rid = finished_run(reg, mini_data, epochs=1)
    snap = reg.snapshot(rid)
    assert snap.state == FINISHED and snap.epoch == 1
    assert any("cannot be saved" in w for w in snap.warnings)
