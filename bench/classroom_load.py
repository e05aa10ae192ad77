"""Classroom load: many students on one dashboard server, measured against the real server.

    python bench/classroom_load.py                 # = load: 20 students, about 2 + 3 minutes
    python bench/classroom_load.py load --students 20 --env GEN_CORE_MAX_RUNS=1
    python bench/classroom_load.py load --executor ray    # the same class, each run a Ray actor
    python bench/classroom_load.py load --executor both   # thread, then ray, and a side-by-side table
    python bench/classroom_load.py threads         # thread policy × OMP_WAIT_POLICY, about 2 minutes

``load`` (default): N simulated students on ONE real ``streamlit run app.py`` server.
  * The server is started on 127.0.0.1:<free port> (nothing else is contacted) with
    GEN_CORE_OFFLINE=1, a throw-away GEN_CORE_RUNS_DIR and GEN_CORE_KEEP_FINISHED_S=5 (finished
    runs leave memory after 5 s instead of 30 min, so the bench can see memory come back);
    training slots are the default (GEN_CORE_MAX_RUNS unset: one per core) unless --env says.
  * Each student is a client of Streamlit's own websocket protocol (/_stcore/stream, protobuf
    BackMsg/ForwardMsg from the installed streamlit package): what a browser tab sends and
    receives, without a browser's rendering (20 headless Chromiums would not fit 2 cores, and
    would measure Chromium). A student opens "Train a GAN", types a small run into the same
    widgets a person would (epochs, images per epoch, batch size; the model is the default
    linear GAN, 2.9 M parameters), presses "Start training", and from then on does what the
    browser's fragment timer does: re-runs the live fragment whenever the server's AutoRerun
    interval elapses, until the page stops asking (its run ended), then loads the page once more.
    Students arrive 0.25 s apart and then act in lockstep (a teacher saying "now press Start").
  * Render latency = time from sending a rerun request to the server's "script finished"
    message, for every request (page loads, the settings change, Start, live-fragment reruns,
    the final page), reported overall, per step of a session, and for the steady state once
    everyone has pressed Start. This is the server's time to compute and send a page, which is
    what makes an app feel frozen under load; the browser's own drawing time is not included.
    A separate probe opens a fresh session on the page every 3 s (a student arriving late).
  * Runs: read back after the class with gen_core's own readers (persist.RunStore: run.json, then
    the run's history from checkpoint.pt, or from state.pt + history.jsonl for a run that never
    ended), as the dashboard reads them after a restart. Every run must be "finished" with all its
    steps and epochs; a run still training when --max-minutes ran out (the server is then stopped,
    and saves it "stopped") is reported as cut by the cap, its history checked as a prefix. samples/s is given two ways: whole run
    (steps × batch / the run's training time, per-epoch validation and snapshots included) and
    optimiser steps only (batch / median time between two steps of the same epoch).
  * Server process: peak RSS and thread count (sampled from /proc every 0.5 s), its CPU time,
    and RSS for --after-s seconds after the last student left. Streamlit keeps a closed session
    about 2 minutes for a reconnect and forgets it the next time its session store is used, so a
    late visitor opens one page at +125 s; "flat" means back near the warmed-up baseline.
  * Targets: p95 render < 2 s, no failed run, memory back near baseline. Exit code 0 when all hold.

``threads``: why each run gets a share of the cores. R concurrent trainings of the demo linear GAN
  (batch 128) in one process, one thread each, each with torch's default thread count or with
  ``torch.set_num_threads(max(1, cores // R))`` called in its own worker thread, with and without
  OMP_WAIT_POLICY=PASSIVE (set before torch is imported, so each case is a fresh subprocess).
  Prints the median and p90 step time, the total samples/s, and the thread counts seen by the
  workers and by the main thread (per-thread: the main thread keeps its own).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


# =============================================================================
# threads: per-thread torch.set_num_threads and OMP_WAIT_POLICY under contention
# =============================================================================

THREAD_WORKER = r"""
import json, os, statistics, sys, threading, time
sys.path.insert(0, {repo!r})
import torch
from gen_core.config.train import TrainConfig
from gen_core.data.datasets import load_dataset
from gen_core.training.trainer import Trainer
runs, policy, steps, warmup = {runs}, {policy!r}, {steps}, {warmup}
cores = len(os.sched_getaffinity(0))
data = load_dataset("mnist-mini")
cfg = TrainConfig(model="mlp-gan", dataset="mnist-mini", epochs=100, images_per_epoch=6400, batch_size=128)
trainers = [Trainer(cfg.replace(seed=i), data) for i in range(runs)]
times, seen, span = {{}}, {{}}, {{}}
barrier = threading.Barrier(runs)
def work(i):
    if policy == "fair":
        torch.set_num_threads(max(1, cores // runs))
    t = trainers[i]
    for _ in range(warmup):
        t.train_step()
    barrier.wait()
    out = []
    begin = time.perf_counter()
    for _ in range(steps):
        t0 = time.perf_counter(); t.train_step(); out.append(time.perf_counter() - t0)
    span[i] = (begin, time.perf_counter())
    times[i] = out
    seen[i] = torch.get_num_threads()
threads = [threading.Thread(target=work, args=(i,)) for i in range(runs)]
[t.start() for t in threads]; [t.join() for t in threads]
wall = max(e for _, e in span.values()) - min(b for b, _ in span.values())
all_t = [x for v in times.values() for x in v]
print(json.dumps({{"median_step_ms": 1000 * statistics.median(all_t),
                  "p90_step_ms": 1000 * sorted(all_t)[int(0.9 * len(all_t))],
                  "worker_threads": sorted(set(seen.values())), "main_threads": torch.get_num_threads(),
                  "samples_per_s": runs * steps * 128 / wall}}))
"""


def cmd_threads(args) -> int:
    cases = []
    for wait in ("", "PASSIVE"):
        for runs in args.runs:
            for policy in (["default", "fair"] if runs > 1 else ["default"]):
                cases.append((wait, runs, policy))
    print(f"cores: {len(os.sched_getaffinity(0))}; load average before: {os.getloadavg()[0]:.2f}")
    print(f"{'OMP_WAIT_POLICY':>15} {'runs':>4} {'threads/run':>12} {'main thread':>11} {'median step ms':>15} "
          f"{'p90 ms':>8} {'total samples/s':>16}")
    results = {}
    for rep in range(args.repeats):
        for wait, runs, policy in cases:
            env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
            if wait:
                env["OMP_WAIT_POLICY"] = wait
            code = THREAD_WORKER.format(repo=str(REPO), runs=runs, policy=policy, steps=args.steps,
                                        warmup=args.warmup)
            out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                 timeout=600)
            if out.returncode != 0:
                print(out.stderr[-2000:])
                return 1
            r = json.loads(out.stdout.strip().splitlines()[-1])
            results.setdefault((wait, runs, policy), []).append(r)
    for key, rs in results.items():
        wait, runs, policy = key
        med = statistics.median(r["median_step_ms"] for r in rs)
        p90 = statistics.median(r["p90_step_ms"] for r in rs)
        sps = statistics.median(r["samples_per_s"] for r in rs)
        threads = rs[0]["worker_threads"]
        print(f"{wait or '(unset)':>15} {runs:>4} {str(threads):>12} {rs[0]['main_threads']:>11} {med:>15.1f} "
              f"{p90:>8.1f} {sps:>16,.0f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


# =============================================================================
# load: N students on one real server, over Streamlit's websocket protocol
# =============================================================================

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


class ProcSampler(threading.Thread):
    """Samples a process's RSS (MB) and thread count from /proc every `every` seconds."""

    def __init__(self, pid: int, every: float = 0.5):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, float, int]] = []   # (t, rss MB, threads)
        self.tree_samples: list[float] = []                  # RSS MB of the process and its children
        self._stop = threading.Event()

    def read(self) -> tuple[float, int] | None:
        try:
            text = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return None
        rss, threads = re.search(r"VmRSS:\s+(\d+)", text), re.search(r"Threads:\s+(\d+)", text)
        if rss is None or threads is None:   # a zombie (the server died, not yet reaped) has no memory lines
            return None
        return int(rss.group(1)) / 1024, int(threads.group(1))

    def cpu_seconds(self) -> float:
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def tree_rss(self) -> float:
        """RSS (MB) of the process and all its descendants (with the ray executor: Ray and its workers)."""
        children: dict[int, list[int]] = {}
        for p in Path("/proc").iterdir():
            if p.name.isdigit():
                try:
                    ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(ppid, []).append(int(p.name))
        total, todo = 0.0, [self.pid]
        while todo:
            pid = todo.pop()
            todo += children.get(pid, [])
            try:
                total += int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1)) / 1024
            except (OSError, AttributeError):
                pass
        return total

    def run(self) -> None:
        while not self._stop.wait(self.every):
            r = self.read()
            if r:
                self.samples.append((time.monotonic(), *r))
                self.tree_samples.append(self.tree_rss())

    def stop(self) -> None:
        self._stop.set()


