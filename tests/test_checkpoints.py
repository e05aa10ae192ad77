"""Tests for gen_core.persistence.checkpoints: round trips, exact resume, atomic writes, and refusing bad files."""
from __future__ import annotations

import io
import json
import math
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from gen_core import data as D
from gen_core.config.checks import ConfigError
from gen_core.config.train import TrainConfig
from gen_core.persistence.checkpoints import (FORMAT, Checkpoint, CheckpointError, checkpoint_payload, sample_grid,
                                              save_checkpoint)
from gen_core.persistence.loading import load_checkpoint, load_checkpoint_bytes
from gen_core.persistence.resume import resume_trainer
from gen_core.training.trainer import Trainer


TINY = {
    "mlp-gan": {"latent_dim": 2, "g_hidden": (32, 64), "d_hidden": (64, 32)},  # D has dropout 0.3
    "mlp-vae": {"latent_dim": 2, "hidden": (48, 24)},
    "dcgan": {"latent_dim": 8, "g_width": 8, "d_width": 8},  # trains channels-last on the CPU
}


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("GEN_CORE_OFFLINE", "1")
    monkeypatch.delenv("GEN_CORE_DATA_ROOT", raising=False)


def tiny_config(model: str = "mlp-gan", epochs: int = 2, **changes) -> TrainConfig:
    base = dict(model=model, model_config=dict(TINY[model]), dataset="mnist-mini", epochs=epochs, batch_size=64,
                images_per_epoch=256, seed=3, device="cpu", val_images=64, n_fixed=16, latent_map_size=4)
    base.update(changes)
    return TrainConfig(**base)


def train(trainer: Trainer, steps: int | None = None) -> Trainer:
    n = 0
    while not trainer.done and (steps is None or n < steps):
        trainer.train_step()
        n += 1
    return trainer


@pytest.fixture(scope="module")
def gan_trainer():
    return train(Trainer(tiny_config("mlp-gan")))


@pytest.fixture(scope="module")
def vae_trainer():
    return train(Trainer(tiny_config("mlp-vae")))


@pytest.fixture()
def gan_file(gan_trainer, tmp_path):
    return save_checkpoint(gan_trainer, tmp_path / "run" / "checkpoint.pt")


def without_time(records):
    return [{k: v for k, v in r.items() if k != "time"} for r in records]


def assert_same_snapshots(a, b):
    assert len(a) == len(b)
    for sa, sb in zip(a, b):
        assert (sa.epoch, sa.step) == (sb.epoch, sb.step)
        for name in ("samples", "originals", "reconstructions", "latent_map", "latent_means", "latent_labels"):
            x, y = getattr(sa, name), getattr(sb, name)
            assert (x is None) == (y is None), name
            if x is not None:
                assert x.dtype == y.dtype and np.array_equal(x, y), name


def assert_same_weights(m1, m2):
    s1, s2 = m1.state_dict(), m2.state_dict()
    assert s1.keys() == s2.keys()
    for k in s1:
        assert torch.equal(s1[k].cpu(), s2[k].cpu()), k


# ---------------------------------------------------------------------------
# Round trips

@pytest.mark.parametrize("which", ["gan_trainer", "vae_trainer"])
def test_round_trip(which, request, tmp_path):
    trainer = request.getfixturevalue(which)
    path = save_checkpoint(trainer, tmp_path / "ck.pt")
    ck = load_checkpoint(path)
    assert isinstance(ck, Checkpoint) and ck.source == str(path)
    assert ck.config == trainer.config and ck.config.to_dict() == trainer.config.to_dict()
    assert_same_weights(ck.model, trainer.model)
    assert not ck.model.training
    assert all(p.dtype == torch.float32 for p in ck.model.parameters())
    assert ck.history.steps == trainer.history.steps and ck.history.epochs == trainer.history.epochs
    assert_same_snapshots(ck.snapshots, trainer.snapshots)
    assert (ck.step, ck.epoch, ck.elapsed) == (trainer.step, trainer.epoch, trainer.elapsed)
    assert ck.resumable and ck.done and ck.family == trainer.family
    md = ck.metadata
    assert md["model"] == trainer.config.model and md["family"] == trainer.family
    assert md["num_parameters"] == trainer.model.num_parameters() and md["saved_at"]
    assert trainer.config.model in ck.summary()
    # Plain data only: the safe loader reads it, and the marker is there.
    raw = torch.load(path, map_location="cpu", weights_only=True)
    assert raw["format"] == FORMAT and raw["version"] == 1
    assert set(raw["optimizers"]) == set(trainer.objective.optimizers)


