"""Build the embedded `mnist-mini` dataset: a small, stratified subset of MNIST.

The dashboard ships this file so that it always has *some* real data, even on
a machine with no copy of MNIST and no network. It holds 1,000 training images
per digit (from the MNIST training split) and 200 test images per digit (from
the MNIST test split), picked at random with a fixed seed, stored as uint8 in a
compressed .npz (about 2 MB).

Usage (from the repository root):

    python scripts/build_mnist_mini.py                       # ../shared/data → gen_core/assets/
    python scripts/build_mnist_mini.py --data-root data --out /tmp/mini.npz

The arrays written are

    train_images (10000, 28, 28) uint8    train_labels (10000,) uint8
    test_images  (2000, 28, 28)  uint8    test_labels  (2000,)  uint8

Within each split the images are shuffled (not grouped by class), so the first
n images of a split are already a mixed sample of digits.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "gen_core" / "assets" / "mnist_mini.npz"
MAX_BYTES = 3 * 1024 * 1024  # the embedded file must stay small


def stratified_subset(images: np.ndarray, labels: np.ndarray, per_class: int,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`per_class` random images of every class, returned in shuffled order."""
    picked = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) < per_class:
            raise SystemExit(f"class {c} has only {len(idx)} images, need {per_class}")
        picked.append(rng.choice(idx, size=per_class, replace=False))
    order = rng.permutation(np.concatenate(picked))
    return images[order], labels[order]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", default="../shared/data",
                        help="folder holding MNIST/raw in torchvision's layout (default: ../shared/data)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help=f"output .npz (default: {DEFAULT_OUT})")
    parser.add_argument("--train-per-class", type=int, default=1000, help="training images per digit")
    parser.add_argument("--test-per-class", type=int, default=200, help="test images per digit")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random selection")
    args = parser.parse_args()

    from torchvision.datasets import MNIST  # imported here so --help is instant

    rng = np.random.default_rng(args.seed)
    arrays = {}
    for split, train, per_class in (("train", True, args.train_per_class),
                                    ("test", False, args.test_per_class)):
        ds = MNIST(root=args.data_root, train=train, download=False)
        images = ds.data.numpy().astype(np.uint8)       # (N, 28, 28) uint8
        labels = ds.targets.numpy().astype(np.uint8)    # (N,) digits 0..9
        x, y = stratified_subset(images, labels, per_class, rng)
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = x, y
        print(f"{split}: {len(x):,} images from {len(images):,} "
              f"({per_class} per class, counts {np.bincount(y).tolist()})")

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    size = out.stat().st_size
    print(f"wrote {out} ({size / 1e6:.2f} MB, {size:,} bytes)")
    if size > MAX_BYTES:
        raise SystemExit(f"{out} is {size:,} bytes, over the {MAX_BYTES:,}-byte budget")


if __name__ == "__main__":
    main()
