"""AppTest: measured quality in the dashboard — the Experiments page runs a sweep, the GAN vs VAE page
shows a metric table for two checkpoints, the Train pages chart FID when a run scores itself."""
from __future__ import annotations

import json

import pytest
from test_app import JOIN_S, TINY_GAN, app, errors, ok, only_run, plotly_charts

from conftest import tiny_config
from gen_core.data.datasets import load_dataset
from gen_core.persistence.atomic import atomic_torch_save
from gen_core.persistence.checkpoints import checkpoint_payload, save_checkpoint
from gen_core.training.trainer import Trainer
from ui import quality, state, sweeps


pytestmark = pytest.mark.filterwarnings("ignore:Metric .* will save all extracted features:UserWarning")

TINY_SWEEP = dict(exp_model="mlp-gan", exp_preset="seed001-gan", exp_param="lr_g", exp_values="0.0001, 0.001", exp_seeds="0",
                  exp_epochs=1, exp_ipe=64, exp_batch=32, exp_scoring="off")


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """Empty run registry and sweep store; no checkpoint files unless a test adds some."""
    from ui import sources
    monkeypatch.setattr(sources, "CHECKPOINT_DIRS", (tmp_path / "no-checkpoints",))
    reg, store = state.registry(), sweeps.store()
    reg.clear()
    store.clear()
    yield reg
    reg.clear()
    store.clear()


def chart_titles(at) -> list[str]:
    titles = []
    for chart in plotly_charts(at):
        spec = json.loads(chart.proto.spec)
        titles.append(((spec.get("layout") or {}).get("title") or {}).get("text", ""))
    return titles



# ---------------------------------------------------------------------------- Experiments page

def test_experiments_page_renders_with_defaults(registry):
    at = app("app_pages/experiments.py")
    ok(at)
    assert not errors(at)
    assert any("No sweep yet" in i.value for i in at.info)
    assert at.button(key="exp_start").disabled is False
    # a setting that matters, on a model that learns within the budget (not three noise generators)
    assert at.selectbox(key="exp_model").value == "mlp-vae" and at.selectbox(key="exp_param").value == "latent_dim"
    assert at.text_input(key="exp_values").value == "2, 8, 32"
    assert at.selectbox(key="exp_scoring").value == "end"
    assert any("3 runs" in c.value for c in at.caption)


def test_a_tiny_sweep_from_the_page_produces_a_results_table(registry):
    at = app("app_pages/experiments.py", **TINY_SWEEP)
    ok(at)
    assert not errors(at)
    at.button(key="exp_start").click().run()
    ok(at)
    (sweep,) = sweeps.store().list()
    assert sweep.join(JOIN_S)
    assert sweep.snapshot().state == "finished"
    at.run()
    ok(at)
    assert not errors(at)
    (table,) = [d for d in at.dataframe if "lr_g" in d.value.columns]
    assert table.value["lr_g"].tolist() == ["0.0001", "0.001"] and table.value["runs"].tolist() == [1, 1]
    assert {"Generator loss", "Discriminator loss"} <= set(chart_titles(at))
    assert len(at.image) == 2  # one final sample grid per value
    labels = [d.label for d in at.get("download_button")]
    assert "Results (CSV)" in labels and "Every run (CSV)" in labels and labels.count("PNG") == 2
    assert at.button(key="exp_stop").disabled


def _dashed(chart) -> list[float]:
    spec = json.loads(chart.proto.spec)
    return [sh["y0"] for sh in (spec.get("layout") or {}).get("shapes", []) if (sh.get("line") or {}).get("dash") == "dash"]