def test_vae_snapshots_have_everything(vae_trainer, tmp_path):
    ck = load_checkpoint(save_checkpoint(vae_trainer, tmp_path / "ck.pt"))
    snap = ck.snapshots[-1]
    assert snap.originals is not None and snap.reconstructions is not None and snap.latent_map is not None
    assert snap.latent_means.dtype == np.float32 and snap.latent_labels.dtype == np.int64


def test_bytes_and_file_objects(gan_file):
    data = gan_file.read_bytes()
    for ck in (load_checkpoint_bytes(data), load_checkpoint(data), load_checkpoint(io.BytesIO(data))):
        assert ck.step == load_checkpoint(gan_file).step and ck.source is None
    with open(gan_file, "rb") as f:
        assert load_checkpoint(f).source == str(gan_file)


def test_half_weights_only(gan_trainer, tmp_path):
    full = save_checkpoint(gan_trainer, tmp_path / "full.pt")
    small = save_checkpoint(gan_trainer, tmp_path / "small.pt", include_optimizer=False, half=True)
    assert small.stat().st_size < full.stat().st_size
    raw = torch.load(small, map_location="cpu", weights_only=True)
    assert raw["optimizers"] is None
    assert all(v.dtype == torch.float16 for v in raw["model"].values() if v.is_floating_point())
    ck = load_checkpoint(small)
    assert all(p.dtype == torch.float32 for p in ck.model.parameters())
    for k, v in gan_trainer.model.state_dict().items():
        assert torch.allclose(ck.model.state_dict()[k], v, rtol=1e-3, atol=1e-3), k
    assert not ck.resumable and ck.history.epochs == gan_trainer.history.epochs
    with pytest.raises(CheckpointError, match="without optimizer state"):
        resume_trainer(ck)
    # Still good for sampling.
    assert sample_grid(ck, n=4).shape == sample_grid(load_checkpoint(full), n=4).shape


def test_half_checkpoint_of_a_channels_last_dcgan_with_ema_loads(tmp_path):
    """The DCGAN trains channels-last on the CPU and its EMA copy keeps those strides; a half-precision
    save must still write contiguous tensors (the loader refuses strided views as crafted)."""
    trainer = train(Trainer(tiny_config("dcgan", epochs=1, ema_decay=0.9)))
    assert any(not v.is_contiguous() for v in trainer.model.state_dict().values())   # (the case at hand)
    path = save_checkpoint(trainer, tmp_path / "half.pt", include_optimizer=False, half=True)
    ck = load_checkpoint(path)
    assert ck.model.ema_generator is not None and sample_grid(ck, n=4).shape[0] > 0


def test_nan_and_inf_in_history_round_trip(tmp_path):
    trainer = Trainer(tiny_config("mlp-gan", epochs=1))
    trainer.history.steps.append({"step": 1, "g_loss": float("nan"), "d_loss": float("inf")})
    trainer.history.epochs.append({"epoch": 1, "val_d_loss": float("-inf"), "val_kl_per_dim": [float("nan"), 1.0]})
    ck = load_checkpoint(save_checkpoint(trainer, tmp_path / "ck.pt"))
    assert math.isnan(ck.history.steps[0]["g_loss"]) and ck.history.steps[0]["d_loss"] == math.inf
    assert ck.history.epochs[0]["val_d_loss"] == -math.inf
    assert math.isnan(ck.history.epochs[0]["val_kl_per_dim"][0])


