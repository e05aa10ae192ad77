"""Checkpoints: save a training run, load it back safely, resume it exactly.

A checkpoint is one `torch.save` zip file holding only plain data: tensors, dicts,
lists, tuples, str, int, float, bool and None. Config and history are JSON strings
(NaN and ±inf round-trip), images are uint8 tensors. So every file loads with
`torch.load(path, map_location="cpu", weights_only=True)` and a file from a stranger
can never run code: `load_checkpoint` uses nothing else and turns every failure into
a `CheckpointError` with a one-line message for users.

    save_checkpoint(trainer, "run/checkpoint.pt")            # atomic: old file kept on failure
    ck = load_checkpoint("run/checkpoint.pt")                # config, model (eval), history, ...
    trainer = resume_trainer(ck, epochs=10)                  # continues exactly where it stopped
    grid = sample_grid(ck, n=64, seed=0)                     # uint8 image for a PNG

Layout of the saved dict (version 1):

    format, version          "gen_core.checkpoint", 1
    metadata                 model, family, num_parameters, saved_at, torch_version, half, ...
    config                   JSON of TrainConfig.to_dict()
    model                    state_dict (float16 when half=True)
    optimizers               {name: optimizer.state_dict()} or None (weights-only file)
    trainer                  step, epoch, elapsed, epoch_step, epoch_sums, steps_per_epoch
    history                  JSON of {"steps": [...], "epochs": [...]} (None in a slim state
                             file: gen_core.runstate keeps history and snapshots beside it)
    batcher                  Batcher.state_dict()
    rng                      trainer generator state (+ its device), torch's global CPU/CUDA states
    snapshots                one dict per EpochSnapshot, arrays as tensors (None stays None;
                             the whole list None in a slim state file)
"""
from __future__ import annotations

import dataclasses
import io
import json
import logging
import math
import os
import pickle
import re
import uuid
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, BinaryIO

import numpy as np
import torch
from torch import nn

from .config import ConfigError, TrainConfig
from .data import ImageData
from .imaging import make_grid, to_uint8
from .registry import get_model_spec
from .tricks import build_model_for
from .sampling import decode, sample
from .training import EpochSnapshot, History, Trainer

log = logging.getLogger("gen_core")

FORMAT = "gen_core.checkpoint"
VERSION = 1
# dcgan-64 with its Adam state is about 300 MB; anything far beyond that is not ours.
DEFAULT_MAX_BYTES = 1 << 30
# Browser uploads on a shared server: the same 64 MB as .streamlit/config.toml's transport cap
# (every shipped or dashboard-trained model but dcgan-64 with optimiser state fits; weights-only does).
UPLOAD_MAX_BYTES = 64 << 20
# History records a file may carry: the Trainer keeps at most GEN_CORE_MAX_STEP_RECORDS (20,000)
# step records plus one per epoch; a crafted file with millions costs seconds of parsing and GBs.
MAX_HISTORY_RECORDS = 200_000
MAX_HISTORY_CHARS = 32 << 20

_SNAPSHOT_ARRAYS = ("samples", "originals", "reconstructions", "latent_map", "latent_means", "latent_labels")
_SNAPSHOT_DTYPES = {"samples": torch.uint8, "originals": torch.uint8, "reconstructions": torch.uint8,
                    "latent_map": torch.uint8, "latent_means": torch.float32, "latent_labels": torch.int64}


class CheckpointError(ValueError):
    """A checkpoint file cannot be used. The message is one line, meant for end users."""


