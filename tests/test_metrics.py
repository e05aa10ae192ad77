"""Quality metrics on the shipped MNIST evaluator: sanity against real, noisy and collapsed sets."""
import pytest
import torch
import torch.nn.functional as F

from gen_core.evaluation.evaluator import load_evaluator
from gen_core.evaluation.metrics import (_fid_fast, class_balance, edge_energy, extract, fid, images_from_u8,
                                         noise_bands, precision_recall, score_features, sharpness, vae_scores)
from gen_core.models.registry import build_model


N = 500


@pytest.fixture(scope="module")
def evaluator():
    model = load_evaluator("mnist")
    if model is None:
        pytest.fail("checkpoints/evaluator-mnist.pt is missing: run scripts/train_evaluator.py")
    return model


@pytest.fixture(scope="module")
def sets(evaluator, mini_data):
    train = images_from_u8(mini_data.train_images[:N])
    test = images_from_u8(mini_data.test_images[:N])
    noise = torch.rand(N, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    # A collapsed "generator": one real digit repeated, with a little pixel noise.
    one = train[mini_data.train_labels[:N] == 3][:1]
    collapsed = (one.repeat(N, 1, 1, 1) + 0.05 * torch.rand(N, 1, 28, 28)).clamp(0, 1)
    return {name: extract(evaluator, x) for name, x in
            dict(train=train, test=test, noise=noise, collapsed=collapsed).items()}


def test_evaluator_is_accurate_enough(evaluator, mini_data):
    from gen_core.evaluation.evaluator import accuracy
    assert evaluator.meta["test_accuracy"] >= 0.99
    assert accuracy(evaluator, mini_data.test_images, mini_data.test_labels) >= 0.985


def test_fid_of_a_set_with_itself_is_zero(sets):
    assert fid(sets["test"], sets["test"]) < 1e-3


def test_real_vs_real_is_far_better_than_noise_or_collapse(sets):
    real = fid(sets["train"], sets["test"])
    assert real * 10 < fid(sets["train"], sets["noise"])
    assert real * 10 < fid(sets["train"], sets["collapsed"])


def test_mode_collapse_indicator(sets):
    collapsed = score_features(sets["train"], sets["collapsed"])
    healthy = score_features(sets["train"], sets["test"])
    assert collapsed.mode_collapse and collapsed.missing_classes >= 8
    assert not healthy.mode_collapse and healthy.missing_classes == 0 and healthy.kl_to_uniform < 0.05
    assert collapsed.recall < 0.1 < healthy.recall


def test_inception_score_of_real_digits_is_near_ten(sets):
    scores = score_features(sets["train"], sets["test"])
    assert 9.0 <= scores.inception_score <= 10.0
    assert scores.precision > 0.6 and scores.recall > 0.6


def test_class_histogram_sums_to_one(sets):
    hist, kl, missing = class_balance(sets["test"])
    assert abs(sum(hist) - 1) < 1e-9 and len(hist) == 10


def test_precision_recall_identical_sets(sets):
    p, r = precision_recall(sets["test"], sets["test"])
    assert p == 1.0 and r == 1.0


def test_vae_scores_report_collapse_signal(mini_data):
    torch.manual_seed(0)
    model = build_model("mlp-vae")
    scores = vae_scores(model, images_from_u8(mini_data.test_images[:200]))
    assert scores.elbo == pytest.approx(-(scores.recon + scores.kl))
    assert len(scores.kl_per_dim) == 2 and 0 <= scores.active_units <= 2


# ---------------------------------------------------------------------------- sharpness and noise

def _blur(x):
    return F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, 1)


def test_sharpness_reads_blur_as_below_one_and_grain_as_above(mini_data):
    train = images_from_u8(mini_data.train_images[:N])
    test = images_from_u8(mini_data.test_images[:N])
    real = edge_energy(train)
    assert 0.9 < sharpness(real, edge_energy(test)) < 1.15          # real vs real ≈ 1
    assert sharpness(real, edge_energy(_blur(test))) < 0.35          # a 3×3 box blur, as a VAE's softness
    assert sharpness(real, edge_energy(_blur(_blur(test)))) < sharpness(real, edge_energy(_blur(test)))
    grain = (test + 0.15 * torch.randn(test.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    assert sharpness(real, edge_energy(grain)) > 1.5                 # noise is high-frequency energy too
    # contrast does not count: half as much ink, same edges
    assert sharpness(real, edge_energy(0.5 * test)) == pytest.approx(sharpness(real, edge_energy(test)))
    # a 56×56 upsample is measured at 28×28, so a big generator is not favoured; colour is measured as grey
    big = F.interpolate(test, scale_factor=2, mode="nearest")
    assert sharpness(real, edge_energy(big)) == pytest.approx(sharpness(real, edge_energy(test)), rel=1e-6)
    assert sharpness(real, edge_energy(test.repeat(1, 3, 1, 1))) == pytest.approx(
        sharpness(real, edge_energy(test)), rel=1e-6)
    assert sharpness(real, None) is None


def test_scores_carry_sharpness_and_noise_bands(sets):
    scores = score_features(sets["train"], sets["test"], noise_rounds=3)
    assert 0.9 < scores.sharpness < 1.15
    assert set(scores.noise) >= {"fid", "precision", "recall", "sharpness", "kl_to_uniform"}
    # standard errors at n = 500: small against the scores, but not zero
    assert 0 < scores.noise["precision"] < 0.05 and 0 < scores.noise["recall"] < 0.05
    assert 0 < scores.noise["sharpness"] < 0.05 and 0 < scores.noise["fid"] < scores.fid
    assert score_features(sets["train"], sets["test"]).noise == {}  # off unless asked (per-epoch scoring)
    assert noise_bands(sets["train"].subset(torch.arange(8)), sets["test"].subset(torch.arange(8))) == {}
    # the fast FID used for the bands agrees with torchmetrics'
    assert _fid_fast(sets["train"].features, sets["test"].features) == pytest.approx(
        fid(sets["train"], sets["test"]), rel=1e-3)
