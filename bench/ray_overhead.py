"""What the `ray` executor costs on this machine: start-up, memory, per-run start, snapshot round trip.

    python bench/ray_overhead.py                  # local Ray, num_cpus=2, about a minute
    python bench/ray_overhead.py --address auto   # against a running cluster (ray start --head)

Reports
  * `import ray` and `ray.init` (a private local Ray: GCS, raylet, its helpers) wall time;
  * memory: RSS of this process, of Ray's own processes (gcs_server, raylet, dashboard agents,
    log monitor …) and of each run's worker process (a Python with torch and one small GAN);
  * per run: seconds from `RunRegistry.create` to the first snapshot that shows training;
  * the snapshot round trip: `actor.poll()` as the server's runner thread does it every 0.2 s,
    median / p95 / max over a whole run, as the run's histories grow (they travel as deltas);
  * one demo-sized run's samples/s through threads and through Ray, same config.
Ray (requirements-ray.txt) must be installed.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("GEN_CORE_OFFLINE", "1")


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def uss_mb(pid: int) -> float:
    """Memory only this process holds (private pages; not torch's shared libraries, not Ray's
    shared-memory object store that every worker maps)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0.0
    return sum(int(line.split()[1]) for line in text.splitlines()
               if line.startswith(("Private_Clean:", "Private_Dirty:"))) / 1024


def ray_processes() -> dict[int, str]:
    """pid → command name of every process of this user that looks like part of Ray."""
    found = {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit() or int(p.name) == os.getpid():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "ray" in cmd and ("gcs_server" in cmd or "raylet" in cmd or "default_worker" in cmd
                             or "ray/_private" in cmd or "ray/dashboard" in cmd or "ray/autoscaler" in cmd):
            name = ("gcs_server" if "gcs_server" in cmd else "raylet" if "/raylet" in cmd
                    else "worker" if "default_worker" in cmd else cmd.split("ray/")[-1].split()[0][:40])
            found[int(p.name)] = name
    return found


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))] if values else float("nan")


def run_one(reg, config, data):
    t0 = time.perf_counter()
    rid = reg.create(config, data=data)
    runner = reg.get(rid)
    first = None
    while not runner.join(0.01):
        if first is None and reg.snapshot(rid).step > 0:
            first = time.perf_counter() - t0
    snap = reg.snapshot(rid)
    return rid, runner, snap, first, time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--address", default=None, help="a Ray cluster (auto, ray://host:10001); default: local Ray")
    ap.add_argument("--num-cpus", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--images-per-epoch", type=int, default=3200)
    args = ap.parse_args(argv)

    base_rss = rss_mb(os.getpid())
    t0 = time.perf_counter()
    import ray  # noqa: F401
    t_import = time.perf_counter() - t0
    import torch  # noqa: F401

    from gen_core.classroom.executors.ray_executor import RayExecutor
    from gen_core.classroom.runs import RunRegistry
    from gen_core.config.train import TrainConfig
    from gen_core.data.datasets import load_dataset
    data = load_dataset("mnist-mini")
    opts = {} if args.address else dict(num_cpus=args.num_cpus, object_store_memory=128 * 1024 * 1024)
    ex = RayExecutor(address=args.address, init_options=opts)
    before = set(ray_processes())
    t0 = time.perf_counter()
    ex.connect()
    t_init = time.perf_counter() - t0
    time.sleep(2.0)   # let Ray's helper processes come up before counting them
    infra = {p: n for p, n in ray_processes().items() if p not in before}
    infra_rss = {n: 0.0 for n in infra.values()}
    for p, n in infra.items():
        infra_rss[n] += rss_mb(p)
    print(f"ray {ray.__version__}: import {t_import:.2f} s, ray.init ({args.address or 'local'}) {t_init:.2f} s; "
          f"cluster {ex.describe()['ray_cpus']} CPUs")
    print(f"Ray's own processes after start-up: {len(infra)}, RSS {sum(infra_rss.values()):.0f} MB "
          f"({', '.join(f'{k} {v:.0f}' for k, v in sorted(infra_rss.items(), key=lambda kv: -kv[1]))})")
    print(f"this (server) process RSS: {base_rss:.0f} MB before torch/ray, {rss_mb(os.getpid()):.0f} MB now")

    config = TrainConfig(model="mlp-gan", dataset="mnist-mini", epochs=args.epochs,
                         images_per_epoch=args.images_per_epoch, batch_size=64)
    reports = {}
    for name, executor in (("thread", "thread"), ("ray", ex), ("ray (2nd run)", ex)):
        reg = RunRegistry(max_active=2, executor=executor)
        peak_worker = peak_uss = 0.0
        rid = reg.create(config, data=data)
        runner = reg.get(rid)
        t0 = time.perf_counter()
        first = None
        while not runner.join(0.05):
            if first is None and reg.snapshot(rid).step > 0:
                first = time.perf_counter() - t0
            pid = getattr(runner, "worker_pid", None)
            if pid:
                peak_worker = max(peak_worker, rss_mb(pid))
                peak_uss = max(peak_uss, uss_mb(pid))
        wall = time.perf_counter() - t0
        snap = reg.snapshot(rid)
        polls = list(getattr(runner, "poll_seconds", ()))
        reports[name] = (snap, first, wall, (peak_worker, peak_uss), polls)
        assert snap.state == "finished", (name, snap.state, snap.error)
        reg.clear()
    print(f"\none run: mlp-gan (default sizes), {args.epochs} epochs × {args.images_per_epoch} images, batch 64")
    print("executor        first step   wall     samples/s (run)  worker RSS / private   poll round trip p50 / p95 / max (n)")
    for name, (snap, first, wall, peak, polls) in reports.items():
        sps = snap.step * 64 / snap.elapsed if snap.elapsed else 0
        poll = (f"{pct(polls, 50) * 1000:.1f} / {pct(polls, 95) * 1000:.1f} / {max(polls) * 1000:.1f} ms "
                f"({len(polls)})" if polls else "— (reads a local snapshot)")
        print(f"{name:15} {first or float('nan'):8.2f} s {wall:6.1f} s  {sps:12,.0f}    "
              f"{(f'{peak[0]:.0f} / {peak[1]:.0f} MB' if peak[0] else '— (in-process)'):>20}  {poll}")
    ex.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
