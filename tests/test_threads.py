"""Every torch op of a run happens on its own worker thread (gen_core.training.threads says why).

Behaviour, not speed: the speed itself is measured by bench/train_speed.py.
"""
import threading

import pytest
import torch

from conftest import tiny_config
from gen_core.cli import commands as cli
from gen_core.config.checks import ConfigError
from gen_core.training.runner import FAILED, FINISHED, TrainingRunner
from gen_core.training.trainer import Trainer


TINY_GAN = ["--model", "mlp-gan", "--dataset", "mnist-mini", "--images-per-epoch", "128", "--batch-size", "64",
            "--g-hidden", "32,64", "--d-hidden", "64,32", "--val-images", "64", "--n-fixed", "16",
            "--latent-map-size", "4", "--seed", "1", "--device", "cpu", "--quiet"]


@pytest.fixture
def threads_seen(monkeypatch):
    """Names of the threads that built a Trainer and that ran its steps."""
    seen = {"built": [], "stepped": set()}
    init, step = Trainer.__init__, Trainer.train_step

    def recording_init(self, *args, **kwargs):
        seen["built"].append(threading.current_thread().name)
        init(self, *args, **kwargs)

    def recording_step(self):
        seen["stepped"].add(threading.current_thread().name)
        return step(self)

    monkeypatch.setattr(Trainer, "__init__", recording_init)
    monkeypatch.setattr(Trainer, "train_step", recording_step)
    return seen


def test_runner_builds_the_trainer_on_the_thread_that_trains(mini_data, threads_seen):
    runner = TrainingRunner(tiny_config("mlp-gan"), mini_data).start()
    assert runner.join(60) and runner.state == FINISHED
    worker = f"train-{runner.run_id}"
    assert threads_seen["built"] == [worker]
    assert threads_seen["stepped"] == {worker}


def test_runner_build_function_runs_on_the_worker(mini_data, threads_seen):
    cfg = tiny_config("mlp-vae")
    runner = TrainingRunner(None, build=lambda: Trainer(cfg, mini_data)).start()
    assert runner.wait_built(60) is not None
    assert runner.join(60) and runner.state == FINISHED
    assert runner.config == cfg  # settled by the build
    assert threads_seen["built"] == [f"train-{runner.run_id}"]


def test_a_failing_build_fails_the_run_with_its_message():
    def build():
        raise ConfigError("no such thing")

    runner = TrainingRunner(None, build=build).start()
    assert runner.wait_built(60) is None
    assert runner.join(60) and runner.state == FAILED
    assert runner.snapshot().error == "no such thing"
    assert isinstance(runner.build_error, ConfigError)


def test_a_config_or_a_build_is_required():
    with pytest.raises(ValueError):
        TrainingRunner(None)


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("GEN_CORE_OFFLINE", "1")
    monkeypatch.delenv("GEN_CORE_DATA_ROOT", raising=False)


def test_cli_runs_no_training_op_on_the_main_thread(tmp_path, capsys, offline, threads_seen, monkeypatch):
    loaded_on = []
    load = cli.load_checkpoint
    monkeypatch.setattr(cli, "load_checkpoint", lambda *a, **k: loaded_on.append(
        threading.current_thread().name) or load(*a, **k))
    out = tmp_path / "run"
    assert cli.main(["train", *TINY_GAN, "--epochs", "1", "--out", str(out)]) == 0
    assert cli.main(["train", "--resume", str(out / "checkpoint.pt"), "--epochs", "2", "--quiet"]) == 0
    assert "Resuming mlp-gan" in capsys.readouterr().out
    main = threading.main_thread().name
    assert len(threads_seen["built"]) == 2 and main not in threads_seen["built"]
    assert loaded_on and main not in loaded_on
    assert main not in threads_seen["stepped"]


def test_cli_resume_refusals_are_usage_errors(tmp_path, capsys, offline):
    out = tmp_path / "run"
    assert cli.main(["train", *TINY_GAN, "--epochs", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    code = cli.main(["train", "--resume", str(out / "checkpoint.pt"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "already trained all 1 epochs" in err and "Traceback" not in err


def test_a_run_resumed_from_disk_is_built_on_the_thread_that_trains(tmp_path, mini_data, threads_seen):
    """The registry's resume path: re-opening the run (snapshot, resume point, views) builds no Trainer on
    the page's thread; the resumed run's worker builds it (data, weights) and trains it."""
    import json

    from conftest import me, wait_for
    from gen_core.classroom.runs import RunRegistry
    runs = tmp_path / "runs"
    old = RunRegistry(runs_dir=runs, reap_interval=60)
    rid = old.create(tiny_config("mlp-gan", epochs=3), data=mini_data, start=False, actor=me())
    runner = old.get(rid)
    runner.on_epoch_end.append(lambda trainer: runner.stop() if trainer.epoch == 1 else None)
    old.start(rid)
    assert wait_for(lambda: runner.state == "stopped" and runner.join(0), 60)
    assert json.loads((runs / rid / "run.json").read_text())["checkpoint_epoch"] == 1
    old.close()
    threads_seen["built"].clear(), threads_seen["stepped"].clear()

    reg = RunRegistry(runs_dir=runs, reap_interval=60)
    snap = reg.snapshot(rid)                                   # re-opened from its folder
    assert snap.state == "stopped" and snap.epoch == 1 and snap.step > 0 and snap.epoch_history
    assert reg.resumable(rid) and reg.resume_point(rid) == 1
    assert reg.view(rid) is not None and reg.view(rid).epoch == 1
    assert threads_seen["built"] == []                         # nothing built on this (the page's) thread

    reg.resume(rid, me())
    assert wait_for(lambda: reg.get(rid).state == "finished" and reg.get(rid).join(0), 120)
    worker = f"train-{rid}"
    assert worker != threading.current_thread().name
    assert threads_seen["built"] == [worker]
    assert threads_seen["stepped"] == {worker}
    assert reg.snapshot(rid).epoch == 3
    # Still exact: the same weights as the run trained without a break.
    whole = TrainingRunner(tiny_config("mlp-gan", epochs=3), mini_data).start()
    assert whole.join(60) and whole.state == FINISHED
    resumed = reg.get(rid).trainer.model.state_dict()
    for name, value in whole.trainer.model.state_dict().items():
        assert torch.equal(value, resumed[name]), name
    reg.close()
