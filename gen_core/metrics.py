"""How good is a generative model? Scores on the evaluator's features, with real-data references.

Every score is computed on features of `gen_core.evaluator.Evaluator` (a CNN trained on the
dataset), *not* Inception-v3, so numbers compare within this project only. Each comes with
the same score for real data (`real_reference`), so a student can read "FID 12 where real
test-vs-train is 1.5" rather than a bare number.

One line per metric (also shown in the UI, see `METRIC_HELP`):
  FID        Fréchet distance between Gaussian fits of real and generated features (Heusel et al. 2017). Lower is better.
  KID        Kernel (polynomial MMD²) distance, unbiased for small samples (Bińkowski et al. 2018). Lower is better.
  IS         exp E[KL(p(y|x) ‖ p(y))] from the evaluator's class probabilities (Salimans et al. 2016). Max = number of classes.
  precision  share of generated samples inside the real data's k-NN manifold (Kynkäänniemi et al. 2019): sharpness.
  recall     share of real samples inside the generated k-NN manifold: diversity / coverage.
  KL→uniform KL divergence of the generated class histogram from uniform; 0 = every class equally often.
  missing    classes that receive under 10% of their fair share of samples: mode collapse.
FID, KID and IS use torchmetrics (numerically careful matrix square root, unbiased KID) with a
pass-through feature extractor, so features are extracted once and shared by all scores.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import torch
from torch import nn

from .evaluator import Evaluator, load_evaluator
from .losses import vae_loss
from .sampling import decode

# torchmetrics warns that KID/IS keep every feature in memory: at our sizes (≤ 20,000 × 128
# floats) that is a few MB, so the warning only adds noise to logs and test output.
warnings.filterwarnings("ignore", message=r".*will save all extracted features in buffer.*")

METRIC_HELP = {
    "fid": "FID — distance between real and generated feature statistics (lower is better).",
    "kid": "KID — kernel distance, unbiased on small samples (lower is better).",
    "inception_score": "IS — confident and varied class predictions (higher is better; max = 10).",
    "precision": "Precision — share of samples that look like real data (sharpness).",
    "recall": "Recall — share of real data the samples cover (diversity).",
    "kl_to_uniform": "KL to uniform — how unevenly the classes are generated (0 = balanced).",
    "missing_classes": "Missing classes — classes generated under 10% of their fair share (mode collapse).",
}


class _PassThrough(nn.Module):
    """Hands precomputed features to torchmetrics unchanged."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


@dataclass
class FeatureSet:
    """Evaluator outputs for one set of images."""
    features: torch.Tensor  # (N, 128) penultimate activations, float64 on CPU
    logits: torch.Tensor    # (N, classes)

    def __len__(self) -> int:
        return len(self.features)


@torch.no_grad()
def extract(evaluator: Evaluator, images: torch.Tensor, batch_size: int = 500) -> FeatureSet:
    """Images in [0, 1], (N, 1, S, S) → features and logits (any S; resized to 28 inside)."""
    dev = next(evaluator.parameters()).device
    feats, logits = [], []
    for chunk in images.split(batch_size):
        f = evaluator.features(chunk.to(dev))
        feats.append(f.double().cpu())
        logits.append(evaluator.head(f).double().cpu())
    return FeatureSet(torch.cat(feats), torch.cat(logits))


@dataclass
class SampleScores:
    n: int
    fid: float
    kid: float
    kid_std: float
    inception_score: float
    precision: float
    recall: float
    kl_to_uniform: float
    missing_classes: int
    class_histogram: list[float]   # share of samples per predicted class
    mode_collapse: bool

    def as_dict(self) -> dict:
        return asdict(self)


def fid(real: FeatureSet, fake: FeatureSet) -> float:
    from torchmetrics.image.fid import FrechetInceptionDistance
    metric = FrechetInceptionDistance(feature=_PassThrough(real.features.shape[1]))
    metric.update(real.features, real=True)
    metric.update(fake.features, real=False)
    return max(0.0, float(metric.compute()))  # tiny negatives are round-off of a zero distance


def kid(real: FeatureSet, fake: FeatureSet, seed: int = 0) -> tuple[float, float]:
    from torchmetrics.image.kid import KernelInceptionDistance
    subset = min(len(real), len(fake), 1000)
    metric = KernelInceptionDistance(feature=_PassThrough(real.features.shape[1]), subsets=20, subset_size=subset)
    metric.update(real.features, real=True)
    metric.update(fake.features, real=False)
    with torch.random.fork_rng():  # KID draws random subsets; keep scores reproducible
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)