def test_every_sweep_score_chart_shows_the_real_data_line(registry):
    at = app("app_pages/experiments.py", **{**TINY_SWEEP, "exp_epochs": 2, "exp_scoring": "every",
                                              "exp_scoring_n": 200})
    ok(at)
    at.button(key="exp_start").click().run()
    (sweep,) = sweeps.store().list()
    assert sweep.join(JOIN_S) and sweep.snapshot().state == "finished"
    at.run()
    ok(at)
    assert not errors(at)
    from gen_core.evaluation import reading
    ref = reading.reference_scores(load_dataset("mnist-mini"), 200)
    charts = {json.loads(c.proto.spec)["layout"]["title"]["text"]: c for c in plotly_charts(at)}
    scored = {"FID (lower is better)": "fid", "FID by learning rate G": "fid",
              "Sharpness by learning rate G": "sharpness", "Precision (fidelity) by learning rate G": "precision",
              "Recall (coverage) by learning rate G": "recall"}
    assert set(scored) <= set(charts), sorted(charts)
    for title, key in scored.items():
        assert _dashed(charts[title]) == [pytest.approx(ref[key])], title
    assert any("Dashed lines: real test images scored against real training images" in c.value for c in at.caption)
    (table,) = [d for d in at.dataframe if "lr_g" in d.value.columns]
    assert {"sharpness (1 = real)", "precision (fidelity) ↑", "recall (coverage) ↑"} <= set(table.value.columns)


@pytest.mark.parametrize("changes, message", [
    (dict(exp_values="0.001, -1"), "learning rate G = -1"),
    (dict(exp_values="fast"), "takes numbers"),
    (dict(exp_seeds="zero"), "Seeds"),
    (dict(exp_param="batch_size", exp_values="32, 128"), "batch size = 128: images_per_epoch"),
])
def test_experiments_page_rejects_bad_values_up_front(registry, changes, message):
    at = app("app_pages/experiments.py", **{**TINY_SWEEP, **changes})
    ok(at)
    assert any(message in e for e in errors(at)), errors(at)
    assert at.button(key="exp_start").disabled
    assert not sweeps.store().list()


# ---------------------------------------------------------------------------- GAN vs VAE page

def _checkpoint(path, model, data, metrics=None, reference=None):
    trainer = Trainer(tiny_config(model, epochs=1), data)
    while not trainer.done:
        trainer.train_step()
    if metrics is None:
        return save_checkpoint(trainer, path)
    payload = checkpoint_payload(trainer)
    payload["metadata"].update(metrics=metrics, reference=reference)
    return atomic_torch_save(payload, path)


def test_compare_measures_two_checkpoints_on_demand(registry, tmp_path, monkeypatch, mini_data):
    from ui import sources
    _checkpoint(tmp_path / "a_gan.pt", "mlp-gan", mini_data)
    _checkpoint(tmp_path / "b_vae.pt", "mlp-vae", mini_data)
    monkeypatch.setattr(sources, "CHECKPOINT_DIRS", (tmp_path,))
    monkeypatch.setattr(quality, "COMPARE_N", 200)
    at = app("app_pages/compare.py")
    ok(at)
    assert at.selectbox(key="compare_left").value.endswith("a_gan.pt")
    assert at.selectbox(key="compare_right").value.endswith("b_vae.pt")
    n_frames = len(at.dataframe)
    at.button(key="cmp_q_measure").click().run()
    ok(at)
    assert not errors(at)
    tables = [d.value for d in at.dataframe if "real data" in d.value.columns]
    assert len(at.dataframe) == n_frames + 1 and len(tables) == 1
    table = tables[0]
    assert list(table.columns) == ["Linear GAN (MLP)", "MLP VAE", "real data"]
    assert "FID ↓" in table.index and "precision (fidelity) ↑" in table.index
    assert "sharpness (1 = as sharp as real)" in table.index and "recall (coverage) ↑" in table.index
    assert table.loc["samples scored"].tolist() == ["200", "200", "200"]
    assert table.loc["test ELBO (nats / image, VAE) ↑", "Linear GAN (MLP)"] == "—"
    titles = chart_titles(at)
    assert "Linear GAN (MLP): which classes it generates" in titles and "MLP VAE: which classes it generates" in titles
    reading_text = " ".join(m.value for m in at.markdown)
    assert "closer to the real data" in reading_text or "equally close" in reading_text


