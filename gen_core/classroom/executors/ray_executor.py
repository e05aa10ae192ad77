"""The `ray` executor: every training is a Ray actor, on this machine or anywhere in a Ray cluster.

Why: with threads, every run shares the Streamlit server's process, so one run's crash
(a segfault, an abort() in native code) or memory blow-up takes the whole class's server
with it, and a class can never use more than the server's own cores. With this executor
each run trains in a Ray worker process with declared resources (`num_cpus`, and a fraction
of a GPU where the cluster has GPUs, so many small classroom runs share one card), placed by
Ray's scheduler, while the server only drives and mirrors it:

    server process                                   Ray worker (one per run)
    RunRegistry ─ Scheduler ─ RayRunner (thread) ──► TrainingActor ─ TrainingRunner ─ Trainer
         ▲  snapshot(), pages          poll() every 0.2 s: snapshot + deltas of the histories
         └─ run folder, model views ◄─ each epoch's full state (checkpoint format) ─┘

* Controls (pause, resume, single step, stop) are forwarded as actor calls; the actor's own
  `TrainingRunner` obeys them exactly as a thread-executor run would.
* Each epoch's slim state (weights, optimiser moments, RNG, counters: its size does not grow
  with the run; the histories and images come with the polls, as deltas) comes back to the
  server (streamed, not a shared disk), where a local copy of the Trainer is rebuilt from it; the registry's epoch callbacks then write the run
  folder and take the model copy for views there, as with threads. So a multi-machine
  cluster needs no shared file system: workers need the same Python packages (torch, numpy;
  gen_core itself is shipped with the job as a `py_modules` runtime env), and the dataset is
  sent from the server once through Ray's object store.
* A worker that dies (os.abort(), a segfault, Ray's memory monitor) ends that run alone as
  "failed", with the reason; an actor that is lost otherwise (ray.kill, its node gone) ends it
  as "interrupted", resumable from its last epoch.

Configuration (environment): GEN_CORE_RAY_ADDRESS (`auto`, `ray://host:10001`, unset: a
private local Ray started on first use), GEN_CORE_RAY_CPUS_PER_RUN (default 1),
GEN_CORE_RAY_GPUS_PER_RUN (default 0.25 when the cluster has GPUs and the run's device is
not cpu, else 0), GEN_CORE_RAY_MEMORY_MB_PER_RUN (Ray's `memory` resource, for placement),
GEN_CORE_RAY_NUM_CPUS and GEN_CORE_RAY_OBJECT_STORE_MB (local Ray only; default the core
count and 256 MB). No streamlit import, and `import ray` happens on first use only.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import logging
import os
import threading
import time
from collections import OrderedDict, deque
from pathlib import Path
from typing import Any, Callable

from gen_core.classroom.envvars import env_number
from gen_core.classroom.executors.ray_actor import apply_delta, trainer_bytes
from gen_core.classroom.executors.ray_failures import classify_loss
from gen_core.training.runner import (FAILED, FINAL_STATES, INTERRUPTED, PAUSED, RUNNING, STARTING, STOPPED,
                                      TrainingRunner)


log = logging.getLogger("gen_core")

POLL_INTERVAL = 0.2          # seconds between snapshot polls (the thread runner publishes as often)
WAIT_WARN_S = 15.0           # a run not placed after this long says why it waits
DEFAULT_GPUS_PER_RUN = 0.25
DEFAULT_OBJECT_STORE_MB = 256
DATA_CACHE = 8               # datasets kept in the object store at once


def ray_available() -> str | None:
    """None when Ray can be imported, else why not (for users)."""
    if importlib.util.find_spec("ray") is None:
        return ("GEN_CORE_EXECUTOR=ray, but Ray is not installed here "
                "(pip install -r requirements-ray.txt).")
    return None


def _env_number(name: str, default: float | None, *, minimum: float = 0.0) -> float | None:
    return env_number(name, default, minimum=minimum)


class RayExecutor:
    """Runs trainings as Ray actors. Connects (or starts a local Ray) on first use, thread-safely."""
    name = "ray"

    def __init__(self, address: str | None = None, *, cpus_per_run: float | None = None,
                 gpus_per_run: float | None = None, memory_mb_per_run: float | None = None,
                 init_options: dict | None = None):
        env_address = os.environ.get("GEN_CORE_RAY_ADDRESS", "").strip() or None
        self.address = address if address is not None else env_address
        self.cpus_per_run = cpus_per_run or _env_number("GEN_CORE_RAY_CPUS_PER_RUN", 1.0, minimum=0.01)
        self.gpus_per_run = gpus_per_run if gpus_per_run is not None else _env_number("GEN_CORE_RAY_GPUS_PER_RUN", None)
        self.memory_mb_per_run = (memory_mb_per_run if memory_mb_per_run is not None
                                  else _env_number("GEN_CORE_RAY_MEMORY_MB_PER_RUN", None, minimum=1))
        self.init_options = dict(init_options or {})
        self.on_connect: list[Callable[[int], None]] = []   # called with the cluster's run capacity
        self.startup_seconds: float | None = None
        self.problem: str | None = None
        self._lock = threading.Lock()
        self._actor_cls = None
        self._owns_ray = False
        self._owner_release = threading.Event()   # set: the thread that ran ray.init may end
        self._resources: dict = {}
        self._data: OrderedDict[int, tuple[Any, Any]] = OrderedDict()   # id(data) → (data, ObjectRef)

    # ------------------------------------------------------------------ connection
    @property
    def connected(self) -> bool:
        return self._actor_cls is not None

    def connect(self) -> None:
        """Attach to the cluster (GEN_CORE_RAY_ADDRESS) or start a local Ray. Raises when it cannot."""
        with self._lock:
            if self._actor_cls is not None:
                return
            import ray

            import gen_core
            from gen_core.classroom.executors.ray_actor import TrainingActor
            t0 = time.perf_counter()
            if not ray.is_initialized():
                env = {k: v for k, v in os.environ.items()
                       if k.startswith("GEN_CORE_") and not k.startswith(("GEN_CORE_RAY", "GEN_CORE_EXECUTOR"))}
                options: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False, namespace="gen_core")
                if self.address:
                    # Workers elsewhere get this very gen_core with the job (Ray uploads it once per node).
                    options["address"] = self.address
                    runtime_env = {"py_modules": [str(Path(gen_core.__file__).parent)], "env_vars": env}
                else:
                    root = str(Path(gen_core.__file__).resolve().parent.parent)
                    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
                    runtime_env = {"env_vars": env}
                    cpus = _env_number("GEN_CORE_RAY_NUM_CPUS", None, minimum=1)
                    if cpus:
                        options["num_cpus"] = int(cpus)
                    store_mb = _env_number("GEN_CORE_RAY_OBJECT_STORE_MB", DEFAULT_OBJECT_STORE_MB, minimum=80)
                    options["object_store_memory"] = int(store_mb * 1024 * 1024)
                options.update(self.init_options)
                options.setdefault("runtime_env", runtime_env)
                self._init_in_owner_thread(ray, options)
                self._owns_ray = True
            self._resources = dict(ray.cluster_resources())
            self.startup_seconds = time.perf_counter() - t0
            self._actor_cls = ray.remote(TrainingActor)
            self.problem = None
            log.info("ray executor: connected in %.1f s to %s (%s)", self.startup_seconds,
                     self.address or "a local Ray", self._resources)
        capacity = self.capacity()
        for callback in list(self.on_connect):
            try:
                callback(capacity)
            except Exception:  # noqa: BLE001 — a listener must not break the connection
                log.exception("ray executor: on_connect callback failed")

    def _init_in_owner_thread(self, ray, options: dict) -> None:
        """`ray.init` in a thread that lives as long as this executor's Ray. A local ray.init forks Ray's
        processes (GCS, raylet) with PR_SET_PDEATHSIG, which Linux fires when the *thread* that forked
        them ends: started from the background connect or a run's worker, Ray was SIGKILLed a second
        later and the server with it ("connection to the plasma store is failed. Terminate the process")."""
        started, failure = threading.Event(), []

        def own():
            try:
                ray.init(**options)
            except BaseException as e:  # noqa: BLE001 — handed to the caller below
                failure.append(e)
                return
            finally:
                started.set()
            self._owner_release.wait()

        self._owner_release = threading.Event()
        threading.Thread(target=own, name="gen_core-ray-owner", daemon=True).start()
        started.wait()
        if failure:
            raise failure[0]

    def connect_in_background(self) -> threading.Thread:
        """Start connecting now (a local Ray takes seconds to start), so the first run need not wait."""
        def work():
            try:
                self.connect()
            except Exception as e:  # noqa: BLE001 — each run reports it again when it starts
                self.problem = f"cannot reach Ray ({self.address or 'local'}): {e}"
                log.warning("ray executor: %s", self.problem)
        thread = threading.Thread(target=work, name="gen_core-ray-connect", daemon=True)
        thread.start()
        return thread

    def capacity(self) -> int:
        """Runs the cluster can train at once with `cpus_per_run` each (at least 1)."""
        return max(1, int(self._resources.get("CPU", 1) // self.cpus_per_run))

    def describe(self) -> dict[str, Any]:
        return {"executor": self.name, "ray_address": self.address or "local", "ray_connected": self.connected,
                "ray_cpus": self._resources.get("CPU"), "ray_gpus": self._resources.get("GPU"),
                "ray_startup_s": self.startup_seconds, "ray_problem": self.problem}

    def shutdown(self) -> None:
        """Forget the cluster; stop the local Ray if this executor started it."""
        with self._lock:
            self._data.clear()
            self._actor_cls = None
            if self._owns_ray:
                import ray
                ray.shutdown()
                self._owns_ray = False
                self._owner_release.set()   # the thread that started Ray may end now

    # ------------------------------------------------------------------ runs
    def runner(self, config, data=None, *, trainer=None, run_id: str | None = None) -> "RayRunner":
        return RayRunner(self, config, data, trainer=trainer, run_id=run_id)

    def gpus_for(self, config) -> float:
        if config.device == "cpu" or not self._resources.get("GPU"):
            return 0.0
        return float(self.gpus_per_run if self.gpus_per_run is not None else DEFAULT_GPUS_PER_RUN)

    def data_ref(self, data):
        """The dataset in Ray's object store, put there once (runs on the same data share it)."""
        import ray
        with self._lock:
            held = self._data.get(id(data))
            if held is not None and held[0] is data:
                self._data.move_to_end(id(data))
                return held[1]
        ref = ray.put(data)
        with self._lock:
            self._data[id(data)] = (data, ref)
            while len(self._data) > DATA_CACHE:
                self._data.popitem(last=False)
        return ref

    def spawn(self, runner: "RayRunner", data_ref, state: bytes | None, paused: bool):
        cap = self.memory_cap_mb(runner.config)
        if cap:
            # A run whose estimate is already over its worker's cap fails here, with its numbers, instead of
            # allocating up to the cap: there, whichever allocation fails first loses, and when that was Ray's
            # own (serialising a poll reply) the worker died as a "crash" rather than a MemoryError.
            from gen_core.classroom.budget import estimate_memory
            need = estimate_memory(runner.config)
            if need.total_mb > cap:
                raise MemoryError(f"it needs {need.describe()}, more than the {cap:,.0f} MB its Ray worker may use "
                                  "(GEN_CORE_RAY_MEMORY_MB_PER_RUN)")
        options: dict[str, Any] = dict(num_cpus=self.cpus_per_run, num_gpus=self.gpus_for(runner.config),
                                       max_restarts=0, max_task_retries=0)
        if self.memory_mb_per_run:
            options["memory"] = int(self.memory_mb_per_run * 1024 * 1024)
        threads = max(1, int(self.cpus_per_run))
        return self._actor_cls.options(**options).remote(runner.config.to_dict(), runner.run_id, data_ref, state,
                                                         threads, paused, cap)

    def memory_cap_mb(self, config) -> float | None:
        """The private memory a CPU run's worker may add once started (enforced there, see
        ray_actor.cap_memory): GEN_CORE_RAY_MEMORY_MB_PER_RUN, else 1.5 × the server's per-run budget
        (the budget bounds the estimate, the cap the real thing); none for GPU runs."""
        if self.gpus_for(config):
            return None
        if self.memory_mb_per_run:
            return float(self.memory_mb_per_run)
        from gen_core.classroom.budget import run_budget_mb
        return 1.5 * run_budget_mb(self.capacity() if self._resources else None)


