"""Your own images: folders and zips, RGB and grey, 32 and 64 px, bad input refused clearly."""
import io
import tracemalloc
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from gen_core.data.image_folders import ImageFolderError, load_images, load_images_report


def _png(w=40, h=30, colour=(200, 30, 30), mode="RGB", fmt="PNG") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (w, h), colour if mode == "RGB" else 128).save(buf, format=fmt)
    return buf.getvalue()


@pytest.fixture
def folder(tmp_path):
    """Two class folders, mixed sizes and formats, a corrupt file and a text file."""
    for cls, colour in (("cats", (200, 30, 30)), ("dogs", (30, 30, 200))):
        d = tmp_path / cls
        d.mkdir()
        for i in range(6):
            (d / f"{i}.png").write_bytes(_png(40 + 7 * i, 30 + 3 * i, colour))
        (d / "photo.jpg").write_bytes(_png(64, 48, colour, fmt="JPEG"))
    (tmp_path / "cats" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (tmp_path / "notes.txt").write_text("hello")
    return tmp_path


@pytest.mark.parametrize("side", [32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_folder_with_classes(folder, side, channels):
    data, report = load_images_report(folder, image_size=side, channels=channels)
    assert data.classes == ("cats", "dogs")
    n = len(data.train_images) + len(data.test_images)
    assert n == 14 and report.corrupt == 1 and report.ignored == 1
    shape = (side, side) if channels == 1 else (channels, side, side)
    assert tuple(data.train_images.shape[1:]) == shape and data.train_images.dtype == torch.uint8
    assert "1 corrupt file skipped" in data.message
    # colours survive: cats are red, dogs blue (RGB)
    if channels == 3:
        x, y = data.train_images.float(), data.train_labels
        red = x[y == 0][:, 0].mean() > x[y == 0][:, 2].mean()
        blue = x[y == 1][:, 2].mean() > x[y == 1][:, 0].mean()
        assert red and blue


def test_flat_folder_is_one_class(tmp_path):
    for i in range(3):
        (tmp_path / f"{i}.png").write_bytes(_png())
    data = load_images(tmp_path, image_size=32, channels=3)
    assert data.classes == (tmp_path.name,) and len(data.train_images) == 3


def test_empty_folder(tmp_path):
    with pytest.raises(ImageFolderError, match="no PNG or JPEG"):
        load_images(tmp_path)
    (tmp_path / "a.png").write_bytes(b"garbage")
    with pytest.raises(ImageFolderError, match="could be read"):
        load_images(tmp_path)


def test_bad_arguments(tmp_path):
    with pytest.raises(ImageFolderError, match="32, 64"):
        load_images(tmp_path, image_size=28)
    with pytest.raises(ImageFolderError, match="does not exist"):
        load_images(tmp_path / "missing")
    (tmp_path / "x.zip").write_bytes(b"not a zip")
    with pytest.raises(ImageFolderError, match="not a zip"):
        load_images(tmp_path / "x.zip")


def _zip(entries: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_upload_with_classes():
    data = load_images(_zip({"set/a/1.png": _png(), "a/2.png": _png(), "b/1.jpg": _png(fmt="JPEG"),
                             "b/2.png": _png(), "__MACOSX/a/._1.png": b"junk"}), image_size=32, channels=3)
    # "set/a/1.png" is two levels deep: ignored; classes from the top level
    assert data.classes == ("a", "b") and len(data.train_images) == 3


@pytest.mark.parametrize("bad", ["../evil.png", "a/../../evil.png", "/abs/evil.png"])
def test_zip_with_escaping_entries_is_refused(bad):
    with pytest.raises(ImageFolderError, match="outside"):
        load_images(_zip({"ok/1.png": _png(), bad: _png()}))


def test_zip_bomb_is_refused_in_bounded_memory():
    # 300 MB of zeros compresses to ~300 KB: refused from its header, without inflating it
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("a/bomb.png", "w", force_zip64=True) as f:
            chunk = b"\0" * (1 << 20)
            for _ in range(300):
                f.write(chunk)
    bomb = buf.getvalue()
    assert len(bomb) < 2 * 2**20
    tracemalloc.start()
    with pytest.raises(ImageFolderError, match="refused"):
        load_images(bomb)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 50 * 2**20


def test_entry_lying_about_its_size_is_bounded(monkeypatch):
    from gen_core.data import image_folders
    monkeypatch.setattr(image_folders, "MAX_FILE_BYTES", 2000)
    big = _png(400, 400)  # a few KB; declared size is honest here, so it is skipped as too large
    data, report = load_images_report(_zip({"a/1.png": _png(), "a/2.png": big + b"\0" * 5000}))
    assert report.too_large == 1 and len(data.train_images) == 1


def test_huge_image_skipped_before_decoding(monkeypatch):
    from gen_core.data import image_folders
    monkeypatch.setattr(image_folders, "MAX_PIXELS", 100 * 100)
    data, report = load_images_report(_zip({"a/small.png": _png(50, 50), "a/huge.png": _png(200, 200)}))
    assert report.too_large == 1 and len(data.train_images) == 1


def test_too_many_files(tmp_path):
    for i in range(5):
        (tmp_path / f"{i}.png").write_bytes(_png())
    with pytest.raises(ImageFolderError, match="limit of 3"):
        load_images(tmp_path, max_files=3)


def test_centre_crop_keeps_the_middle():
    from gen_core.data.image_folders import to_square
    im = Image.new("RGB", (90, 30), (0, 0, 0))
    im.paste((255, 255, 255), (30, 0, 60, 30))  # white middle third
    arr = to_square(im, 32, 1)
    assert arr.shape == (32, 32) and arr.mean() > 250


def test_shapes_dataset():
    from gen_core.data.shapes import COLOURS, SHAPES, load_shapes, test_factors
    data = load_shapes(300, 100)
    assert tuple(data.train_images.shape) == (300, 3, 32, 32) and data.classes == SHAPES
    f = test_factors(100)
    assert (data.test_labels.numpy() == f["shape"]).all()
    # each image holds exactly one colour: its factor's
    img = data.test_images[0].numpy()
    on = img.reshape(3, -1)[:, img.sum(0).reshape(-1) > 0]
    assert (on.T == np.array(list(COLOURS.values())[f["colour"][0]])).all()


@pytest.mark.parametrize("model", ["dcgan", "conv-vae"])
@pytest.mark.parametrize("side", [32, 64])
def test_colour_models_at_32_and_64(model, side):
    from gen_core.models.registry import build_model, get_model_spec
    small = dict(g_width=4, d_width=4) if model == "dcgan" else dict(conv_channels=(4, 8), hidden=16)
    m = build_model(model, get_model_spec(model).config_cls(image_size=side, channels=3, **small)).eval()
    z = torch.randn(2, m.latent_dim)
    assert m.decode_to_unit(z).shape == (2, 3, side, side)
    if model == "dcgan":
        assert m.discriminator(torch.rand(2, 3, side, side)).shape == (2,)
    else:
        assert m(torch.rand(2, 3, side, side)).recon_logits.shape == (2, 3, side, side)


def test_cli_trains_on_an_image_folder(tmp_path, folder, capsys):
    from gen_core import cli
    out = tmp_path / "run"
    code = cli.main(["train", "--model", "dcgan", "--dataset", str(folder), "--image-size", "32", "--channels", "3",
                     "--g-width", "4", "--d-width", "4", "--epochs", "1", "--batch-size", "4", "--val-images", "2",
                     "--n-fixed", "4", "--out", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert (out / "checkpoint.pt").exists()
    # a path that is not a folder or zip is a clean usage error
    assert cli.main(["train", "--dataset", str(tmp_path / "nope"), "--quiet"]) == 2


def test_trainer_on_shapes_with_a_beta_vae():
    from gen_core.config.models import ConvVAEConfig
    from gen_core.data.shapes import (beta_vae_config, factor_correlations, latent_traversal, load_shapes,
                                      test_factors)
    from gen_core.training.trainer import Trainer
    cfg = beta_vae_config(epochs=1, images_per_epoch=128, batch_size=64, val_images=64)
    cfg = cfg.replace(model_config=ConvVAEConfig(latent_dim=4, conv_channels=(4, 8), hidden=16, image_size=32,
                                                 channels=3))
    trainer = Trainer(cfg)
    while not trainer.done:
        trainer.train_step()
    assert trainer.snapshots[-1].samples.shape[1:] == (3, 32, 32)
    data = load_shapes()
    grid = latent_traversal(trainer.model, data.test_images[0], [0, 1], [-1.0, 0.0, 1.0])
    assert grid.shape == (2 * 34 + 2, 3 * 34 + 2, 3)
    corr = factor_correlations(trainer.model, data, test_factors(), n=200)
    assert corr.shape == (4, 5) and (corr >= 0).all() and (corr <= 1).all()


# ---------------------------------------------------------------------------- uploads survive a restart
def _upload_run_paused_after_epoch_1(runs):
    """A conv VAE on an uploaded zip, paused after epoch 1 of 2, then its 'server' dies."""
    import time

    from conftest import tiny_config, wait_for
    from gen_core.classroom.runs import RunRegistry
    from gen_core.training.runner import PAUSED
    data = load_images(_zip({f"a/{i}.png": _png(colour=(25 * i, 200 - 10 * i, 90)) for i in range(12)}),
                       image_size=32, channels=3, name="mine")
    cfg = tiny_config("conv-vae", dataset="folder:mine", epochs=2, batch_size=5, images_per_epoch=10, val_images=1,
                      model_overrides=dict(image_size=32, channels=3))
    reg = RunRegistry(runs_dir=runs)
    rid = reg.create(cfg, data=data, start=False)
    runner = reg.get(rid)
    runner.on_epoch_end.append(lambda trainer: runner.pause() if trainer.epoch == 1 else None)
    reg.start(rid)
    assert wait_for(lambda: runner.state == PAUSED and runner.snapshot().epoch == 1)
    time.sleep(0.1)
    runner.on_epoch_end.clear()
    runner.on_end.clear()
    return reg, rid, data


def _restart(runs):
    from gen_core.classroom.runs import RunRegistry
    from gen_core.data import image_folders
    image_folders._cached_stored.cache_clear()  # a new process has no cache
    return RunRegistry(runs_dir=runs)


def test_a_run_on_uploaded_images_resumes_after_a_restart(tmp_path):
    """Issue 11: the upload lived in a page's memory; the run stores it once under the runs dir."""
    from gen_core.classroom.runs import RunRegistry
    from gen_core.data.datasets import load_dataset
    from gen_core.data.image_folders import content_hash
    from gen_core.training.runner import FINISHED
    runs = tmp_path / "runs"
    reg, rid, data = _upload_run_paused_after_epoch_1(runs)
    [stored] = (runs / "datasets").glob("*.npz")
    assert stored.stem == f"mine-{content_hash(data)}"
    cfg = reg.snapshot(rid).config
    assert cfg.dataset == f"folder:{stored.resolve()}"
    # lists and labels name the upload, not the file
    assert "folder:mine" in reg.info(rid).label and reg.info(rid).dataset == "folder:mine"
    back = load_dataset(cfg.dataset)
    assert torch.equal(back.train_images, data.train_images) and back.classes == data.classes
    assert back.name == "folder:mine"

    restarted = _restart(runs)
    [info] = restarted.list()
    assert info.resumable and not info.in_memory and info.dataset == "folder:mine"
    assert restarted.resume(rid) == rid
    assert restarted.get(rid).join(60)
    done = restarted.snapshot(rid)
    assert done.state == FINISHED and done.epoch == 2 and done.epoch_snapshots[-1].samples.shape[1:] == (3, 32, 32)
    # the same images again are not stored twice
    reg2 = RunRegistry(runs_dir=runs)
    reg2.create(cfg.replace(dataset="folder:mine"), data=data, start=False)
    assert len(list((runs / "datasets").glob("*.npz"))) == 1


@pytest.mark.parametrize("damage", ["missing", "truncated", "edited"])
def test_a_missing_or_damaged_stored_upload_gives_a_message(tmp_path, damage):
    from gen_core.classroom.run_info import RunError
    runs = tmp_path / "runs"
    _reg, rid, data = _upload_run_paused_after_epoch_1(runs)
    [stored] = (runs / "datasets").glob("*.npz")
    if damage == "missing":
        stored.unlink()
    elif damage == "truncated":
        stored.write_bytes(stored.read_bytes()[:300])
    else:  # a valid file whose pixels changed: the hash in its name no longer matches
        from gen_core.data import image_folders
        edited = image_folders.load_stored_images(stored)
        edited.train_images[0, 0, 0, 0] ^= 1
        with open(stored, "wb") as f:
            np.savez(f, **{k: getattr(edited, k).numpy() for k in image_folders._STORED_KEYS},
                     classes=np.array(edited.classes), name=np.array(edited.name), message=np.array(""))
    restarted = _restart(runs)
    with pytest.raises(RunError) as e:
        restarted.resume(rid)
    msg = str(e.value)
    assert "cannot be resumed" in msg and "upload them again" in msg and "\n" not in msg
    assert {"missing": "no longer stored", "truncated": "damaged", "edited": "does not match"}[damage] in msg
    assert not restarted.info(rid).resumable