@dataclass
class Checkpoint:
    """A loaded checkpoint: everything needed to sample from a run or to resume it."""
    config: TrainConfig
    model: nn.Module                                   # built from config, weights loaded, float32, CPU, eval
    history: History
    snapshots: list[EpochSnapshot]
    metadata: dict
    step: int = 0
    epoch: int = 0                                     # completed epochs
    elapsed: float = 0.0
    optimizer_states: dict[str, dict] | None = None    # None: saved with include_optimizer=False
    batcher_state: dict | None = None
    rng_state: torch.Tensor | None = None              # the trainer's generator
    rng_device: str = "cpu"                            # device type of that generator
    torch_rng_state: torch.Tensor | None = None        # torch's global CPU RNG (dropout, GP mixing)
    cuda_rng_state: torch.Tensor | None = None         # torch's global CUDA RNG, when trained on CUDA
    epoch_step: int = 0                                # steps done in an unfinished epoch (stopped mid-epoch)
    epoch_sums: dict[str, float] = field(default_factory=dict)
    steps_per_epoch: int | None = None                 # as trained (a check when resuming)
    version: int = VERSION
    source: str | None = None                          # the path it was read from, if any

    @property
    def family(self) -> str:
        return get_model_spec(self.config.model).family

    @property
    def resumable(self) -> bool:
        """True when it holds optimizer state (and full-precision weights), so training can go on exactly."""
        return self.optimizer_states is not None and not self.metadata.get("half", False)

    @property
    def done(self) -> bool:
        return self.epoch >= self.config.epochs

    def summary(self) -> str:
        """One line for users, e.g. 'mlp-gan on mnist: 2/5 epochs, 938 steps, 2.92M parameters'."""
        params = self.metadata.get("num_parameters", {}).get("total")
        extra = f", {params / 1e6:.2f}M parameters" if isinstance(params, int) else ""
        mid = f" (+{self.epoch_step} steps into epoch {self.epoch + 1})" if self.epoch_step else ""
        return (f"{self.config.model} on {self.config.dataset}: {self.epoch}/{self.config.epochs} epochs{mid}, "
                f"{self.step:,} steps{extra}")


# ---------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------

def _to_cpu(value):
    """Deep copy of a state dict with every tensor on the CPU, in the standard (NCHW) layout.

    Contiguous because a model may train channels-last (ModelSpec.channels_last) and a file's
    tensors must not depend on that: the loader refuses non-contiguous tensors (_check_tensors).
    """
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True, memory_format=torch.contiguous_format)
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_cpu(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_to_cpu(v) for v in value)
    return value


def snapshot_to_dict(snap: EpochSnapshot) -> dict:
    out: dict[str, Any] = {"epoch": int(snap.epoch), "step": int(snap.step)}
    for name in _SNAPSHOT_ARRAYS:
        arr = getattr(snap, name)
        out[name] = None if arr is None else torch.from_numpy(np.ascontiguousarray(arr)).clone()
    return out


def checkpoint_payload(trainer: Trainer, *, include_optimizer: bool = True, half: bool = False,
                       include_history: bool = True) -> dict:
    """The dict `save_checkpoint` writes. Call it from the thread that trains (or after training).

    include_history=False leaves out the history and the snapshots (both grow with the run):
    the slim per-epoch state of gen_core.runstate, which keeps them in files of their own.
    """
    model_state = {k: (v.detach().to("cpu", torch.float16) if half and v.is_floating_point()
                       else v.detach().to("cpu", copy=True, memory_format=torch.contiguous_format))
                   for k, v in trainer.model.state_dict().items()}
    optimizers = None
    if include_optimizer:
        optimizers = {name: _to_cpu(opt.state_dict()) for name, opt in trainer.objective.optimizers.items()}
    cuda_state = None
    if trainer.device.type == "cuda" and torch.cuda.is_available():
        cuda_state = torch.cuda.get_rng_state(trainer.device)
    return {
        "format": FORMAT,
        "version": VERSION,
        "metadata": {
            "model": trainer.config.model,
            "family": trainer.family,
            "num_parameters": {k: int(v) for k, v in trainer.model.num_parameters().items()},
            "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "torch_version": str(torch.__version__),
            "device": str(trainer.device),
            "dataset": trainer.data.name,           # may be mnist-mini after a fallback
            "half": bool(half),
            "include_optimizer": bool(include_optimizer),
        },
        "config": json.dumps(trainer.config.to_dict()),
        "model": model_state,
        "optimizers": optimizers,
        "trainer": {
            "step": int(trainer.step),
            "epoch": int(trainer.epoch),
            "elapsed": float(trainer.elapsed),
            "steps_per_epoch": int(trainer.steps_per_epoch),
            # Non-zero only when stopped mid-epoch (Ctrl-C / Stop): resume continues inside the epoch.
            "epoch_step": int(trainer._epoch_step) if trainer._epoch_iter is not None else 0,
            "epoch_sums": ({k: float(v) for k, v in trainer._epoch_sums.items()}
                           if trainer._epoch_iter is not None else {}),
        },
        "history": (json.dumps({"steps": trainer.history.steps, "epochs": trainer.history.epochs})
                    if include_history else None),
        "batcher": {k: int(v) for k, v in trainer.batcher.state_dict().items()},
        "rng": {
            "trainer": trainer.rng.get_state().clone(),
            "trainer_device": trainer.rng.device.type,
            "torch_cpu": torch.get_rng_state(),
            "torch_cuda": cuda_state,
        },
        "snapshots": [snapshot_to_dict(s) for s in trainer.snapshots] if include_history else None,
    }


