"""Pick a trained model to look at: a run in the registry, a checkpoint file, or an upload.

A choice is a *source key* string ("run:<id>", "file:<path>", "upload:<sha1>") so it can sit in
session state and a fragment can re-resolve it every second (a live run's model changes at each
epoch end). `resolve(key)` turns it into a `gen_core.classroom.model_views.ModelView`.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path

import streamlit as st

from gen_core.classroom.model_views import ModelView, view_from_checkpoint

from . import state


REPO = Path(__file__).resolve().parents[1]
SHIPPED_DIR = REPO / "checkpoints"
CHECKPOINT_DIRS: tuple | None = None   # tests set this; None: the two folders below


def checkpoint_dirs() -> tuple[Path, ...]:
    """Shipped checkpoints, then the ones saved from this dashboard (GEN_CORE_RUNS_DIR, git-ignored)."""
    return CHECKPOINT_DIRS if CHECKPOINT_DIRS is not None else (SHIPPED_DIR, state.runs_dir())
UPLOAD = "upload"
UPLOADS = "uploaded_digest"  # session key: the content hash of this session's upload (the model is shared)
# Checkpoint files: a small summary per (path, mtime, size) for the pickers (up to 2,000 files, a few
# hundred bytes each), and at most a few full models. So a page with 200 files in runs/ stats 200
# files per render and loads none, instead of thrashing a 32-model cache (2.7-5.5 s per render).
FILE_MODELS_CACHED = 6
UPLOADS_CACHED = 4
_SUMMARIES: dict = {}
_SUMMARY_LOCK = threading.Lock()
_UPLOAD_VIEWS: "OrderedDict[str, tuple]" = OrderedDict()
_UPLOAD_LOCK = threading.Lock()
_UPLOAD_LOADING = threading.Lock()

try:
    from gen_core.persistence.checkpoints import CheckpointError
    from gen_core.persistence.loading import load_checkpoint
except ImportError:  # pragma: no cover - only before checkpoints.py exists
    load_checkpoint = None

    class CheckpointError(ValueError):
        pass


def checkpoint_files() -> list[Path]:
    files: list[Path] = []
    for folder in checkpoint_dirs():
        if folder.is_dir():
            files.extend(sorted(p for p in folder.glob("*.pt") if p.is_file()))
    return files


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


@st.cache_resource(max_entries=FILE_MODELS_CACHED, show_spinner="Loading checkpoint…")
def _load_file(path: str, mtime: float, size: int = 0) -> tuple[ModelView | None, str | None, dict]:
    """(view, None, metadata) or (None, why not, {}). Cached either way, so a bad file is read once per change."""
    if load_checkpoint is None:
        return None, "checkpoint loading is not available in this version.", {}
    try:
        # Files in the runs folder may have come from anywhere: no data_root or device from them.
        ck = load_checkpoint(path, untrusted=True)
    except CheckpointError as e:
        return None, str(e), {}
    view = view_from_checkpoint(ck, key=f"file:{path}#{mtime}", label=f"checkpoint {Path(path).name}")
    return view, None, dict(ck.metadata or {})


def _stat_key(path: Path) -> tuple[str, float, int]:
    st_ = path.stat()
    return str(path), st_.st_mtime, st_.st_size


def _file_entry(path: Path) -> tuple[ModelView | None, str | None, dict]:
    try:
        return _load_file(*_stat_key(path))
    except OSError as e:
        return None, f"cannot read {path.name}: {e}", {}


def _summary(path: Path) -> dict:
    """{"ok", "error", "title", "latent", "family", "dataset"} of a file, read once per change."""
    try:
        key = _stat_key(path)
    except OSError as e:
        return {"ok": False, "error": f"cannot read {path.name}: {e}"}
    with _SUMMARY_LOCK:
        hit = _SUMMARIES.get(key)
    if hit is not None:
        return hit
    view, error, _ = _file_entry(path)
    summary = ({"ok": True, "error": None, "title": view.model_title, "latent": view.latent_dim,
                "family": view.family, "dataset": view.config.dataset} if view is not None
               else {"ok": False, "error": error})
    with _SUMMARY_LOCK:
        if len(_SUMMARIES) > 2000:
            _SUMMARIES.clear()
        _SUMMARIES[key] = summary
    return summary


def _file_view(path: Path) -> tuple[ModelView | None, str | None]:
    view, error, _ = _file_entry(path)
    return view, error


def _shared_upload(digest: str, data: bytes | None, name: str) -> tuple[ModelView | None, str | None, dict] | None:
    """One loaded model per *content*, shared by every session that uploads the same file (at most
    UPLOADS_CACHED, least recently used out; refusals are remembered too). None: not loaded and no data."""
    with _UPLOAD_LOCK:
        hit = _UPLOAD_VIEWS.get(digest)
        if hit is not None:
            _UPLOAD_VIEWS.move_to_end(digest)
            return hit
    if data is None:
        return None
    from gen_core.persistence.checkpoints import UPLOAD_MAX_BYTES
    with _UPLOAD_LOADING:  # one parse at a time: a class uploading together does not multiply the peak
        with _UPLOAD_LOCK:
            hit = _UPLOAD_VIEWS.get(digest)
        if hit is None:
            try:
                ck = load_checkpoint(data, max_bytes=UPLOAD_MAX_BYTES, untrusted=True)
                hit = (view_from_checkpoint(ck, key=f"upload:{digest}", label=f"upload {name}"), None,
                       dict(ck.metadata or {}))
                del ck
            except CheckpointError as e:
                hit = (None, str(e), {})
    with _UPLOAD_LOCK:
        _UPLOAD_VIEWS[digest] = hit
        while len(_UPLOAD_VIEWS) > UPLOADS_CACHED:
            _UPLOAD_VIEWS.popitem(last=False)
    return hit


def _load_upload(data: bytes, name: str, file_id: str | None = None) -> tuple[str, ModelView]:
    if load_checkpoint is None:
        raise CheckpointError("checkpoint loading is not available in this version.")
    known = st.session_state.get("_upload_file")
    if file_id is not None and known and known[0] == file_id:
        digest = known[1]                      # (hashing 64 MB on every rerun would cost ~0.1 s)
    else:
        digest = hashlib.sha256(data).hexdigest()[:24]
        st.session_state["_upload_file"] = (file_id, digest)
    view, error, _ = _shared_upload(digest, data, name)
    if error:
        raise CheckpointError(error)
    st.session_state[UPLOADS] = digest
    return f"upload:{digest}", view


def resolve(key: str | None) -> ModelView | None:
    """The model behind a source key; None when it has no model (yet). Raises CheckpointError."""
    if not key:
        return None
    kind, _, ref = key.partition(":")
    if kind == "run":
        return state.registry().view(ref)
    if kind == "file":
        path = Path(ref)
        if not path.is_file():
            raise CheckpointError(f"checkpoint file not found: {ref}")
        view, error = _file_view(path)
        if error:
            raise CheckpointError(error)
        return view
    if kind == "upload":
        hit = _shared_upload(ref, None, "") if st.session_state.get(UPLOADS) == ref else None
        return hit[0] if hit else None
    return None


def metadata(key: str | None) -> dict:
    """A checkpoint's metadata (file or upload); {} for runs and unknown keys."""
    if not key:
        return {}
    kind, _, ref = key.partition(":")
    if kind == "file":
        path = Path(ref)
        return _file_entry(path)[2] if path.is_file() else {}
    if kind == "upload":
        hit = _shared_upload(ref, None, "") if st.session_state.get(UPLOADS) == ref else None
        return hit[2] if hit else {}
    return {}


