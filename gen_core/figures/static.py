"""Static figures as uint8 images (PIL only), for figure packs: line charts, scatter plots,
tables and labelled montages. Plotly draws the interactive charts of the pages; a zip of report
figures needs PNGs without a browser or kaleido, so these are drawn directly."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gen_core.data.imaging import make_grid


PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]


def _font(size: int = 14):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not math.isfinite(lo) or not math.isfinite(hi):
        return []
    if hi <= lo:
        hi = lo + 1.0
    step = 10 ** math.floor(math.log10((hi - lo) / n))
    for m in (1, 2, 5, 10):
        if (hi - lo) / (step * m) <= n:
            step *= m
            break
    start = math.ceil(lo / step) * step
    return [start + i * step for i in range(int((hi - start) / step) + 1)]


def _fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.2e}"


def _axes(draw, box, xr, yr, font, xlabel, ylabel, title, size):
    left, top, right, bottom = box
    draw.rectangle(box, outline="black")
    for t in _nice_ticks(*xr):
        x = left + (t - xr[0]) / (xr[1] - xr[0] or 1) * (right - left)
        draw.line([(x, bottom), (x, bottom + 4)], fill="black")
        draw.text((x, bottom + 6), _fmt(t), fill="black", font=font, anchor="ma")
    for t in _nice_ticks(*yr):
        y = bottom - (t - yr[0]) / (yr[1] - yr[0] or 1) * (bottom - top)
        draw.line([(left - 4, y), (left, y)], fill="black")
        draw.line([(left, y), (right, y)], fill="#e6e6e6")
        draw.text((left - 6, y), _fmt(t), fill="black", font=font, anchor="rm")
    draw.text(((left + right) / 2, size[1] - 6), xlabel, fill="black", font=font, anchor="md")
    draw.text((8, top - 8), ylabel, fill="black", font=font, anchor="ld")
    draw.text((size[0] / 2, 6), title, fill="black", font=_font(16), anchor="ma")


def _range(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    lo, hi = min(finite), max(finite)
    pad = (hi - lo) * 0.05 or 0.5
    return lo - pad, hi + pad


def line_chart(series: dict[str, tuple[Sequence[float], Sequence[float]]], *, title: str, xlabel: str,
               ylabel: str, size: tuple[int, int] = (720, 420)) -> np.ndarray:
    """RGB uint8 (H, W, 3): one polyline per series {name: (xs, ys)}, with axes and a legend."""
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font = _font(13)
    box = (70, 40, size[0] - 20, size[1] - 50)
    xs_all = [x for xs, _ in series.values() for x in xs]
    ys_all = [y for _, ys in series.values() for y in ys]
    xr, yr = _range(xs_all), _range(ys_all)
    if xs_all:
        xr = (min(xs_all), max(xs_all) if max(xs_all) > min(xs_all) else min(xs_all) + 1)
    _axes(draw, box, xr, yr, font, xlabel, ylabel, title, size)
    left, top, right, bottom = box
    for i, (name, (xs, ys)) in enumerate(series.items()):
        pts = [(left + (x - xr[0]) / (xr[1] - xr[0]) * (right - left),
                bottom - (y - yr[0]) / (yr[1] - yr[0]) * (bottom - top))
               for x, y in zip(xs, ys) if y is not None and math.isfinite(y)]
        colour = PALETTE[i % len(PALETTE)]
        if len(pts) > 1:
            draw.line(pts, fill=colour, width=2)
        elif pts:
            draw.ellipse([pts[0][0] - 3, pts[0][1] - 3, pts[0][0] + 3, pts[0][1] + 3], fill=colour)
        ly = top + 8 + 18 * i
        draw.line([(right - 150, ly), (right - 130, ly)], fill=colour, width=3)
        draw.text((right - 125, ly), name, fill="black", font=font, anchor="lm")
    return np.asarray(img)


def scatter_chart(points: np.ndarray, labels: np.ndarray, class_names: Sequence[str], *, title: str,
                  xlabel: str = "z₁", ylabel: str = "z₂", size: tuple[int, int] = (600, 560)) -> np.ndarray:
    """RGB uint8: 2-D points coloured by class, with a legend of class names."""
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font = _font(13)
    box = (70, 40, size[0] - 110, size[1] - 50)
    pts = np.asarray(points, dtype=float)
    xr, yr = _range(list(pts[:, 0])), _range(list(pts[:, 1]))
    _axes(draw, box, xr, yr, font, xlabel, ylabel, title, size)
    left, top, right, bottom = box
    for (x, y), c in zip(pts, np.asarray(labels)):
        px = left + (x - xr[0]) / (xr[1] - xr[0]) * (right - left)
        py = bottom - (y - yr[0]) / (yr[1] - yr[0]) * (bottom - top)
        draw.ellipse([px - 2, py - 2, px + 2, py + 2], fill=PALETTE[int(c) % len(PALETTE)])
    for i, name in enumerate(class_names):
        ly = top + 8 + 18 * i
        draw.ellipse([right + 12, ly - 4, right + 20, ly + 4], fill=PALETTE[i % len(PALETTE)])
        draw.text((right + 26, ly), str(name)[:12], fill="black", font=font, anchor="lm")
    return np.asarray(img)


def table_image(header: Sequence[str], rows: Sequence[Sequence], *, title: str) -> np.ndarray:
    """RGB uint8: a plain table (numbers right-aligned with thousands separators)."""
    font = _font(14)
    cells = [[str(h) for h in header]] + [[f"{v:,}" if isinstance(v, int) else str(v) for v in r] for r in rows]
    widths = [max(int(font.getlength(row[j])) for row in cells) + 24 for j in range(len(header))]
    row_h, top = 26, 40
    size = (max(sum(widths) + 20, int(_font(16).getlength(title)) + 20), top + row_h * len(cells) + 12)
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    draw.text((10, 10), title, fill="black", font=_font(16))
    for i, row in enumerate(cells):
        y = top + i * row_h
        if i == 0:
            draw.rectangle([10, y, 10 + sum(widths), y + row_h], fill="#eeeeee")
        x = 10
        for j, text in enumerate(row):
            numeric = i > 0 and text.replace(",", "").replace(".", "").isdigit()
            if numeric:
                draw.text((x + widths[j] - 12, y + row_h / 2), text, fill="black", font=font, anchor="rm")
            else:
                draw.text((x + 12, y + row_h / 2), text, fill="black", font=font, anchor="lm")
            x += widths[j]
        draw.line([(10, y + row_h), (10 + sum(widths), y + row_h)], fill="#cccccc")
    return np.asarray(img)


def labelled_montage(grids: Sequence[np.ndarray], labels: Sequence[str], *, columns: int | None = None,
                     scale: int = 2) -> np.ndarray:
    """Equal-sized uint8 images (H, W) or (H, W, 3) side by side, each with a caption above it."""
    if not grids:
        raise ValueError("a montage needs at least one image")
    rgb = [np.repeat(g[..., None], 3, axis=2) if g.ndim == 2 else g for g in grids]
    rgb = [g.repeat(scale, 0).repeat(scale, 1) for g in rgb]
    h, w = rgb[0].shape[:2]
    cols = columns or min(len(rgb), 5)
    rows = math.ceil(len(rgb) / cols)
    label_h, pad = 22, 8
    canvas = Image.new("RGB", (cols * (w + pad) + pad, rows * (h + label_h + pad) + pad), "white")
    draw = ImageDraw.Draw(canvas)
    font = _font(14)
    for i, (g, text) in enumerate(zip(rgb, labels)):
        r, c = divmod(i, cols)
        x, y = pad + c * (w + pad), pad + r * (h + label_h + pad)
        draw.text((x + w / 2, y + 2), text, fill="black", font=font, anchor="ma")
        canvas.paste(Image.fromarray(g), (x, y + label_h))
    return np.asarray(canvas)


def grid_of(images_u8: np.ndarray, nrow: int) -> np.ndarray:
    """uint8 (N, C, H, W) → one grid image with nrow images per row (white-on-black as trained)."""
    return make_grid(images_u8, nrow=nrow)