class Student:
    """One browser tab, speaking Streamlit's websocket protocol."""

    def __init__(self, name: str, base_ws: str, settings: dict[str, float], page: str = "train-gan"):
        self.name, self.base_ws, self.settings, self.page = name, base_ws, settings, page
        # Each student is their own browser: their own owner cookie (ui/identity.py), so each run
        # has its own owner and the per-student caps apply as in a real class.
        import secrets
        self.token = f"bench-{re.sub(r'[^A-Za-z0-9]', '-', name)}-{secrets.token_urlsafe(12)}"[:64]
        self.ws = None
        self.widgets: dict[str, tuple[str, str]] = {}      # user key → (widget id, kind)
        self.values: dict[str, object] = {}                # widget id → value we hold
        self.auto: dict[str, float] = {}                   # fragment id → interval
        self.page_hash = ""
        self.query = "dataset=mnist-mini"
        self.texts: list[str] = []
        self.full_latency: list[float] = []
        self.fragment_latency: list[float] = []
        self.phases: list[tuple[str, float]] = []          # (what, seconds) per request
        self.sent_at: list[tuple[str, float, float]] = []  # (what, monotonic send time, seconds)
        self.errors: list[str] = []
        self.run_id: str | None = None
        self.capped = False          # its run was still training when the bench's --max-minutes ran out
        self.finished_script = None

    async def connect(self):
        import websockets
        self.ws = await websockets.connect(f"{self.base_ws}/_stcore/stream", subprotocols=["streamlit"],
                                           max_size=64 * 1024 * 1024, open_timeout=60, ping_interval=None,
                                           additional_headers={"Cookie": f"gen_core_owner={self.token}"})

    def _widget_states(self, trigger: str | None = None):
        from streamlit.proto.WidgetStates_pb2 import WidgetStates
        ws = WidgetStates()
        for wid, value in self.values.items():
            w = ws.widgets.add()
            w.id = wid
            if isinstance(value, bool):
                w.bool_value = value
            elif isinstance(value, int):
                w.int_value = value
            elif isinstance(value, float):
                w.double_value = value
            else:
                w.string_value = str(value)
        if trigger:
            w = ws.widgets.add()
            w.id = trigger
            w.trigger_value = True
        return ws

    async def rerun(self, *, fragment: str | None = None, trigger: str | None = None, timeout: float = 120,
                    phase: str = "page"):
        from streamlit.proto.BackMsg_pb2 import BackMsg
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query
        cs.page_name = self.page  # (the url path; the server resolves it to the page's script)
        if self.page_hash:        # as a browser does once the server has told it the page's hash:
            cs.page_script_hash = self.page_hash  # a server-side st.rerun() stays on this page
        cs.widget_states.CopyFrom(self._widget_states(trigger))
        if fragment:
            cs.fragment_id = fragment
            cs.is_auto_rerun = True
        else:
            self.auto.clear()  # a full run re-registers the fragment timers it still wants
        t0 = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        await self._until_finished(timeout)
        dt = time.perf_counter() - t0
        (self.fragment_latency if fragment else self.full_latency).append(dt)
        self.phases.append(("fragment" if fragment else phase, dt))
        self.sent_at.append(("fragment" if fragment else phase, time.monotonic() - dt, dt))
        return dt

    async def _until_finished(self, timeout: float):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.name}: no script_finished within {timeout:.0f} s")
            data = await asyncio.wait_for(self.ws.recv(), left)
            fm = ForwardMsg()
            fm.ParseFromString(data)
            kind = fm.WhichOneof("type")
            if kind == "navigation":
                self.page_hash = fm.navigation.page_script_hash or self.page_hash
            elif kind == "stop_auto_rerun":
                for fid in fm.stop_auto_rerun.fragment_ids:
                    self.auto.pop(fid, None)
            elif kind == "page_info_changed":
                qs = fm.page_info_changed.query_string
                if qs:
                    self.query = qs
                    m = re.search(r"run=([A-Za-z0-9_-]+)", qs)
                    if m:
                        self.run_id = m.group(1)
            elif kind == "auto_rerun":
                self.auto[fm.auto_rerun.fragment_id] = fm.auto_rerun.interval
            elif kind == "delta":
                self._read_delta(fm.delta)
            elif kind == "script_finished":
                # 0 finished, 1 compile error, 2 ended early for a rerun (st.rerun: the server starts
                # the next run itself, so keep waiting for it), 3 fragment run finished
                self.finished_script = fm.script_finished
                if fm.script_finished == 2:
                    self.auto.clear()  # a full run follows (st.rerun): its timers replace these
                    continue
                if fm.script_finished == 1:
                    self.errors.append("compile error")
                return

    def _read_delta(self, delta):
        if delta.WhichOneof("type") != "new_element":
            return
        el = delta.new_element
        kind = el.WhichOneof("type")
        if kind == "exception":
            self.errors.append(f"exception: {el.exception.message[:200]}")
        elif kind == "alert":
            self.texts.append(el.alert.body)
        elif kind in ("markdown",):
            self.texts.append(el.markdown.body)
        if kind in ("number_input", "button", "text_input", "selectbox", "slider"):
            proto = getattr(el, kind)
            wid = proto.id
            key = wid.rsplit("-", 1)[-1] if wid.startswith("$$ID") else wid
            self.widgets[key] = (wid, kind)

    def set_number(self, key: str, value):
        wid, kind = self.widgets[key]
        self.values[wid] = value

    async def close(self):
        if self.ws is not None:
            await self.ws.close()