def shipped_scores(key: str | None) -> tuple[dict | None, dict | None]:
    """(metadata["metrics"], metadata["reference"]) a checkpoint carries, else (None, None)."""
    meta = metadata(key)
    metrics = meta.get("metrics") if isinstance(meta.get("metrics"), dict) else None
    reference = meta.get("reference") if isinstance(meta.get("reference"), dict) else None
    return metrics, reference


def run_options(family: str | None = None, *, mine: bool = False) -> dict[str, str]:
    """Runs this browser may see (a run still in its first epoch resolves to None until it has a model);
    with `mine`, only its own (and, for the teacher, every run)."""
    from . import identity
    me = identity.me()
    return {f"run:{info.run_id}": f"Run · {info.label} · {info.epochs} epochs"
                                  + ("" if info.owner == me else f" · {info.owner_name}")
            for info in state.registry().list(family, actor=identity.actor(), mine=mine)}


def file_options() -> dict[str, str]:
    """Checkpoint files that load as gen_core models (other .pt files, e.g. evaluators, are skipped)."""
    out = {}
    for p in checkpoint_files():
        info = _summary(p)
        if info["ok"]:
            out[f"file:{p}"] = f"Checkpoint · {_rel(p)} · {info['title']}, latent {info['latent']}"
    return out


