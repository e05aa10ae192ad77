"""Issue 10 through the pages (AppTest): the form shows the run on screen, honest numbers, names,
notes, delete, overlay, deep links, presenter mode and the small fixes."""
from __future__ import annotations

import io
import zipfile

import pytest
from streamlit.testing.v1 import AppTest
from test_app import (APP, JOIN_S, TIMEOUT, TINY_GAN, TINY_VAE, app, errors, ok, only_run,  # noqa: F401
                      plotly_charts, registry)

from conftest import tiny_config, wait_for
from gen_core.training.runner import PAUSED, RUNNING
from ui import state


def fresh(page: str | None = None, **query) -> AppTest:
    """A new browser session (a refresh, a second tab, a link) opening `page` with `query`."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["dataset"] = "mnist-mini"
    at.run()  # (AppTest can only switch pages after a first run; the link's keys come with the next one)
    for k, v in query.items():
        at.query_params[k] = v
    if page:
        at.switch_page(page)
    at.run()
    return at


def finished(registry, model="mlp-gan", **kw) -> str:
    rid = registry.create(tiny_config(model, **kw))
    assert registry.get(rid).join(JOIN_S)
    return rid


def texts(at) -> str:
    return " ".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
                    + [w.value for w in at.warning] + [s.value for s in at.subheader])


# ---------------------------------------------------------------------------- 1. the run's own settings

def test_a_refresh_shows_the_runs_settings_in_the_form_and_header(registry):
    rid = finished(registry, lr_g=5e-4, lr_d=1e-4, beta1=0.3)
    at = fresh("app_pages/train_gan.py", run=rid)
    ok(at)
    assert at.number_input(key="gan_lr_g").value == pytest.approx(5e-4)
    assert at.number_input(key="gan_lr_d").value == pytest.approx(1e-4)
    assert at.number_input(key="gan_beta1").value == pytest.approx(0.3)
    assert at.text_input(key="gan_g_hidden").value == "32, 64"
    header = " ".join(c.value for c in at.caption)
    assert "lr G 0.0005" in header and "lr D 0.0001" in header and "β₁ 0.3" in header and "non-saturating" in header


# ---------------------------------------------------------------------------- 2. samples/s of a finished run

def test_a_finished_runs_samples_per_sec_is_its_average(registry):
    rid = finished(registry, epochs=2)
    snap = registry.snapshot(rid)
    at = fresh("app_pages/train_gan.py", run=rid)
    ok(at)
    shown = next(m for m in at.metric if m.label == "Samples / s").value
    assert shown == f"{snap.step * snap.config.batch_size / snap.elapsed:,.0f}"
    assert next(m for m in at.metric if m.label.startswith("Time left")).value == "—"


# ---------------------------------------------------------------------------- 3. the estimate is measured

def test_the_estimate_uses_a_finished_run_with_the_same_settings(registry):
    at = app("app_pages/train_gan.py", **TINY_GAN)
    at.button(key="gan_start").click().run()
    rid = only_run(registry, "gan")
    assert registry.get(rid).join(JOIN_S)
    at.button(key="gan_ctl_stop")  # (the run is over; Start is enabled again)
    at.run()
    ok(at)
    line = next(c.value for c in at.caption if "per epoch" in c.value)
    assert "as measured by an earlier run" in line


# ---------------------------------------------------------------------------- 5. a pause reaches every tab

def test_pause_in_one_tab_shows_in_another_at_its_next_redraw(registry, monkeypatch):
    # The bound on how long a Pause takes to reach another tab is the live panel's redraw period:
    # record the run_every each fragment is defined with (the browser re-runs it that often).
    import streamlit

    from ui import classroom
    periods = []
    real_fragment = streamlit.fragment

    def recording_fragment(func=None, *, run_every=None):
        periods.append(run_every)
        return real_fragment(func, run_every=run_every) if func is not None else real_fragment(run_every=run_every)
    monkeypatch.setattr(streamlit, "fragment", recording_fragment)
    assert classroom.LIVE_INTERVAL_S <= 1.0

    a = app("app_pages/train_gan.py", **{**TINY_GAN, "gan_epochs": 500})
    a.button(key="gan_start").click().run()
    rid = only_run(registry, "gan")
    runner = registry.get(rid)
    assert wait_for(lambda: runner.state == RUNNING)
    periods.clear()
    b = fresh("app_pages/train_gan.py", run=rid)
    assert not b.button(key="gan_ctl_pause").disabled
    live = [p for p in periods if p is not None]
    assert live and max(live) <= 1.0, periods   # tab B redraws the running run at least once a second
    a.run()
    a.button(key="gan_ctl_pause").click().run()
    assert runner.state == PAUSED  # at once: the control sets the state, the worker only obeys it
    b.run()                          # tab B's next redraw (every second while the run is active)
    ok(b)
    assert b.button(key="gan_ctl_pause").disabled and not b.button(key="gan_ctl_resume").disabled
    runner.stop()
    assert runner.join(JOIN_S)


# ---------------------------------------------------------------------------- 7. run names in the picker

def test_runs_started_from_the_page_are_named_by_what_differs():
    from gen_core.classroom.run_info import RunInfo
    from ui.classroom import picker_label
    info = RunInfo("abcd1234", "Linear GAN · lr G 0.0005", "gan", "mlp-gan", "mnist", 0.0, "finished", 3, 3, 2)
    assert picker_label(info).startswith("Linear GAN · lr G 0.0005 — finished · epoch 3/3")


def test_start_names_the_run_from_its_settings(registry):
    at = app("app_pages/train_gan.py", **{**TINY_GAN, "gan_lr_g": 5e-4})
    at.button(key="gan_start").click().run()
    rid = only_run(registry, "gan")
    assert registry.get(rid).join(JOIN_S)
    name = registry.info(rid).label
    assert name.startswith("Linear GAN · ") and "lr G 0.0005" in name and "+" in name  # widths, epochs… differ too
    at.run()
    assert any(s.value == name for s in at.subheader)


# ---------------------------------------------------------------------------- 3. name, note, delete

def test_rename_note_and_delete_your_own_run(registry):
    at = app("app_pages/train_gan.py", **TINY_GAN)
    at.button(key="gan_start").click().run()
    rid = only_run(registry, "gan")
    assert registry.get(rid).join(JOIN_S)
    at.run()
    at.text_input(key=f"gan_card_name_{rid}").set_value("my first GAN")
    at.text_area(key=f"gan_card_note_{rid}").set_value("D wins early")
    next(b for b in at.button if b.label == "Save name and note").click().run()
    ok(at)
    info = registry.info(rid)
    assert (info.label, info.note) == ("my first GAN", "D wins early")
    assert any(s.value == "my first GAN" for s in at.subheader)
    assert any("D wins early" in c.value for c in at.caption)
    assert at.button(key=f"gan_card_delete_{rid}").disabled           # needs the tick first
    at.checkbox(key=f"gan_card_delete_sure_{rid}").check().run()
    at.button(key=f"gan_card_delete_{rid}").click().run()
    ok(at)
    assert rid not in registry and "run" not in at.query_params


def test_only_the_owner_may_rename_or_delete_a_run(registry):
    rid = finished(registry)
    at = fresh("app_pages/train_gan.py", run=rid)
    ok(at)
    assert not [b for b in at.button if b.key and b.key.startswith("gan_card_delete")]
    assert any("Only the student who started a run" in c.value for c in at.caption)


# ---------------------------------------------------------------------------- 3. overlay

def test_overlay_runs_and_a_shipped_checkpoint(registry, monkeypatch):
    from ui import sources
    shipped = sources.REPO / "checkpoints"
    if not (shipped / "mlp-gan-mnist.pt").exists():
        pytest.skip("shipped checkpoints missing")
    monkeypatch.setattr(sources, "CHECKPOINT_DIRS", (shipped,))
    a = finished(registry, lr_g=5e-4)
    b = finished(registry, lr_g=1e-4)
    registry.rename(a, "fast G")
    registry.rename(b, "slow G")
    at = fresh("app_pages/runs.py")
    ok(at)
    ship = f"file:{shipped / 'mlp-gan-mnist.pt'}"
    at.multiselect(key="runs_overlay").set_value([f"run:{a}", f"run:{b}", ship]).run()
    ok(at)
    charts = plotly_charts(at)
    assert len(charts) == 3                                   # G loss, D loss, D(G(z)), shared axes
    import json
    g = json.loads(charts[0].proto.spec)
    assert [t["name"] for t in g["data"]] == ["fast G", "slow G", "shipped mlp-gan-mnist"]
    assert len(at.image) == 3                                 # final grids side by side
    table = next(d.value for d in at.dataframe if "fast G" in d.value.columns)
    assert list(table.columns) == ["setting", "fast G", "slow G", "shipped mlp-gan-mnist"]
    assert "lr G" in set(table["setting"])


# ---------------------------------------------------------------------------- 4. deep links

def test_a_settings_link_fills_the_form(registry):
    at = fresh("app_pages/train_gan.py", model="dcgan", lr_g="0.0004")
    ok(at)
    assert at.selectbox(key="gan_model").value == "dcgan"
    assert at.number_input(key="gan_lr_g").value == pytest.approx(4e-4)
    assert at.number_input(key="gan_ipe").value == 6400  # the rest: the page's defaults
    assert any("link's settings" in i.value for i in at.info)
    assert "lr_g" not in at.query_params and "model" not in at.query_params
    at.run()
    assert at.number_input(key="gan_lr_g").value == pytest.approx(4e-4)


def test_a_preset_link_fills_the_form(registry):
    at = fresh("app_pages/train_gan.py", preset="seed000-linear-gan")
    ok(at)
    assert at.selectbox(key="gan_preset").value == "seed000-linear-gan"
    assert any("As in preset" in c.value for c in at.caption)


@pytest.mark.parametrize("query", [dict(lr_g="fast"), dict(lr_g="3"), dict(preset="nope"), dict(model="mlp-vae"),
                                   dict(epochs="-1"), dict(data_root="/etc")])
def test_a_bad_link_says_why_in_one_line_and_keeps_the_defaults(registry, query):
    plain = fresh("app_pages/train_gan.py")
    at = fresh("app_pages/train_gan.py", **query)
    ok(at)
    notices = [w.value for w in at.warning if "not applied" in w.value]
    assert len(notices) == 1 and "defaults are kept" in notices[0] and "\n" not in notices[0]
    for key in ("gan_lr_g", "gan_epochs", "gan_ipe"):
        assert at.number_input(key=key).value == plain.number_input(key=key).value
    assert at.selectbox(key="gan_model").value == plain.selectbox(key="gan_model").value
    assert not errors(at)


def test_a_link_to_a_run_that_is_gone_says_so(registry):
    at = fresh("app_pages/train_gan.py", run="deadbeef")
    ok(at)
    assert any("not on this server" in w.value for w in at.warning)


def test_link_to_these_settings_is_shown_and_round_trips(registry):
    rid = finished(registry, lr_g=5e-4)
    at = fresh("app_pages/train_gan.py", run=rid)
    link = next(c.value for c in at.code if c.value.startswith("train-gan?"))
    from urllib.parse import parse_qsl
    query = dict(parse_qsl(link.split("?", 1)[1]))
    assert query["lr_g"] == "0.0005"
    again = fresh("app_pages/train_gan.py", **query)
    ok(again)
    assert again.number_input(key="gan_lr_g").value == pytest.approx(5e-4)
    assert again.text_input(key="gan_g_hidden").value == "32, 64"


# ---------------------------------------------------------------------------- presenter mode

def test_presenter_mode_shows_charts_and_grid_together(registry):
    at = app("app_pages/train_gan.py", **TINY_GAN)
    at.button(key="gan_start").click().run()
    assert registry.get(only_run(registry, "gan")).join(JOIN_S)
    at.query_params["present"] = "1"
    at.run()
    ok(at)
    assert at.session_state["present"] is True
    assert not at.title                                # the run's row replaces the page title
    assert len(plotly_charts(at)) == 2                 # losses and D(x) vs D(G(z)), before anything else
    assert len(at.image) == 1                          # the current fixed-noise grid
    assert at.button(key="gan_pctl_pause").disabled    # compact controls
    at.button(key="gan_pctl_exit").click().run()
    ok(at)
    assert at.session_state["present"] is False and "present" not in at.query_params
    assert len(plotly_charts(at)) >= 4                 # the full page again


def test_presenter_mode_for_a_vae_shows_the_elbo_terms(registry):
    rid = finished(registry, "mlp-vae")
    at = fresh("app_pages/train_vae.py", run=rid, present="1")
    ok(at)
    titles = [c.proto.spec for c in plotly_charts(at)]
    assert len(titles) == 3 and "ELBO" in titles[0] and "KL" in titles[2]
    assert len(at.image) == 1


# ---------------------------------------------------------------------------- 8. the small ones

def test_vae_page_has_the_x_axis_switch(registry):
    rid = finished(registry, "mlp-vae")
    at = fresh("app_pages/train_vae.py", run=rid)
    ok(at)
    at.session_state["vae_chart_x"] = "time"
    at.run()
    import json
    spec = json.loads(plotly_charts(at)[0].proto.spec)
    assert spec["layout"]["xaxis"]["title"]["text"] == "Training time (s)"


def test_home_names_only_datasets_that_are_here_and_one_device_wording(registry, monkeypatch):
    from gen_core.training.device import device_description
    at = fresh()
    ok(at)
    intro = " ".join(m.value for m in at.markdown)
    from gen_core.data.datasets import dataset_status
    assert ("cursive Japanese" in intro) == (dataset_status("kmnist") == "full")
    assert device_description("cpu") in intro or "GPU" in intro


def test_a_plain_zip_upload_gets_a_plain_message_and_leaves_the_uploader(registry):
    at = fresh("app_pages/latent_explorer.py")
    rid = finished(registry, "mlp-vae", epochs=1)
    at.run()
    at.selectbox(key="explore_source").set_value("upload").run()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("holiday/photo.txt", "not a model")
    at.get("file_uploader")[0].upload("photos.pt", buf.getvalue()).run()
    ok(at)
    msgs = errors(at)
    assert any("photos.pt was not loaded" in e and "not one saved by PyTorch" in e for e in msgs), msgs
    assert not any("enforce" in e for e in msgs)
    uploaders = at.get("file_uploader")
    assert len(uploaders) == 1 and not uploaders[0].value   # the rejected file is gone from the box
    assert rid in registry
