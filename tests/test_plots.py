"""gen_core.figures: the dashboard's Plotly figure builders are plain functions of plain data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from gen_core import figures as plots
from gen_core.data.datasets import DATASETS
from gen_core.data.imaging import make_grid


def gan_steps(n: int) -> list[dict]:
    rng = np.random.default_rng(0)
    return [{"step": i + 1, "epoch": (i + 1) / 50, "time": 0.01 * (i + 1),
             "g_loss": 1.0 + rng.normal(0, 0.1), "d_loss": 1.2 + rng.normal(0, 0.1),
             "total_loss": 2.2, "d_real": 0.7, "d_fake": 0.3} for i in range(n)]


def vae_steps(n: int) -> list[dict]:
    return [{"step": i + 1, "epoch": (i + 1) / 10, "time": 0.1 * i, "loss": 200.0 - i,
             "recon": 180.0 - i, "kl": 20.0, "elbo": -(200.0 - i)} for i in range(n)]


def vae_epochs(n: int) -> list[dict]:
    return [{"epoch": e, "step": 10 * e, "loss": 200.0 - e, "recon": 180.0 - e, "kl": 20.0, "elbo": -200.0 + e,
             "val_loss": 205.0, "val_recon": 185.0, "val_kl": 20.0, "val_elbo": -205.0,
             "val_kl_per_dim": [10.0, 10.0], "time": float(e)} for e in range(1, n + 1)]


# ---------------------------------------------------------------------------- helpers

def test_ema_is_bias_corrected_and_smooths():
    assert plots.ema([5.0, 5.0, 5.0], 0.9).tolist() == pytest.approx([5.0, 5.0, 5.0])  # no warm-up bias
    assert plots.ema([1.0, 2.0, 3.0], 0.0).tolist() == [1.0, 2.0, 3.0]
    noisy = np.tile([0.0, 2.0], 500)
    smooth = plots.ema(noisy, 0.95)
    assert np.std(smooth[100:]) < 0.1 * np.std(noisy)
    assert plots.ema([1.0, float("nan"), 1.0], 0.5)[1] == pytest.approx(1.0)  # NaN carries the average
    with pytest.raises(ValueError):
        plots.ema([1.0], 1.0)


def test_downsample_keeps_ends_and_bound():
    assert plots.downsample_indices(10, 2000).tolist() == list(range(10))
    idx = plots.downsample_indices(100_000, 2000)
    assert len(idx) <= 2000 and idx[0] == 0 and idx[-1] == 99_999
    assert np.all(np.diff(idx) > 0)


# ---------------------------------------------------------------------------- loss curves

def test_gan_loss_figures_have_raw_and_smoothed_traces_with_units():
    figs = plots.gan_loss_figures(gan_steps(300))
    assert set(figs) == {"g_loss", "d_loss", "total_loss"}
    fig = figs["g_loss"]
    assert isinstance(fig, go.Figure)
    assert fig.layout.title.text == "Generator loss"
    assert fig.layout.xaxis.title.text == "Optimiser step"
    assert "loss" in fig.layout.yaxis.title.text
    names = [t.name for t in fig.data]
    assert names == ["raw", "EMA 0.9"]
    assert fig.data[0].opacity < 1 and len(fig.data[0].x) == 300


@pytest.mark.parametrize("x, title", [("epoch", "Epoch"), ("time", "Training time (s)")])
def test_x_axis_choices(x, title):
    fig = plots.metric_figure(gan_steps(50), "d_loss", x=x)
    assert fig.layout.xaxis.title.text == title
    assert fig.data[0].x[-1] == pytest.approx(1.0 if x == "epoch" else 0.5)
    with pytest.raises(ValueError):
        plots.metric_figure(gan_steps(5), "d_loss", x="minutes")


def test_long_history_is_downsampled():
    fig = plots.metric_figure(gan_steps(20_000), "g_loss", max_points=2000)
    assert all(len(t.x) <= 2000 for t in fig.data)
    assert fig.data[-1].x[-1] == 20_000  # the latest step is always drawn


def test_smoothing_zero_draws_one_trace():
    fig = plots.metric_figure(gan_steps(20), "g_loss", smoothing=0.0)
    assert len(fig.data) == 1


def test_empty_history_gives_a_labelled_empty_chart():
    fig = plots.metric_figure([], "g_loss")
    assert len(fig.data) == 0 and "no steps yet" in fig.layout.annotations[0].text
    assert len(plots.vae_metric_figure([], [], "elbo").data) == 0
    assert len(plots.d_output_figure([]).data) == 0


def test_d_output_figure_probability_and_raw_readouts():
    epochs = [{"epoch": 1, "step": 50, "val_d_real": 0.6, "val_d_fake": 0.4, "time": 1.0}]
    fig = plots.d_output_figure(gan_steps(50), epochs, gan_loss="non-saturating")
    names = [t.name for t in fig.data]
    assert "D(x) real EMA 0.9" in names and "D(G(z)) fake EMA 0.9" in names
    assert "D(x) held-out" in names
    assert "probability" in fig.layout.yaxis.title.text
    assert any(s.y0 == 0.5 for s in fig.layout.shapes)  # the "D cannot tell" line
    raw = plots.d_output_figure(gan_steps(50), gan_loss="wgan-gp")
    assert "raw" in raw.layout.yaxis.title.text and not raw.layout.shapes


def test_vae_figures_train_vs_validation_per_epoch():
    figs = plots.vae_figures(vae_steps(30), vae_epochs(3))
    assert set(figs) == {"elbo", "recon", "kl"}
    fig = figs["elbo"]
    names = [t.name for t in fig.data]
    assert names == ["train raw", "train EMA 0.9", "train (epoch mean)", "validation"]
    assert list(fig.data[-1].x) == [1, 2, 3] and list(fig.data[-1].y) == [-205.0] * 3
    assert fig.layout.xaxis.title.text == "Epoch"
    assert fig.layout.yaxis.title.text == "nats per image"
    assert "summed" in plots.vae_metric_figure(vae_steps(3), [], "kl", recon_loss="mse").layout.yaxis.title.text
    with pytest.raises(ValueError):
        plots.vae_metric_figure(vae_steps(3), [], "loss2")


def test_family_loss_figure_for_both_families():
    assert [t.name for t in plots.family_loss_figure("gan", gan_steps(10)).data][-1].startswith("Discriminator")
    vae = plots.family_loss_figure("vae", vae_steps(10))
    assert vae.data[-1].y[-1] > 0  # −ELBO is positive


# ---------------------------------------------------------------------------- latent space

def test_latent_scatter_colours_by_class_names():
    rng = np.random.default_rng(0)
    means = rng.normal(size=(500, 2)).astype(np.float32)
    labels = np.arange(500) % 10
    fig = plots.latent_scatter_figure(means, labels, dataset="fashion-mnist")
    assert [t.name for t in fig.data] == list(DATASETS["fashion-mnist"].classes)
    assert sum(len(t.x) for t in fig.data) == 500
    assert fig.layout.xaxis.title.text == "z₁"


def test_latent_scatter_projection_says_what_it_shows():
    rng = np.random.default_rng(1)
    means = rng.normal(size=(200, 8)) * np.array([5, 1, 1, 1, 1, 1, 1, 0.1])
    labels = np.arange(200) % 10
    first = plots.latent_scatter_figure(means, labels)
    assert "first two of 8" in first.layout.annotations[0].text
    pca = plots.latent_scatter_figure(means, labels, projection="pca")
    assert "principal components" in pca.layout.annotations[0].text
    assert pca.layout.xaxis.title.text == "PC 1"
    pts, _, _ = plots.project_2d(means, "pca")
    assert np.var(pts[:, 0]) > np.var(pts[:, 1])  # PC 1 carries the most variance
    with pytest.raises(ValueError):
        plots.project_2d(means, "tsne")


def test_latent_scatter_downsamples():
    means = np.zeros((5000, 2))
    fig = plots.latent_scatter_figure(means, np.zeros(5000, int), max_points=1000)
    assert sum(len(t.x) for t in fig.data) <= 1000


def test_latent_map_pixel_matches_grid_layout():
    n, cell, pad = 5, 28, 2
    side = n * (cell + pad) + pad
    # z = 0 is the middle cell's centre in both directions
    assert plots.latent_map_pixel(0.0, n, cell, pad) == pytest.approx(side / 2)
    assert plots.latent_map_pixel(0.0, n, cell, pad, axis="y") == pytest.approx(side / 2)
    q = plots.normal_quantiles(n)
    assert plots.latent_map_pixel(q[0], n, cell, pad) == pytest.approx(pad + cell / 2)  # leftmost column
    assert plots.latent_map_pixel(q[-1], n, cell, pad, axis="y") == pytest.approx(pad + cell / 2)  # top row
    assert plots.latent_map_pixel(99.0, n, cell, pad) == plots.latent_map_pixel(q[-1], n, cell, pad)  # clamped


def test_normal_quantiles_match_sampling_grid():
    from gen_core.models.sampling import normal_quantile_grid
    assert plots.normal_quantiles(7) == pytest.approx(normal_quantile_grid(7).numpy(), abs=1e-5)


def test_latent_map_figure_is_one_png_with_marker():
    n = 5
    grid = make_grid(np.full((n * n, 1, 28, 28), 128, np.uint8), nrow=n)
    fig = plots.latent_map_figure(grid, n, marker=(0.5, -0.5), dims=(2, 5))
    image = fig.data[0]
    assert isinstance(image, go.Image) and image.source.startswith("data:image/png;base64,")
    assert fig.layout.xaxis.title.text == "z₃" and fig.layout.yaxis.title.text == "z₆"
    marker = fig.data[1]
    assert marker.x[0] > grid.shape[1] / 2 and marker.y[0] > grid.shape[0] / 2  # right of centre, below it
    assert "0" in fig.layout.xaxis.ticktext  # z = 0 reads "0", never "-0.0"
    assert len(plots.latent_map_figure(grid, n).data) == 1


# ---------------------------------------------------------------------------- tables

def test_history_frame_and_csv():
    records = vae_epochs(2)
    df = plots.history_frame(records)
    assert list(df["epoch"]) == [1, 2]
    assert "val_kl_per_dim_1" in df and "val_kl_per_dim_2" in df
    csv = plots.history_csv(records).decode()
    assert csv.splitlines()[0].startswith("epoch,step,")
    assert isinstance(pd.read_csv(__import__("io").StringIO(csv)), pd.DataFrame)
    assert plots.history_frame([]).empty


def test_class_names_fall_back_to_digits():
    assert plots.class_names("kmnist")[:2] == ["o", "ki"]
    assert plots.class_names(None, 3) == ["0", "1", "2"]
    assert plots.class_names("mnist", 12)[-1] == "11"


# ---------------------------------------------------------------------------- measured quality

def scored_epochs(n: int) -> list[dict]:
    return [{"epoch": e, "step": 10 * e, "time": 1.5 * e, "fid": 300.0 / e, "inception_score": 2.0 + e,
             "precision": 0.5 + 0.05 * e, "recall": 0.1 * e, "class_histogram": [0.1] * 10} for e in range(1, n + 1)]


def _dashed_lines(fig) -> list:
    return [s for s in fig.layout.shapes if s.line.dash == "dash"]


@pytest.mark.parametrize("x, title", [("epoch", "Epoch"), ("time", "Training time (s)")])
def test_quality_figure_over_epochs_or_seconds_with_real_data_line(x, title):
    epochs = scored_epochs(4) + [{"epoch": 5, "time": 9.0}]  # an unscored epoch is skipped
    fig = plots.quality_figure(epochs, "fid", x=x, reference={"fid": 26.3})
    assert fig.layout.title.text.startswith("FID") and fig.layout.xaxis.title.text == title
    (trace,) = fig.data
    assert list(trace.y) == [300.0, 150.0, 100.0, 75.0]
    assert list(trace.x) == ([1, 2, 3, 4] if x == "epoch" else [1.5, 3.0, 4.5, 6.0])
    (line,) = _dashed_lines(fig)
    assert line.y0 == line.y1 == 26.3
    assert any("real data" in a.text for a in fig.layout.annotations)
    assert not _dashed_lines(plots.quality_figure(epochs, "inception_score"))  # no reference: no line
    with pytest.raises(ValueError):
        plots.quality_figure(epochs, "loss")


def test_quality_figures_without_scores_say_so():
    for fig in (plots.quality_figure([{"epoch": 1}], "fid"), plots.precision_recall_figure([]),
                plots.class_histogram_figure(None)):
        assert not fig.data and "no scores yet" in fig.layout.annotations[0].text
    assert not plots.has_quality([{"epoch": 1, "g_loss": 1.0}]) and plots.has_quality(scored_epochs(1))


def test_precision_recall_figure_has_both_with_their_references():
    fig = plots.precision_recall_figure(scored_epochs(3), reference={"precision": 0.87, "recall": 0.86})
    assert [t.name for t in fig.data] == ["precision (fidelity)", "recall (coverage)"]
    assert fig.layout.title.text == "Fidelity, coverage & sharpness"
    assert sorted(s.y0 for s in _dashed_lines(fig)) == [0.86, 0.87]
    assert tuple(fig.layout.yaxis.range) == (-0.02, 1.02)
    # with sharpness measured: a third line, its real-data line, and room for a grainy 1.6
    epochs = [{**e, "sharpness": 0.5 + 0.55 * i} for i, e in enumerate(scored_epochs(3))]
    fig = plots.precision_recall_figure(epochs, reference={"precision": 0.87, "recall": 0.86, "sharpness": 1.06})
    assert [t.name for t in fig.data][-1] == "sharpness (1 = real)"
    assert sorted(s.y0 for s in _dashed_lines(fig)) == [0.86, 0.87, 1.06]
    assert fig.layout.yaxis.range[1] >= 1.6


def test_sharpness_figure_bars_with_noise_and_the_real_line():
    fig = plots.sharpness_figure(["DCGAN", "conv VAE", "broken"], [1.05, 0.5, float("nan")], [0.01, 0.02],
                                 reference=1.06)
    (bars,) = fig.data
    assert list(bars.x) == ["DCGAN", "conv VAE"] and list(bars.y) == [1.05, 0.5]
    assert list(bars.error_y.array) == [0.02, 0.04]  # ± 2 standard errors
    assert [s.y0 for s in _dashed_lines(fig)] == [1.06]
    assert "not measured" in plots.sharpness_figure(["a"], [None]).layout.annotations[0].text


def test_class_histogram_uses_dataset_class_names_and_marks_real_and_uniform():
    hist = [0.3, 0.0, 0.2, 0.1, 0.1, 0.1, 0.0, 0.1, 0.05, 0.05]
    fig = plots.class_histogram_figure(hist, dataset="fashion-mnist", reference=[0.1] * 10, title="GAN")
    bars, real, uniform = fig.data
    assert bars.type == "bar" and list(bars.x)[:2] == ["T-shirt/top", "Trouser"] and list(bars.y) == hist
    assert real.name == "real data" and list(real.y) == [0.1] * 10
    assert uniform.name == "uniform" and uniform.line.dash == "dot" and uniform.y[0] == pytest.approx(0.1)
    digits = plots.class_histogram_figure(hist, dataset="mnist")
    assert list(digits.data[0].x) == [str(i) for i in range(10)] and [t.name for t in digits.data] == [
        "samples", "uniform"]


def _series(values=("0.0001", "0.001"), seeds=(0, 1), n=30):
    out = []
    for i, v in enumerate(values):
        for s in seeds:
            out.append((v, s, [{"step": k, "epoch": k / 10, "time": 0.1 * k, "g_loss": 1.0 + i + 0.01 * s}
                               for k in range(1, n + 1)]))
    return out


def test_sweep_curves_colour_per_value_dash_per_seed():
    fig = plots.sweep_curves_figure(_series(), "g_loss", smoothing=0.0, legend_title="lr_g")
    assert len(fig.data) == 4
    colours = [t.line.color for t in fig.data]
    assert colours[0] == colours[1] != colours[2] == colours[3]
    assert [t.line.dash for t in fig.data] == ["solid", "dash", "solid", "dash"]
    assert fig.data[1].name == "0.0001 · seed 1" and fig.layout.legend.title.text == "lr_g"
    assert fig.layout.xaxis.title.text == "Epoch"
    one_seed = plots.sweep_curves_figure(_series(seeds=(0,)), "g_loss", smoothing=0.0)
    assert [t.name for t in one_seed.data] == ["0.0001", "0.001"]


def test_sweep_curves_band_is_mean_and_std_over_seeds():
    fig = plots.sweep_curves_figure(_series(), "g_loss", smoothing=0.0, seeds="band")
    bands = [t for t in fig.data if t.fill == "toself"]
    means = [t for t in fig.data if t.fill != "toself"]
    assert len(bands) == 2 and len(means) == 2
    assert means[0].y[0] == pytest.approx(1.005) and means[1].name == "0.001 (mean of 2)"
    neg = plots.sweep_curves_figure(_series(seeds=(0,)), "g_loss", smoothing=0.0, negate=True)
    assert neg.data[0].y[0] == pytest.approx(-1.0)
    assert not plots.sweep_curves_figure([], "g_loss").data
    with pytest.raises(ValueError):
        plots.sweep_curves_figure(_series(), "g_loss", seeds="both")


def test_sweep_summary_has_error_bars_in_sweep_order():
    fig = plots.sweep_summary_figure(["0.0001", "0.001", "0.01"], [40.0, 30.0, float("nan")], [2.0, float("nan"), 0],
                                     metric_title="FID", param_label="learning rate G", reference=26.0)
    (trace,) = fig.data
    assert list(trace.x) == ["0.0001", "0.001", "0.01"] and list(trace.error_y.array) == [2.0, 0.0, 0.0]
    assert fig.layout.title.text == "FID by learning rate G" and _dashed_lines(fig)[0].y0 == 26.0
    empty = plots.sweep_summary_figure([], [], metric_title="FID", param_label="x")
    assert not empty.data
