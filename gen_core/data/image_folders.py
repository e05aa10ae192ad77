"""Your own images: a folder (optionally one subfolder per class) or a zip of PNG / JPEG files,
centre-cropped and resized to a square side (32 or 64 px), grey or RGB, held as uint8 like the
built-in datasets (an `ImageData`).

Built for files a student uploads, some of them crafted:
  * caps on the number of files and on the bytes read (per file and in total), checked before
    anything is decoded; images over `MAX_PIXELS` are skipped before their pixels are loaded
    (PIL's decompression-bomb guard);
  * zip entries with absolute paths or `..` components are refused (nothing is extracted to
    disk anyway: every entry is decoded in memory); a zip whose entries declare more bytes than
    the cap, or whose data inflates past what it declares, is refused after reading at most
    cap + 1 bytes — bounded memory whatever the archive claims;
  * corrupt or non-image files are skipped and counted; an empty result is a clear error;
  * mixed sizes and aspect ratios are fine: every image is centre-cropped, then resized.
"""
from __future__ import annotations

import functools
import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from PIL import Image

from gen_core.config.checks import ConfigError
from gen_core.data.images import ImageData


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_FILES = 20_000
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_TOTAL_BYTES = 256 * 1024 * 1024
MAX_PIXELS = 40_000_000           # one 6,300 × 6,300 photo; larger ones are skipped unread
MAX_COMPRESSION_RATIO = 200       # a zip entry inflating more than this is a bomb, not an image
SIDES = (32, 64)
TEST_FRACTION = 0.1


class ImageFolderError(ConfigError):
    """The folder or zip cannot be used. The message is meant for end users (a ConfigError, so the CLI and
    the pages report it like any bad setting)."""


@dataclass
class LoadReport:
    found: int = 0          # image files seen
    loaded: int = 0
    corrupt: int = 0        # could not be decoded
    too_large: int = 0      # over MAX_PIXELS or MAX_FILE_BYTES
    ignored: int = 0        # not PNG/JPEG, hidden, or outside class folders

    def text(self) -> str:
        parts = []
        if self.corrupt:
            parts.append(f"{self.corrupt} corrupt file{'s' if self.corrupt != 1 else ''} skipped")
        if self.too_large:
            parts.append(f"{self.too_large} too large skipped")
        if self.ignored:
            parts.append(f"{self.ignored} non-image file{'s' if self.ignored != 1 else ''} ignored")
        return "; ".join(parts)


def _is_image_name(name: str) -> bool:
    base = PurePosixPath(name).name
    return not base.startswith(".") and base.lower().endswith(IMAGE_SUFFIXES)


def to_square(image: Image.Image, side: int, channels: int) -> np.ndarray:
    """Centre-crop to a square, resize to side×side; (side, side) for grey, (3, side, side) for RGB."""
    mode = "L" if channels == 1 else "RGB"
    if image.mode in ("RGBA", "LA", "P"):  # transparent backgrounds become white, not black
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    image = image.convert(mode)
    w, h = image.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    image = image.crop((left, top, left + s, top + s)).resize((side, side), Image.Resampling.LANCZOS)
    arr = np.asarray(image, dtype=np.uint8)
    return arr if channels == 1 else arr.transpose(2, 0, 1)


