"""AppTest of the Conditional models page: empty state, then a finished tiny cGAN/cVAE run drawn
with its label samples, the same-z grid and the per-class scores."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import tiny_config, wait_for
from ui import state


APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGE = "app_pages/conditional.py"
SMALL = {"cgan": dict(g_width=8, d_width=8, latent_dim=8, embed_dim=4), "cvae": dict(hidden=(32,))}


@pytest.fixture
def registry(tmp_path, monkeypatch):
    from ui import sources
    monkeypatch.setattr(sources, "CHECKPOINT_DIRS", (tmp_path / "no-checkpoints",))
    reg = state.registry()
    reg.clear()
    yield reg
    reg.clear()


def _open() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["dataset"] = "mnist-mini"
    at.run()
    at.switch_page(PAGE)
    at.run()
    return at


def test_empty_page_offers_training(registry):
    at = _open()
    assert not at.exception, [e.value for e in at.exception]
    assert any("No conditional model yet" in i.value for i in at.info)
    assert [b.label for b in at.button][:2] == ["Train a conditional GAN", "Train a conditional VAE"]


@pytest.mark.parametrize("model", ["cgan", "cvae"])
def test_finished_run_is_drawn_and_scored(registry, model):
    rid = registry.create(tiny_config(model, model_overrides=SMALL[model], epochs=1))
    assert wait_for(lambda: not registry.info(rid).is_active, 120)
    at = _open()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="cond_source").value == f"run:{rid}"
    assert len([d for d in at.get("download_button") if d.label == "PNG"]) >= 2  # label samples + same-z grid
    at.button(key="cond_score").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("reads" in m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) == 2