def inception_score(fake: FeatureSet, seed: int = 0) -> float:
    from torchmetrics.image.inception import InceptionScore
    # Salimans et al. average over 10 splits; small sets use one split (its std is then undefined).
    metric = InceptionScore(feature=_PassThrough(fake.logits.shape[1]), splits=10 if len(fake) >= 1000 else 1)
    metric.update(fake.logits)
    with torch.random.fork_rng(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        torch.manual_seed(seed)
        mean, _ = metric.compute()
    return float(mean)


def _kth_radius(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each point to its k-th nearest neighbour in the same set (self excluded)."""
    d = torch.cdist(x, x)
    return d.kthvalue(k + 1, dim=1).values


def _inside(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    """For each point: is it within radius of at least one centre? (N,) bool."""
    out = []
    for p in points.split(chunk):
        out.append((torch.cdist(p, centres) <= radii[None]).any(1))
    return torch.cat(out)


def precision_recall(real: FeatureSet, fake: FeatureSet, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN manifolds."""
    r, f = real.features.float(), fake.features.float()
    precision = _inside(f, r, _kth_radius(r, k)).float().mean().item()
    recall = _inside(r, f, _kth_radius(f, k)).float().mean().item()
    return precision, recall


def class_balance(fake: FeatureSet) -> tuple[list[float], float, int]:
    """(histogram of predicted classes, KL(hist ‖ uniform), classes under 10% of their share)."""
    classes = fake.logits.shape[1]
    hist = torch.bincount(fake.logits.argmax(1), minlength=classes).double() / len(fake)
    nz = hist > 0
    kl = float((hist[nz] * (hist[nz] * classes).log()).sum())
    missing = int((hist < 0.1 / classes).sum())
    return hist.tolist(), kl, missing


def score_features(real: FeatureSet, fake: FeatureSet, k: int = 3, seed: int = 0) -> SampleScores:
    hist, kl, missing = class_balance(fake)
    kid_mean, kid_std = kid(real, fake, seed)
    precision, recall = precision_recall(real, fake, k)
    return SampleScores(
        n=len(fake), fid=fid(real, fake), kid=kid_mean, kid_std=kid_std,
        inception_score=inception_score(fake, seed), precision=precision, recall=recall,
        kl_to_uniform=kl, missing_classes=missing, class_histogram=hist,
        # A healthy model (and real data: KL ≈ 0.00) covers every class; collapse empties some.
        mode_collapse=missing > 0 or kl > 0.25,
    )


def score_images(evaluator: Evaluator, real_images: torch.Tensor, fake_images: torch.Tensor,
                 k: int = 3, seed: int = 0) -> SampleScores:
    """Both image sets in [0, 1], (N, 1, S, S)."""
    return score_features(extract(evaluator, real_images), extract(evaluator, fake_images), k, seed)


def generate(model, n: int, seed: int = 0, batch_size: int = 500) -> torch.Tensor:
    """n samples from z ~ N(0, I) in [0, 1], reproducible per seed."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, model.latent_dim, generator=gen)
    return torch.cat([decode(model, chunk) for chunk in z.split(batch_size)])


def images_from_u8(images_u8: torch.Tensor) -> torch.Tensor:
    """(N, H, W) uint8 → (N, 1, H, W) float in [0, 1]."""
    return images_u8[:, None].float() / 255


def real_reference(data, n: int = 2000, k: int = 3, seed: int = 0) -> SampleScores | None:
    """The scores of real held-out images against real training images: the best a model can do.

    Uses the same n as model scoring: FID and KID depend on sample size.
    """
    evaluator = load_evaluator(data.name)
    if evaluator is None:
        return None
    gen = torch.Generator().manual_seed(seed)
    train = data.train_images[torch.randperm(len(data.train_images), generator=gen)[:n]]
    test = data.test_images[:n]
    return score_images(evaluator, images_from_u8(train), images_from_u8(test), k, seed)


def model_scores(model, data, n: int = 2000, k: int = 3, seed: int = 0) -> SampleScores | None:
    """Score n samples of `model` against n real training images of `data` (None: no evaluator)."""
    evaluator = load_evaluator(data.name)
    if evaluator is None:
        return None
    gen = torch.Generator().manual_seed(seed)
    real = images_from_u8(data.train_images[torch.randperm(len(data.train_images), generator=gen)[:n]])
    return score_images(evaluator, real, generate(model, n, seed), k, seed)


# ---------------------------------------------------------------------------
# VAE-specific: likelihood bound and posterior collapse
# ---------------------------------------------------------------------------

@dataclass
class VAEScores:
    elbo: float               # per image, nats (higher is better)
    recon: float              # -E_q[log p(x|z)]
    kl: float                 # KL(q(z|x) ‖ p(z))
    kl_per_dim: list[float]
    active_units: int         # dims whose posterior mean varies across data (Burda et al. 2016)
    latent_dim: int

    def as_dict(self) -> dict:
        return asdict(self)


@torch.no_grad()
def vae_scores(model, images: torch.Tensor, recon: str = "bce", batch_size: int = 500,
               active_threshold: float = 0.01, seed: int = 0) -> VAEScores:
    """Test-set ELBO with its parts, KL per latent dimension, and the number of active units.

    A unit u is active when Cov_x(E_q[z_u | x]) > 0.01 (Burda et al. 2016): an inactive unit's
    posterior equals the prior for every image — the signal of posterior collapse.
    """
    was_training = model.training
    model.eval()
    dev = next(model.parameters()).device
    gen = torch.Generator(device=dev).manual_seed(seed)
    n, totals, kl_dims, means = 0, {"recon": 0.0, "kl": 0.0}, 0.0, []
    for chunk in images.split(batch_size):
        chunk = chunk.to(dev)
        out = model(chunk, generator=gen)
        terms = vae_loss(out, chunk, recon, 1.0)
        b = len(chunk)
        totals["recon"] += b * terms["recon"].item()
        totals["kl"] += b * terms["kl"].item()
        kl_dims = kl_dims + b * terms["kl_per_dim"].cpu()
        means.append(out.mu.cpu())
        n += b
    model.train(was_training)
    mu = torch.cat(means)
    active = int((mu.var(0) > active_threshold).sum()) if len(mu) > 1 else 0
    rec, kl = totals["recon"] / n, totals["kl"] / n
    return VAEScores(elbo=-(rec + kl), recon=rec, kl=kl, kl_per_dim=(kl_dims / n).tolist(),
                     active_units=active, latent_dim=model.latent_dim)


def nan_to_none(value):
    return None if isinstance(value, float) and math.isnan(value) else value
