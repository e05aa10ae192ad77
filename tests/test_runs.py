"""gen_core.classroom.runs (the process-wide RunRegistry), gen_core.training.estimate and gen_core.evaluation.explore."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from conftest import tiny_config
from gen_core.classroom.model_views import ModelView, view_from_checkpoint
from gen_core.classroom.run_info import RunError
from gen_core.classroom.runs import RunRegistry
from gen_core.config.checks import ConfigError
from gen_core.evaluation import explore
from gen_core.training.estimate import estimate_epoch, estimate_epoch_seconds, speed_key
from gen_core.training.runner import FINISHED, PAUSED, RUNNING, STOPPED


JOIN_S = 60


@pytest.fixture
def registry():
    reg = RunRegistry(max_runs=4, max_active=2)
    yield reg
    reg.clear()


def _wait(reg: RunRegistry, run_id: str) -> None:
    assert reg.get(run_id).join(JOIN_S), "run did not finish in time"


def _wait_for(predicate, timeout=JOIN_S):
    import time
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


# ---------------------------------------------------------------------------- registry

def test_create_runs_to_the_end_and_is_listed(registry, mini_data):
    rid = registry.create(tiny_config("mlp-gan"), data=mini_data)
    assert rid in registry and len(registry) == 1
    _wait(registry, rid)
    snap = registry.snapshot(rid)
    assert snap.state == FINISHED and snap.epoch == 2 and len(snap.epoch_snapshots) == 2
    assert snap.step_history and "g_loss" in snap.step_history[-1]
    [info] = registry.list()
    assert info.run_id == rid and info.family == "gan" and info.model == "mlp-gan"
    assert info.epochs == 2 and info.latent_dim == 2 and not info.is_active
    assert registry.list("vae") == [] and registry.list("gan") == [info]
    assert registry.get("nope") is None and registry.snapshot(None) is None and registry.info("x") is None


def test_list_is_newest_first_and_filters_by_family(registry, mini_data):
    a = registry.create(tiny_config("mlp-gan"), data=mini_data, label="first")
    b = registry.create(tiny_config("mlp-vae"), data=mini_data, label="second")
    assert [i.run_id for i in registry.list()] == [b, a]
    assert [i.label for i in registry.list("vae")] == ["second"]
    _wait(registry, a), _wait(registry, b)


def test_controls_reach_the_runner(registry, mini_data):
    rid = registry.create(tiny_config("mlp-gan", epochs=500), data=mini_data)
    runner = registry.get(rid)
    assert _wait_for(lambda: runner.state == RUNNING)
    runner.pause()
    assert registry.snapshot(rid).state == PAUSED and registry.info(rid).is_active
    runner.resume()
    assert registry.snapshot(rid).state == RUNNING
    runner.stop()
    _wait(registry, rid)
    assert registry.snapshot(rid).state == STOPPED


def test_runs_beyond_the_slots_wait_in_line_then_start(registry, mini_data):
    ids = [registry.create(tiny_config("mlp-gan", epochs=500), data=mini_data) for _ in range(2)]
    waiting = registry.create(tiny_config("mlp-gan", epochs=1), data=mini_data)  # max_active=2: queued
    snap = registry.snapshot(waiting)
    assert snap.state == "queued" and snap.queue_position == 1 and snap.is_active
    assert registry.info(waiting).status == "queued · 1st in line"
    for rid in ids:
        registry.get(rid).stop()
        _wait(registry, rid)
    assert _wait_for(lambda: registry.get(waiting).started)  # a freed slot goes to the line's head
    _wait(registry, waiting)
    assert registry.snapshot(waiting).state == FINISHED


def test_finished_runs_are_kept_then_evicted_oldest_first(registry, mini_data):
    ids = []
    for _ in range(5):  # max_runs=4
        rid = registry.create(tiny_config("mlp-vae", epochs=1), data=mini_data)
        _wait(registry, rid)
        ids.append(rid)
    registry.reap()  # (the reaper thread does this every few seconds; creating a run does it too)
    assert len(registry) == 4
    assert ids[0] not in registry and all(r in registry for r in ids[1:])


def test_remove_stops_and_forgets(registry, mini_data):
    rid = registry.create(tiny_config("mlp-gan", epochs=500), data=mini_data)
    runner = registry.get(rid)
    assert registry.remove(rid)
    assert rid not in registry and runner.join(0) and runner.state == STOPPED
    assert not registry.remove(rid)


def test_create_rejects_non_configs(registry):
    with pytest.raises(ConfigError):
        registry.create({"model": "mlp-gan"})


def test_concurrent_creates_are_safe_and_respect_the_slots(mini_data):
    reg = RunRegistry(max_runs=50, max_active=3)
    results, errors = [], []

    def go():
        try:
            results.append(reg.create(tiny_config("mlp-gan", epochs=400), data=mini_data))
        except RunError as e:
            errors.append(e)

    threads = [threading.Thread(target=go) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(set(results)) == 8 and len(reg) == 8 and not errors
    assert len(reg.scheduler.running_ids) == 3 and len(reg.scheduler.queued_ids) == 5
    positions = sorted(reg.snapshot(r).queue_position for r in reg.scheduler.queued_ids)
    assert positions == [1, 2, 3, 4, 5]
    reg.clear()
    assert len(reg) == 0 and not reg.scheduler.running_ids and not reg.scheduler.queued_ids


# ---------------------------------------------------------------------------- model views

def test_view_is_a_frozen_eval_copy(registry, mini_data):
    rid = registry.create(tiny_config("mlp-vae"), data=mini_data)
    _wait(registry, rid)
    view = registry.view(rid)
    assert isinstance(view, ModelView) and view.family == "vae" and view.latent_dim == 2
    assert view.epoch == 2 and view.state == FINISHED and view.key == f"run:{rid}"
    assert not view.model.training
    assert view.model is not registry.get(rid).trainer.model  # never the training model itself
    trained = registry.get(rid).trainer.model.state_dict()
    for k, v in view.model.state_dict().items():
        assert torch.equal(v, trained[k])
    assert view.num_parameters["total"] > 0 and view.elapsed > 0
    assert registry.view(rid) is not None and registry.view("nope") is None


def test_view_before_the_first_epoch_is_none_then_appears(registry, mini_data):
    rid = registry.create(tiny_config("mlp-gan", epochs=500, images_per_epoch=6400), data=mini_data)
    runner = registry.get(rid)
    assert registry.view(rid) is None or runner.snapshot().epoch >= 1
    assert _wait_for(lambda: registry.view(rid) is not None)
    assert registry.view(rid).epoch >= 1
    runner.stop()
    _wait(registry, rid)
    stopped = registry.view(rid)  # after the worker ended: the final weights, mid-epoch included
    final = runner.trainer.model.state_dict()
    assert all(torch.equal(v, final[k]) for k, v in stopped.model.state_dict().items())


def test_save_and_checkpoint_bytes_via_checkpoints(registry, mini_data, tmp_path):
    from gen_core.persistence.loading import load_checkpoint
    rid = registry.create(tiny_config("mlp-gan"), data=mini_data)
    _wait(registry, rid)
    path = registry.save(rid, tmp_path / "run.pt")
    ck = load_checkpoint(path)
    assert ck.config.model == "mlp-gan" and ck.epoch == 2
    view = view_from_checkpoint(ck, key="file:x")
    assert view.epoch == 2 and view.state == "checkpoint" and view.samples_per_sec > 0
    assert len(view.snapshots) == 2 and len(view.epoch_history) == 2
    data = registry.checkpoint_bytes(rid)
    assert load_checkpoint(data).step == ck.step


def test_save_refuses_active_or_unknown_runs(registry, mini_data, tmp_path):
    rid = registry.create(tiny_config("mlp-gan", epochs=500), data=mini_data)
    with pytest.raises(RunError, match="still training"):
        registry.save(rid, tmp_path / "x.pt")
    with pytest.raises(RunError, match="no run"):
        registry.save("nope", tmp_path / "x.pt")
    registry.get(rid).stop()
    _wait(registry, rid)


# ---------------------------------------------------------------------------- estimate

def test_estimate_epoch_times_a_few_steps(mini_data):
    cfg = tiny_config("mlp-gan", images_per_epoch=640, batch_size=64)
    est = estimate_epoch(cfg, mini_data)
    assert est.steps_per_epoch == 10 and 1 <= est.steps_timed <= 5
    assert est.seconds_per_step > 0
    # the steps, and the epoch's end once (validation and snapshots)
    assert est.seconds_per_epoch == pytest.approx(est.seconds_per_step * 10 + est.epoch_end_seconds)
    assert est.device.startswith(("CPU", "GPU"))
    assert estimate_epoch_seconds(cfg, mini_data) > 0


def test_estimate_stops_at_the_budget(mini_data):
    est = estimate_epoch(tiny_config("mlp-gan", images_per_epoch=640, batch_size=64), mini_data,
                         steps=50, budget_s=0.0)
    assert est.steps_timed == 0 and est.seconds_per_step > 0  # from the warm-up step alone


def test_speed_key_ignores_what_does_not_change_speed():
    base = tiny_config("mlp-gan")
    assert speed_key(base) == speed_key(base.replace(lr_g=0.1, seed=7, epochs=9, beta1=0.0))
    assert speed_key(base) != speed_key(base.replace(batch_size=64))
    assert speed_key(base) != speed_key(tiny_config("mlp-gan", model_overrides=dict(g_hidden=(8,))))


# ---------------------------------------------------------------------------- explore

@pytest.fixture(scope="module")
def vae_model():
    from gen_core.models.registry import build_model
    torch.manual_seed(0)
    return build_model("mlp-vae", tiny_config("mlp-vae", model_overrides=dict(latent_dim=3)).model_config).eval()


def test_decode_point_and_latent_map(vae_model):
    img = explore.decode_point(vae_model, (0, 2), (1.0, -1.0))
    assert img.shape == (28, 28) and img.dtype == np.uint8
    z = explore.latent_point(3, (0, 2), (1.0, -1.0))
    assert z.tolist() == [[1.0, 0.0, -1.0]]
    with pytest.raises(ValueError):
        explore.latent_point(3, (0, 3), (0.0, 0.0))
    grid = explore.latent_map_grid(vae_model, 4, (1, 2))
    assert grid.shape == (4 * 30 + 2, 4 * 30 + 2)


def test_interpolation_frames_and_strip(vae_model):
    frames = explore.interpolation_frames(vae_model, torch.zeros(3), torch.ones(3), 5)
    assert len(frames) == 5 and frames[0].shape == (28, 28)
    assert explore.strip(frames).shape == (32, 5 * 30 + 2)
    with pytest.raises(ValueError):
        explore.interpolation_frames(vae_model, torch.zeros(3), torch.ones(3), 1)


def test_encode_test_images(vae_model, mini_data):
    means = explore.encode_test_images(vae_model, mini_data, [0, 1, 2])
    assert means.shape == (3, 3)
    assert explore.test_images(mini_data, [0, 5]).shape == (2, 28, 28)


def test_sample_grid_same_seed_same_noise(vae_model):
    a = explore.sample_grid(vae_model, 9, seed=3)
    assert np.array_equal(a, explore.sample_grid(vae_model, 9, seed=3))
    assert a.shape == (3 * 30 + 2, 3 * 30 + 2)
