"""Per-epoch run files (gen_core.persistence.runstate): O(1) per epoch, exact resume, old folders still load."""
import json

import pytest
import torch

from conftest import tiny_config
from gen_core.persistence.checkpoints import save_checkpoint
from gen_core.persistence.loading import load_checkpoint
from gen_core.persistence.resume import resume_trainer
from gen_core.persistence.runstate import RunFiles, resolve_resume_path
from gen_core.training.trainer import Trainer


def _train(trainer: Trainer, files: RunFiles | None = None, until_epoch: int | None = None) -> None:
    stop = trainer.config.epochs if until_epoch is None else until_epoch
    while trainer.epoch < stop:
        before = trainer.epoch
        trainer.train_step()
        if files is not None and trainer.epoch != before:
            files.write_epoch(trainer)


def _assert_same_run(a: Trainer, b: Trainer) -> None:
    for (name, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert torch.equal(x, y), name
    assert a.step == b.step and a.epoch == b.epoch
    def untimed(records):  # "time" is wall-clock training time: it differs between any two runs
        return [{k: v for k, v in r.items() if k not in ("time", "metrics_seconds")} for r in records]
    assert untimed(a.history.epochs) == untimed(b.history.epochs)
    assert untimed(a.history.steps) == untimed(b.history.steps)
    assert [s.epoch for s in a.snapshots] == [s.epoch for s in b.snapshots]
    assert all((s.samples == t.samples).all() for s, t in zip(a.snapshots, b.snapshots))


@pytest.mark.parametrize("model", ["mlp-gan", "mlp-vae"])
def test_resume_from_the_slim_state_equals_an_uninterrupted_run(model, mini_data, tmp_path):
    cfg = tiny_config(model, epochs=4)
    whole = Trainer(cfg, mini_data)
    _train(whole)

    first = Trainer(cfg, mini_data)
    files = RunFiles(tmp_path / "run")
    _train(first, files, until_epoch=2)
    assert not files.checkpoint_path.exists()          # only the slim files while it runs
    ck = RunFiles(tmp_path / "run").load()
    assert ck.epoch == 2 and ck.resumable and len(ck.history.epochs) == 2 and len(ck.snapshots) == 2
    resumed = resume_trainer(ck, data=mini_data)
    _train(resumed, RunFiles(tmp_path / "run"))
    _assert_same_run(whole, resumed)


def test_resume_mid_epoch_from_the_slim_state(mini_data, tmp_path):
    cfg = tiny_config("mlp-gan", epochs=2)
    whole = Trainer(cfg, mini_data)
    _train(whole)
    part = Trainer(cfg, mini_data)
    files = RunFiles(tmp_path)
    _train(part, files, until_epoch=1)
    part.train_step()                                   # one step into epoch 2, then "Stop"
    files.write_epoch(part)
    resumed = resume_trainer(RunFiles(tmp_path).load(), data=mini_data)
    assert resumed.step == part.step
    _train(resumed)
    _assert_same_run(whole, resumed)


def test_state_file_does_not_grow_with_the_run(mini_data, tmp_path):
    # One step per epoch, so 200 epochs take a few seconds.
    cfg = tiny_config("mlp-gan", epochs=200, images_per_epoch=32, val_images=16)
    trainer = Trainer(cfg, mini_data)
    files = RunFiles(tmp_path)
    sizes, lines = {}, {}
    while not trainer.done:
        trainer.train_step()
        files.write_epoch(trainer)
        if trainer.epoch in (2, 200):
            sizes[trainer.epoch] = files.state_path.stat().st_size
            lines[trainer.epoch] = files.journal_path.read_bytes().splitlines()[-1]
    # Same tensors, same keys: only the pickled counters (a few bytes) may differ.
    assert sizes[200] <= sizes[2] + 64, sizes
    assert len(lines[200]) <= 2 * len(lines[2])        # each journal line holds one epoch's records
    assert len(files.journal_path.read_bytes().splitlines()) == 200
    assert len(list((tmp_path / "snapshots").glob("epoch_*.pt"))) == 200
    ck = files.load()
    assert len(ck.history.epochs) == 200 and ck.history.steps[-1]["step"] == 200


def test_finish_writes_the_full_checkpoint_and_drops_the_state(mini_data, tmp_path):
    trainer = Trainer(tiny_config("mlp-vae"), mini_data)
    files = RunFiles(tmp_path)
    _train(trainer, files)
    files.finish(trainer)
    assert not files.state_path.exists()
    ck = load_checkpoint(files.checkpoint_path)
    assert ck.epoch == 2 and len(ck.history.epochs) == 2 and len(ck.snapshots) == 2
    assert resolve_resume_path(tmp_path) == files.checkpoint_path


def test_a_failed_run_keeps_its_last_saved_epoch_as_checkpoint(mini_data, tmp_path):
    trainer = Trainer(tiny_config("mlp-gan", epochs=3), mini_data)
    files = RunFiles(tmp_path)
    _train(trainer, files, until_epoch=1)
    trainer.train_step()                                # a step that "diverged": not saved
    files.finish(None)
    ck = load_checkpoint(files.checkpoint_path)
    assert ck.epoch == 1 and ck.step == trainer.steps_per_epoch and len(ck.history.epochs) == 1


def test_torn_journal_lines_and_lines_past_the_state_are_ignored(mini_data, tmp_path):
    trainer = Trainer(tiny_config("mlp-gan", epochs=3), mini_data)
    files = RunFiles(tmp_path)
    _train(trainer, files, until_epoch=2)
    state = files.state_path.read_bytes()
    _train(trainer, files)                              # epoch 3 journalled …
    files.state_path.write_bytes(state)                 # … but the crash came before its state.pt
    with open(files.journal_path, "ab") as f:
        f.write(b'{"step": 99, "steps": [{"st')          # and a torn line
    ck = RunFiles(tmp_path).load()
    assert ck.epoch == 2 and [r["epoch"] for r in ck.history.epochs] == [1, 2]
    assert max(r["step"] for r in ck.history.steps) == ck.step
    # The resumed run's first write rewrites the journal without the stale and torn lines.
    resumed = resume_trainer(ck, data=mini_data)
    again = RunFiles(tmp_path)
    _train(resumed, again)
    text = files.journal_path.read_text().splitlines()
    assert all(json.loads(line) for line in text)
    assert [r["epoch"] for r in again.load().history.epochs] == [1, 2, 3]


def test_an_old_folder_with_only_checkpoint_pt_resumes_and_switches_to_slim_files(mini_data, tmp_path):
    trainer = Trainer(tiny_config("mlp-gan", epochs=3), mini_data)
    _train(trainer, until_epoch=2)
    save_checkpoint(trainer, tmp_path / "checkpoint.pt")   # what every folder held before
    files = RunFiles(tmp_path)
    assert resolve_resume_path(tmp_path / "checkpoint.pt") == tmp_path / "checkpoint.pt"
    resumed = resume_trainer(files.load(), data=mini_data)
    _train(resumed, files)
    assert resolve_resume_path(tmp_path / "checkpoint.pt") == files.state_path
    ck = RunFiles(tmp_path).load()
    assert ck.epoch == 3 and [r["epoch"] for r in ck.history.epochs] == [1, 2, 3] and len(ck.snapshots) == 3


def test_an_epoch_syncs_only_what_resume_needs(mini_data, tmp_path, monkeypatch):
    """Journal line, state.pt and its folder: 3 fsyncs an epoch; the snapshot picture is not synced
    (read_snapshots skips a missing one) but is still written whole, by rename."""
    import os
    trainer = Trainer(tiny_config("mlp-gan", epochs=3), mini_data)
    files = RunFiles(tmp_path / "run")
    _train(trainer, files, until_epoch=1)  # the first write of a process rewrites the journal whole
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    _train(trainer, files, until_epoch=2)
    assert len(synced) == 3
    assert files.snapshot_path(2).exists() and not list(files.snapshot_path(2).parent.glob(".*.tmp"))
    monkeypatch.undo()
    # A lost picture (a power cut before the disk had it) costs that picture, not the run.
    files.snapshot_path(2).write_bytes(b"")
    ck = RunFiles(tmp_path / "run").load()
    assert ck.epoch == 2 and ck.resumable and [s.epoch for s in ck.snapshots] == [1]
