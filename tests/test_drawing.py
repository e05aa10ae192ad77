"""Draw and encode: a drawn image (a synthetic array) is prepared MNIST-style, encoded and placed."""
import io

import numpy as np
import pytest
import torch
from PIL import Image

from gen_core.evaluation.drawing import DrawingError, encode_drawing, prepare_drawing
from gen_core.figures.drawing import drawing_in_latent_figure
from gen_core.models.registry import build_model


def _canvas_seven(size=280) -> np.ndarray:
    """An RGBA canvas like streamlit-drawable-canvas returns: a white '7' on transparent black."""
    a = np.zeros((size, size, 4), np.uint8)
    a[60:80, 60:220] = 255          # the bar
    for i in range(140):            # the slanted stroke
        r, c = 80 + i, 200 - i // 2
        a[r, c - 10:c + 10] = 255
    return a


def test_prepare_canvas_is_mnist_like():
    x = prepare_drawing(_canvas_seven())
    assert x.shape == (1, 1, 28, 28) and 0 <= x.min() and x.max() <= 1
    ink = x[0, 0] > 0.1
    rows, cols = np.where(ink.any(1).numpy())[0], np.where(ink.any(0).numpy())[0]
    assert rows[-1] - rows[0] + 1 <= 21 and cols[-1] - cols[0] + 1 <= 21   # fits the 20×20 box
    ys, xs = np.nonzero(x[0, 0].numpy() > 0)
    assert abs(np.average(ys, weights=x[0, 0].numpy()[ys, xs]) - 13.5) < 1.5  # centred by mass


def test_dark_on_white_upload_is_inverted():
    im = Image.new("RGB", (100, 100), "white")
    im.paste((0, 0, 0), (40, 10, 60, 90))  # a black "1"
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    x = prepare_drawing(buf.getvalue())
    assert x[0, 0, 14, 14] > 0.5 and x[0, 0, 0, 0] == 0


def test_empty_and_bad_input():
    with pytest.raises(DrawingError, match="empty"):
        prepare_drawing(np.zeros((100, 100, 4), np.uint8))
    with pytest.raises(DrawingError, match="PNG or JPEG"):
        prepare_drawing(b"not an image")


@pytest.mark.parametrize("name", ["mlp-vae", "cvae", "conv-vae"])
def test_drawing_is_encoded_and_placed(name):
    torch.manual_seed(0)
    model = build_model(name).eval()
    x = prepare_drawing(_canvas_seven())
    enc = encode_drawing(model, x, label=7)
    assert enc.mu.shape == enc.sigma.shape == (model.latent_dim,) and (enc.sigma > 0).all()
    assert enc.reconstruction.shape == (28, 28) and enc.input_image.shape == (28, 28)
    if model.latent_dim == 2:
        assert enc.neighbourhood.shape == (7 * 30 + 2, 7 * 30 + 2)
    means = np.random.default_rng(0).normal(size=(50, model.latent_dim))
    fig = drawing_in_latent_figure(means, np.arange(50) % 10, [str(i) for i in range(10)], enc.mu, enc.sigma)
    names = [t.name for t in fig.data]
    assert "μ (your drawing)" in names and "your drawing ±1σ" in names
    xs = np.array(fig.data[-2].x)  # the 1σ ellipse spans mu ± sigma
    assert xs.max() == pytest.approx(enc.mu[0] + enc.sigma[0], rel=1e-3)


def test_gan_is_refused():
    with pytest.raises(DrawingError, match="VAE"):
        encode_drawing(build_model("mlp-gan"), torch.zeros(1, 1, 28, 28))