class RayRunner(TrainingRunner):
    """A TrainingRunner whose training happens in a Ray actor. Same interface, same states.

    Its thread (the base class's worker thread) drives the actor: it forwards nothing itself
    (controls go straight to the actor, in order, under the runner's lock), polls the actor's
    snapshot, rebuilds the Trainer of each finished epoch here, and fires `on_epoch_end` with
    it, so the registry and the run folder see what they see with threads.
    """

    def __init__(self, executor: RayExecutor, config, data=None, *, trainer=None, run_id: str | None = None):
        super().__init__(config, data, trainer=trainer, run_id=run_id)
        self._executor = executor
        self._actor = None
        self._wake = threading.Event()
        self._held: dict[str, tuple] = {"steps": (), "epochs": (), "grids": ()}
        self._unmirrored: list[tuple[int, int, bytes]] = []   # epoch states waiting for their history
        self.worker_pid: int | None = None
        self.poll_seconds: deque[float] = deque(maxlen=500)   # round trip of each poll (bench, status)
        self.start_seconds: float | None = None   # from spawning the actor to its first reply (worker start-up)

    # ---------------------------------------------------------------- controls (forwarded)
    def pause(self) -> None:
        with self._lock:
            if self._state in (RUNNING, STARTING):
                self._resume.clear()
                self._state = PAUSED if self._state == RUNNING else self._state
                if self._actor is not None:
                    self._actor.pause.remote()
        self._wake.set()

    def resume(self) -> None:
        with self._lock:
            if self._state == PAUSED:
                self._state = RUNNING
            self._resume.set()
            if self._actor is not None and self._state not in FINAL_STATES:
                self._actor.resume.remote()
        self._wake.set()

    def step(self, n: int = 1) -> None:
        with self._lock:
            if self._state == PAUSED and self._actor is not None:
                self._actor.step.remote(int(n))
        self._wake.set()

    def stop(self, reason: str | None = None) -> None:
        super().stop(reason)
        with self._lock:
            if self._actor is not None and not self._ended:
                self._actor.stop.remote()
        self._wake.set()

    def set_threads(self, n: int | None) -> None:
        """The actor uses the CPUs Ray reserved for it; the server's thread shares do not apply."""

    def _test_abort_worker(self) -> None:
        """Test-only: crash this run's worker process (os.abort() in the actor)."""
        with self._lock:
            actor = self._actor
        if actor is not None:
            actor.abort.remote()

    # ---------------------------------------------------------------- the driving thread
    def _work(self) -> None:
        actor = None
        try:
            from gen_core.training.threads import set_worker_threads
            set_worker_threads(1)   # this thread only rebuilds epoch states: one OpenMP thread is plenty
            self._executor.connect()
            state = trainer_bytes(self.trainer) if self.trainer is not None else None
            data = self._data
            if data is None:
                from gen_core.data.datasets import load_dataset
                data = load_dataset(self.config.dataset, self.config.data_root)  # cached; sent once
            data_ref = self._executor.data_ref(data)
            with self._lock:
                if not self._stop.is_set():
                    actor = self._executor.spawn(self, data_ref, state, paused=not self._resume.is_set())
                    self._actor = actor
                else:
                    self._state = STOPPED
            if actor is not None:
                self._drive(actor)
        except Exception as exc:  # noqa: BLE001 — whatever happens to the worker ends this run only
            self._lost(exc)
        finally:
            with self._lock:
                self._actor = None
            if actor is not None:
                try:
                    import ray
                    ray.kill(actor, no_restart=True)
                except Exception:  # noqa: BLE001 — already gone
                    pass
            self._run_end_callbacks()

    def _drive(self, actor) -> None:
        import ray
        waiting_since = time.monotonic()
        sent_stop = False
        warned = False
        ref, t0 = None, 0.0
        while True:
            if self._stop.is_set() and not sent_stop:
                sent_stop = True    # (stop() forwarded it too; this covers a stop during spawn)
                actor.stop.remote()
            if ref is None:
                t0, ref = time.perf_counter(), actor.poll.remote()
            ready, _ = ray.wait([ref], timeout=1.0)
            if not ready:
                if self._state == STARTING:
                    if sent_stop:   # never placed: nothing to wait for
                        with self._lock:
                            self._state = STOPPED
                        return
                    if not warned and time.monotonic() - waiting_since > WAIT_WARN_S:
                        warned = True
                        self.add_warning(f"Waiting for a Ray worker with {self._executor.cpus_per_run:g} CPU(s) "
                                         "free: every worker of the cluster is busy.")
                continue
            reply = ray.get(ref)
            ref = None
            if self.start_seconds is None:
                self.start_seconds = time.perf_counter() - t0
            else:
                self.poll_seconds.append(time.perf_counter() - t0)
            if self._apply(reply):
                return
            self._wake.wait(POLL_INTERVAL)
            self._wake.clear()

    def _apply(self, reply: dict) -> bool:
        """Mirror one poll. True when the run is over."""
        self.worker_pid = reply.get("pid")
        snap = reply["snapshot"]
        self._held = {k: apply_delta(self._held[k], reply["changes"][k]) for k in self._held}
        # An epoch's state can arrive one poll before the snapshot that holds its last records (the
        # actor takes it in the epoch callback, the runner publishes just after): mirror each state
        # once the history has caught up with it (the final snapshot holds everything).
        self._unmirrored += reply["states"]
        done_epochs = max((int(r["epoch"]) for r in self._held["epochs"]), default=0)
        while self._unmirrored and (reply["ended"] or self._unmirrored[0][0] <= done_epochs):
            epoch, step, state = self._unmirrored.pop(0)
            trainer = self._mirror(state, epoch, step)
            self.trainer = trainer
            for callback in self.on_epoch_end:
                callback(trainer)
        if reply["final"] is not None:
            self.trainer = self._mirror(reply["final"][2], reply["final"][0], reply["final"][1])
        for w in snap.warnings:
            self.add_warning(w)
        with self._lock:
            self._threads_used = snap.threads
            self._num_parameters = snap.num_parameters
            if reply["ended"]:
                self._state, self._error = snap.state, snap.error
            elif self._state == STARTING and snap.state in (RUNNING, PAUSED):
                self._state = RUNNING if self._resume.is_set() else PAUSED
            self._snapshot = dataclasses.replace(
                snap, step_history=self._held["steps"], epoch_history=self._held["epochs"],
                epoch_snapshots=self._held["grids"])
        return bool(reply["ended"])

    def _mirror(self, state: bytes, epoch: int, step: int):
        """A Trainer here, rebuilt from the actor's slim state (on CPU; the global RNG left as it was),
        with the history and epoch images as of that state from the polled ones."""
        import torch

        from gen_core.persistence.loading import load_checkpoint_bytes
        from gen_core.persistence.resume import resume_trainer
        from gen_core.training.history import History
        checkpoint = load_checkpoint_bytes(state)
        with torch.random.fork_rng(devices=[]):
            trainer = resume_trainer(checkpoint, data=self._data, device="cpu")
        trainer.history = History(steps=[r for r in self._held["steps"] if r["step"] <= step],
                                  epochs=[r for r in self._held["epochs"] if r["epoch"] <= epoch])
        trainer.snapshots = [s for s in self._held["grids"] if s.epoch <= epoch]
        return trainer

    def _lost(self, exc: BaseException) -> None:
        """The actor (or the cluster) is gone, or the driving failed: say why, in the run's terms."""
        state, reason = classify_loss(exc, self._executor.address)
        if state == FAILED:
            log.error("run %s failed on Ray: %s", self.run_id, reason)
        else:
            log.warning("run %s interrupted on Ray: %s", self.run_id, reason)
        with self._lock:
            if self._stop.is_set() and state == INTERRUPTED:
                state = STOPPED     # we asked it to end
            self._state, self._error = state, reason
            if self._snapshot is not None:
                self._snapshot = dataclasses.replace(self._snapshot, state=state, error=reason)


__all__ = ["RayExecutor", "RayRunner", "ray_available", "classify_loss", "POLL_INTERVAL"]