def test_compare_uses_the_scores_a_checkpoint_carries(registry, tmp_path, monkeypatch, mini_data):
    from ui import sources
    real = dict(n=2000, fid=26.3, precision=0.87, recall=0.87, kl_to_uniform=0.005, missing_classes=0,
                class_histogram=[0.1] * 10)
    gan = dict(n=2000, fid=120.0, precision=0.90, recall=0.10, kl_to_uniform=0.4, missing_classes=3,
               class_histogram=[0.3, 0.3, 0.1, 0.1, 0.1, 0.1, 0, 0, 0, 0])
    vae = dict(n=2000, fid=60.0, precision=0.60, recall=0.70, kl_to_uniform=0.02, missing_classes=0,
               class_histogram=[0.1] * 10)
    _checkpoint(tmp_path / "a_gan.pt", "mlp-gan", mini_data, {"samples": gan}, real)
    _checkpoint(tmp_path / "b_vae.pt", "mlp-vae", mini_data,
                {"samples": vae, "vae": {"elbo": -150.0, "active_units": 2, "latent_dim": 2}}, real)
    monkeypatch.setattr(sources, "CHECKPOINT_DIRS", (tmp_path,))
    at = app("app_pages/compare.py")
    ok(at)
    assert not at.get("button") or all(b.key != "cmp_q_measure" for b in at.button)
    (table,) = [d.value for d in at.dataframe if "real data" in d.value.columns]
    assert table.loc["FID ↓"].tolist() == ["120.0", "60.0", "26.3"]
    assert table.loc["active latent units (VAE)"].tolist() == ["—", "2 of 2", "—"]
    text = " ".join(m.value for m in at.markdown)
    assert "more of the Linear GAN (MLP)'s samples fall among real images" in text
    assert "(precision 0.90 vs 0.60)" in text and "sharper (precision" not in text
    assert "the MLP VAE's samples cover more of the real images' variety (recall 0.70 vs 0.10)" in text
    assert "the MLP VAE is closer to the real data (FID 60.0 vs 120.0; real data against itself scores 26.3)" in text


# ---------------------------------------------------------------------------- Train pages

TINY = {"gan": {**TINY_GAN, "gan_epochs": 1},
        "vae": dict(vae_hidden="32", vae_ipe=128, vae_batch=64, vae_epochs=1)}


@pytest.mark.parametrize("family", ["gan", "vae"])
def test_train_page_charts_fid_when_the_run_scores_itself(registry, family):
    page = f"app_pages/train_{family}.py"
    at = app(page, **{**TINY[family], f"{family}_metrics_every": 1, f"{family}_metrics_n": 200})
    ok(at)
    assert any("Quality scoring adds" in c.value for c in at.caption)
    at.button(key=f"{family}_start").click().run()
    rid = only_run(registry, family)
    assert registry.get(rid).join(JOIN_S)
    snap = registry.snapshot(rid)
    assert snap.config.metrics_every == 1 and snap.config.metrics_samples == 200
    assert "fid" in snap.epoch_history[-1]
    at.run()
    ok(at)
    assert not errors(at)
    titles = chart_titles(at)
    assert "FID (lower is better)" in titles
    assert "Fidelity, coverage & sharpness" in titles
    assert any(t.startswith("Which classes does it generate?") for t in titles)
    fid_chart = next(c for c in plotly_charts(at) if "FID (lower" in c.proto.spec)
    spec = json.loads(fid_chart.proto.spec)
    assert any(s.get("line", {}).get("dash") == "dash" for s in spec["layout"].get("shapes", []))  # real data
    assert any("not comparable with Inception-based numbers" in c.value for c in at.caption)
    if family == "vae":
        assert any("latent units active" in m.value for m in at.markdown)
    at.segmented_control(key=f"{family}_q_x").set_value("time").run()
    ok(at)
    assert not errors(at)


def test_train_page_without_scoring_draws_no_quality_charts(registry):
    at = app("app_pages/train_vae.py", vae_hidden="32", vae_ipe=128, vae_batch=64, vae_epochs=1)
    assert at.number_input(key="vae_metrics_every").value == 0
    at.button(key="vae_start").click().run()
    rid = only_run(registry, "vae")
    assert registry.get(rid).join(JOIN_S)
    at.run()
    ok(at)
    assert not any("FID" in t for t in chart_titles(at))


