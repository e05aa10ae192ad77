"""CPU thread settings for a training worker thread.

Why this exists: torch's CPU kernels run on GNU OpenMP (libgomp), and libgomp keeps one
thread pool *per OS thread that starts a parallel region*. Once a second pool exists (e.g. the
main thread built the model, then a worker trains it), libgomp counts more managed threads
than cores and switches every barrier from spinning to sleeping on a futex ("throttled" spin,
see libgomp's GOMP_SPINCOUNT docs). Each of the thousands of small parallel regions of a
training step then pays a sleep/wake: whole steps ran 1.5-2.6x slower, element-wise ops ~5x.

So the rule of the engine is: every torch op of a run (model build, optimiser, data on the
device, fixed noise, training, snapshots, saving) happens on the run's own worker thread
(`TrainingRunner` builds the trainer there), and that thread sets its own thread count, since
`torch.set_num_threads` under OpenMP acts on the calling thread only.

No streamlit import.
"""
from __future__ import annotations

import threading

import torch


_local = threading.local()


def prepare_worker_thread(num_threads: int | None = None) -> None:
    """Call first thing on a training thread, before any other torch op.

    num_threads: this thread's CPU thread count (None: torch's default, one per core).
    """
    if num_threads is not None:
        set_worker_threads(num_threads)
    # Denormal floats (tiny GAN gradients, Adam moments) take a slow micro-code path on x86;
    # flushing them to zero costs nothing in accuracy at fp32 training scales. The flag lives in
    # this thread's FPU control register, hence here and not once per process.
    torch.set_flush_denormal(True)
    _warm_pool()


def set_worker_threads(num_threads: int) -> None:
    """Set this thread's CPU thread count (skips the call when it is already that)."""
    n = max(1, int(num_threads))
    if getattr(_local, "threads", None) != n:
        torch.set_num_threads(n)
        _local.threads = n


def _warm_pool() -> None:
    # torch creates this thread's OpenMP team lazily, at its first parallel kernel; doing it now,
    # with the thread count just set, keeps that one-off cost (and its allocation) out of step 1.
    with torch.no_grad():
        x = torch.empty(1 << 17)
        x.fill_(1.0).mul_(2.0)


__all__ = ["prepare_worker_thread", "set_worker_threads"]