async def student_session(i: int, base_ws: str, cfg: dict, results: list, stop_at: float):
    s = Student(f"student-{i}", base_ws, cfg)
    try:
        await s.connect()
        await s.rerun(phase="open")           # open the page (the sidebar + settings + estimate)
        for key, value in (("gan_epochs", cfg["epochs"]), ("gan_ipe", cfg["images_per_epoch"]),
                           ("gan_batch", cfg["batch_size"])):
            s.set_number(key, value)
        await s.rerun(phase="settings")       # the typed settings
        start_id = s.widgets["gan_start"][0]
        await s.rerun(trigger=start_id, phase="start")   # press "Start training"
        if s.run_id is None:
            await s.rerun(phase="page")
        # The browser's fragment timer: re-run the live fragment when the server asks.
        while s.auto and time.monotonic() < stop_at:   # no timer left: the run has ended
            fid, interval = next(iter(s.auto.items()))
            await asyncio.sleep(interval)
            await s.rerun(fragment=fid)
        s.capped = bool(s.auto)               # a timer left: the bench's own time limit ended the session
        await s.rerun(phase="finished page")  # one full page with the finished run
    except Exception as e:  # noqa: BLE001 — a failed student is a result, not a bench crash
        s.errors.append(f"{type(e).__name__}: {e}")
    finally:
        await s.close()
    results.append(s)


