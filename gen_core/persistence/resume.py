"""Continue training from a checkpoint exactly where it stopped (weights, optimiser moments, RNG
streams, step and epoch).
"""
from __future__ import annotations

import logging

import torch

from gen_core.config.checks import ConfigError
from gen_core.data.images import ImageData
from gen_core.persistence.checkpoints import Checkpoint, match_param_layouts
from gen_core.persistence.loading import _fail
from gen_core.training.history import History
from gen_core.training.trainer import Trainer


log = logging.getLogger("gen_core")



def resume_problem(checkpoint: Checkpoint) -> str | None:
    """Why `resume_trainer` would refuse this checkpoint, as far as can be told without building a
    Trainer (no model, data or optimiser: a page thread may ask, gen_core.training.threads says why it must not
    build them); None when nothing is seen wrong. Deeper damage (optimiser state that does not fit
    the model, a batch order of the wrong size) still only shows when the run's worker resumes it."""
    if checkpoint.optimizer_states is None:
        return ("this checkpoint was saved without optimizer state (weights only): "
                "it can be sampled from but not resumed.")
    states = [checkpoint.torch_rng_state] + ([checkpoint.rng_state] if checkpoint.rng_device == "cpu" else [])
    try:
        for state in states:
            if state is not None:
                torch.Generator().set_state(state)   # a throwaway generator: nothing global changes
    except (RuntimeError, ValueError, TypeError) as e:
        return (f"its saved batch order or random state is damaged ({' '.join(str(e).split())[:120]}), "
                "so the run cannot continue exactly")
    return None


def resume_trainer(checkpoint: Checkpoint, epochs: int | None = None, data: ImageData | None = None,
                   device: str | torch.device | None = None) -> Trainer:
    """A `Trainer` that continues `checkpoint`'s run exactly (same batches, noise and dropout).

    epochs: the new total (>= the epochs already done); None keeps the saved config's.
    The trainer is rebuilt from the saved config, then weights, optimizer moments, counters,
    history, snapshots, batch order and random states are restored. Note that this sets
    torch's global RNG state, as training it uninterrupted would have left it.
    """
    if checkpoint.optimizer_states is None:
        raise _fail("this checkpoint was saved without optimizer state (weights only): "
                    "it can be sampled from but not resumed.")
    config = checkpoint.config
    if epochs is not None:
        if not (isinstance(epochs, int) and epochs >= checkpoint.epoch):
            raise ConfigError(f"epochs must be at least the {checkpoint.epoch} already trained, got {epochs!r}.")
        config = config.replace(epochs=epochs)
    trainer = Trainer(config, data, device=device)
    if checkpoint.steps_per_epoch is not None and trainer.steps_per_epoch != checkpoint.steps_per_epoch:
        log.warning("the training data differs from the saved run's (%d steps per epoch, saved with %d): "
                    "batches will differ", trainer.steps_per_epoch, checkpoint.steps_per_epoch)
    trainer.model.load_state_dict(checkpoint.model.state_dict())
    try:
        for name, opt in trainer.objective.optimizers.items():
            state = checkpoint.optimizer_states.get(name)
            if state is None:
                raise KeyError(f"no state for the {name} optimizer")
            _check_optimizer_state(name, opt, state)
            opt.load_state_dict(state)
            match_param_layouts(opt)
    except (KeyError, ValueError, RuntimeError, TypeError, AttributeError) as e:
        raise _fail(f"optimizer state does not fit {checkpoint.config.model}: {e}") from None

    trainer.step, trainer.epoch, trainer.elapsed = checkpoint.step, checkpoint.epoch, checkpoint.elapsed
    trainer.history = History(steps=[dict(r) for r in checkpoint.history.steps],
                              epochs=[dict(r) for r in checkpoint.history.epochs])
    trainer.snapshots = list(checkpoint.snapshots)
    # A damaged file (e.g. a 3-byte RNG state, a batch order of the wrong size) makes torch raise
    # RuntimeError/ValueError here: one clear CheckpointError instead, never a traceback on a page.
    # The global RNG is set last and only once the rest fit, so a refusal leaves it untouched.
    try:
        if checkpoint.batcher_state is not None:
            trainer.batcher.load_state_dict(checkpoint.batcher_state)
        if checkpoint.rng_state is not None:
            if checkpoint.rng_device == trainer.rng.device.type:
                trainer.rng.set_state(checkpoint.rng_state)
            else:
                log.warning("checkpoint was trained on %s, resuming on %s: noise will differ from an "
                            "uninterrupted run", checkpoint.rng_device, trainer.rng.device.type)
        if checkpoint.torch_rng_state is not None:
            torch.Generator().set_state(checkpoint.torch_rng_state)   # (checked on a throwaway first)
    except (RuntimeError, ValueError, TypeError, KeyError, IndexError) as e:
        raise _fail(f"its saved batch order or random state is damaged ({' '.join(str(e).split())[:120]}), "
                    "so the run cannot continue exactly") from None
    # After Trainer() (which seeds the global RNG to build the model): dropout continues as it would have.
    if checkpoint.torch_rng_state is not None:
        torch.set_rng_state(checkpoint.torch_rng_state)
    if checkpoint.cuda_rng_state is not None and trainer.device.type == "cuda":
        try:
            torch.cuda.set_rng_state(checkpoint.cuda_rng_state, trainer.device)
        except RuntimeError:
            log.warning("could not restore the CUDA RNG state: dropout noise will differ")

    if checkpoint.epoch_step and not trainer.done:
        try:
            _continue_epoch(trainer, checkpoint)
        except (RuntimeError, ValueError, TypeError, KeyError, IndexError) as e:
            raise _fail(f"its place inside the interrupted epoch is damaged ({' '.join(str(e).split())[:120]})"
                        ) from None
    return trainer


def _check_optimizer_state(name: str, opt: torch.optim.Optimizer, state: dict) -> None:
    """torch only checks parameter counts; a swapped or edited state would fail later, mid-training."""
    params = [p for group in opt.param_groups for p in group["params"]]
    ids = [i for group in state["param_groups"] for i in group["params"]]
    if len(ids) != len(params):
        raise ValueError(f"the {name} optimizer has {len(params)} parameters, the file {len(ids)}")
    for p, i in zip(params, ids):
        for key, value in state["state"].get(i, {}).items():
            if isinstance(value, torch.Tensor) and value.dim() > 0 and tuple(value.shape) != tuple(p.shape):
                raise ValueError(f"{name} {key} #{i} has shape {tuple(value.shape)}, the parameter "
                                 f"{tuple(p.shape)}")


def _continue_epoch(trainer: Trainer, checkpoint: Checkpoint) -> None:
    """Re-enter an epoch that was stopped after `epoch_step` steps, at the batch it stopped before."""
    batcher = trainer.batcher
    # The batcher's counter was advanced when that epoch began: its order is epoch - 1's.
    order = batcher.permutation(batcher.epoch - 1).to(batcher.device)
    batches = batcher._batches(order)
    for _ in range(checkpoint.epoch_step * trainer.objective.batches_per_step):
        next(batches, None)
    trainer._epoch_iter = batches
    trainer._epoch_step = checkpoint.epoch_step
    trainer._epoch_sums = dict(checkpoint.epoch_sums)
