"""What ended a Ray-driven run, in the run's terms: failed (with why) or interrupted (resumable)."""
from __future__ import annotations

from gen_core.training.runner import FAILED, INTERRUPTED, failure_reason


def classify_loss(exc: BaseException, address: str | None = None) -> tuple[str, str]:
    """(state, reason) for an exception that ended a Ray-driven run."""
    try:
        import ray.exceptions as rex
    except ImportError:  # pragma: no cover — we only get here with Ray
        return FAILED, failure_reason(exc)
    text = " ".join(str(exc).split())
    low = text.lower()
    if isinstance(exc, rex.ActorUnschedulableError):
        return FAILED, f"no Ray worker can take this run ({text[:300]})"
    # Ray's memory monitor (not the generic "maybe the OOM killer" advice every crash message carries).
    if isinstance(exc, rex.OutOfMemoryError) or "low on memory" in low or "memory monitor" in low:
        return FAILED, ("ran out of memory: Ray's memory monitor ended its worker. Try a smaller model, a smaller "
                        "batch size or fewer runs at once.")
    if isinstance(exc, rex.NodeDiedError) or isinstance(exc, rex.RayActorError) and (
            "ray.kill" in low or "node has died" in low or "its node" in low or getattr(exc, "preempted", False)):
        return INTERRUPTED, ("its Ray worker was lost (" + text[:300] + "); resume it to continue from its "
                             "last saved epoch.")
    if isinstance(exc, rex.RayActorError) and getattr(exc, "actor_init_failed", False):
        return FAILED, f"its Ray worker could not start the run ({text[:400]})"
    if isinstance(exc, rex.RayActorError):
        return FAILED, ("its training process crashed (the Ray worker died unexpectedly, e.g. a segfault or an "
                        "abort in native code); the server and the other runs are unaffected.")
    if isinstance(exc, (ConnectionError, TimeoutError)) or type(exc).__module__.startswith("ray") and "connect" in low:
        return INTERRUPTED, f"the Ray cluster at {address or 'this machine'} cannot be reached ({text[:200]})."
    return FAILED, failure_reason(exc)


__all__ = ["classify_loss"]
