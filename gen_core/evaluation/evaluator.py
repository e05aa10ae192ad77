"""The evaluator: a small digit/clothing classifier whose features the quality metrics use.

Why our own network: FID and the Inception Score are defined on Inception-v3 features
(Heusel et al. 2017; Salimans et al. 2016), but those weights cannot be downloaded here and
ImageNet features fit 28×28 grey digits poorly. Like many MNIST studies we compute the same
statistics on a classifier trained on the dataset itself. Scores are therefore comparable
*within this project* (and with the real-data references it prints), not with papers.

Architecture (the classic two-conv MNIST CNN): conv3×3(32) → pool → conv3×3(64) → pool →
dense(128) = the penultimate *features* → dense(10) = class logits.

Train: `python scripts/train_evaluator.py --dataset mnist --data-root ../shared/data`.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


CHECKPOINT_DIR = Path(__file__).resolve().parents[2] / "checkpoints"   # <repo>/checkpoints
EVALUATOR_FORMAT = "gen_core.evaluator"
# Datasets that share an evaluator: the embedded subset is MNIST.
EVALUATOR_FOR = {"mnist": "mnist", "mnist-mini": "mnist", "fashion-mnist": "fashion-mnist", "kmnist": "kmnist"}


class Evaluator(nn.Module):
    num_features = 128  # read by torchmetrics to size its feature statistics

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(True), nn.MaxPool2d(2),   # 14×14
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(True), nn.MaxPool2d(2),  # 7×7
            nn.Flatten(), nn.Linear(64 * 7 * 7, self.num_features), nn.ReLU(True),
        )
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(self.num_features, num_classes)

    @staticmethod
    def prepare(x: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1], (N, 1, S, S) any S → (N, 1, 28, 28) standardised input."""
        x = x.float()
        if x.shape[-1] != 28:
            x = F.interpolate(x, size=(28, 28), mode="area")
        return (x - 0.5) / 0.5

    def features(self, x: torch.Tensor) -> torch.Tensor:  # (N, 1, S, S) in [0, 1] → (N, 128)
        return self.body(self.prepare(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # → (N, 10) logits
        return self.head(self.dropout(self.features(x)))


def evaluator_path(dataset: str) -> Path:
    return CHECKPOINT_DIR / f"evaluator-{EVALUATOR_FOR.get(dataset, dataset)}.pt"


def save_evaluator(model: Evaluator, path: str | Path, meta: dict) -> Path:
    """fp16 weights (≈0.9 MB) + metadata; plain tensors/strs so `weights_only` loading works."""
    from gen_core.persistence.atomic import atomic_torch_save
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    return atomic_torch_save({"format": EVALUATOR_FORMAT, "state": state, "meta": meta}, Path(path))


_CACHE: dict[str, Evaluator] = {}


def load_evaluator(dataset: str, device: str | torch.device = "cpu") -> Evaluator | None:
    """The shipped evaluator for `dataset` in eval mode, or None when none was trained for it."""
    path = evaluator_path(dataset)
    key = f"{path}:{device}"
    if key in _CACHE:
        return _CACHE[key]
    if not path.exists():
        return None
    blob = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(blob, dict) or blob.get("format") != EVALUATOR_FORMAT:
        raise ValueError(f"{path} is not a gen_core evaluator file")
    model = Evaluator()
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob["state"].items()})
    model.meta = blob.get("meta", {})
    model.eval().requires_grad_(False)
    _CACHE[key] = model.to(device)
    return _CACHE[key]


@torch.no_grad()
def accuracy(model: Evaluator, images_u8: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> float:
    model.eval()
    correct = 0
    for x, y in zip(images_u8.split(batch_size), labels.split(batch_size)):
        correct += (model(x[:, None].float() / 255).argmax(1) == y).sum().item()
    return correct / len(labels)


@torch.no_grad()
def classifier_scores(model: Evaluator, images: torch.Tensor, threshold: float = 0.9,
                      batch_size: int = 500) -> dict:
    """How a classifier reads generated images in [0, 1], (N, 1, S, S).

    confident: fraction read with max softmax ≥ threshold (real MNIST test digits: ≈ 0.99);
    entropy:   entropy of the predicted-class histogram / log(classes) (1 = every class equally);
    missing:   classes under 1% of the samples (0 for a model that draws every class);
    histogram: the predicted-class fractions.
    """
    model.eval()
    probs = torch.cat([model(c).softmax(1) for c in images.split(batch_size)])
    classes = probs.shape[1]
    hist = torch.bincount(probs.argmax(1), minlength=classes).double() / len(probs)
    nz = hist[hist > 0]
    entropy = float(-(nz * nz.log()).sum() / torch.log(torch.tensor(float(classes), dtype=torch.float64)))
    return {"confident": float((probs.max(1).values >= threshold).float().mean()), "entropy": entropy,
            "missing": int((hist < 0.01).sum()), "histogram": hist.tolist()}


def train_evaluator(dataset: str, data_root: str | None = None, epochs: int = 4, batch_size: int = 128,
                    lr: float = 1e-3, seed: int = 0, log=print) -> tuple[Evaluator, dict]:
    """Train on the full training split with small random shifts; report test accuracy."""
    from gen_core.data.datasets import load_dataset
    from gen_core.data.images import Batcher

    data = load_dataset(dataset, data_root)
    if data.source == "embedded" and dataset != "mnist-mini":
        raise RuntimeError(f"{dataset} is not available ({data.message}); the evaluator needs the full dataset.")
    torch.manual_seed(seed)
    model = Evaluator(len(data.classes))
    batcher = Batcher(data.train_images, data.train_labels, batch_size, scale="unit", seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr * 3, total_steps=epochs * len(batcher))
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        for x, y in batcher:
            # Random ±2 px shifts: cheap augmentation that buys robustness to generator jitter.
            dx, dy = torch.randint(-2, 3, (2,)).tolist()
            x = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        acc = accuracy(model, data.test_images, data.test_labels)
        log(f"epoch {epoch}/{epochs}: test accuracy {acc:.4f} ({time.perf_counter() - t0:.0f} s)")
    meta = {"dataset": data.name, "test_accuracy": acc, "epochs": epochs, "train_images": len(data.train_labels),
            "seconds": round(time.perf_counter() - t0, 1)}
    return model.eval(), meta
