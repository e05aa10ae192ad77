"""Figure packs: every figure of a seed report, from its presets, with the report's settings.

A pack lists the presets a report trained and, for each, the figures it drew from that run:
loss curves, the fixed samples "through epochs" (a montage of every k-th epoch), the 10×10
latent grid, reconstructions, train-vs-validation curves, interpolations, latent clusters,
parameter counts. `pack_config` gives the preset's config with the report's figure settings
(25 fixed samples, a 10×10 latent grid); `figures_for(part, source)` draws the figures of one
trained run; `pack_zip` bundles PNGs (and GIFs) with a captions file naming preset and settings.

A *source* is anything with `config`, `step_history`, `epoch_history`, `snapshots`, `model`
(a `gen_core.classroom.model_views.ModelView`, or `source_from_trainer(trainer)`).
"""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Callable

import numpy as np
import torch

from gen_core.data.imaging import gif_bytes, make_grid, png_bytes, to_uint8
from gen_core.figures import static as sf
from gen_core.models.registry import build_model
from gen_core.models.sampling import decode, encode_means, interpolate
from gen_core.presets.registry import get_preset


REPORT_SAMPLES = 25     # seed 000: "we sampled 25 samples … before training"
REPORT_GRID = 10        # seed 000 Fig. 8: "the standard normal distribution was divided to 10 sections"
REPORT_STEPS = 10       # seed 001 Fig. 7: "10 points were sampled" on the interpolation line


@dataclass(frozen=True)
class FigureSettings:
    n_fixed: int = REPORT_SAMPLES      # fixed samples per epoch grid
    latent_grid: int = REPORT_GRID     # n for the n×n latent grid
    every: int | None = None           # montage of every k-th epoch (None: the report's k)
    interpolation_steps: int = REPORT_STEPS


@dataclass
class Figure:
    name: str                # file name, e.g. "fig07_linear_gan_samples_through_epochs.png"
    caption: str
    image: np.ndarray | None = None     # uint8 (H, W) or (H, W, 3)
    gif: bytes | None = None            # for animations (name ends in .gif)

    def data(self) -> bytes:
        return self.gif if self.gif is not None else png_bytes(self.image)


@dataclass(frozen=True)
class Part:
    """One preset of a pack and the figures drawn from its run."""
    preset: str
    figures: tuple[Callable, ...]
    every: int = 1                      # the report's montage step (seed 000 Fig. 7: every 2nd epoch)


@dataclass(frozen=True)
class Pack:
    name: str
    title: str
    parts: tuple[Part, ...]
    extras: tuple[Callable, ...] = field(default=())   # figures needing no training (e.g. parameter tables)


def source_from_trainer(trainer) -> SimpleNamespace:
    return SimpleNamespace(config=trainer.config, step_history=tuple(trainer.history.steps),
                           epoch_history=tuple(trainer.history.epochs), snapshots=tuple(trainer.snapshots),
                           model=trainer.model)


def pack_config(preset: str, settings: FigureSettings = FigureSettings(), **overrides):
    """The preset's TrainConfig with the report's figure settings (overrides: e.g. epochs, images_per_epoch)."""
    extra = dict(n_fixed=settings.n_fixed, latent_map_size=settings.latent_grid)
    from gen_core.config.train import TrainConfig
    if "n_recon" in {f for f in TrainConfig.__dataclass_fields__}:
        extra["n_recon"] = min(settings.n_fixed, 64)
    extra.update(overrides)
    return get_preset(preset).to_config(**extra)


# ---------------------------------------------------------------------------
# Figure builders: (number, source, settings, every) → list[Figure]
# ---------------------------------------------------------------------------

def _where(src) -> str:
    cfg = src.config
    return f"{cfg.model}, {cfg.dataset}, {len(src.epoch_history)} epochs"


def loss_curve(number: int, metric: str, what: str):
    def build(src, settings, every):
        steps = [r for r in src.step_history if metric in r]
        xs, ys = [r["step"] for r in steps], [r[metric] for r in steps]
        image = sf.line_chart({what: (xs, ys)}, title=f"{what} during training", xlabel="iteration",
                              ylabel=what)
        return [Figure(f"fig{number:02d}_{src.config.model}_{metric}.png",
                       f"Fig. {number}: {what} per iteration ({_where(src)}).", image)]
    return build


def train_vs_val(number: int, pairs: tuple[tuple[str, str, str], ...]):
    def build(src, settings, every):
        epochs = list(src.epoch_history)
        series = {}
        for train_key, val_key, what in pairs:
            series[f"{what} (train)"] = ([r["epoch"] for r in epochs if train_key in r],
                                         [r[train_key] for r in epochs if train_key in r])
            series[f"{what} (validation)"] = ([r["epoch"] for r in epochs if val_key in r],
                                              [r[val_key] for r in epochs if val_key in r])
        image = sf.line_chart(series, title="Learning curves: train vs validation", xlabel="epoch", ylabel="loss")
        return [Figure(f"fig{number:02d}_{src.config.model}_train_vs_validation.png",
                       f"Fig. {number}: train and validation losses per epoch ({_where(src)}).", image)]
    return build


