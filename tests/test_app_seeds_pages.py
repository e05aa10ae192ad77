"""AppTest of the Your images, Draw and encode and Figure packs pages."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import tiny_config, wait_for
from ui import state


APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def registry(tmp_path, monkeypatch):
    from ui import sources
    monkeypatch.setattr(sources, "CHECKPOINT_DIRS", (tmp_path / "no-checkpoints",))
    reg = state.registry()
    reg.clear()
    yield reg
    reg.clear()


def _open(page: str, **session) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["dataset"] = "mnist-mini"
    at.run()
    at.switch_page(page)
    for k, v in session.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_your_images_shapes_and_start(registry):
    at = _open("app_pages/your_images.py")
    assert any("Coloured shapes" in s.value for s in at.success)
    at.number_input(key="img_epochs").set_value(1).run()
    at.button(key="img_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    runs = registry.list()
    assert len(runs) == 1 and runs[0].dataset == "shapes"
    registry.get(runs[0].run_id).stop()


def _png(colour=(200, 30, 30)) -> bytes:
    import io

    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buf, format="PNG")
    return buf.getvalue()


def _zip(entries: dict) -> bytes:
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _bomb() -> bytes:
    """A small zip whose entries declare more than the byte cap (260 × 1 MB of zeros, ~300 KB packed)."""
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        chunk = b"\0" * (1 << 20)
        for i in range(260):
            zf.writestr(f"a/{i}.png", chunk)
    return buf.getvalue()


def _one_line_error(at: AppTest) -> str:
    assert not at.exception, [e.value for e in at.exception]
    errs = [e.value for e in at.error]
    assert len(errs) == 1 and "\n" not in errs[0].strip() and len(errs[0]) < 300, errs
    return errs[0]


def test_your_images_bad_uploads_give_a_message_and_the_page_stays_usable(registry):
    """Issue 11: every bad zip gives one clear line, no traceback; a good zip afterwards loads."""
    at = _open("app_pages/your_images.py", img_source="upload")
    up = lambda name, data: at.get("file_uploader")[0].upload(name, data, "application/zip").run()  # noqa: E731
    bomb = _bomb()
    assert len(bomb) < 2 * 2**20
    cases = [("not-a-zip.zip", b"not a zip", "not a zip"),
             ("empty.zip", _zip({}), "no PNG or JPEG"),
             ("escape.zip", _zip({"a/1.png": _png(), "../evil.png": _png()}), "outside"),
             ("bomb.zip", bomb, "refused"),
             ("all-bad.zip", _zip({"a/1.png": b"junk", "a/2.png": b"\x89PNG broken"}), "could be read")]
    for name, data, expect in cases:
        up(name, data)
        msg = _one_line_error(at)
        assert expect in msg, (name, msg)
        assert not at.success  # nothing half-loaded is shown
    # corrupt files among good ones: loaded, with the skipped ones counted
    good = {f"c/{i}.png": _png((20 * i, 100, 200)) for i in range(10)}
    up("mixed.zip", _zip({**good, "c/bad1.png": b"junk", "c/bad2.jpg": b"\xff\xd8 truncated"}))
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("2 corrupt files skipped" in s.value for s in at.success), [s.value for s in at.success]
    assert any("train / 1 test" in s.value for s in at.success)
    # and the page goes on: training can start on the good upload
    at.number_input(key="img_epochs").set_value(1).run()
    at.button(key="img_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    runs = registry.list()
    assert len(runs) == 1 and runs[0].dataset == "folder:mixed"
    # the upload is stored under the runs dir so the run can resume after a restart
    stored = registry.snapshot(runs[0].run_id).config.dataset
    assert stored.startswith("folder:") and stored.endswith(".npz") and "/datasets/mixed-" in stored
    registry.get(runs[0].run_id).stop()


def test_draw_and_encode_page_renders(registry):
    # With no VAE visible to this session the page says what to do. (The drawn-image path itself
    # is tested in tests/test_drawing.py.)
    at = _open("app_pages/draw_encode.py")
    assert any("VAE" in i.value for i in at.info)


def test_figure_packs_page_lists_presets(registry):
    at = _open("app_pages/figure_packs.py", pack_name="seed002")
    assert any("seed002-conv-vae" in m.value for m in at.markdown)
    # the parameter table needs no training: one figure and the zip are there at once
    assert any("figures (zip)" in d.label for d in at.get("download_button"))


TINY = {"gan": dict(gan_model="mlp-gan", gan_latent=2, gan_g_hidden="32", gan_d_hidden="32", gan_ipe=128,
                    gan_batch=64, gan_epochs=1),
        "vae": dict(vae_model="mlp-vae", vae_latent=2, vae_hidden="32", vae_ipe=128, vae_batch=64, vae_epochs=1)}


@pytest.mark.parametrize("family", ["gan", "vae"])
def test_fixed_samples_and_latent_grid_are_page_settings(registry, family):
    """Issue 11: the number of fixed samples and the latent-map grid are settings, and the run uses them."""
    page = "app_pages/train_gan.py" if family == "gan" else "app_pages/train_vae.py"
    at = _open(page, **TINY[family])
    assert "25" in at.selectbox(key=f"{family}_n_fixed").options  # AppTest shows options as text
    at.selectbox(key=f"{family}_n_fixed").set_value(25).run()
    at.selectbox(key=f"{family}_latent_map").set_value(10).run()
    at.button(key=f"{family}_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    (run,) = registry.list(family)
    assert registry.get(run.run_id).join(60)
    snap = registry.snapshot(run.run_id)
    assert snap.config.n_fixed == 25 and snap.config.latent_map_size == 10
    last = snap.epoch_snapshots[-1]
    assert last.samples.shape[0] == 25 and last.latent_map.shape[0] == 10 * 10


def test_seed000_preset_sets_the_reports_pictures(registry):
    at = _open("app_pages/train_vae.py")
    at.selectbox(key="vae_preset").set_value("seed000-vae").run()
    assert not at.exception
    assert at.selectbox(key="vae_n_fixed").value == 25 and at.selectbox(key="vae_latent_map").value == 10


@pytest.mark.parametrize("family", ["gan", "vae"])
def test_train_page_picks_the_shapes_and_shows_a_colour_grid(registry, monkeypatch, family):
    """Issue 11: the generated colour shapes are a dataset the Train pages can pick; a tiny run on them
    draws colour samples, and the β-VAE traversal demo is one link away."""
    import numpy as np

    from ui import widgets
    shown = {}
    real = widgets.image_panel

    def spy(image, *, key, **kw):
        shown[key] = np.asarray(image)
        return real(image, key=key, **kw)
    monkeypatch.setattr(widgets, "image_panel", spy)
    page = "app_pages/train_gan.py" if family == "gan" else "app_pages/train_vae.py"
    at = _open(page, **TINY[family])
    at.radio(key=f"{family}_data").set_value("shapes").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    links = [link.proto.label for link in at.get("page_link")]
    assert any("β-VAE" in label for label in links), links
    at.button(key=f"{family}_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    (run,) = registry.list(family)
    assert run.dataset == "shapes"
    assert registry.get(run.run_id).join(90)
    snap = registry.snapshot(run.run_id)
    assert snap.config.model_config.channels == 3 and snap.epoch_snapshots[-1].samples.shape[1:] == (3, 32, 32)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    grid = shown[f"{family}_samples"]
    assert grid.ndim == 3 and grid.shape[2] == 3
    # colour, not grey drawn three times: the channels differ somewhere
    assert (grid[..., 0] != grid[..., 1]).any() or (grid[..., 1] != grid[..., 2]).any()
    assert at.radio(key=f"{family}_data").value == "shapes"   # the form follows the run on screen
