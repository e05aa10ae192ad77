"""AppTest: every page renders, tiny runs started from the pages train and draw, controls work,
and bad input shows st.error instead of raising. The dashboard's one RunRegistry is shared with
the test (same process, same st.cache_resource), so tests wait on runs through it."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import me, tiny_config, wait_for
from gen_core.training.runner import FINAL_STATES, PAUSED, RUNNING, STOPPED
from ui import state


APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 60
JOIN_S = 60

TINY_GAN = dict(gan_model="mlp-gan", gan_latent=2, gan_g_hidden="32", gan_d_hidden="32", gan_ipe=128, gan_batch=64,
                gan_epochs=2)
TINY_VAE = dict(vae_hidden="32", vae_ipe=128, vae_batch=64, vae_epochs=2)


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """The app's registry, emptied; and no checkpoint files (tests that want some add their own)."""
    from ui import sources
    monkeypatch.setattr(sources, "CHECKPOINT_DIRS", (tmp_path / "no-checkpoints",))
    reg = state.registry()
    reg.clear()
    yield reg
    reg.clear()


def app(page: str | None = None, **session) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["dataset"] = "mnist-mini"
    at.run()
    if page:
        at.switch_page(page)
    for k, v in session.items():
        at.session_state[k] = v
    at.run()
    return at


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def plotly_charts(at: AppTest) -> list:
    return at.get("plotly_chart")


def chart_titles(at: AppTest) -> list[str]:
    return [((json.loads(c.proto.spec).get("layout") or {}).get("title") or {}).get("text", "")
            for c in plotly_charts(at)]



def only_run(reg, family=None) -> str:
    runs = reg.list(family)
    assert len(runs) == 1, runs
    return runs[0].run_id


# ---------------------------------------------------------------------------- pages render

@pytest.mark.parametrize("page", [None, "app_pages/train_gan.py", "app_pages/train_vae.py",
                                  "app_pages/latent_explorer.py", "app_pages/compare.py"])
def test_every_page_renders_with_no_model(registry, page):
    at = app(page)
    ok(at)
    assert not errors(at)
    assert at.session_state[state.DATASET_KEY] == "mnist-mini"  # from ?dataset= (AppTest drops the
    # sidebar from its element tree after the first run under st.navigation, so read the state)
    text = " ".join(m.value for m in at.markdown) + " ".join(i.value for i in at.info)
    if page in ("app_pages/latent_explorer.py", "app_pages/compare.py"):
        assert "No trained model yet" in text
        assert any(p.proto.page == "train-gan" for p in at.get("page_link"))


def test_home_shows_objectives_device_and_links(registry):
    at = app()
    ok(at)
    assert len(at.latex) == 2
    assert any(r"\min_G \max_D" in l.value for l in at.latex)
    # two aligned lines each, so the objectives fit their half-page columns (a one-line GAN objective
    # was clipped at 1440 px; tests/test_browser.py measures the drawn width)
    assert all(r"\begin{aligned}" in l.value and l.value.count(r"\\") == 1 for l in at.latex)
    assert any("KL" in l.value for l in at.latex)
    assert any("CPU" in m.value or "GPU" in m.value for m in at.markdown)
    assert len(at.get("page_link")) >= 4


# ---------------------------------------------------------------------------- GAN page

def test_gan_run_from_the_page_draws_charts_and_grids(registry):
    at = app("app_pages/train_gan.py", **TINY_GAN)
    ok(at)
    assert not errors(at)
    assert any("per epoch" in c.value for c in at.caption)  # the time estimate
    at.button(key="gan_start").click().run()
    ok(at)
    rid = only_run(registry, "gan")
    assert at.query_params["run"] == [rid] or at.query_params["run"] == rid
    assert registry.get(rid).join(JOIN_S)
    snap = registry.snapshot(rid)
    assert snap.state == "finished" and snap.epoch == 2 and snap.step_history

    at.run()
    ok(at)
    assert len(plotly_charts(at)) >= 4              # G, D, total and D(x)/D(G(z))
    assert len(at.image) >= 2                       # fixed-noise grid + 2-D latent map
    assert at.select_slider(key="gan_epoch").value == 2  # follows the newest epoch
    labels = [d.label for d in at.get("download_button")]
    assert "PNG" in labels and "GIF, all epochs" in labels and "Per-step metrics (CSV)" in labels
    at.select_slider(key="gan_epoch").set_value(1).run()
    ok(at)
    assert any("epoch 1" in (img.proto.imgs[0].caption if img.proto.imgs else "") for img in at.image)


