"""Where a training runs: the seam between the run registry and the machines that train.

The registry (gen_core.classroom.runs) never builds a `TrainingRunner` itself: it asks its executor for
one. Every executor hands back an object with the runner's interface (start/launch, pause,
resume, step, stop, join, snapshot, state, trainer, on_epoch_end/on_end callbacks), so the
registry, the scheduler, the run folders and the pages work the same whatever trains:

    thread   a worker thread in this process (gen_core.training.runner.TrainingRunner). The default;
             it imports nothing new.
    ray      a Ray actor per run, on this machine or a Ray cluster (gen_core.classroom.executors.ray_executor);
             `pip install -r requirements-ray.txt`. The runner returned is a thin proxy whose
             thread polls the actor's snapshots and mirrors each epoch's state back here.

Chosen by GEN_CORE_EXECUTOR=thread|ray (default thread); for ray, GEN_CORE_RAY_ADDRESS is
`auto` (a cluster started with `ray start` on this machine), `ray://host:10001` (a remote
head), or unset (start a private local Ray). No streamlit import.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Protocol

from gen_core.training.runner import TrainingRunner


log = logging.getLogger("gen_core")

EXECUTORS = ("thread", "ray")


class Executor(Protocol):
    """Builds the runner of one training. `name` is shown in the server status."""
    name: str

    def runner(self, config, data=None, *, trainer=None, run_id: str | None = None) -> TrainingRunner:
        """A runner (not started) for a new run (`data` optional) or a resumed one (`trainer`)."""
        ...

    def describe(self) -> dict[str, Any]:
        """What the status panel shows about where runs train."""
        ...


class ThreadExecutor:
    """Today's behaviour: each run trains in a daemon thread of this process."""
    name = "thread"

    def runner(self, config, data=None, *, trainer=None, run_id: str | None = None, build=None) -> TrainingRunner:
        """build: makes the trainer on the worker thread (a run resumed from disk, see TrainingRunner)."""
        return TrainingRunner(config, data, trainer=trainer, run_id=run_id, build=build)

    def describe(self) -> dict[str, Any]:
        return {"executor": self.name}

    def shutdown(self) -> None:
        pass


class ExecutorError(ValueError):
    """An executor cannot be used (unknown name, Ray missing or unreachable). User-facing message."""


def executor_name_from_env() -> str:
    return os.environ.get("GEN_CORE_EXECUTOR", "").strip().lower() or "thread"


def make_executor(name: str | None = None, **options) -> Executor:
    """The executor called `name` (default: GEN_CORE_EXECUTOR, else thread). Raises ExecutorError."""
    name = (name or executor_name_from_env()).strip().lower()
    if name == "thread":
        return ThreadExecutor()
    if name == "ray":
        try:
            from gen_core.classroom.executors.ray_executor import (  # imports nothing from ray until used
                RayExecutor, ray_available)
        except ImportError:
            raise ExecutorError("the ray executor is not part of this version of gen_core.") from None
        why = ray_available()
        if why:
            raise ExecutorError(why)
        return RayExecutor(**options)
    raise ExecutorError(f"unknown executor {name!r} (GEN_CORE_EXECUTOR is one of {', '.join(EXECUTORS)}).")


def resolve_executor(executor: "Executor | str | None") -> tuple[Executor, str | None]:
    """The registry's executor and, when the one asked for cannot be used, why (it then trains in threads:
    a typo in the environment must not keep the class's dashboard from starting)."""
    if executor is not None and not isinstance(executor, str):
        return executor, None
    try:
        return make_executor(executor), None
    except ExecutorError as e:
        problem = f"{e} Runs train in threads of this server instead."
        log.warning(problem)
        return ThreadExecutor(), problem


__all__ = ["Executor", "ThreadExecutor", "ExecutorError", "make_executor", "resolve_executor", "EXECUTORS",
           "executor_name_from_env"]
