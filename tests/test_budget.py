"""Budgets no input can break (issue 9 item 3): every config is sized before anything is built,
refused above the per-run budget with both figures, and timed by a FLOP model, never by training."""
from __future__ import annotations

import pytest

from conftest import tiny_config
from gen_core.classroom.budget import OverBudget, check_budget, estimate_memory, estimate_time, run_budget_mb
from gen_core.classroom.runs import RunRegistry
from gen_core.config.checks import ConfigError
from gen_core.training.runner import failure_reason


def test_the_estimate_counts_parameters_adam_and_activations():
    small = estimate_memory(tiny_config("mlp-gan"))
    wide = estimate_memory(tiny_config("mlp-gan", model_overrides=dict(g_hidden=(512, 512), d_hidden=(512, 512))))
    assert wide.parameters > 10 * small.parameters
    assert wide.parameter_bytes >= wide.parameters * 16            # weights + grads + 2 Adam moments at least
    big_batch = estimate_memory(tiny_config("mlp-gan", batch_size=512, images_per_epoch=1024))
    assert big_batch.activation_bytes > 8 * small.activation_bytes and big_batch.parameters == small.parameters
    for model in ("dcgan", "mlp-vae", "conv-vae"):
        est = estimate_memory(tiny_config(model))
        assert est.total_bytes > 0 and est.flops_per_step > 0


def test_a_giant_config_is_sized_in_a_blink_and_refused_before_allocation(mini_data, monkeypatch):
    import torch
    giant = tiny_config("mlp-gan", model_overrides=dict(g_hidden=(8192,) * 8, d_hidden=(8192,) * 8))
    est = estimate_memory(giant)
    assert est.total_bytes > 14 * 2**30   # ~28 GB: sized on meta, not built (no timing here: see bench/)
    with pytest.raises(OverBudget) as e:
        check_budget(giant, 4096)
    assert "4.0 GB" in str(e.value) and "GB" in str(e.value).split("needs")[1]
    reg = RunRegistry(max_run_mb=4096, reap_interval=60)
    built = []
    monkeypatch.setattr(torch.nn.Linear, "reset_parameters", lambda self: built.append(self))
    with pytest.raises(ConfigError, match="GEN_CORE_MAX_RUN_MB"):
        reg.create(giant, data=mini_data)
    assert len(reg) == 0 and not reg.scheduler.running_ids
    assert not any(p.device.type != "meta" for m in built for p in m.parameters())   # nothing real was allocated
    reg.clear()


def test_the_budget_comes_from_the_environment_or_the_machine(monkeypatch):
    monkeypatch.setenv("GEN_CORE_MAX_RUN_MB", "123")
    assert run_budget_mb() == 123
    monkeypatch.delenv("GEN_CORE_MAX_RUN_MB")
    assert run_budget_mb(slots=1) > run_budget_mb(slots=4) > 0


def test_time_comes_from_the_flop_model_not_from_training(monkeypatch):
    from gen_core import training
    monkeypatch.setattr(training.Trainer, "train_step", lambda self: pytest.fail("the estimate trained a step"))
    slow = estimate_time(tiny_config("mlp-gan", model_overrides=dict(g_hidden=(1024, 1024), d_hidden=(1024, 1024)),
                                     images_per_epoch=6400, batch_size=64))
    fast = estimate_time(tiny_config("mlp-gan", images_per_epoch=6400, batch_size=64))
    assert slow.seconds_per_epoch > fast.seconds_per_epoch > 0 and fast.steps_per_epoch == 100


def test_allocation_failures_read_as_running_out_of_memory():
    cpu = RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: "
                       "you tried to allocate 1099511627776 bytes.")
    assert failure_reason(cpu).startswith("ran out of memory")
    assert failure_reason(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")).startswith("ran out of memory")
    assert failure_reason(ValueError("bad")).startswith("ValueError")