def test_pause_resume_step_stop_from_the_page(registry):
    at = app("app_pages/train_gan.py", **{**TINY_GAN, "gan_epochs": 500})
    at.button(key="gan_start").click().run()
    ok(at)
    rid = only_run(registry, "gan")
    runner = registry.get(rid)
    assert wait_for(lambda: runner.state == RUNNING)
    at.run()
    assert at.button(key="gan_start").disabled  # one run at a time from this page
    at.button(key="gan_ctl_pause").click().run()
    ok(at)
    assert runner.state == PAUSED
    assert at.button(key="gan_ctl_resume").disabled is False

    def idle():  # the worker has done its single steps and published them (not a quiet period: a state)
        return not runner._resume.is_set() and runner.trainer is not None and \
            runner.snapshot().step == runner.trainer.step
    # The step in flight when Pause was pressed may complete (and take this first single step): after
    # one Step the worker is idle for sure; the second Step is then exactly one more.
    at.button(key="gan_ctl_step").click().run()
    assert wait_for(idle, 60)
    steps = runner.snapshot().step
    at.button(key="gan_ctl_step").click().run()
    assert wait_for(lambda: runner.snapshot().step == steps + 1 and idle(), 60)
    assert runner.snapshot().step == steps + 1 and runner.state == PAUSED
    at.button(key="gan_ctl_resume").click().run()
    assert runner.state == RUNNING
    at.button(key="gan_ctl_stop").click().run()
    assert runner.join(JOIN_S) and runner.state == STOPPED
    at.run()
    ok(at)
    assert at.button(key="gan_ctl_stop").disabled and not at.button(key="gan_start").disabled


@pytest.mark.parametrize("changes, message", [
    (dict(gan_ipe=32, gan_batch=64), "images_per_epoch"),
    (dict(gan_g_hidden="big, bigger"), "Generator widths"),
    (dict(gan_model="dcgan-64", gan_latent=0), None),  # number_input refuses; no crash either way
])
def test_invalid_gan_settings_show_an_error(registry, changes, message):
    at = app("app_pages/train_gan.py", **TINY_GAN)
    for k, v in changes.items():
        at.session_state[k] = v
    at.run()
    ok(at)
    if message:
        assert any(message in e for e in errors(at)), errors(at)
        assert at.button(key="gan_start").disabled
    assert not registry.list()


# ---------------------------------------------------------------------------- VAE page

@pytest.mark.parametrize("latent, images", [(2, 3), (16, 2)])
def test_vae_run_from_the_page_draws_curves_recons_and_latents(registry, latent, images):
    # The latent map (a decoded grid over z) exists for 2-D latents only; the default VAE has 16.
    at = app("app_pages/train_vae.py", **TINY_VAE, vae_latent=latent)
    ok(at)
    at.button(key="vae_start").click().run()
    rid = only_run(registry, "vae")
    assert registry.get(rid).join(JOIN_S)
    at.run()
    ok(at)
    charts = plotly_charts(at)
    assert len(charts) == 4                          # ELBO, recon, KL + latent scatter
    assert len(at.image) == images                   # samples, originals vs recons (, latent map)
    assert not errors(at)


def test_invalid_vae_settings_show_an_error(registry):
    at = app("app_pages/train_vae.py", **{**TINY_VAE, "vae_hidden": "", "vae_model": "mlp-vae"})
    ok(at)
    assert any("Encoder widths" in e for e in errors(at))


def test_vae_preset_fills_the_settings(registry):
    at = app("app_pages/train_vae.py")
    names = at.selectbox(key="vae_preset").options
    assert len(names) > 1
    at.selectbox(key="vae_preset").set_value("seed001-vae").run()
    ok(at)
    assert at.number_input(key="vae_latent").value == 16
    assert at.number_input(key="vae_batch").value == 64
    assert any("As in preset" in c.value for c in at.caption)


