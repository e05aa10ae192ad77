"""Damaged run folders and shutdown (issue 9 item 5): every corruption ends in a clear message and
a usable page, "continues from its last saved epoch" only when true; SIGTERM saves and exits 0."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch

from conftest import me, tiny_config, wait_for
from gen_core.classroom.run_info import RunError
from gen_core.classroom.runs import RunRegistry
from gen_core.persistence.persist import RunStore


def dead_server_run(runs_dir: Path, mini_data) -> str:
    """A run a crashed server left after epoch 1 of 3: run.json says "running", checkpoint of epoch 1."""
    old = RunRegistry(runs_dir=runs_dir, reap_interval=60)
    rid = old.create(tiny_config("mlp-gan", epochs=3), data=mini_data, start=False, actor=me())
    runner = old.get(rid)
    runner.on_epoch_end.append(lambda trainer: runner.pause() if trainer.epoch == 1 else None)
    old.start(rid)
    assert wait_for(lambda: runner.snapshot().epoch == 1 and runner.state == "paused", 60)
    assert wait_for(lambda: json.loads((runs_dir / rid / "run.json").read_text()).get("checkpoint_epoch") == 1, 30)
    runner.on_epoch_end.clear(), runner.on_end.clear()   # the "dead" server writes nothing more
    runner.stop()
    runner.join(30)
    record = json.loads((runs_dir / rid / "run.json").read_text())
    record["state"] = "running"
    (runs_dir / rid / "run.json").write_text(json.dumps(record))
    return rid


def test_a_damaged_rng_state_gives_a_message_not_a_traceback(tmp_path, mini_data):
    runs = tmp_path / "runs"
    rid = dead_server_run(runs, mini_data)
    path = RunStore(runs).files(rid).newest_file()          # state.pt (the run never ended)
    payload = torch.load(path, weights_only=True)
    payload["rng"]["trainer"] = torch.tensor([1, 2, 3], dtype=torch.uint8)   # a 3-byte RNG state
    torch.save(payload, path)
    reg = RunRegistry(runs_dir=runs, reap_interval=60)
    info = reg.info(rid)
    assert info.state == "interrupted"
    snap = reg.snapshot(rid)                          # re-opening it does not raise
    assert not reg.resumable(rid)
    assert any("cannot be resumed" in w and "random state is damaged" in w for w in snap.warnings), snap.warnings
    with pytest.raises(RunError, match="cannot be resumed"):
        reg.resume(rid, me())


def test_damage_only_a_resume_finds_fails_the_resumed_run_with_a_message(tmp_path, mini_data):
    """Re-opening reads the checkpoint but builds no Trainer (that is the resumed run's worker's job, see
    gen_core.training.threads), so optimiser state that does not fit the model shows when the worker resumes it:
    the run ends "failed" with a readable reason, and the registry goes on working."""
    runs = tmp_path / "runs"
    rid = dead_server_run(runs, mini_data)
    path = RunStore(runs).files(rid).newest_file()
    payload = torch.load(path, weights_only=True)
    del payload["optimizers"][sorted(payload["optimizers"])[0]]      # one optimiser's state is gone
    torch.save(payload, path)
    reg = RunRegistry(runs_dir=runs, reap_interval=60)
    assert reg.resumable(rid) and reg.resume_point(rid) == 1         # nothing seen wrong without a Trainer
    reg.resume(rid, me())
    assert wait_for(lambda: reg.get(rid).state == "failed" and reg.get(rid).join(0), 60)
    error = reg.snapshot(rid).error
    assert "cannot be resumed" in error and "optimizer state does not fit" in error, error
    assert "Traceback" not in error
    assert reg.snapshot(rid).epoch == 1 and reg.snapshot(rid).epoch_history     # its progress is still shown
    assert not reg.resumable(rid) and reg.info(rid).state == "failed"
    assert json.loads((runs / rid / "run.json").read_text())["state"] == "failed"
    assert reg.view(rid) is not None                                 # its saved epoch can still be looked at
    rid2 = reg.create(tiny_config("mlp-vae"), data=mini_data, actor=me())   # the page stays usable
    assert wait_for(lambda: reg.get(rid2).state == "finished", 60)


def test_a_missing_checkpoint_is_not_resumed_from_scratch(tmp_path, mini_data):
    runs = tmp_path / "runs"
    rid = dead_server_run(runs, mini_data)
    RunStore(runs).files(rid).newest_file().unlink()
    assert RunStore(runs).files(rid).newest_file() is None
    before = {p.name: p.read_bytes() for p in (runs / rid).iterdir() if p.is_file() and p.name != "run.json"}
    reg = RunRegistry(runs_dir=runs, reap_interval=60)
    assert not reg.resumable(rid) and reg.resume_point(rid) is None
    assert any("saved state (state.pt or checkpoint.pt) is missing" in w for w in reg.snapshot(rid).warnings)
    with pytest.raises(RunError, match="missing"):
        reg.resume(rid, me())
    after = {p.name: p.read_bytes() for p in (runs / rid).iterdir() if p.is_file() and p.name != "run.json"}
    assert after == before                                            # nothing overwritten


def test_an_intact_interrupted_run_says_where_it_continues(tmp_path, mini_data):
    runs = tmp_path / "runs"
    rid = dead_server_run(runs, mini_data)
    reg = RunRegistry(runs_dir=runs, reap_interval=60)
    assert reg.resumable(rid) and reg.resume_point(rid) == 1
    reg.resume(rid, me())
    assert wait_for(lambda: reg.get(rid).state == "finished" and reg.get(rid).join(0), 120)
    assert reg.snapshot(rid).epoch == 3


def test_shutdown_stops_and_saves_every_run(tmp_path, mini_data):
    reg = RunRegistry(runs_dir=tmp_path / "runs", reap_interval=60)
    rid = reg.create(tiny_config("mlp-gan", epochs=400), data=mini_data, actor=me())
    assert wait_for(lambda: reg.snapshot(rid).step > 3, 60)
    reg.shutdown(wait=30)
    runner = reg.get(rid)
    assert runner.join(0) and runner.state == "stopped"
    record = json.loads((tmp_path / "runs" / rid / "run.json").read_text())
    assert record["state"] == "stopped" and (tmp_path / "runs" / rid / "checkpoint.pt").is_file()
    assert RunRegistry(runs_dir=tmp_path / "runs", reap_interval=60).resumable(rid)


# ---------------------------------------------------------------------------- sweeps share the slots

def test_a_sweep_is_one_job_in_the_line_and_students_sweep_at_once(mini_data):
    from gen_core import experiments as ex
    from gen_core.classroom.owners import Actor
    a, b = Actor.student("sweeper-a-token-0000000000"), Actor.student("sweeper-b-token-0000000000")
    reg = RunRegistry(max_running=1, reap_interval=60)
    store = ex.SweepStore(max_active=8, max_active_per_owner=1)

    def slot_for(actor):
        return lambda sweep: reg.scheduler.slot(f"sweep-{sweep.sweep_id}", owner=actor.owner,
                                                cancelled=sweep.stopping, on_ticket=sweep.attach_ticket)
    base = tiny_config("mlp-gan", epochs=500)
    try:
        rid = reg.create(tiny_config("mlp-gan", epochs=500), data=mini_data, actor=b)   # the one slot is busy
        sa = store.create(base, "lr_g", [1e-4, 2e-4], [0], data=mini_data, owner=a.owner, slot=slot_for(a))
        sb = store.create(base, "lr_g", [1e-4], [0], data=mini_data, owner=b.owner, slot=slot_for(b))
        with pytest.raises(ex.SweepError, match="already have a sweep"):
            store.create(base, "lr_g", [1e-4], [0], data=mini_data, owner=a.owner, slot=slot_for(a))
        sweep_a = store.get(sa)
        assert wait_for(lambda: sweep_a.queue_position == 1, 30)       # waits in the runs' line ...
        assert sweep_a.snapshot().items[0].step == 0                    # ... and trains nothing meanwhile
        assert len(reg.scheduler.running_ids) == 1
        reg.control(rid, "stop", b)                                     # the slot frees: A's sweep gets it
        assert wait_for(lambda: sweep_a.snapshot().items[0].step > 2, 60)
        assert len(reg.scheduler.running_ids) == 1 and store.get(sb).queue_position == 1
        sweep_a.stop()
        assert sweep_a.join(60)
        assert wait_for(lambda: store.get(sb).snapshot().items[0].step > 0, 60)   # then B's
        store.get(sb).stop()
        assert store.get(sb).join(60)
        assert wait_for(lambda: not reg.scheduler.running_ids and not reg.scheduler.queued_ids, 10)
    finally:
        store.clear()
        reg.clear()
