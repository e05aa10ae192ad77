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


def test_your_images_bad_upload(registry):
    at = _open("app_pages/your_images.py", img_source="upload")
    at.get("file_uploader")[0].upload("x.zip", b"not a zip").run() if hasattr(at.get("file_uploader")[0], "upload") else None
    assert not at.exception


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
