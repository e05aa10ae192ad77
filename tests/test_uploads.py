"""Uploads from strangers (issue 9 item 4): crafted checkpoints are refused in bounded time and memory.

The files are built here: a 17 KB-style file whose weights are zero-stride views and whose config
claims 8192-wide layers, a DEFLATE-compressed record, a history of 2M records, a hostile
data_root. Each is loaded in a fresh subprocess that reports its peak RSS growth (must stay under
100 MB) and its time.
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from conftest import tiny_config
from gen_core.models.registry import build_model
from gen_core.persistence.checkpoints import CheckpointError, checkpoint_payload
from gen_core.persistence.loading import load_checkpoint
from gen_core.training.trainer import Trainer


REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def payload(mini_data):
    trainer = Trainer(tiny_config("mlp-gan", epochs=1), mini_data)
    trainer.train_step()
    return checkpoint_payload(trainer)


def _bytes(payload: dict) -> bytes:
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


def zero_stride_giant(payload: dict) -> bytes:
    cfg = json.loads(payload["config"])
    cfg["model_config"].update(g_hidden=[8192, 8192], d_hidden=[8192, 8192])
    from gen_core.config.train import TrainConfig
    with torch.device("meta"):
        model = build_model("mlp-gan", TrainConfig.from_dict(cfg).model_config)
    fake = {k: torch.zeros(1, dtype=v.dtype).expand(v.shape) for k, v in model.state_dict().items()}
    return _bytes({**payload, "config": json.dumps(cfg), "model": fake, "optimizers": None})


def deflate_bomb(payload: dict) -> bytes:
    raw = _bytes({**payload, "metadata": {**payload["metadata"], "blob": torch.zeros(4 << 20, dtype=torch.uint8)}})
    src = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            kind = zipfile.ZIP_DEFLATED if len(data) > 1 << 20 else zipfile.ZIP_STORED
            dst.writestr(info.filename, data, compress_type=kind)
    return out.getvalue()


def history_bomb(payload: dict) -> bytes:
    steps = "[" + ",".join(["{}"] * 2_000_000) + "]"
    return _bytes({**payload, "history": '{"steps": ' + steps + ', "epochs": []}'})


def hostile_root(payload: dict, root: Path) -> bytes:
    cfg = json.loads(payload["config"])
    cfg.update(data_root=str(root), device="cpu")
    return _bytes({**payload, "config": json.dumps(cfg)})


def test_each_crafted_upload_is_refused_with_a_reason(payload):
    cases = {"views": zero_stride_giant(payload), "compressed": deflate_bomb(payload),
             "history is too long": history_bomb(payload)}
    assert len(cases["views"]) < 64 << 10                              # tiny file, giant claim
    for reason, data in cases.items():
        with pytest.raises(CheckpointError, match=reason):
            load_checkpoint(data, max_bytes=64 << 20, untrusted=True)


def test_an_untrusted_file_keeps_no_paths_devices_or_tensors(payload, tmp_path):
    evil = tmp_path / "evil" / "deep"
    ck = load_checkpoint(hostile_root({**payload, "metadata": {**payload["metadata"], "t": torch.ones(3)}}, evil),
                         untrusted=True)
    assert ck.config.data_root is None and ck.config.device == "auto"
    assert "t" not in ck.metadata and not evil.exists()
    trusted = load_checkpoint(hostile_root(payload, evil))
    assert trusted.config.data_root == str(evil)                       # (the server's own files keep theirs)


PROBE = r"""
import resource, sys, time
from gen_core.persistence.checkpoints import CheckpointError; from gen_core.persistence.loading import load_checkpoint
import torch  # (imported before the baseline)
data = open(sys.argv[1], "rb").read()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
try:
    load_checkpoint(data, max_bytes=64 << 20, untrusted=True)
    outcome = "loaded"
except CheckpointError as e:
    outcome = "refused"
grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
print(outcome, grew // 1024, round(time.perf_counter() - t0, 2))
"""


def test_crafted_uploads_cost_bounded_time_and_memory(payload, tmp_path):
    files = {"zero-stride": zero_stride_giant(payload), "deflate": deflate_bomb(payload),
             "history": history_bomb(payload), "data_root": hostile_root(payload, tmp_path / "nope")}
    for name, data in files.items():
        path = tmp_path / f"{name}.pt"
        path.write_bytes(data)
        out = subprocess.run([sys.executable, "-c", PROBE, str(path)], cwd=REPO, capture_output=True, text=True,
                             timeout=300, env={"GEN_CORE_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
        assert out.returncode == 0, out.stderr
        outcome, grew_mb, seconds = out.stdout.split()
        assert outcome == ("loaded" if name == "data_root" else "refused"), (name, out.stdout)
        assert int(grew_mb) < 100, f"{name}: peak RSS grew {grew_mb} MB"
        assert float(seconds) < 60, f"{name}: {seconds} s"   # a bound (the 2M-record parse took 4.4 s + 860 MB)
    assert not (tmp_path / "nope").exists()
