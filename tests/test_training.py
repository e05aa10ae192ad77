"""Trainer and runner behaviour: real steps, reproducibility, snapshots, controls, NaN handling."""
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from conftest import tiny_config
from gen_core.training.runner import FAILED, FINISHED, PAUSED, RUNNING, STOPPED, TrainingRunner
from gen_core.training.trainer import Trainer


MODELS = ["mlp-gan", "dcgan", "mlp-vae", "conv-vae"]


def _params(module):
    return [p.detach().clone() for p in module.parameters()]


@pytest.mark.parametrize("model", MODELS)
def test_one_step_changes_every_network(model, mini_data):
    trainer = Trainer(tiny_config(model), mini_data)
    parts = ([trainer.model.generator, trainer.model.discriminator] if trainer.family == "gan"
             else [trainer.model.encoder, trainer.model.decoder])
    before = [_params(p) for p in parts]
    record = trainer.train_step()
    for part, old in zip(parts, before):
        assert any(not torch.equal(a, b) for a, b in zip(old, part.parameters())), f"{type(part).__name__} unchanged"
    metrics = ("g_loss", "d_loss", "total_loss", "d_real", "d_fake") if trainer.family == "gan" else ("loss", "recon", "kl", "elbo")
    assert all(np.isfinite(record[m]) for m in metrics)
    assert record["step"] == 1


def test_same_seed_same_run_other_seed_other_run(mini_data):
    def run(seed):
        trainer = Trainer(tiny_config("mlp-gan", seed=seed, epochs=1), mini_data)
        while not trainer.done:
            trainer.train_step()
        return trainer
    a, b, c = run(3), run(3), run(4)
    assert [r["g_loss"] for r in a.history.steps] == [r["g_loss"] for r in b.history.steps]
    assert all(torch.equal(p, q) for p, q in zip(a.model.parameters(), b.model.parameters()))
    np.testing.assert_array_equal(a.snapshots[-1].samples, b.snapshots[-1].samples)
    assert [r["g_loss"] for r in a.history.steps] != [r["g_loss"] for r in c.history.steps]


def test_epochs_history_and_gan_snapshots(mini_data):
    cfg = tiny_config("mlp-gan", epochs=2, images_per_epoch=128, batch_size=32)
    trainer = Trainer(cfg, mini_data)
    assert trainer.steps_per_epoch == 4 and trainer.total_steps == 8
    while not trainer.done:
        trainer.train_step()
    assert len(trainer.history.steps) == 8
    assert [e["epoch"] for e in trainer.history.epochs] == [1, 2]
    assert {"val_d_loss", "val_g_loss", "g_loss", "d_loss", "time"} <= set(trainer.history.epochs[0])
    snap = trainer.snapshots[-1]
    assert snap.samples.shape == (16, 1, 28, 28) and snap.samples.dtype == np.uint8
    assert snap.latent_map.shape == (4 * 4, 1, 28, 28)  # latent dim 2 → n×n map
    # The fixed noise is fixed: epoch-1 and epoch-2 grids show the same z, so they differ only by training.
    assert not np.array_equal(trainer.snapshots[0].samples, snap.samples)


def test_vae_snapshots_have_reconstructions_and_latent_scatter(mini_data):
    trainer = Trainer(tiny_config("mlp-vae", epochs=1), mini_data)
    while not trainer.done:
        trainer.train_step()
    snap = trainer.snapshots[-1]
    assert snap.originals.shape == snap.reconstructions.shape == (16, 1, 28, 28)
    assert snap.latent_means.shape == (64, 2) and snap.latent_labels.shape == (64,)
    epoch = trainer.history.epochs[-1]
    assert {"val_loss", "val_recon", "val_kl", "val_elbo", "val_kl_per_dim"} <= set(epoch)
    assert len(epoch["val_kl_per_dim"]) == 2


def test_d_steps_use_a_fresh_batch_each(mini_data):
    trainer = Trainer(tiny_config("mlp-gan", d_steps=2, images_per_epoch=128, batch_size=32), mini_data)
    assert trainer.steps_per_epoch == 2  # 4 batches, 2 per step
    trainer.train_step()
    assert trainer.history.steps[-1]["step"] == 1


def test_dcgan64_resizes_batches(mini_data):
    cfg = tiny_config("dcgan-64", model_overrides=dict(g_width=4, d_width=4, latent_dim=8), epochs=1,
                      images_per_epoch=32, batch_size=16, n_fixed=4)
    trainer = Trainer(cfg, mini_data)
    trainer.train_step()
    assert trainer.batcher.take(2).shape == (2, 1, 64, 64)


def _wait(runner, states, timeout=30.0):
    deadline = time.time() + timeout
    while runner.state not in states:
        assert time.time() < deadline, f"runner stuck in {runner.state}"
        time.sleep(0.01)


