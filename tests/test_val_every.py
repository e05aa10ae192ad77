"""Held-out validation every k epochs (TrainConfig.val_every; 0 = auto)."""
import pytest

from conftest import tiny_config
from gen_core.config.checks import ConfigError
from gen_core.config.train import TrainConfig
from gen_core.figures.curves import vae_metric_figure
from gen_core.training.trainer import Trainer


def test_auto_interval_keeps_short_runs_every_epoch_and_long_ones_near_50_points():
    assert TrainConfig(epochs=50).validation_interval == 1
    assert TrainConfig(epochs=200).validation_interval == 4
    assert TrainConfig(epochs=200, val_every=10).validation_interval == 10
    due = [e for e in range(1, 201) if TrainConfig(epochs=200).validation_due(e)]
    assert due[0] == 1 and due[-1] == 200 and 45 <= len(due) <= 55


@pytest.mark.parametrize("bad", [-1, 1.5, "2", 10_001])
def test_val_every_is_validated(bad):
    with pytest.raises(ConfigError, match="val_every"):
        TrainConfig(val_every=bad)


def test_trainer_scores_held_out_images_only_when_due(mini_data):
    cfg = tiny_config("mlp-vae", epochs=5, val_every=2, images_per_epoch=64)
    trainer = Trainer(cfg, mini_data)
    while not trainer.done:
        trainer.train_step()
    scored = [r["epoch"] for r in trainer.history.epochs if "val_elbo" in r]
    assert scored == [1, 2, 4, 5]
    fig = vae_metric_figure(trainer.history.steps, trainer.history.epochs, "elbo")
    val = next(t for t in fig.data if t.name == "validation")
    assert list(val.x) == [1, 2, 4, 5]  # one connected line through the scored epochs, no gaps