# ---------------------------------------------------------------------------- explorer and compare

def _finished_run(registry, model="mlp-vae", **kw):
    rid = registry.create(tiny_config(model, **kw), actor=me())
    assert registry.get(rid).join(JOIN_S)
    return rid


def test_explorer_decodes_a_run_and_interpolates(registry):
    rid = _finished_run(registry, "mlp-vae")
    at = app("app_pages/latent_explorer.py")
    ok(at)
    assert at.selectbox(key="explore_source").value == f"run:{rid}"
    assert len(plotly_charts(at)) == 1              # latent map with the marker
    n_images = len(at.image)
    assert n_images >= 3                            # decoded point, strip, GIF
    at.slider(key="explore_za").set_value(1.5).run()
    ok(at)
    assert any("+1.50" in (img.proto.imgs[0].caption if img.proto.imgs else "") for img in at.image)
    at.radio(key="explore_mode").set_value("images").run()
    ok(at)
    assert not errors(at)


def test_explorer_with_more_than_two_dims_picks_dims(registry):
    _finished_run(registry, "mlp-gan", model_overrides=dict(latent_dim=4), epochs=1)
    at = app("app_pages/latent_explorer.py")
    ok(at)
    at.selectbox(key="explore_dim_a").set_value(2).run()
    ok(at)
    assert at.slider(key="explore_za").label == "z3"


def test_explorer_uploads_a_checkpoint_and_refuses_garbage(registry):
    rid = _finished_run(registry, "mlp-vae", epochs=1)
    data = registry.checkpoint_bytes(rid)
    registry.clear()
    at = app("app_pages/latent_explorer.py")
    at.selectbox(key="explore_source").set_value("upload").run()
    ok(at)
    at.get("file_uploader")[0].upload("junk.pt", b"not a checkpoint").run()
    ok(at)
    assert any("not a gen_core checkpoint" in e or "not a PyTorch" in e for e in errors(at)), errors(at)
    at.get("file_uploader")[0].upload("vae.pt", data).run()
    ok(at)
    assert not errors(at)
    assert len(plotly_charts(at)) == 1 and len(at.image) >= 3


def test_explorer_lists_checkpoint_files_and_skips_foreign_ones(registry, tmp_path, monkeypatch):
    from ui import sources
    rid = _finished_run(registry, "mlp-gan", epochs=1)
    registry.save(rid, tmp_path / "linear_gan.pt")
    (tmp_path / "evaluator.pt").write_bytes(b"PK not ours")
    registry.clear()
    monkeypatch.setattr(sources, "CHECKPOINT_DIRS", (tmp_path,))
    at = app("app_pages/latent_explorer.py")
    ok(at)
    box = at.selectbox(key="explore_source")
    assert box.value == f"file:{tmp_path / 'linear_gan.pt'}"
    assert not any("evaluator" in o for o in box.options)
    assert len(plotly_charts(at)) == 1 and not errors(at)


def test_shipped_checkpoints_open_in_the_explorer(registry, monkeypatch):
    from ui import sources
    shipped = sources.REPO / "checkpoints"
    monkeypatch.setattr(sources, "CHECKPOINT_DIRS", (shipped,))
    if not sources.file_options():
        pytest.skip("no gen_core checkpoints shipped in checkpoints/ yet")
    at = app("app_pages/latent_explorer.py")
    ok(at)
    assert at.selectbox(key="explore_source").value.startswith("file:")
    assert len(plotly_charts(at)) == 1 and not errors(at)


def test_compare_two_runs_side_by_side(registry):
    gid = _finished_run(registry, "mlp-gan", epochs=1)
    vid = _finished_run(registry, "mlp-vae", epochs=1)
    at = app("app_pages/compare.py")
    ok(at)
    assert at.selectbox(key="compare_left").value == f"run:{gid}"
    assert at.selectbox(key="compare_right").value == f"run:{vid}"
    assert len(plotly_charts(at)) == 2               # a loss chart per side
    assert len(at.image) == 4                        # samples ×2, same z-grid ×2
    assert len(at.dataframe) == 2
    assert not errors(at)


