"""Figure packs: the seed-000 pack holds Figs 4–16 at the report's grid sizes; zips carry captions."""
import dataclasses
import io
import zipfile

import numpy as np
import pytest

from gen_core.figures import packs as fp
from gen_core.training.trainer import Trainer


QUICK = dict(images_per_epoch=128, batch_size=64, val_images=64, device="cpu")
SMALL = {"mlp-gan": dict(g_hidden=(32,), d_hidden=(32,)), "dcgan-64": dict(g_width=4, d_width=4),
         "mlp-vae": dict(hidden=(32,)), "conv-vae": dict(conv_channels=(4, 8), hidden=16)}


def _run(preset, epochs, data):
    cfg = fp.pack_config(preset, epochs=epochs, **QUICK)
    cfg = cfg.replace(model_config=dataclasses.replace(cfg.model_config, **SMALL[cfg.model]))
    trainer = Trainer(cfg, data=data)
    while not trainer.done:
        trainer.train_step()
    return fp.source_from_trainer(trainer), cfg


def test_seed000_pack_has_every_figure_at_report_sizes(mini_data):
    pack = fp.get_pack("seed000")
    figures, configs = [], {}
    for part, epochs in zip(pack.parts, (4, 2, 2)):
        src, cfg = _run(part.preset, epochs, mini_data)
        assert cfg.n_fixed == 25 and cfg.latent_map_size == 10
        configs[part.preset] = cfg
        figures += fp.figures_for(part, src)
    by_number = {int(f.name[3:5]): f for f in figures}
    assert sorted(by_number) == list(range(4, 17))          # Figs 4–16, nothing missing
    side = 28 + 2
    # Fig. 8: the 10×10 latent grid of the 2-D linear GAN
    assert by_number[8].image.shape == (10 * side + 2, 10 * side + 2)
    # Fig. 7: every 2nd epoch of 4 → epochs 1, 2, 4 (the first epoch is always shown), 5×5 samples each
    assert "every 2nd epoch" in by_number[7].caption and "25 fixed z" in by_number[7].caption
    # Fig. 15: the 25 originals as 5×5
    assert by_number[15].image.shape == (5 * side + 2, 5 * side + 2)
    # Fig. 12 (DCGAN 64×64): a 5×5 grid per epoch
    assert by_number[12].image.ndim == 3
    data = fp.pack_zip(pack, figures, configs)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        captions = zf.read("seed000/captions.txt").decode()
    assert len(names) == len(figures) + 1
    assert "seed000-linear-gan" in captions and "25 fixed samples" in captions and "10×10" in captions


def test_montage_panels_count(mini_data):
    src, _ = _run("seed000-linear-gan", 4, mini_data)
    part = fp.get_pack("seed000").parts[0]
    (fig7,) = [f for f in fp.figures_for(part, src) if f.name.startswith("fig07")]
    one = fp.sf.labelled_montage([np.zeros((152, 152), np.uint8)], ["x"])
    # three panels (epochs 1, 2, 4) side by side: width grows by one panel each
    assert fig7.image.shape[1] == 3 * (one.shape[1] - 8) + 8


def test_seed001_and_seed002_packs(mini_data):
    pack = fp.get_pack("seed001")
    src, cfg = _run("seed001-vae", 2, mini_data)
    figs = fp.figures_for(pack.parts[0], src)
    names = [f.name for f in figs]
    assert any("train_vs_validation" in n for n in names) and any("interpolation.png" in n for n in names)
    strip = next(f for f in figs if f.name.endswith("interpolation.png"))
    assert strip.image.shape == (30 + 2, 10 * 30 + 2)      # 10 points in one row
    src, _ = _run("seed001-gan", 2, mini_data)
    figs = fp.figures_for(pack.parts[1], src)
    assert any(f.name.endswith(".gif") and f.data()[:6] == b"GIF89a" for f in figs)
    pack2 = fp.get_pack("seed002")
    src, _ = _run("seed002-conv-vae", 2, mini_data)
    figs = fp.figures_for(pack2.parts[0], src) + fp.extra_figures(pack2)
    assert any("latent_clusters" in f.name for f in figs)
    assert any("parameter_counts" in f.name for f in figs)


def test_unknown_pack():
    from gen_core.config.checks import ConfigError
    with pytest.raises(ConfigError, match="seed000"):
        fp.get_pack("nope")