def save_checkpoint(trainer: Trainer, path: str | os.PathLike, *, include_optimizer: bool = True,
                    half: bool = False) -> Path:
    """Write `trainer`'s full state to `path`, atomically; returns the path.

    include_optimizer=False and half=True give a small weights-only file (for sampling and
    shipping); such a file cannot be resumed exactly. The file is written to a temporary
    name in the same folder, flushed to disk and renamed over `path`, so a crash or a
    full disk mid-write leaves any previous checkpoint intact.
    """
    payload = checkpoint_payload(trainer, include_optimizer=include_optimizer, half=half)
    return _atomic_torch_save(payload, Path(path))


def atomic_write(path: Path, write: Callable[[BinaryIO], None], *, durable: bool = True) -> Path:
    """Write a file via `write(f)` to a temp name beside `path`, fsync, then rename over `path`.

    A crash or a full disk mid-write leaves any previous file intact and no temp file behind.
    durable=False skips both fsyncs (file and folder, ~8 ms here): readers still never see a
    half-written file, but after a power cut the file may be missing or empty. Only for files
    whose loss the reader tolerates (per-epoch pictures).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    if durable:
        _fsync_dir(path.parent)
    return path


def _atomic_torch_save(payload: dict, path: Path) -> Path:
    return atomic_write(path, lambda f: torch.save(payload, f))


atomic_torch_save = _atomic_torch_save  # public name: other modules write their own files with it


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); best effort elsewhere."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------

def _fail(message: str) -> CheckpointError:
    return CheckpointError(" ".join(message.split()))  # always one line


def _read_source(source, max_bytes: int) -> tuple[bytes, str | None]:
    """The file's bytes (at most max_bytes) and its path when it has one."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if len(data) > max_bytes:
            raise _fail(f"checkpoint is too large: {len(data):,} bytes (the limit is {max_bytes:,}).")
        return data, None
    if hasattr(source, "read"):
        data = source.read(max_bytes + 1)
        if not isinstance(data, (bytes, bytearray)):
            raise _fail("checkpoint must be read from a binary file, not a text file.")
        if len(data) > max_bytes:
            raise _fail(f"checkpoint is too large: more than {max_bytes:,} bytes.")
        name = getattr(source, "name", None)
        return bytes(data), name if isinstance(name, str) else None
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise _fail(f"checkpoint file not found: {path}")
        if path.is_dir():
            raise _fail(f"{path} is a folder, not a checkpoint file.")
        size = path.stat().st_size
        if size > max_bytes:
            raise _fail(f"checkpoint {path} is too large: {size:,} bytes (the limit is {max_bytes:,}).")
        try:
            return path.read_bytes(), str(path)
        except OSError as e:
            raise _fail(f"cannot read checkpoint {path}: {e.strerror or e}") from None
    raise _fail(f"cannot read a checkpoint from a {type(source).__name__}; give a path, bytes or a binary file.")