async def probe_loop(base_ws: str, stop: asyncio.Event, out: list):
    """A new student arriving every few seconds: time the first full page."""
    while not stop.is_set():
        p = Student("probe", base_ws, {})
        try:
            await p.connect()
            dt = await p.rerun()
            out.append(dt)
        except Exception as e:  # noqa: BLE001
            out.append(float("nan"))
            print(f"probe failed: {e}", file=sys.stderr)
        finally:
            await p.close()
        try:
            await asyncio.wait_for(stop.wait(), 3.0)
        except asyncio.TimeoutError:
            pass


def _pct(values, q):
    values = sorted(v for v in values if v == v)
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, int(round(q / 100 * (len(values) - 1)))))
    return values[k]


def cmd_load(args) -> int:
    try:
        import websockets  # noqa: F401
    except ImportError:
        print("the load bench needs the 'websockets' package (it ships with many streamlit installs)")
        return 2
    runs_dir = Path(tempfile.mkdtemp(prefix="classroom_runs_"))
    port = _free_port()
    env = {**os.environ, "GEN_CORE_OFFLINE": "1", "GEN_CORE_RUNS_DIR": str(runs_dir),
           "GEN_CORE_KEEP_FINISHED_S": str(args.keep_finished_s)}
    env.pop("GEN_CORE_MAX_RUNS", None)
    env["GEN_CORE_EXECUTOR"] = args.executor
    for item in args.env:
        key, _, value = item.partition("=")
        env[key] = value
    log_path = REPO / "artifacts" / "classroom_load_server.log"
    log_path.parent.mkdir(exist_ok=True)
    log = open(log_path, "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    sampler = ProcSampler(server.pid)
    t_start = time.monotonic()
    deadline = t_start + args.max_minutes * 60
    try:
        while not _healthy(f"{base}/_stcore/health"):
            if server.poll() is not None or time.monotonic() > t_start + 90:
                print("server did not start; see", log_path)
                return 1
            time.sleep(0.3)
        sampler.start()
        # Warm the server once (imports, dataset, the per-config time estimate), as a class would
        # after the teacher opened the page: not counted.
        warm = Student("warm-up", f"ws://127.0.0.1:{port}", {})
        asyncio.run(_warm(warm))
        base_rss, base_threads = sampler.read()
        base_cpu = sampler.cpu_seconds()
        base_tree = sampler.tree_rss()
        print(f"server up on {base} (executor {args.executor}); baseline after warm-up: RSS {base_rss:.0f} MB, "
              f"{base_threads} threads; with its child processes {base_tree:.0f} MB")
        cfg = dict(epochs=args.epochs, images_per_epoch=args.images_per_epoch, batch_size=args.batch_size)
        students: list[Student] = []
        probes: list[float] = []
        asyncio.run(_classroom(args.students, f"ws://127.0.0.1:{port}", cfg, students, probes,
                               deadline - args.after_s - 20))
        t_all_done = time.monotonic()
        if server.poll() is not None:   # the server itself died during the class: say so, with its last words
            log.flush()
            tail = log_path.read_bytes()[-3000:].decode("utf-8", "replace")
            print(f"SERVER DIED during the class (exit code {server.returncode}); last lines of {log_path}:\n{tail}")
            return 1
        class_cpu = sampler.cpu_seconds() - base_cpu
        # After the class: every session has disconnected. The registry drops finished runs from
        # memory after GEN_CORE_KEEP_FINISHED_S (set to a few seconds here); Streamlit keeps each
        # disconnected session ~2 min for a reconnect, then forgets it when the session store is
        # next used — as a new visitor does (one more page view at the end).
        after = []
        t_end = time.monotonic() + args.after_s
        visited = False
        while time.monotonic() < t_end:
            time.sleep(min(10.0, max(0.0, t_end - time.monotonic())))
            if not visited and time.monotonic() - t_all_done > 125:
                asyncio.run(_warm(Student("late visitor", f"ws://127.0.0.1:{port}", {})))
                visited = True
            r = sampler.read()
            after.append((time.monotonic() - t_all_done, *r))
        end_rss, end_threads = sampler.read()
        end_tree = sampler.tree_rss()
    finally:
        sampler.stop()
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()

    # ---------------------------------------------------------------- report
    full = [x for s in students for x in s.full_latency]
    frag = [x for s in students for x in s.fragment_latency]
    both = full + frag
    peak_rss = max(r for _, r, _ in sampler.samples)
    peak_threads = max(t for _, _, t in sampler.samples)
    runs = read_runs(runs_dir, students)
    expected_steps = (args.images_per_epoch // args.batch_size) * args.epochs
    print(f"\n{len(students)} students, each one run of mlp-gan ({args.epochs} epochs × {args.images_per_epoch} "
          f"images, batch {args.batch_size} = {expected_steps} steps); {os.cpu_count()} cores; "
          f"wall {t_all_done - t_start:.0f} s")
    print(f"render latency, all reruns   n={len(both):5d}  p50 {_pct(both, 50):6.2f} s  p95 {_pct(both, 95):6.2f} s  "
          f"max {max(both, default=float('nan')):6.2f} s")
    print(f"  full page runs             n={len(full):5d}  p50 {_pct(full, 50):6.2f} s  p95 {_pct(full, 95):6.2f} s")
    print(f"  live-fragment runs         n={len(frag):5d}  p50 {_pct(frag, 50):6.2f} s  p95 {_pct(frag, 95):6.2f} s")
    print(f"  new-student first page     n={len(probes):5d}  p50 {_pct(probes, 50):6.2f} s  p95 {_pct(probes, 95):6.2f} s")
    starts = [t + dt for s_ in students for what, t, dt in s_.sent_at if what == "start"]
    if starts:
        steady = [dt for s_ in students for what, t, dt in s_.sent_at if t > max(starts)]
        print(f"  once every student had pressed Start (steady state: fragment and final page runs) "
              f"n={len(steady)}  p50 {_pct(steady, 50):.2f} s  p95 {_pct(steady, 95):.2f} s")
    by_phase: dict[str, list[float]] = {}
    for s_ in students:
        for what, dt in s_.phases:
            by_phase.setdefault(what, []).append(dt)
    print("  by step of a student's session: " + "; ".join(
        f"{k} p50 {_pct(v, 50):.2f} / p95 {_pct(v, 95):.2f} s (n={len(v)})" for k, v in by_phase.items()))
    import resource
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(f"bench client (this process) CPU {ru.ru_utime + ru.ru_stime:.0f} s over {t_all_done - t_start:.0f} s "
          f"(it shares the cores with the server); server CPU {class_cpu:.0f} s")
    print(f"server peak RSS {peak_rss:.0f} MB, peak threads {peak_threads}; baseline {base_rss:.0f} MB / "
          f"{base_threads}; after all sessions ended (+{args.after_s:.0f} s, a new visitor at +125 s) "
          f"{end_rss:.0f} MB / {end_threads} threads")
    print("  RSS after the class: " + ", ".join(f"+{t:.0f} s {r:.0f} MB" for t, r, _ in after))
    peak_tree = max(sampler.tree_samples, default=float("nan"))
    print(f"server + its child processes (Ray's processes and workers with --executor ray): peak RSS "
          f"{peak_tree:.0f} MB, baseline {base_tree:.0f} MB, at the end {end_tree:.0f} MB")
    ok = True
    from gen_core.classroom.owners import owner_id
    owners = [rec.get("owner") if rec else None for _, rec, _ in runs]
    own_ok = all(rec is not None and rec.get("owner") == owner_id(s.token) for s, rec, _ in runs) \
        and len(set(owners)) == len(runs)
    ok &= own_ok
    print(f"owners: {len(set(o for o in owners if o))} distinct owners for {len(runs)} runs; every run owned by "
          f"the student who started it: {'yes' if own_ok else 'NO'}")
    print("\nrun        state     steps  epochs  history  samples/s  student errors")
    capped = broken = 0
    for s, rec, hist in runs:
        steps = len(hist["steps"]) if hist else 0
        epochs = [e["epoch"] for e in hist["epochs"]] if hist else []
        step_ids = [r["step"] for r in hist["steps"]] if hist else []
        complete = step_ids == list(range(1, expected_steps + 1)) and epochs == list(range(1, args.epochs + 1))
        prefix = hist is not None and step_ids == list(range(1, steps + 1)) and epochs == list(range(1, len(epochs) + 1))
        secs = hist["epochs"][-1]["time"] if hist and hist["epochs"] else 0
        rate = steps * args.batch_size / secs if secs else 0
        state_ = rec["state"] if rec else "—"
        cut = s.capped and state_ in ("stopped", "interrupted") and not complete
        # partial: a clean prefix (a run that ended early); BROKEN: steps or epochs missing or out of order
        history = "intact" if complete else ("partial" if prefix and steps else "BROKEN")
        good = state_ == "finished" and complete and not s.errors
        note = ("cut by --max-minutes" if cut else "-" if good or state_ == "finished"
                else f"{state_} before its last step, not by the bench")
        capped += cut
        broken += not good and not cut
        ok &= good
        print(f"{(s.run_id or '—'):10} {state_:9} {steps:5d}  {len(epochs):6d}  {history:7}  "
              f"{rate:9,.0f}  {'; '.join(s.errors)[:80] or note}")
    if capped:
        print(f"{capped} run(s) were still training when --max-minutes ({args.max_minutes:g}) ran out: stopped by "
              "the bench, not broken (give the class more time, or fewer students)")
    rates = [len(h["steps"]) * args.batch_size / h["epochs"][-1]["time"] for _, _, h in runs if h and h["epochs"]]
    if rates:
        print(f"samples/s per run, whole run (steps + per-epoch validation and snapshots): median "
              f"{statistics.median(rates):,.0f}, min {min(rates):,.0f}, max {max(rates):,.0f}")
    step_rates = []
    for _, _, h in runs:
        if h and len(h["steps"]) > 2:
            dts = [b["time"] - a["time"] for a, b in zip(h["steps"], h["steps"][1:])
                   if int(b["epoch"] - 1e-9) == int(a["epoch"] - 1e-9)]  # within an epoch
            if dts:
                step_rates.append(args.batch_size / statistics.median(dts))
    if step_rates:
        print(f"samples/s per run, optimiser steps only (batch / median step time): median "
              f"{statistics.median(step_rates):,.0f}, min {min(step_rates):,.0f}, max {max(step_rates):,.0f}")
    p95 = _pct(both, 95)
    verdict = ok and p95 < 2.0 and end_rss < base_rss * 1.5 + 100
    print(f"\ntargets: p95 < 2 s: {'yes' if p95 < 2.0 else 'NO'}; no failed run: {'yes' if not broken else 'NO'}; "
          f"every run finished within --max-minutes: {'yes' if not capped else f'NO ({capped} cut)'}; "
          f"memory back near baseline: {'yes' if end_rss < base_rss * 1.5 + 100 else 'NO'}")
    shutil.rmtree(runs_dir, ignore_errors=True)
    steady_p95 = _pct(steady, 95) if starts else float("nan")
    SUMMARY[args.executor] = {
        "render p50 (s)": _pct(both, 50), "render p95 (s)": p95, "steady-state p95 (s)": steady_p95,
        "new-student page p95 (s)": _pct(probes, 95), "runs finished intact": f"{len(runs) - capped - broken}/{len(runs)}",
        "runs cut by --max-minutes": capped,
        "samples/s per run, whole run (median)": statistics.median(rates) if rates else float("nan"),
        "samples/s per run, steps only (median)": statistics.median(step_rates) if step_rates else float("nan"),
        "wall (s)": t_all_done - t_start, "server CPU (s)": class_cpu,
        "server peak RSS (MB)": peak_rss, "server + children peak RSS (MB)": peak_tree,
        "server RSS at the end (MB)": end_rss, "targets met": "yes" if verdict else "NO"}
    return 0 if verdict else 1


def read_runs(runs_dir: Path, students: list) -> list[tuple]:
    """(student, run.json as a dict, {"steps", "epochs"}) per student, read with gen_core's readers: the
    record from RunStore.scan (a run the server left active reads "interrupted"), the history from the
    run's newest state (checkpoint.pt, or state.pt + the history.jsonl journal: history.json is written
    only when a run ends, so it says nothing about a run the server never finished)."""
    from gen_core.persistence.checkpoints import CheckpointError
    from gen_core.persistence.persist import RunStore
    store = RunStore(runs_dir)
    records = {r.run_id: r for r in store.scan()}
    out = []
    for s in students:
        record = records.get(s.run_id) if s.run_id else None
        hist = None
        if record is not None:
            try:
                ck = store.read_checkpoint(record.run_id)
            except CheckpointError as e:
                s.errors.append(f"unreadable run folder: {e}"[:200])
                ck = None
            if ck is not None:
                hist = {"steps": list(ck.history.steps), "epochs": list(ck.history.epochs)}
        out.append((s, record.to_json() if record is not None else None, hist))
    return out


SUMMARY: dict[str, dict] = {}


def print_side_by_side() -> None:
    names = list(SUMMARY)
    print("\nside by side: " + " vs ".join(names))
    for key in SUMMARY[names[0]]:
        cells = []
        for n in names:
            v = SUMMARY[n].get(key)
            cells.append(f"{v:>12,.2f}" if isinstance(v, float) and v < 100 else
                         f"{v:>12,.0f}" if isinstance(v, float) else f"{v!s:>12}")
        print(f"  {key:40} " + " ".join(cells))


async def _warm(s: Student):
    await s.connect()
    await s.rerun()
    await s.close()


async def _classroom(n: int, base_ws: str, cfg: dict, students: list, probes: list, stop_at: float):
    stop = asyncio.Event()
    probe = asyncio.create_task(probe_loop(base_ws, stop, probes))
    tasks = []
    for i in range(n):  # students arrive over a few seconds, not in the same millisecond
        tasks.append(asyncio.create_task(student_session(i, base_ws, cfg, students, stop_at)))
        await asyncio.sleep(0.25)
    await asyncio.gather(*tasks)
    stop.set()
    await probe


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd")
    load = sub.add_parser("load", help="N simulated students on a real server (default)")
    load.add_argument("--students", type=int, default=20)
    load.add_argument("--epochs", type=int, default=5)
    load.add_argument("--images-per-epoch", type=int, default=1280)
    load.add_argument("--batch-size", type=int, default=64)
    load.add_argument("--keep-finished-s", type=float, default=5.0)
    load.add_argument("--max-minutes", type=float, default=8.0)
    load.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                      help="extra environment for the server (e.g. GEN_CORE_MAX_RUNS=1); repeatable")
    load.add_argument("--executor", default="thread", choices=["thread", "ray", "both"],
                      help="where runs train (GEN_CORE_EXECUTOR); both: thread, then ray, side by side")
    load.add_argument("--after-s", type=float, default=190.0,
                      help="seconds to watch memory after the last student left (Streamlit keeps sessions 2 min)")
    th = sub.add_parser("threads", help="thread-count policy × OMP_WAIT_POLICY under contention")
    th.add_argument("--runs", type=lambda t: [int(x) for x in t.split(",")], default=[1, 2, 3])
    th.add_argument("--steps", type=int, default=30)
    th.add_argument("--warmup", type=int, default=3)
    th.add_argument("--repeats", type=int, default=2)
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0].startswith("--") and argv[0] not in ("-h", "--help"):
        argv = ["load", *argv]        # `classroom_load.py --students 3` means the load bench
    args = parser.parse_args(argv)
    if args.cmd == "threads":
        return cmd_threads(args)
    if args.cmd is None:
        args = load.parse_args([])
    if args.executor != "both":
        return cmd_load(args)
    codes = [cmd_load(argparse.Namespace(**{**vars(args), "executor": name})) for name in ("thread", "ray")]
    print_side_by_side()
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