def test_runner_runs_to_completion_and_publishes(mini_data):
    runner = TrainingRunner(tiny_config("mlp-vae"), mini_data).start()
    assert runner.join(60)
    snap = runner.snapshot()
    assert snap.state == FINISHED and snap.error is None
    assert snap.step == snap.total_steps == 8 and snap.progress == 1.0
    assert len(snap.step_history) == 8 and len(snap.epoch_snapshots) == 2
    assert snap.samples_per_sec > 0 and snap.num_parameters["total"] > 0


def test_runner_pause_step_resume_stop(mini_data):
    cfg = tiny_config("mlp-gan", epochs=200)
    runner = TrainingRunner(cfg, mini_data)
    runner.start()
    _wait(runner, (RUNNING,))
    runner.pause()
    _wait(runner, (PAUSED,))
    time.sleep(0.2)
    step = runner.trainer.step
    time.sleep(0.3)
    assert runner.trainer.step == step, "a paused run must not train"
    runner.step(3)
    deadline = time.time() + 10
    while runner.trainer.step < step + 3 and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert runner.trainer.step == step + 3 and runner.state == PAUSED
    runner.resume()
    _wait(runner, (RUNNING,))
    time.sleep(0.2)
    assert runner.trainer.step > step + 3
    runner.stop()
    assert runner.join(10)
    snap = runner.snapshot()
    assert snap.state == STOPPED and snap.step < snap.total_steps
    assert snap.step == len(snap.step_history)  # history intact up to the stop


def test_stop_while_paused(mini_data):
    runner = TrainingRunner(tiny_config("mlp-gan", epochs=200), mini_data).start()
    _wait(runner, (RUNNING,))
    runner.pause()
    _wait(runner, (PAUSED,))
    runner.stop()
    assert runner.join(10) and runner.state == STOPPED


def test_nan_loss_fails_the_run_with_a_reason_and_keeps_weights(mini_data):
    cfg = tiny_config("mlp-vae", epochs=5)
    trainer = Trainer(cfg, mini_data)
    trainer.train_step()
    good = _params(trainer.model)
    # Poison the input scale: the next loss is NaN. Weights must stay as they were.
    trainer.batcher.images = trainer.batcher.images.float().fill_(float("nan"))
    runner = TrainingRunner(cfg, trainer=trainer).start()
    assert runner.join(30)
    snap = runner.snapshot()
    assert snap.state == FAILED
    assert "nan" in snap.error.lower() and "learning rate" in snap.error
    assert all(torch.equal(a, b) for a, b in zip(good, trainer.model.parameters()))


def test_crash_inside_training_ends_only_that_run(mini_data, monkeypatch):
    cfg = tiny_config("mlp-gan")
    bad = Trainer(cfg, mini_data)
    monkeypatch.setattr(bad.objective, "train_step", lambda batches: (_ for _ in ()).throw(MemoryError("out of memory")))
    failing = TrainingRunner(cfg, trainer=bad).start()
    healthy = TrainingRunner(cfg, mini_data).start()
    assert failing.join(30) and healthy.join(60)
    assert failing.state == FAILED and "out of memory" in failing.snapshot().error
    assert healthy.state == FINISHED


def test_gen_core_does_not_import_streamlit():
    """Every gen_core module, imported in a fresh process, leaves streamlit unimported."""
    code = ("import importlib, pkgutil, sys, gen_core\n"
            "for m in pkgutil.walk_packages(gen_core.__path__, 'gen_core.'):\n"
            "    if m.name != 'gen_core.__main__': importlib.import_module(m.name)\n"
            "print('streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_truncate_to_rolls_a_trainer_back_to_an_earlier_epoch(mini_data):
    """Early stopping's roll-back (scripts/train_shipped.py): the kept epoch's weights, the history and
    snapshots up to it, and a config that says how many epochs those weights had."""
    import copy
    trainer = Trainer(tiny_config("mlp-gan", epochs=3), mini_data)
    kept = None
    while not trainer.done:
        trainer.train_step()
        if trainer.epoch == 1 and kept is None:
            kept = copy.deepcopy(trainer.model.state_dict())
    with pytest.raises(ValueError):
        trainer.truncate_to(0, kept)
    with pytest.raises(ValueError):
        trainer.truncate_to(4, kept)
    trainer.truncate_to(1, kept)
    assert (trainer.epoch, trainer.step, trainer.config.epochs) == (1, trainer.steps_per_epoch, 1)
    assert trainer.done and [r["epoch"] for r in trainer.history.epochs] == [1]
    assert [s.epoch for s in trainer.snapshots] == [1]
    assert max(r["step"] for r in trainer.history.steps) == trainer.steps_per_epoch
    assert all(torch.equal(v, kept[k]) for k, v in trainer.model.state_dict().items())