def _check_archive(data: bytes, max_bytes: int) -> None:
    """Before unpickling: every record stored (not compressed), their total size within the cap.

    torch.save writes uncompressed records; a DEFLATE record is a crafted file, and a 1.7 MB one
    can expand to 512 MiB inside torch.load. So the sizes are read from the zip directory and
    checked before a byte is inflated."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as e:
        raise _fail(f"checkpoint is corrupt or not a PyTorch file: {e}") from None
    if len(infos) > 10_000:
        raise _fail(f"checkpoint has {len(infos):,} records; a gen_core checkpoint has a few hundred at most.")
    total = 0
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED:
            raise _fail(f"refused to load checkpoint: its record {info.filename[-60:]!r} is compressed, which "
                        "torch.save never does (a crafted file?).")
        total += info.file_size
    if total > max_bytes:
        raise _fail(f"checkpoint is too large: its records hold {total:,} bytes (the limit is {max_bytes:,}).")


def _check_tensors(payload: Any, max_bytes: int) -> None:
    """Every tensor owns the bytes it claims: contiguous, no zero strides, storage big enough; all
    together no more than the file's size. (A 17 KB file can otherwise hold 8192×8192 "weights" as
    zero-stride views of one number, which become 256 MB each as soon as they are copied.)"""
    total = 0
    stack, seen = [payload], 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > 1_000_000:
            raise _fail("checkpoint is damaged: it nests too many objects.")
        if isinstance(item, torch.Tensor):
            if item.layout != torch.strided or item.is_sparse:
                raise _fail("refused to load checkpoint: it holds a sparse or non-strided tensor.")
            nbytes = item.numel() * item.element_size()
            if item.numel() > 1 and (not item.is_contiguous() or any(s == 0 for s in item.stride())):
                raise _fail("refused to load checkpoint: it holds tensors that are views (zero or "
                            "non-contiguous strides) rather than their own data (a crafted file?).")
            if item.untyped_storage().nbytes() < nbytes + item.storage_offset() * item.element_size():
                raise _fail("refused to load checkpoint: a tensor claims more data than its storage holds.")
            total += nbytes
            if total > max_bytes:
                raise _fail(f"refused to load checkpoint: its tensors claim more than {max_bytes:,} bytes.")
        elif isinstance(item, dict):
            stack.extend(item.values())
            stack.extend(k for k in item if isinstance(k, torch.Tensor))
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


def _torch_load(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    if not data:
        raise _fail("checkpoint file is empty.")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise _fail("not a gen_core checkpoint: the file is not a PyTorch zip archive (truncated or corrupt?).")
    _check_archive(data, max_bytes)
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        names = []
    if not any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
        # A plain zip (photos, a project folder): torch would only say "[enforce fail at inline_container.cc]".
        raise _fail("not a gen_core checkpoint: this is a zip archive, but not one saved by PyTorch (it holds no "
                    "data.pkl). Choose a .pt file saved by this dashboard or by `python -m gen_core train`.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        # The weights-only unpickler stops at the first forbidden global, before it is called.
        lines = [ln.strip() for ln in str(e).splitlines() if "GLOBAL" in ln or "Unsupported" in ln]
        detail = f" ({lines[0]})" if lines else ""
        raise _fail("refused to load checkpoint: it contains Python objects that could run code when "
                    f"loaded; only plain tensors and data are accepted{detail}.") from None
    except Exception as e:  # noqa: BLE001 — corrupt archives raise RuntimeError, EOFError, KeyError, ...
        first = next((ln.strip() for ln in str(e).splitlines() if ln.strip()), type(e).__name__)
        first = re.sub(r"\[enforce fail at [^\]]*\]\s*\.?\s*", "", first).strip() or type(e).__name__
        raise _fail(f"checkpoint is corrupt or not a PyTorch file: {first[:200]}") from None


def _need(ok: bool, what: str) -> None:
    if not ok:
        raise _fail(f"checkpoint is damaged: {what}.")


def _as_int(value, what: str) -> int:
    _need(isinstance(value, int) and not isinstance(value, bool) and value >= 0, f"{what} must be a whole number")
    return value


def _describe_config(cfg: TrainConfig) -> str:
    parts = []
    for f in dataclasses.fields(cfg.model_config):
        v = getattr(cfg.model_config, f.name)
        parts.append(f"{f.name}={','.join(map(str, v)) if isinstance(v, tuple) else v}")
    return f"{cfg.model} with {', '.join(parts)}"


def _build_with_weights(cfg: TrainConfig, state: dict) -> nn.Module:
    """Build cfg's model without random init or memory for the weights, check the file fits, load it."""
    _need(isinstance(state, dict) and all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                          for k, v in state.items()),
          "'model' must map parameter names to tensors")
    with torch.device("meta"):
        model = build_model_for(cfg)
    expected = model.state_dict()
    problems = []
    for key in expected:
        if key not in state:
            problems.append(f"missing {key}")
    for key in state:
        if key not in expected:
            problems.append(f"unexpected {key}")
    for key, want in expected.items():
        got = state.get(key)
        if got is None:
            continue
        if tuple(got.shape) != tuple(want.shape):
            problems.append(f"{key} has shape {tuple(got.shape)} but the model needs {tuple(want.shape)}")
        elif want.is_floating_point() != got.is_floating_point() or (
                not want.is_floating_point() and got.dtype != want.dtype) or got.is_complex():
            problems.append(f"{key} is {got.dtype} but the model needs {want.dtype}")
    if problems:
        more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        raise _fail(f"weights do not fit {_describe_config(cfg)}: {'; '.join(problems[:3])}{more}")
    model.to_empty(device="cpu")
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()}, strict=True)
    return model.eval()