def featured(model: str) -> str | None:
    """Picker key of the shipped checkpoint of `model` for the sidebar's dataset (else MNIST).

    The 2-D linear GAN and 2-D MLP VAE are the stars: same latent size, so the comparison page
    can decode one z-grid through both the moment it opens.
    """
    names = [f"{model}-{state.dataset()}.pt", f"{model}-mnist.pt"]
    for name in names:
        for p in checkpoint_files():
            if p.name == name and f"file:{p}" in file_options():
                return f"file:{p}"
    return None


def has_any_model() -> bool:
    """Any run (trained, or training) or loadable checkpoint file?"""
    return bool(run_options()) or bool(file_options())


def _dataset_of(key: str) -> str | None:
    return _summary(Path(key[5:])).get("dataset") if key.startswith("file:") else None


def _family_of(key: str) -> str | None:
    if key.startswith("run:"):
        info = state.registry().info(key[4:])
        return info.family if info else None
    if key.startswith("file:"):
        return _summary(Path(key[5:])).get("family")
    return None


def picker(label: str, *, key: str, family: str | None = None, default: str | None = None,
           prefer_family: str | None = None, avoid: str | None = None) -> str | None:
    """A selectbox of models (runs, checkpoint files, 'upload…'). Returns the chosen source key.

    family: only that family; prefer_family: list everything but start on that family's newest;
    avoid: start on another model than this one when there is a choice.
    """
    options = {**run_options(family), **file_options()}
    options[UPLOAD] = "Upload a checkpoint (.pt)…"
    keys = list(options)
    current = st.session_state.get(key)
    if current not in keys:  # first visit, a run that is gone, or nothing to pick before
        # Never open on someone else's run by itself (only through a link or a choice); among the
        # checkpoint files, those of the sidebar's dataset first.
        own = set(run_options(family, mine=True))
        files = [k for k in keys if k.startswith("file:")]
        files = [k for k in files if _dataset_of(k) == state.dataset()] + \
                [k for k in files if _dataset_of(k) != state.dataset()]
        models = [k for k in keys if k in own] + files
        ranked = ([default] if default in models else []) + \
                 [k for k in models if prefer_family and _family_of(k) == prefer_family] + models
        ranked = [k for k in ranked if k != avoid] + [k for k in ranked if k == avoid]
        st.session_state[key] = ranked[0] if ranked else None
    choice = st.selectbox(label, keys, format_func=options.get, key=key, placeholder="No model yet")
    if choice is None or choice != UPLOAD:
        return choice
    # A rejected file must not stay in the uploader (beside the message, it looks accepted): a new
    # uploader key empties it, and the message stays until the next file.
    n = st.session_state.get(f"{key}_file_n", 0)
    rejected = st.session_state.get(f"{key}_file_error")
    upload = st.file_uploader("Checkpoint file", type=["pt"], key=f"{key}_file_{n}",
                              help="A file saved by this dashboard or `python -m gen_core.cli`.")
    if upload is None:
        if rejected:
            st.error(rejected, icon=":material/error:")
        return None
    st.session_state.pop(f"{key}_file_error", None)
    try:
        source, _ = _load_upload(upload.getvalue(), upload.name, getattr(upload, "file_id", None))
    except CheckpointError as e:
        st.session_state[f"{key}_file_error"] = f"{upload.name} was not loaded: {e}"
        st.session_state[f"{key}_file_n"] = n + 1
        st.rerun()
    return source


def resolve_or_error(key: str | None) -> ModelView | None:
    """`resolve`, showing a CheckpointError as st.error instead of raising."""
    try:
        return resolve(key)
    except CheckpointError as e:
        st.error(str(e))
        return None
