"""How good is a generative model? Scores on the evaluator's features, with real-data references.

Every score is computed on features of `gen_core.evaluation.evaluator.Evaluator` (a CNN trained on the
dataset), *not* Inception-v3, so numbers compare within this project only. Each comes with
the same score for real data (`real_reference`), so a student can read "FID 12 where real
test-vs-train is 1.5" rather than a bare number.

One line per metric (also shown in the UI, see `METRIC_HELP`):
  FID        Fréchet distance between Gaussian fits of real and generated features (Heusel et al. 2017). Lower is better.
  KID        Kernel (polynomial MMD²) distance, unbiased for small samples (Bińkowski et al. 2018). Lower is better.
  IS         exp E[KL(p(y|x) ‖ p(y))] from the evaluator's class probabilities (Salimans et al. 2016). Max = number of classes.
  precision  share of generated samples inside the real data's k-NN manifold (Kynkäänniemi et al. 2019): fidelity.
  recall     share of real samples inside the generated k-NN manifold: coverage (diversity).
  sharpness  Laplacian (high-frequency) energy of the samples relative to real images, per unit of
             contrast: 1 = as sharp as real, < 1 blurrier, > 1 grainier / noisier than real.
  KL→uniform KL divergence of the generated class histogram from uniform; 0 = every class equally often.
  missing    classes that receive under 10% of their fair share of samples: mode collapse.
FID, KID and IS use torchmetrics (numerically careful matrix square root, unbiased KID) with a
pass-through feature extractor, so features are extracted once and shared by all scores.

Precision is *not* sharpness: a blurry VAE digit sits close to real digits in the evaluator's
feature space (high precision) while looking soft to a student. `sharpness` measures what the eye
sees, directly on pixels, and `noise_bands` says how much of a difference between two models is
sampling noise (split-half estimates of each score's standard error).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from gen_core.evaluation.evaluator import Evaluator, load_evaluator
from gen_core.models.sampling import decode
from gen_core.objectives.losses import vae_loss


# torchmetrics warns that KID/IS keep every feature in memory: at our sizes (≤ 20,000 × 128
# floats) that is a few MB, so the warning only adds noise to logs and test output.
warnings.filterwarnings("ignore", message=r".*will save all extracted features in buffer.*")

METRIC_HELP = {
    "fid": "FID — distance between real and generated feature statistics (lower is better).",
    "kid": "KID — kernel distance, unbiased on small samples (lower is better).",
    "inception_score": "IS — confident and varied class predictions (higher is better; max = 10).",
    "precision": "Precision (fidelity) — share of samples that fall among real images in feature space "
                 "(higher is better).",
    "recall": "Recall (coverage) — share of real images the samples come close to: how much of the data's "
              "variety they cover (higher is better).",
    "sharpness": "Sharpness — edge (Laplacian) energy of the samples relative to real images: 1 = as sharp as "
                 "real, below 1 blurrier, above 1 grainier than real.",
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
    """Evaluator outputs for one set of images (and their pixel edge statistics, see `edge_energy`)."""
    features: torch.Tensor  # (N, 128) penultimate activations, float64 on CPU
    logits: torch.Tensor    # (N, classes)
    edges: torch.Tensor | None = None  # (N, 2): per image (mean squared Laplacian, pixel variance)

    def __len__(self) -> int:
        return len(self.features)

    def subset(self, idx: torch.Tensor) -> "FeatureSet":
        return FeatureSet(self.features[idx], self.logits[idx], None if self.edges is None else self.edges[idx])


# ---------------------------------------------------------------------------
# Sharpness: what the eye calls blur, measured on pixels
# ---------------------------------------------------------------------------
# Blur removes high spatial frequencies; the discrete Laplacian is a high-pass filter, so the
# energy of its response is the classic focus / blur measure (Pech-Pacheco et al. 2000, "variance
# of the Laplacian"). Dividing by the pixel variance makes it a property of the *edges*, not of
# how much ink or contrast an image has. Relative to the same quantity on real images it reads
# as a ratio: 1 = as sharp as real; a 3×3 box blur of real MNIST scores about 0.2; salt-and-
# pepper grain pushes it above 1.
EDGE_SIDE = 28  # images are compared at the evaluator's resolution, so a 64×64 model is not favoured
_LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).view(1, 1, 3, 3)


@torch.no_grad()
def edge_energy(images: torch.Tensor, side: int | None = EDGE_SIDE) -> torch.Tensor:
    """Images in [0, 1], (N, C, S, S) → (N, 2) float64: (mean squared Laplacian, pixel variance) per image.

    Colour images are measured on their grey value (the channel mean).
    """
    x = images.float().cpu()
    if x.dim() == 3:
        x = x[:, None]
    if x.shape[1] > 1:
        x = x.mean(1, keepdim=True)
    if side is not None and x.shape[-1] != side:
        x = F.interpolate(x, size=(side, side), mode="area")
    lap = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), _LAPLACIAN)  # (N, 1, S, S)
    return torch.stack([lap.pow(2).mean((1, 2, 3)), x.var((1, 2, 3), unbiased=False)], 1).double()


def edge_ratio(edges: torch.Tensor) -> float:
    """Laplacian energy per unit of pixel variance over a set: a ratio of sums, robust to blank images."""
    return float(edges[:, 0].sum() / edges[:, 1].sum().clamp_min(1e-12))


def sharpness(real: FeatureSet | torch.Tensor, fake: FeatureSet | torch.Tensor) -> float | None:
    """Edge energy of `fake` relative to `real` (1 = as sharp as real). Edge tensors or FeatureSets."""
    r = real.edges if isinstance(real, FeatureSet) else real
    f = fake.edges if isinstance(fake, FeatureSet) else fake
    if r is None or f is None or len(r) == 0 or len(f) == 0:
        return None
    base = edge_ratio(r)
    return edge_ratio(f) / base if base > 0 else None


@torch.no_grad()
def extract(evaluator: Evaluator, images: torch.Tensor, batch_size: int = 500) -> FeatureSet:
    """Images in [0, 1], (N, 1, S, S) → features, logits (any S; resized to 28 inside) and edge statistics."""
    dev = next(evaluator.parameters()).device
    feats, logits = [], []
    for chunk in images.split(batch_size):
        f = evaluator.features(chunk.to(dev))
        feats.append(f.double().cpu())
        logits.append(evaluator.head(f).double().cpu())
    return FeatureSet(torch.cat(feats), torch.cat(logits), edge_energy(images))


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
    sharpness: float | None = None  # Laplacian energy relative to the real images (1 = as sharp); needs pixels
    # Standard error of each score from split halves of the samples (`noise_bands`); {} when not estimated.
    noise: dict[str, float] = field(default_factory=dict)

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


# ---------------------------------------------------------------------------
# Noise bands: how much of a score is the luck of the draw?
# ---------------------------------------------------------------------------
NOISE_KEYS = ("fid", "precision", "recall", "sharpness", "kl_to_uniform")
NOISE_ROUNDS = 4


def _fid_fast(real: torch.Tensor, fake: torch.Tensor) -> float:
    """FID of two feature matrices (the same formula as torchmetrics; for the many half-sample fits)."""
    mu_r, mu_f = real.mean(0), fake.mean(0)
    cov_r, cov_f = torch.cov(real.T), torch.cov(fake.T)
    # tr((Σr Σf)^½) = Σ √λ over the eigenvalues of Σr Σf (real and ≥ 0 up to round-off).
    root = torch.linalg.eigvals(cov_r @ cov_f).real.clamp_min(0).sqrt().sum()
    return max(0.0, float((mu_r - mu_f).square().sum() + cov_r.trace() + cov_f.trace() - 2 * root))


def _half_scores(real: FeatureSet, fake: FeatureSet, k: int) -> dict[str, float]:
    precision, recall = precision_recall(real, fake, k)
    out = {"fid": _fid_fast(real.features, fake.features), "precision": precision, "recall": recall,
           "kl_to_uniform": class_balance(fake)[1]}
    sharp = sharpness(real, fake)
    if sharp is not None:
        out["sharpness"] = sharp
    return out


def noise_bands(real: FeatureSet, fake: FeatureSet, k: int = 3, rounds: int = NOISE_ROUNDS,
                seed: int = 0) -> dict[str, float]:
    """Standard error of each score at this sample size, from split halves.

    Each round splits both sets at random into halves A and B and scores A and B separately. For
    a score whose variance falls as 1/n, Var(A − B) = 2·Var(score at n/2) = 4·Var(score at n), so
    the standard error at the full n is √mean((A − B)²) / 2 (a split-half estimate; with FID's
    bias at small n it is a guide to the noise, not an exact interval). Two models whose scores
    differ by less than ~2 combined standard errors are "about equal": see `gen_core.evaluation.reading`.
    """
    n_r, n_f = len(real), len(fake)
    if rounds < 1 or min(n_r, n_f) < 4 * (k + 1):
        return {}
    gen = torch.Generator().manual_seed(seed + 7919)
    diffs: dict[str, list[float]] = {}
    for _ in range(rounds):
        pr, pf = torch.randperm(n_r, generator=gen), torch.randperm(n_f, generator=gen)
        a = _half_scores(real.subset(pr[: n_r // 2]), fake.subset(pf[: n_f // 2]), k)
        b = _half_scores(real.subset(pr[n_r // 2:]), fake.subset(pf[n_f // 2:]), k)
        for key in a.keys() & b.keys():
            diffs.setdefault(key, []).append(a[key] - b[key])
    return {key: math.sqrt(sum(d * d for d in ds) / len(ds)) / 2 for key, ds in diffs.items()}


def score_features(real: FeatureSet, fake: FeatureSet, k: int = 3, seed: int = 0,
                   noise_rounds: int = 0) -> SampleScores:
    """Every score of `fake` against `real`; `noise_rounds` > 0 adds split-half noise bands."""
    hist, kl, missing = class_balance(fake)
    kid_mean, kid_std = kid(real, fake, seed)
    precision, recall = precision_recall(real, fake, k)
    return SampleScores(
        n=len(fake), fid=fid(real, fake), kid=kid_mean, kid_std=kid_std,
        inception_score=inception_score(fake, seed), precision=precision, recall=recall,
        kl_to_uniform=kl, missing_classes=missing, class_histogram=hist,
        # A healthy model (and real data: KL ≈ 0.00) covers every class; collapse empties some.
        mode_collapse=missing > 0 or kl > 0.25,
        sharpness=sharpness(real, fake),
        noise=noise_bands(real, fake, k, noise_rounds, seed) if noise_rounds else {},
    )


def score_images(evaluator: Evaluator, real_images: torch.Tensor, fake_images: torch.Tensor,
                 k: int = 3, seed: int = 0, noise_rounds: int = NOISE_ROUNDS) -> SampleScores:
    """Both image sets in [0, 1], (N, 1, S, S). With noise bands unless `noise_rounds=0`."""
    return score_features(extract(evaluator, real_images), extract(evaluator, fake_images), k, seed,
                          noise_rounds)


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


def edge_noise(real_edges: torch.Tensor, fake_edges: torch.Tensor, rounds: int = 8, seed: int = 0) -> float | None:
    """Split-half standard error of `sharpness` (as in `noise_bands`), from the edge statistics alone."""
    n_r, n_f = len(real_edges), len(fake_edges)
    if rounds < 1 or min(n_r, n_f) < 4:
        return None
    gen = torch.Generator().manual_seed(seed + 7919)
    diffs = []
    for _ in range(rounds):
        pr, pf = torch.randperm(n_r, generator=gen), torch.randperm(n_f, generator=gen)
        a = sharpness(real_edges[pr[: n_r // 2]], fake_edges[pf[: n_f // 2]])
        b = sharpness(real_edges[pr[n_r // 2:]], fake_edges[pf[n_f // 2:]])
        if a is not None and b is not None:
            diffs.append(a - b)
    return math.sqrt(sum(d * d for d in diffs) / len(diffs)) / 2 if diffs else None


def _real_train_edges(data, n: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)  # the same n training images as `model_scores` / `real_reference`
    return edge_energy(images_from_u8(data.train_images[torch.randperm(len(data.train_images), generator=gen)[:n]]))


def _sharpness_entry(real: torch.Tensor, fake: torch.Tensor, seed: int) -> dict:
    value, se = sharpness(real, fake), edge_noise(real, fake, seed=seed)
    out: dict = {"sharpness": value} if value is not None else {}
    if se is not None:
        out["noise"] = {"sharpness": se}
    return out


def model_sharpness(model, data, n: int = 2000, seed: int = 0) -> dict:
    """{"sharpness": …, "noise": {"sharpness": …}} of n samples against the same n real training images
    `model_scores` uses. Pixels only: no evaluator needed, about a second on a CPU."""
    return _sharpness_entry(_real_train_edges(data, n, seed), edge_energy(generate(model, n, seed)), seed)


def real_sharpness(data, n: int = 2000, seed: int = 0) -> dict:
    """The same for n real test images (what `real_reference` scores): ≈ 1 by construction."""
    return _sharpness_entry(_real_train_edges(data, n, seed), edge_energy(images_from_u8(data.test_images[:n])), seed)


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