def _history(text) -> History:
    _need(isinstance(text, str), "'history' must be a JSON string")
    # Counted before parsing: json.loads of millions of records holds the GIL for seconds.
    if len(text) > MAX_HISTORY_CHARS or text.count("{") > MAX_HISTORY_RECORDS + 1:
        raise _fail(f"checkpoint history is too long (more than {MAX_HISTORY_RECORDS:,} records, or "
                    f"{MAX_HISTORY_CHARS >> 20} MB of text); this dashboard writes far fewer.")
    try:
        data = json.loads(text)
    except ValueError:
        raise _fail("checkpoint is damaged: its history is not valid JSON.") from None
    _need(isinstance(data, dict) and isinstance(data.get("steps"), list) and isinstance(data.get("epochs"), list)
          and all(isinstance(r, dict) for r in data["steps"] + data["epochs"]),
          "'history' must hold lists of step and epoch records")
    return History(steps=data["steps"], epochs=data["epochs"])


def snapshots_from_dicts(items) -> list[EpochSnapshot]:
    """EpochSnapshots from `snapshot_to_dict` output read back from a file. Raises CheckpointError."""
    return _snapshots(items)


def _snapshots(items) -> list[EpochSnapshot]:
    _need(isinstance(items, list), "'snapshots' must be a list")
    out = []
    for item in items:
        _need(isinstance(item, dict), "each snapshot must be a dict")
        arrays = {}
        for name in _SNAPSHOT_ARRAYS:
            t = item.get(name)
            _need(t is None or (isinstance(t, torch.Tensor) and t.dtype == _SNAPSHOT_DTYPES[name]),
                  f"snapshot {name} must be a {_SNAPSHOT_DTYPES[name]} tensor or None")
            arrays[name] = None if t is None else t.numpy()
        _need(arrays["samples"] is not None, "a snapshot has no samples")
        out.append(EpochSnapshot(epoch=_as_int(item.get("epoch"), "snapshot epoch"),
                                 step=_as_int(item.get("step"), "snapshot step"), **arrays))
    return out


