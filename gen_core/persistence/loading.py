"""Loading checkpoints from files nobody vouches for: size and archive checks before parsing, tensors
checked before use, the model's size from its config before any weight is allocated.
"""
from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import torch
from torch import nn

from gen_core.config.checks import ConfigError
from gen_core.config.train import TrainConfig
from gen_core.models.registry import get_model_spec
from gen_core.objectives.tricks import build_model_for
from gen_core.persistence.checkpoints import (_SNAPSHOT_ARRAYS, _SNAPSHOT_DTYPES, DEFAULT_MAX_BYTES, FORMAT,
                                              MAX_HISTORY_CHARS, MAX_HISTORY_RECORDS, VERSION, Checkpoint,
                                              CheckpointError)
from gen_core.training.history import EpochSnapshot, History


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