def test_compare_explains_different_latent_sizes(registry):
    _finished_run(registry, "mlp-gan", epochs=1)
    _finished_run(registry, "mlp-vae", epochs=1, model_overrides=dict(latent_dim=3))
    at = app("app_pages/compare.py")
    ok(at)
    assert any("differ in size" in i.value for i in at.info)


def test_compare_trains_a_matched_pair(registry):
    at = app("app_pages/compare.py", pair_ipe=128, pair_batch=64, pair_epochs=1)
    ok(at)
    at.button(key="pair_start").click().run()
    ok(at)
    runs = registry.list()
    assert {r.family for r in runs} == {"gan", "vae"}
    cfgs = [registry.get(r.run_id).config for r in runs]
    assert {(c.epochs, c.images_per_epoch, c.batch_size, c.seed, c.dataset) for c in cfgs} == {
        (1, 128, 64, 0, "mnist-mini")}
    # (one student trains one run at a time by default: the VAE waits for the GAN's slot)
    assert wait_for(lambda: all(registry.get(r.run_id).state in FINAL_STATES and registry.get(r.run_id).join(0)
                                for r in runs), JOIN_S * 2)
    at.run()
    ok(at)
    assert len(at.image) == 4 and not errors(at)


def test_refresh_reattaches_to_the_run_in_the_url(registry):
    rid = _finished_run(registry, "mlp-gan", epochs=1)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["run"] = rid
    at.query_params["dataset"] = "mnist-mini"
    at.run()
    at.switch_page("app_pages/train_gan.py")
    at.run()
    ok(at)
    assert state.FOCUS in at.session_state and at.session_state[state.FOCUS]["gan"] == rid
    assert len(plotly_charts(at)) >= 4


def test_runs_finish_in_final_states(registry):
    # sanity for the fixture: nothing left training between tests
    assert all(r.state in FINAL_STATES for r in registry.list())


def test_compare_opens_on_the_best_shipped_pair_and_shows_the_trade_off(registry, monkeypatch):
    """With no runs, GAN vs VAE starts on the shipped DCGAN and conv VAE and reads their sharpness honestly;
    one click opens the 2-D linear GAN and 2-D VAE: one z-grid, two decoders."""
    from ui import sources
    shipped = sources.REPO / "checkpoints"
    monkeypatch.setattr(sources, "CHECKPOINT_DIRS", (shipped,))
    if not all((shipped / f"{m}-mnist.pt").exists() for m in ("dcgan", "conv-vae", "mlp-gan", "mlp-vae")):
        pytest.skip("shipped checkpoints missing")
    at = app("app_pages/compare.py")
    ok(at)
    assert at.selectbox(key="compare_left").value.endswith("dcgan-mnist.pt")
    assert at.selectbox(key="compare_right").value.endswith("conv-vae-mnist.pt")
    assert not errors(at)
    (table,) = [d.value for d in at.dataframe if "real data" in d.value.columns]
    assert "sharpness (1 = as sharp as real)" in table.index and "precision (fidelity) ↑" in table.index
    text = "\n".join(m.value for m in at.markdown)
    sharp = next(line for line in text.splitlines() if line.startswith("- **Sharpness:**"))
    # the seeds' trade-off, read off whatever is shipped: the GAN's edges, the VAE's blur
    assert ("the DCGAN 28×28's samples are sharper" in sharp
            or "the DCGAN 28×28's samples carry more high-frequency energy" in sharp), sharp
    assert "the Conv VAE's are blurrier than real images" in sharp, sharp
    assert "Sharpness: edge energy relative to real images" in chart_titles(at)
    at.button(key="compare_open_2d").click().run()
    ok(at)
    assert at.selectbox(key="compare_left").value.endswith("mlp-gan-mnist.pt")
    assert at.selectbox(key="compare_right").value.endswith("mlp-vae-mnist.pt")
    assert len(at.image) >= 4 and not errors(at)     # samples ×2 + the same z-grid ×2
    coverage = next(line for line in "\n".join(m.value for m in at.markdown).splitlines()
                    if line.startswith("- **Coverage:**"))
    if "near zero" not in coverage:  # whatever the 2-D pair measures, the sentence matches its recalls
        assert "cover more" in coverage or "about equal" in coverage