def _epochs_shown(snapshots, every: int):
    return [s for s in snapshots if s.epoch % every == 0 or s.epoch == 1] if every > 1 else list(snapshots)


def samples_through_epochs(number: int):
    def build(src, settings, every):
        k = settings.every or every
        shown = _epochs_shown(src.snapshots, k)
        n = len(shown[0].samples) if shown else 0
        nrow = int(round(n ** 0.5)) or 1
        image = sf.labelled_montage([make_grid(s.samples, nrow=nrow) for s in shown],
                                    [f"epoch {s.epoch}" for s in shown])
        every_text = "every epoch" if k == 1 else f"every {k}nd epoch" if k == 2 else f"every {k}th epoch"
        return [Figure(f"fig{number:02d}_{src.config.model}_samples_through_epochs.png",
                       f"Fig. {number}: the same {n} fixed z decoded after {every_text} ({_where(src)}).", image)]
    return build


def latent_grid(number: int):
    def build(src, settings, every):
        model, n = src.model, settings.latent_grid
        if model.latent_dim != 2:
            return []
        from gen_core.models.sampling import latent_map
        image = make_grid(to_uint8(latent_map(model, n)), nrow=n)
        return [Figure(f"fig{number:02d}_{src.config.model}_latent_grid_{n}x{n}.png",
                       f"Fig. {number}: decoded {n}×{n} grid over the 2-D latent space, z at N(0, 1) quantiles "
                       f"5% … 95% ({_where(src)}).", image)]
    return build


def originals(number: int):
    def build(src, settings, every):
        snap = src.snapshots[-1]
        if snap.originals is None:
            return []
        n = len(snap.originals)
        return [Figure(f"fig{number:02d}_{src.config.model}_originals.png",
                       f"Fig. {number}: the {n} held-out images given for reconstruction.",
                       make_grid(snap.originals, nrow=int(round(n ** 0.5))))]
    return build


def reconstructions_through_epochs(number: int):
    def build(src, settings, every):
        k = settings.every or every
        shown = [s for s in _epochs_shown(src.snapshots, k) if s.reconstructions is not None]
        if not shown:
            return []
        n = len(shown[0].reconstructions)
        image = sf.labelled_montage([make_grid(s.reconstructions, nrow=int(round(n ** 0.5))) for s in shown],
                                    [f"epoch {s.epoch}" for s in shown])
        return [Figure(f"fig{number:02d}_{src.config.model}_reconstructions_through_epochs.png",
                       f"Fig. {number}: reconstructions of the {n} images of the originals figure, after each "
                       f"shown epoch ({_where(src)}).", image)]
    return build


def interpolation(number: int, *, gif: bool = True):
    """VAE: between two encoded held-out images of different classes; GAN: between two seeded z."""
    def build(src, settings, every):
        model, steps = src.model, settings.interpolation_steps
        if model.family == "vae":
            from gen_core.data.datasets import load_dataset
            from gen_core.data.images import scale_images
            data = load_dataset(src.config.dataset, src.config.data_root)
            labels = data.test_labels
            first = int((labels == 2).nonzero()[0]) if (labels == 2).any() else 0
            second = int((labels == 8).nonzero()[0]) if (labels == 8).any() else 1
            x = scale_images(data.test_images[[first, second]], "unit", model.image_shape[-1])
            z = encode_means(model, x)
            za, zb = z[0], z[1]
            what = f"the codes of two held-out images (classes {int(labels[first])} and {int(labels[second])})"
        else:
            g = torch.Generator().manual_seed(7)
            za, zb = torch.randn(2, model.latent_dim, generator=g)
            what = "two z drawn from N(0, I)"
        frames = to_uint8(decode(model, interpolate(za, zb, steps)))
        strip = make_grid(frames, nrow=steps)
        out = [Figure(f"fig{number:02d}_{src.config.model}_interpolation.png",
                      f"Fig. {number}: {steps} points on the straight line between {what} ({_where(src)}).", strip)]
        if gif:
            singles = [make_grid(f[None], nrow=1, padding=0) for f in frames]
            singles = singles + singles[::-1][1:-1]   # there and back
            out.append(Figure(f"fig{number:02d}_{src.config.model}_interpolation.gif",
                              f"Fig. {number} (animated): the same interpolation as a looping GIF.",
                              gif=gif_bytes([np.kron(s, np.ones((4, 4), np.uint8)) if s.ndim == 2 else s
                                             for s in singles], duration_ms=150)))
        return out
    return build