def load_checkpoint(source: str | os.PathLike | bytes | BinaryIO, *,
                    max_bytes: int = DEFAULT_MAX_BYTES, untrusted: bool = False) -> Checkpoint:
    """Load a checkpoint from a path, bytes or a binary file object. Safe for untrusted files.

    Only `torch.load(..., weights_only=True)` touches the data, after the archive's records are
    checked (stored, within `max_bytes`), and then it is checked field by field: tensors must own
    their data, the history is bounded before it is parsed, the model is sized on the meta device
    from the config before its weights are allocated. Any problem raises `CheckpointError` with a
    one-line message. `untrusted` (uploads, files from elsewhere): the config's `data_root` and
    `device` are dropped (a stranger's file must not pick server paths or devices) and metadata
    keeps plain values only.
    """
    data, path = _read_source(source, max_bytes)
    payload = _torch_load(data, max_bytes)
    limit = len(data)
    del data
    try:
        _check_tensors(payload, limit)
        ck = _from_payload(payload, path, untrusted=untrusted)
        del payload
        return ck
    except CheckpointError:
        raise
    except Exception as e:  # noqa: BLE001 — a crafted file must never escape as anything else
        raise _fail(f"checkpoint is damaged: {type(e).__name__}: {e}") from None


def load_checkpoint_bytes(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Checkpoint:
    """`load_checkpoint` for an upload already in memory."""
    return load_checkpoint(bytes(data), max_bytes=max_bytes)


def _plain(value, depth: int = 0):
    """Metadata as JSON-like values only (no tensors, bounded depth and size)."""
    if depth > 6:
        return None
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value[:10_000]
    if isinstance(value, dict):
        return {str(k)[:200]: _plain(v, depth + 1) for k, v in list(value.items())[:500]
                if not isinstance(v, torch.Tensor)}
    if isinstance(value, (list, tuple)):
        return [_plain(v, depth + 1) for v in list(value)[:2000] if not isinstance(v, torch.Tensor)]
    return None


def _from_payload(payload, path: str | None, *, untrusted: bool = False) -> Checkpoint:
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise _fail("not a gen_core checkpoint: the file has no gen_core format marker.")
    version = payload.get("version")
    _need(isinstance(version, int) and not isinstance(version, bool), "'version' must be a whole number")
    if version > VERSION:
        raise _fail(f"checkpoint has format version {version}, made by a newer gen_core; "
                    f"this one reads version {VERSION} and older.")
    if version < 1:
        raise _fail(f"checkpoint has unknown format version {version}.")

    config_text = payload.get("config")
    _need(isinstance(config_text, str), "'config' must be a JSON string")
    try:
        config = TrainConfig.from_dict(json.loads(config_text))
    except ConfigError as e:
        raise _fail(f"checkpoint has an invalid config: {e}") from None
    except (ValueError, TypeError) as e:
        raise _fail(f"checkpoint has an unreadable config: {e}") from None
    if untrusted:
        config = config.replace(data_root=None, device="auto")

    model = _build_with_weights(config, payload.get("model"))

    metadata = payload.get("metadata", {})
    _need(isinstance(metadata, dict), "'metadata' must be a dict")
    metadata = _plain(metadata)
    metadata.setdefault("model", config.model)
    metadata.setdefault("family", get_model_spec(config.model).family)
    metadata.setdefault("num_parameters", model.num_parameters())

    state = payload.get("trainer", {})
    _need(isinstance(state, dict), "'trainer' must be a dict")
    elapsed = state.get("elapsed", 0.0)
    _need(isinstance(elapsed, (int, float)) and not isinstance(elapsed, bool) and math.isfinite(elapsed),
          "'elapsed' must be a number")
    epoch_sums = state.get("epoch_sums", {})
    _need(isinstance(epoch_sums, dict) and all(isinstance(k, str) and isinstance(v, (int, float))
                                               for k, v in epoch_sums.items()), "'epoch_sums' must map names to numbers")

    optimizers = payload.get("optimizers")
    _need(optimizers is None or (isinstance(optimizers, dict) and all(isinstance(v, dict) for v in optimizers.values())),
          "'optimizers' must map names to optimizer states")
    batcher = payload.get("batcher")
    _need(batcher is None or isinstance(batcher, dict), "'batcher' must be a dict")
    rng = payload.get("rng") or {}
    _need(isinstance(rng, dict), "'rng' must be a dict")
    for key in ("trainer", "torch_cpu", "torch_cuda"):
        _need(rng.get(key) is None or (isinstance(rng[key], torch.Tensor) and rng[key].dtype == torch.uint8),
              f"RNG state {key!r} must be a uint8 tensor")

    return Checkpoint(
        config=config, model=model, history=_history(payload.get("history") or '{"steps": [], "epochs": []}'),
        snapshots=_snapshots(payload.get("snapshots") or []), metadata=metadata,
        step=_as_int(state.get("step", 0), "'step'"), epoch=_as_int(state.get("epoch", 0), "'epoch'"),
        elapsed=float(elapsed), optimizer_states=optimizers, batcher_state=batcher,
        rng_state=rng.get("trainer"), rng_device=str(rng.get("trainer_device", "cpu")),
        torch_rng_state=rng.get("torch_cpu"), cuda_rng_state=rng.get("torch_cuda"),
        epoch_step=_as_int(state.get("epoch_step", 0), "'epoch_step'"),
        epoch_sums={k: float(v) for k, v in epoch_sums.items()},
        steps_per_epoch=(_as_int(state["steps_per_epoch"], "'steps_per_epoch'") if "steps_per_epoch" in state else None),
        version=version, source=path)


# ---------------------------------------------------------------------------
# Resuming and sampling
# ---------------------------------------------------------------------------

def resume_problem(checkpoint: Checkpoint) -> str | None:
    """Why `resume_trainer` would refuse this checkpoint, as far as can be told without building a
    Trainer (no model, data or optimiser: a page thread may ask, gen_core.threads says why it must not
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


def match_param_layouts(opt: torch.optim.Optimizer) -> None:
    """Give each per-parameter state tensor (Adam's moments) its parameter's memory layout.

    Files hold contiguous tensors and load_state_dict keeps that layout, but a channels-last
    parameter needs channels-last moments: torch's fused CPU Adam walks all of them by raw
    index, so mixed layouts give wrong updates (measured: 0.18 off after one step at lr 0.1).
    """
    for group in opt.param_groups:
        for p in group["params"]:
            for key, value in opt.state.get(p, {}).items():
                if (isinstance(value, torch.Tensor) and value.shape == p.shape and value.dim() == 4
                        and value.stride() != p.stride()):
                    opt.state[p][key] = torch.empty_like(p, dtype=value.dtype).copy_(value)


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


def sample_grid(checkpoint_or_model: Checkpoint | nn.Module, n: int = 64, seed: int = 0,
                nrow: int | None = None) -> np.ndarray:
    """n samples from z ~ N(0, I) (reproducible per seed) as one uint8 grid image (H, W) or (H, W, 3)."""
    model = checkpoint_or_model.model if isinstance(checkpoint_or_model, Checkpoint) else checkpoint_or_model
    if not (isinstance(n, int) and 1 <= n <= 1024):
        raise ConfigError(f"n must be a whole number between 1 and 1,024, got {n!r}.")
    return make_grid(to_uint8(sample(model, n, seed)), nrow=nrow)


def sample_array(checkpoint_or_model: Checkpoint | nn.Module, n: int = 2000, seed: int = 0) -> np.ndarray:
    """n samples from z ~ N(0, I) (reproducible per seed) as uint8 (n, C, H, W), decoded in batches."""
    model = checkpoint_or_model.model if isinstance(checkpoint_or_model, Checkpoint) else checkpoint_or_model
    if not (isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 1_000_000):
        raise ConfigError(f"n must be a whole number between 1 and 1,000,000, got {n!r}.")
    z = torch.randn(n, model.latent_dim, generator=torch.Generator().manual_seed(seed))
    return np.concatenate([to_uint8(decode(model, chunk)) for chunk in z.split(500)])


__all__ = ["Checkpoint", "CheckpointError", "FORMAT", "VERSION", "DEFAULT_MAX_BYTES", "UPLOAD_MAX_BYTES",
           "checkpoint_payload",
           "save_checkpoint", "atomic_torch_save", "load_checkpoint", "load_checkpoint_bytes", "resume_trainer", "resume_problem", "sample_grid", "sample_array"]