# ---------------------------------------------------------------------------- sweeps after a restart

@pytest.fixture
def sweeps_dir(registry, tmp_path, monkeypatch):
    """A runs dir of its own; `restart()` drops the server's sweep store (a new one reads the same dir)."""
    monkeypatch.setenv("GEN_CORE_RUNS_DIR", str(tmp_path))
    sweeps.store.clear()
    yield tmp_path
    sweeps.store().clear()
    sweeps.store.clear()


def restart() -> None:
    sweeps.store().clear()
    sweeps.store.clear()


def test_a_saved_sweep_shows_after_a_restart_and_only_its_owner_resumes_it(sweeps_dir, mini_data):
    from test_app_owners import session

    from conftest import OTHER_TOKEN, me
    from gen_core.experiments.store import SWEEP_FILE, SWEEPS_DIR, SweepStore
    old = SweepStore(root=sweeps_dir)                               # the server before the restart
    sid = old.create(tiny_config(epochs=1, images_per_epoch=64, batch_size=32), "lr_g", [1e-4, 1e-3], [0],
                     data=mini_data, owner=me().owner)
    assert old.get(sid).join(JOIN_S)
    restart()
    at = app("app_pages/experiments.py")
    ok(at)
    (table,) = [d for d in at.dataframe if "lr_g" in d.value.columns]
    assert table.value["runs"].tolist() == [1, 1]
    assert {"Generator loss", "Discriminator loss"} <= set(chart_titles(at)) and len(at.image) == 2
    assert "exp_resume" not in {b.key for b in at.button}            # finished: nothing to resume

    path = sweeps_dir / SWEEPS_DIR / sid / SWEEP_FILE                # as if the server had died in point 2
    data = json.loads(path.read_text())
    data["state"], data["items"][1]["state"] = "running", "running"
    path.write_text(json.dumps(data))
    restart()
    b = session(OTHER_TOKEN, "app_pages/experiments.py")
    assert any("Interrupted" in w.value for w in b.warning)
    assert b.button(key="exp_resume").disabled and b.button(key="exp_delete").disabled
    assert any("Only the student who started this sweep" in c.value for c in b.caption)
    from gen_core.classroom.owners import OTHERS_HIDDEN, OTHERS_READONLY
    state.registry().set_policy(None, others=OTHERS_HIDDEN)         # the teacher hides students' work
    try:
        b = session(OTHER_TOKEN, "app_pages/experiments.py")
        assert any("No sweep yet" in i.value for i in b.info) and not b.warning
    finally:
        state.registry().set_policy(None, others=OTHERS_READONLY)

    at = app("app_pages/experiments.py")
    ok(at)
    assert any("1 of 2 runs had finished" in w.value for w in at.warning)
    at.button(key="exp_resume").click().run()
    ok(at)
    sweep = sweeps.store().get(sid)
    assert sweep.join(JOIN_S) and sweep.snapshot().state == "finished"
    at.run()
    ok(at)
    (table,) = [d for d in at.dataframe if "lr_g" in d.value.columns]
    assert table.value["runs"].tolist() == [1, 1] and "exp_resume" not in {b.key for b in at.button}

    (sweeps_dir / SWEEPS_DIR / "damaged1").mkdir()                    # a damaged file: one line, page usable
    (sweeps_dir / SWEEPS_DIR / "damaged1" / SWEEP_FILE).write_text("{ nope")
    restart()
    at = app("app_pages/experiments.py")
    ok(at)
    assert any("damaged1 cannot be shown" in w.value for w in at.warning)
    assert [d for d in at.dataframe if "lr_g" in d.value.columns]
    at.button(key="exp_delete").click().run()
    ok(at)
    assert sweeps.store().get(sid) is None and not (sweeps_dir / SWEEPS_DIR / sid).exists()