def latent_clusters(number: int):
    def build(src, settings, every):
        snap = src.snapshots[-1]
        if snap.latent_means is None:
            return []
        from gen_core.data.datasets import DATASETS
        means = snap.latent_means[:, :2]
        info = DATASETS.get(src.config.dataset)
        names = info.classes if info else [str(i) for i in range(int(snap.latent_labels.max()) + 1)]
        image = sf.scatter_chart(means, snap.latent_labels, names,
                                 title=f"Latent means of {len(means):,} held-out images by class")
        return [Figure(f"fig{number:02d}_{src.config.model}_latent_clusters.png",
                       f"Fig. {number}: encoder means μ(x) of held-out images, first two latent dims, coloured "
                       f"by class ({_where(src)}).", image)]
    return build


def parameter_table(number: int, presets: tuple[str, ...]):
    def build(settings):
        rows = []
        for name in presets:
            p = get_preset(name)
            counts = build_model(p.model, p.model_config()).num_parameters()
            parts = [k for k in counts if k != "total"]
            rows.append([name, p.model, f"{parts[0]} {counts[parts[0]]:,}", f"{parts[1]} {counts[parts[1]]:,}",
                         counts["total"]])
        image = sf.table_image(["preset", "model", "part 1", "part 2", "total parameters"], rows,
                               title="Parameter counts")
        return [Figure(f"fig{number:02d}_parameter_counts.png",
                       "Table: parameters of each network (" + ", ".join(presets) + ").", image)]
    return build


PACKS: dict[str, Pack] = {p.name: p for p in [
    Pack("seed000", "Seed report 000 — linear GAN (Figs 4–8), DCGAN (Figs 9–12), VAE (Figs 13–16)", (
        Part("seed000-linear-gan", (loss_curve(4, "g_loss", "generator loss"),
                                    loss_curve(5, "d_loss", "discriminator loss"),
                                    loss_curve(6, "total_loss", "total loss"),
                                    samples_through_epochs(7), latent_grid(8)), every=2),
        Part("seed000-dcgan", (loss_curve(9, "g_loss", "generator loss"),
                               loss_curve(10, "d_loss", "discriminator loss"),
                               loss_curve(11, "total_loss", "total loss"),
                               samples_through_epochs(12))),
        Part("seed000-vae", (loss_curve(13, "loss", "VAE loss (negative ELBO)"), samples_through_epochs(14),
                             originals(15), reconstructions_through_epochs(16))),
    )),
    Pack("seed001", "Seed report 001 — train vs validation curves, interpolation strip and GIF", (
        Part("seed001-vae", (train_vs_val(4, (("loss", "val_loss", "negative ELBO"),)), samples_through_epochs(5),
                             interpolation(7, gif=False))),
        Part("seed001-gan", (train_vs_val(8, (("d_loss", "val_d_loss", "D loss"), ("g_loss", "val_g_loss", "G loss"))),
                             samples_through_epochs(9), interpolation(10))),
    )),
    Pack("seed002", "Seed report 002 — latent clusters by class, parameter-count table", (
        Part("seed002-conv-vae", (latent_clusters(1), samples_through_epochs(2))),
    ), extras=(parameter_table(3, ("seed002-conv-vae", "seed002-conv-vae-fashion", "seed002-cgan")),)),
]}


def get_pack(name: str) -> Pack:
    from gen_core.config.checks import ConfigError
    try:
        return PACKS[name]
    except KeyError:
        raise ConfigError(f"unknown figure pack {name!r}; choose one of {', '.join(PACKS)}.") from None


def figures_for(part: Part, source, settings: FigureSettings = FigureSettings()) -> list[Figure]:
    """Every figure of `part` drawn from a trained run of its preset."""
    out: list[Figure] = []
    for build in part.figures:
        out.extend(build(source, settings, part.every))
    return out


def extra_figures(pack: Pack, settings: FigureSettings = FigureSettings()) -> list[Figure]:
    return [f for build in pack.extras for f in build(settings)]


def captions_text(pack: Pack, figures: list[Figure], configs: dict[str, object],
                  settings: FigureSettings) -> str:
    lines = [pack.title, "=" * len(pack.title), "",
             f"Settings: {settings.n_fixed} fixed samples, {settings.latent_grid}×{settings.latent_grid} latent grid, "
             f"montage of every {settings.every or 'report-given'} epoch(s), "
             f"{settings.interpolation_steps} interpolation steps.", ""]
    for preset, cfg in configs.items():
        lines.append(f"Preset {preset}: " + json.dumps({k: v for k, v in cfg.to_dict().items()
                                                        if k not in ("data_root", "device")}, sort_keys=True))
    lines.append("")
    lines += [f"{f.name}\n    {f.caption}" for f in figures]
    return "\n".join(lines) + "\n"


def pack_zip(pack: Pack, figures: list[Figure], configs: dict[str, object],
             settings: FigureSettings = FigureSettings()) -> bytes:
    """A zip of every figure (PNG, GIF) plus captions.txt naming the presets and settings."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in figures:
            zf.writestr(f"{pack.name}/{f.name}", f.data())
        zf.writestr(f"{pack.name}/captions.txt", captions_text(pack, figures, configs, settings))
    return buf.getvalue()