def test_sample_grid_is_reproducible(gan_file, gan_trainer):
    ck = load_checkpoint(gan_file)
    a, b, c = sample_grid(ck, n=9, seed=1), sample_grid(ck, n=9, seed=1), sample_grid(ck, n=9, seed=2)
    assert a.dtype == np.uint8 and a.shape == (3 * 30 + 2, 3 * 30 + 2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(sample_grid(gan_trainer.model, n=9, seed=1), a)
    with pytest.raises(ConfigError):
        sample_grid(ck, n=0)


# ---------------------------------------------------------------------------
# Exact resume

@pytest.mark.parametrize("model", ["mlp-gan", "mlp-vae", "dcgan"])
def test_resume_equals_uninterrupted(model, tmp_path):
    """2 epochs + save + load + 2 more == 4 epochs straight: same history, snapshots and weights."""
    first = train(Trainer(tiny_config(model, epochs=2)))
    path = save_checkpoint(first, tmp_path / "ck.pt")
    torch.manual_seed(12345)  # whatever happens to the global RNG in between must not matter
    resumed = resume_trainer(load_checkpoint(path), epochs=4)
    assert resumed.config.epochs == 4 and resumed.step == first.step and not resumed.done
    train(resumed)

    straight = train(Trainer(tiny_config(model, epochs=4)))
    assert without_time(resumed.history.steps) == without_time(straight.history.steps)
    assert without_time(resumed.history.epochs) == without_time(straight.history.epochs)
    assert_same_weights(resumed.model, straight.model)
    assert_same_snapshots(resumed.snapshots, straight.snapshots)
    for name, opt in straight.objective.optimizers.items():
        s1, s2 = opt.state_dict()["state"], resumed.objective.optimizers[name].state_dict()["state"]
        assert all(torch.equal(s1[i]["exp_avg"], s2[i]["exp_avg"]) for i in s1)


def test_resume_mid_epoch_equals_uninterrupted(tmp_path):
    """A run stopped inside an epoch (Ctrl-C) continues with the very next batch."""
    partial = train(Trainer(tiny_config("mlp-gan", epochs=2)), steps=6)  # 4 steps per epoch: 1.5 epochs
    ck = load_checkpoint(save_checkpoint(partial, tmp_path / "ck.pt"))
    assert (ck.epoch, ck.step, ck.epoch_step) == (1, 6, 2)
    resumed = train(resume_trainer(ck))
    straight = train(Trainer(tiny_config("mlp-gan", epochs=2)))
    assert without_time(resumed.history.steps) == without_time(straight.history.steps)
    assert without_time(resumed.history.epochs) == without_time(straight.history.epochs)
    assert_same_weights(resumed.model, straight.model)


def test_resume_rejects_fewer_epochs(gan_file):
    with pytest.raises(ConfigError, match="at least the 2"):
        resume_trainer(load_checkpoint(gan_file), epochs=1)


# ---------------------------------------------------------------------------
# Atomic writes

def test_failed_write_keeps_previous_file(gan_trainer, tmp_path, monkeypatch):
    path = save_checkpoint(gan_trainer, tmp_path / "ck.pt")
    before = path.read_bytes()

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04 half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(gan_trainer, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.pt"]  # no temp file left behind
    monkeypatch.undo()
    assert load_checkpoint(path).step == gan_trainer.step


# ---------------------------------------------------------------------------
# Refusing bad files

def save_payload(payload, path):
    torch.save(payload, path)
    return path


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(CheckpointError, match="folder"):
        load_checkpoint(tmp_path)


def test_too_large(gan_file):
    with pytest.raises(CheckpointError, match="too large"):
        load_checkpoint(gan_file, max_bytes=1000)
    with pytest.raises(CheckpointError, match="too large"):
        load_checkpoint_bytes(gan_file.read_bytes(), max_bytes=1000)
    with pytest.raises(CheckpointError, match="too large"):
        load_checkpoint(io.BytesIO(gan_file.read_bytes()), max_bytes=1000)


@pytest.mark.parametrize("content", [b"", b"hello, not a checkpoint", b"\x80\x04K\x01."])
def test_not_a_zip(content, tmp_path):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(path)
    assert "\n" not in str(e.value)


def test_truncated_and_corrupt(gan_file, tmp_path):
    data = gan_file.read_bytes()
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint_bytes(data[: len(data) // 2])
    corrupt = bytearray(data)
    corrupt[100:4000] = os.urandom(3900)  # damage the pickle and the first tensors, keep the zip directory
    with pytest.raises(CheckpointError):
        load_checkpoint_bytes(bytes(corrupt))


class _Evil:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_that_runs_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    in_zip = save_payload({"format": FORMAT, "version": 1, "model": _Evil(marker)}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="could run code") as e:
        load_checkpoint(in_zip)
    assert "\n" not in str(e.value)
    raw = tmp_path / "evil.pkl"
    raw.write_bytes(pickle.dumps(_Evil(marker)))
    with pytest.raises(CheckpointError):
        load_checkpoint(raw)
    with pytest.raises(CheckpointError):
        load_checkpoint_bytes(pickle.dumps({"x": _Evil(marker)}))
    assert not marker.exists()  # nothing ran


def test_wrong_format_marker(tmp_path):
    with pytest.raises(CheckpointError, match="not a gen_core checkpoint"):
        load_checkpoint(save_payload({"a": 1}, tmp_path / "plain.pt"))
    with pytest.raises(CheckpointError, match="not a gen_core checkpoint"):
        load_checkpoint(save_payload([torch.zeros(3)], tmp_path / "list.pt"))


def test_newer_version(gan_trainer, tmp_path):
    payload = checkpoint_payload(gan_trainer)
    payload["version"] = 99
    with pytest.raises(CheckpointError, match="newer gen_core"):
        load_checkpoint(save_payload(payload, tmp_path / "v99.pt"))


def test_invalid_config(gan_trainer, tmp_path):
    payload = checkpoint_payload(gan_trainer)
    config = json.loads(payload["config"])
    config["lr_g"] = 5.0
    payload["config"] = json.dumps(config)
    with pytest.raises(CheckpointError, match=r"invalid config: lr_g must be in \(0, 1\], got 5"):
        load_checkpoint(save_payload(payload, tmp_path / "lr.pt"))
    config["lr_g"], config["model"] = 1e-3, "no-such-model"
    payload["config"] = json.dumps(config)
    with pytest.raises(CheckpointError, match="unknown model 'no-such-model'"):
        load_checkpoint(save_payload(payload, tmp_path / "model.pt"))
    payload["config"] = "{not json"
    with pytest.raises(CheckpointError, match="config"):
        load_checkpoint(save_payload(payload, tmp_path / "json.pt"))


def test_weights_do_not_fit(gan_trainer, tmp_path):
    payload = checkpoint_payload(gan_trainer)
    config = json.loads(payload["config"])
    config["model_config"]["latent_dim"] = 3
    payload["config"] = json.dumps(config)
    with pytest.raises(CheckpointError, match="weights do not fit mlp-gan with latent_dim=3") as e:
        load_checkpoint(save_payload(payload, tmp_path / "shape.pt"))
    assert "generator.net.0.weight has shape (32, 2) but the model needs (32, 3)" in str(e.value)

    payload = checkpoint_payload(gan_trainer)
    del payload["model"]["generator.net.0.bias"]
    payload["model"]["extra.weight"] = torch.zeros(2)
    with pytest.raises(CheckpointError, match="missing generator.net.0.bias; unexpected extra.weight"):
        load_checkpoint(save_payload(payload, tmp_path / "keys.pt"))

    payload = checkpoint_payload(gan_trainer)
    payload["model"] = {"w": "not a tensor"}
    with pytest.raises(CheckpointError, match="damaged"):
        load_checkpoint(save_payload(payload, tmp_path / "types.pt"))


@pytest.mark.parametrize("field,value", [
    ("history", "{broken"), ("history", 3), ("snapshots", [{"epoch": 1}]), ("snapshots", "x"),
    ("trainer", {"step": -1}), ("rng", {"trainer": "abc"}), ("optimizers", [1, 2]), ("metadata", 5),
])
def test_damaged_fields(gan_trainer, tmp_path, field, value):
    payload = checkpoint_payload(gan_trainer)
    payload[field] = value
    with pytest.raises(CheckpointError, match="damaged") as e:
        load_checkpoint(save_payload(payload, tmp_path / "damaged.pt"))
    assert "\n" not in str(e.value)


def test_optimizer_state_that_does_not_fit(gan_trainer, tmp_path):
    payload = checkpoint_payload(gan_trainer)
    payload["optimizers"] = {"generator": payload["optimizers"]["discriminator"],
                             "discriminator": payload["optimizers"]["generator"]}
    ck = load_checkpoint(save_payload(payload, tmp_path / "opt.pt"))
    with pytest.raises(CheckpointError, match="optimizer state does not fit"):
        resume_trainer(ck)


def test_falls_back_without_the_dataset(tmp_path, monkeypatch):
    """A checkpoint trained on data this machine lacks still loads; resuming uses the fallback data."""
    trainer = train(Trainer(tiny_config("mlp-gan", epochs=1)))
    payload = checkpoint_payload(trainer)
    config = json.loads(payload["config"])
    config.update(dataset="kmnist", data_root=str(tmp_path / "nowhere"))
    payload["config"] = json.dumps(config)
    D.clear_cache()
    ck = load_checkpoint(save_payload(payload, tmp_path / "k.pt"))
    resumed = resume_trainer(ck, epochs=2)
    assert resumed.data.name == "mnist-mini"
    train(resumed)
    assert resumed.epoch == 2


def _train_shipped_module():
    import importlib.util
    from pathlib import Path
    script = Path(__file__).resolve().parents[1] / "scripts" / "train_shipped.py"
    spec = importlib.util.spec_from_file_location("train_shipped", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_checkpoints_store_the_ema_generator_as_the_generator(tmp_path):
    """scripts/train_shipped.py folds G's moving average into G (one copy of G, not two): the saved
    file is smaller and samples exactly what the EMA generator sampled."""
    from gen_core.models.sampling import sample
    from gen_core.persistence.atomic import atomic_torch_save

    shipped = _train_shipped_module()

    trainer = train(Trainer(tiny_config("mlp-gan", ema_decay=0.9)))
    raw = checkpoint_payload(trainer, include_optimizer=False)
    n_raw = len(raw["model"])
    folded = shipped.fold_ema(checkpoint_payload(trainer, include_optimizer=False))
    assert not any(k.startswith("ema_generator.") for k in folded["model"])
    assert len(folded["model"]) < n_raw
    assert folded["metadata"]["ema_folded"] == 0.9 and json.loads(folded["config"])["ema_decay"] == 0.0
    atomic_torch_save(folded, tmp_path / "shipped.pt")
    ck = load_checkpoint(tmp_path / "shipped.pt")
    assert ck.model.ema_generator is None
    trainer.model.eval()
    torch.testing.assert_close(sample(ck.model, 8, seed=5), sample(trainer.model, 8, seed=5))  # = EMA samples
    # (and not what the raw generator draws)
    z = torch.randn(8, trainer.model.latent_dim, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        assert not torch.allclose(ck.model.generator(z), trainer.model.generator(z))


def test_shipped_gans_keep_their_best_epoch(tmp_path, monkeypatch):
    """train_shipped scores a GAN after every epoch and keeps the epoch that draws every class most
    confidently, with its own weights and the history up to it (not the last epoch's)."""
    import copy

    from gen_core.models.sampling import sample
    shipped = _train_shipped_module()
    monkeypatch.setattr(shipped, "OUT", tmp_path)
    weights = []

    def fake_score(trainer, evaluator):                 # (−missing, confident) per epoch: epoch 2 wins
        weights.append(copy.deepcopy(trainer.model.state_dict()))
        return [(-3, 0.1), (0, 0.2), (-1, 0.9), (0, 0.1)][trainer.epoch - 1]

    monkeypatch.setattr(shipped, "_epoch_score", fake_score)
    cfg = tiny_config("mlp-gan", epochs=4)
    path = shipped.train_one("mlp-gan-t", cfg, D.load_dataset("mnist-mini"), {})
    ck = load_checkpoint(path)
    assert ck.config.epochs == 2 and [s.epoch for s in ck.snapshots] == [1, 2]
    assert [r["epoch"] for r in ck.history.epochs] == [1, 2] and ck.history.steps[-1]["step"] <= 8
    assert ck.metadata["kept_epoch"].startswith("epoch 2 of 4")
    rebuilt = Trainer(cfg).model
    rebuilt.load_state_dict(weights[1])
    rebuilt.eval()
    torch.testing.assert_close(sample(ck.model, 4, seed=1), sample(rebuilt, 4, seed=1), atol=2e-3, rtol=0)  # (fp16)


def test_shipped_files_are_slimmed_and_still_load(tmp_path, monkeypatch):
    """slim keeps at most MAX_GRIDS epoch grids (first and last always, early epochs densest), the
    latent map of the last kept epoch only and at most MAX_STEP_RECORDS step records; --reslim
    applies it to a saved file, which then loads and samples as before."""
    from gen_core.models.sampling import sample
    from gen_core.persistence.atomic import atomic_torch_save
    shipped = _train_shipped_module()
    monkeypatch.setattr(shipped, "MAX_STEP_RECORDS", 10)
    assert sorted(shipped.kept_grid_epochs(list(range(1, 31)))) == [1, 2, 3, 4, 5, 7, 10, 14, 21, 30]
    assert shipped.kept_grid_epochs([1, 2, 3]) == {1, 2, 3}

    trainer = train(Trainer(tiny_config("mlp-gan", epochs=12, images_per_epoch=128)))
    path = tmp_path / "mlp-gan-t.pt"
    atomic_torch_save(checkpoint_payload(trainer, include_optimizer=False, half=True), path)
    before = load_checkpoint(path)
    assert len(before.snapshots) == 12
    shipped.reslim(path)
    after = load_checkpoint(path)
    assert [s.epoch for s in after.snapshots] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 12]
    assert [s.latent_map is not None for s in after.snapshots] == [False] * 9 + [True]
    assert len(after.history.steps) <= 11 and after.history.steps[-1] == before.history.steps[-1]
    assert len(after.history.epochs) == 12
    torch.testing.assert_close(sample(after.model, 4, seed=1), sample(before.model, 4, seed=1))


def test_every_shipped_checkpoint_is_under_5_mib():
    """The repo is cloned by every student: each shipped file stays small (train_shipped.slim)."""
    shipped = sorted((Path(__file__).resolve().parents[1] / "checkpoints").glob("*.pt"))
    assert shipped
    assert {p.name: p.stat().st_size for p in shipped if p.stat().st_size >= 5 * 2**20} == {}