def decode_image(data: bytes, side: int, channels: int) -> np.ndarray:
    """Bytes of one PNG/JPEG → uint8 array. Raises ValueError (corrupt) or OverflowError (too large)."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format not in ("PNG", "JPEG", "MPO"):
                raise ValueError(f"not a PNG or JPEG ({im.format})")
            if im.size[0] * im.size[1] > MAX_PIXELS:
                raise OverflowError("too many pixels")
            im.load()
            return to_square(im, side, channels)
    except (OverflowError, ValueError):
        raise
    except Exception as e:  # PIL raises many types for truncated / crafted files
        raise ValueError(f"cannot decode: {type(e).__name__}") from None


# ---------------------------------------------------------------------------
# Listing entries: (class name or "", display name, read() -> bytes, size)
# ---------------------------------------------------------------------------

def _class_of(parts: tuple[str, ...]) -> str | None:
    """'' for a file at the top, the folder name for one level down, None deeper or hidden."""
    if any(p.startswith(".") or p == "__MACOSX" for p in parts[:-1]):
        return None
    if len(parts) == 1:
        return ""
    return parts[0] if len(parts) == 2 else None


def _folder_entries(root: Path):
    if not root.is_dir():
        raise ImageFolderError(f"{root} is not a folder or a .zip file.")
    entries = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in sorted(filenames):
            path = Path(dirpath) / fn
            rel = path.relative_to(root).parts
            if path.is_symlink():
                entries.append((None, str(path), None, 0))
                continue
            entries.append((_class_of(rel), "/".join(rel), path, path.stat().st_size))
            if len(entries) > MAX_FILES * 2:
                raise ImageFolderError(f"{root} holds more than {MAX_FILES:,} files: use a smaller folder.")
    return entries


def _zip_entries(zf: zipfile.ZipFile):
    entries = []
    infos = [i for i in zf.infolist() if not i.is_dir()]
    if len(infos) > MAX_FILES * 2:
        raise ImageFolderError(f"the zip holds {len(infos):,} files; the limit is {MAX_FILES:,} images.")
    declared = 0
    for info in infos:
        name = info.filename.replace("\\", "/")
        parts = PurePosixPath(name).parts
        if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
            raise ImageFolderError(f"refused: the zip entry {name[:80]!r} points outside the archive's folder "
                                   "(absolute path or '..').")
        declared += info.file_size
        if info.compress_size and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO \
                and info.file_size > 1024 * 1024:
            raise ImageFolderError(f"refused: {name[:80]!r} inflates {info.file_size // info.compress_size}× "
                                   "(a zip bomb, not images).")
        entries.append((_class_of(parts), name, info, info.file_size))
    if declared > MAX_TOTAL_BYTES:
        raise ImageFolderError(f"refused: the zip unpacks to {declared / 2**20:,.0f} MB; the limit is "
                               f"{MAX_TOTAL_BYTES / 2**20:,.0f} MB.")
    return entries


def _read_bounded(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """At most `limit` bytes of an entry; more means it lied about its size (ZipFile checks CRCs too)."""
    with zf.open(info) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise OverflowError("entry larger than declared")
    return data


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------

def load_images(source: str | os.PathLike | bytes, **kwargs) -> ImageData:
    """`load_images_report` without the counts."""
    return load_images_report(source, **kwargs)[0]


def load_images_report(source: str | os.PathLike | bytes, *, image_size: int = 32, channels: int = 3,
                       name: str | None = None, seed: int = 0, max_files: int = MAX_FILES,
                       max_total_bytes: int = MAX_TOTAL_BYTES) -> tuple[ImageData, LoadReport]:
    """A folder path, a .zip path, or the bytes of a zip → `ImageData` (uint8, 90/10 train/test split).

    Classes: one per top-level subfolder holding images; with no subfolders, a single class.
    Raises ImageFolderError with a message for users.
    """
    if image_size not in SIDES:
        raise ImageFolderError(f"image size must be one of {', '.join(map(str, SIDES))} px, got {image_size}.")
    if channels not in (1, 3):
        raise ImageFolderError(f"channels must be 1 (grey) or 3 (RGB), got {channels}.")
    zf = None
    if isinstance(source, (bytes, bytearray)):
        if len(source) > max_total_bytes:
            raise ImageFolderError(f"the upload is {len(source) / 2**20:,.0f} MB; the limit is "
                                   f"{max_total_bytes / 2**20:,.0f} MB.")
        try:
            zf = zipfile.ZipFile(io.BytesIO(source))
        except zipfile.BadZipFile:
            raise ImageFolderError("that file is not a zip archive.") from None
        label = name or "upload"
    else:
        path = Path(source)
        label = name or path.stem
        if path.is_file():
            try:
                zf = zipfile.ZipFile(path)
            except zipfile.BadZipFile:
                raise ImageFolderError(f"{path.name} is not a zip archive (give a folder or a .zip).") from None
        elif not path.exists():
            raise ImageFolderError(f"{path} does not exist.")
    try:
        entries = _zip_entries(zf) if zf is not None else _folder_entries(Path(source))
        return _decode_all(entries, zf, label=label, side=image_size, channels=channels, seed=seed,
                           max_files=max_files, max_total_bytes=max_total_bytes, where=str(source)[:200]
                           if not isinstance(source, (bytes, bytearray)) else "the upload")
    finally:
        if zf is not None:
            zf.close()


def _decode_all(entries, zf, *, label, side, channels, seed, max_files, max_total_bytes, where) -> ImageData:
    report = LoadReport()
    images = [e for e in entries if e[0] is not None and _is_image_name(e[1])]
    report.ignored = len(entries) - len(images)
    class_names = sorted({c for c, *_ in images if c})
    if class_names:  # images at the top next to class folders belong to no class
        loose = [e for e in images if not e[0]]
        report.ignored += len(loose)
        images = [e for e in images if e[0]]
    report.found = len(images)
    if not images:
        raise ImageFolderError(f"no PNG or JPEG images found in {where} (looked at the top level and one "
                               "level of class subfolders).")
    if len(images) > max_files:
        raise ImageFolderError(f"{len(images):,} images is more than the limit of {max_files:,}: use fewer.")
    index = {c: i for i, c in enumerate(class_names)}
    arrays, labels, total = [], [], 0
    for cls, shown, handle, size in images:
        if size > MAX_FILE_BYTES:
            report.too_large += 1
            continue
        total += size
        if total > max_total_bytes:
            raise ImageFolderError(f"the images add up to more than {max_total_bytes / 2**20:,.0f} MB: use fewer "
                                   "or smaller files.")
        try:
            data = _read_bounded(zf, handle, MAX_FILE_BYTES) if zf is not None else handle.read_bytes()
            arrays.append(decode_image(data, side, channels))
            labels.append(index.get(cls, 0))
        except OverflowError:
            report.too_large += 1
        except (ValueError, OSError, zipfile.BadZipFile, EOFError, RuntimeError):
            report.corrupt += 1
    report.loaded = len(arrays)
    if not arrays:
        raise ImageFolderError(f"none of the {report.found} image files in {where} could be read "
                               f"({report.text()}).")
    x = torch.from_numpy(np.stack(arrays))
    y = torch.tensor(labels, dtype=torch.int64)
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=g)
    n_test = int(len(x) * TEST_FRACTION) if len(x) >= 10 else 0
    test, train = order[:n_test], order[n_test:]
    classes = tuple(class_names) or (label,)
    colour = "grey" if channels == 1 else "RGB"
    message = (f"{label}: {len(train):,} train / {len(test):,} test images, {side}×{side} {colour}, "
               f"{len(classes)} class{'es' if len(classes) != 1 else ''}"
               + (f" ({', '.join(classes[:8])}{'…' if len(classes) > 8 else ''})" if class_names else "")
               + (f"; {report.text()}" if report.text() else ""))
    data = ImageData(name=f"folder:{label}", requested=f"folder:{label}",
                     train_images=x[train].contiguous(), train_labels=y[train],
                     test_images=x[test].contiguous(), test_labels=y[test],
                     source="folder", root=None, message=message, classes=classes)
    return data, report


# ---------------------------------------------------------------------------
# Uploaded sets kept for resuming: an upload lives in one browser session's memory, but a run trained
# on it must continue after a server restart. The decoded uint8 arrays (already capped on upload) are
# written once under the runs dir, named by their content hash, and the run's config says
# "folder:<that file>": a new process reads them back like any folder dataset.
# ---------------------------------------------------------------------------

STORED_FOLDER = "datasets"   # under the runs dir; holds no run.json, so never listed as a run
STORED_SUFFIX = ".npz"
_STORED_KEYS = ("train_images", "train_labels", "test_images", "test_labels")


def content_hash(data: ImageData) -> str:
    """sha256 of the pixels, labels and class names: the same images give the same name."""
    h = hashlib.sha256()
    for key in _STORED_KEYS:
        t = getattr(data, key).contiguous().numpy()
        h.update(f"{key}{t.dtype}{t.shape}".encode())
        h.update(t.tobytes())
    h.update("\0".join(data.classes).encode())
    return h.hexdigest()[:32]


def is_stored_path(path: str) -> bool:
    return path.endswith(STORED_SUFFIX) and PurePosixPath(path.replace("\\", "/")).parent.name == STORED_FOLDER


def _stored_hash(path: Path) -> str:
    return path.stem.rsplit("-", 1)[-1]


def shown_dataset(name: str) -> str:
    """How lists and captions name a dataset: a stored upload by its name ("folder:mine"), not its file."""
    if isinstance(name, str) and name.startswith("folder:") and is_stored_path(name[len("folder:"):]):
        stem = PurePosixPath(name.replace("\\", "/")).stem
        return "folder:" + (stem.rsplit("-", 1)[0] if "-" in stem else stem[:8])
    return name


def store_images(data: ImageData, runs_dir: str | os.PathLike) -> Path:
    """Write `data` once as runs_dir/datasets/<name>-<hash>.npz (atomically; kept if already there; the name
    only makes the folder readable, the hash is the key). OSError if it cannot."""
    folder = Path(runs_dir) / STORED_FOLDER
    label = "".join(ch for ch in data.name.removeprefix("folder:") if ch.isalnum() or ch in "_")[:40] or "upload"
    path = folder / f"{label}-{content_hash(data)}{STORED_SUFFIX}"
    if path.is_file():
        return path.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **{k: getattr(data, k).numpy() for k in _STORED_KEYS},
                     classes=np.array(data.classes, dtype=str), name=np.array(data.name),
                     message=np.array(data.message))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path.resolve()


def load_stored_images(path: str | os.PathLike) -> ImageData:
    """Read a set written by `store_images`; ImageFolderError (one line) when it is missing or damaged."""
    p = Path(path)
    what = "the uploaded images this run was trained on"
    if not p.is_file():
        raise ImageFolderError(f"{what} are no longer stored ({p.name} is missing from {p.parent}); "
                               "upload them again and start a new run.")
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: torch.from_numpy(np.ascontiguousarray(z[k])) for k in _STORED_KEYS}
            classes, name, message = tuple(str(c) for c in z["classes"]), str(z["name"]), str(z["message"])
        if arrays["train_images"].dtype != torch.uint8 or arrays["train_images"].dim() not in (3, 4):
            raise ValueError("not uint8 images")
        data = ImageData(name=name, requested=name, **{k: v if "images" in k else v.long()
                                                        for k, v in arrays.items()},
                         source="folder", root=None, message=message, classes=classes)
    except ImageFolderError:
        raise
    except Exception as e:  # noqa: BLE001 — truncated or edited files raise many types
        raise ImageFolderError(f"{what} ({p.name}) are damaged and cannot be read "
                               f"({type(e).__name__}); upload them again and start a new run.") from None
    if content_hash(data) != _stored_hash(p):
        raise ImageFolderError(f"{what} ({p.name}) are damaged: their content does not match the stored hash; "
                               "upload them again and start a new run.")
    return data


@functools.lru_cache(maxsize=4)
def _cached(path: str, mtime: float, image_size: int, channels: int) -> ImageData:
    return load_images(path, image_size=image_size, channels=channels)


@functools.lru_cache(maxsize=4)
def _cached_stored(path: str, mtime: float) -> ImageData:
    return load_stored_images(path)


def load_folder_dataset(path: str, image_size: int = 32, channels: int = 3) -> ImageData:
    """`load_images` of a folder or .zip path, cached per process (re-read when it changes)."""
    p = Path(path)
    if is_stored_path(str(path)):
        return _cached_stored(str(p), p.stat().st_mtime if p.is_file() else 0.0)
    if not p.exists():
        raise ImageFolderError(f"{path} does not exist (a folder of images or a .zip was expected; an uploaded "
                               "set lives only in the page that uploaded it).")
    return _cached(str(p.resolve()), p.stat().st_mtime, image_size, channels)
