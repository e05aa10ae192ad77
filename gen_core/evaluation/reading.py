"""Reading quality scores: tables and plain-English sentences for students. Pure functions.

The scores come from `gen_core.evaluation.metrics` (as `SampleScores.as_dict()` / `VAEScores.as_dict()`,
from a checkpoint's `metadata["metrics"]`, or from a run's epoch records); here they become a
table with one row per metric and one column per model (plus real data), and a short reading
that says which model is sharper (edge energy), more faithful (precision), covers more of the
data (recall) and is closer overall (FID) — each only when the gap exceeds the measured noise,
and nothing about diversity when both recalls are ≈ 0.

    measure(model, data, n=2000)   → {"samples": {...}, "vae": {...}}   (the expensive part)
    flat_scores(entry)             → one flat dict per column
    score_table({"GAN": g, "VAE": v, "real data": ref})
    read_comparison(g, v, "the GAN", "the VAE", reference=ref)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import pandas as pd

from gen_core.evaluation.metrics import METRIC_HELP


@dataclass(frozen=True)
class MetricRow:
    key: str
    label: str
    better: str        # "lower" | "higher" | ""
    fmt: str           # format spec, or "count"


METRIC_ROWS: tuple[MetricRow, ...] = (
    MetricRow("fid", "FID", "lower", ".1f"),
    MetricRow("kid", "KID", "lower", ".2f"),
    MetricRow("inception_score", "Inception Score", "higher", ".2f"),
    MetricRow("sharpness", "sharpness (1 = as sharp as real)", "", ".2f"),
    MetricRow("precision", "precision (fidelity)", "higher", ".3f"),
    MetricRow("recall", "recall (coverage)", "higher", ".3f"),
    MetricRow("kl_to_uniform", "KL to uniform classes", "lower", ".3f"),
    MetricRow("missing_classes", "missing classes", "lower", "count"),
    MetricRow("elbo", "test ELBO (nats / image, VAE)", "higher", ".1f"),
    MetricRow("active_units", "active latent units (VAE)", "", "units"),
    MetricRow("n", "samples scored", "", "count"),
)

# Help lines for the table (METRIC_HELP's, plus the VAE-only rows).
HELP = {
    **{k: v for k, v in METRIC_HELP.items()},
    "kid": "KID — kernel distance between real and generated features, unbiased on small samples "
           "(lower is better).",
    "elbo": "ELBO — the VAE's lower bound on log p(x) for held-out images, in nats (higher is better).",
    "active_units": "Active units — latent dimensions the encoder actually uses (Burda et al. 2016); "
                    "the rest collapsed to the prior.",
    "noise": "± — the standard error of a score from split halves of the samples: gaps smaller than about "
             "twice the combined ± are sampling noise, and the reading calls them about equal.",
}

EVALUATOR_CAPTION = ("Scores use features of this project's own evaluator (a small CNN trained on the dataset), "
                     "not Inception-v3: they compare models within this dashboard, and are not comparable "
                     "with Inception-based numbers in papers.")

_NUMERIC_KEYS = ("n", "fid", "kid", "kid_std", "inception_score", "precision", "recall", "sharpness", "kl_to_uniform",
                 "missing_classes", "elbo", "recon", "kl", "active_units", "latent_dim", "metrics_seconds")


def clean_scores(d: Mapping | None) -> dict | None:
    """Only the known keys with sensible values (scores may come from an untrusted checkpoint file)."""
    if not isinstance(d, Mapping):
        return None
    out: dict = {}
    for k in _NUMERIC_KEYS:
        v = d.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            out[k] = v
    if isinstance(d.get("mode_collapse"), bool):
        out["mode_collapse"] = d["mode_collapse"]
    noise = d.get("noise")
    if isinstance(noise, Mapping):
        kept = {k: float(noise[k]) for k in _NUMERIC_KEYS if isinstance(noise.get(k), (int, float))
                and not isinstance(noise.get(k), bool) and math.isfinite(noise[k]) and noise[k] >= 0}
        if kept:
            out["noise"] = kept
    hist = d.get("class_histogram")
    if (isinstance(hist, (list, tuple)) and 0 < len(hist) <= 1000
            and all(isinstance(h, (int, float)) and not isinstance(h, bool) and math.isfinite(h) for h in hist)):
        out["class_histogram"] = [float(h) for h in hist]
    return out or None


def flat_scores(entry: Mapping | None) -> dict | None:
    """A checkpoint's `metadata["metrics"]` ({"samples": …, "vae": …}) or a flat dict → one clean flat dict."""
    if not isinstance(entry, Mapping) or not entry:
        return None
    if "samples" in entry or "vae" in entry:
        samples = entry.get("samples") if isinstance(entry.get("samples"), Mapping) else {}
        vae = entry.get("vae") if isinstance(entry.get("vae"), Mapping) else {}
        merged = dict(samples)
        for k in ("elbo", "active_units", "latent_dim"):
            if k in vae:
                merged[k] = vae[k]
        return clean_scores(merged)
    return clean_scores(entry)


def _num(d: Mapping | None, key: str) -> float | None:
    if not d:
        return None
    v = d.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)


def format_value(row: MetricRow, scores: Mapping | None) -> str:
    v = _num(scores, row.key)
    if v is None:
        return "—"
    if row.fmt == "count":
        return f"{v:,.0f}"
    if row.fmt == "units":
        d = _num(scores, "latent_dim")
        return f"{v:.0f} of {d:.0f}" if d else f"{v:.0f}"
    se = _noise(scores, row.key)
    return format(v, row.fmt) + (f" ± {format(se, row.fmt)}" if se is not None else "")


def score_table(columns: Mapping[str, Mapping | None]) -> pd.DataFrame:
    """Rows = metrics, columns = models (and real data), values as display text.

    Rows no column has (e.g. the VAE rows for two GANs) are left out. The index says which
    direction is better ("FID ↓").
    """
    cols = {name: flat_scores(s) for name, s in columns.items()}
    rows = [r for r in METRIC_ROWS if any(_num(c, r.key) is not None for c in cols.values())]
    arrows = {"lower": " ↓", "higher": " ↑", "": ""}
    index = [r.label + arrows[r.better] for r in rows]
    data = {name: [format_value(r, c) for r in rows] for name, c in cols.items()}
    return pd.DataFrame(data, index=pd.Index(index, name="metric"))


def help_lines(keys: Sequence[str] = ("sharpness", "precision", "recall", "fid", "kid", "inception_score",
                                      "kl_to_uniform", "missing_classes", "elbo", "active_units", "noise")
               ) -> list[str]:
    return [HELP[k] for k in keys if k in HELP]


# ---------------------------------------------------------------------------
# Sentences: claim only what the numbers support
# ---------------------------------------------------------------------------
# Two scores differ when their gap is larger than NOISE_Z combined standard errors (the split-half
# noise bands of `gen_core.evaluation.metrics.noise_bands`, ≈ a 95% two-sided test). Scores without a noise
# estimate (older checkpoints, per-epoch records) fall back to these fixed tolerances.
NOISE_Z = 2.0
PRECISION_TIE = 0.02
RECALL_TIE = 0.02
KL_TIE = 0.02
FID_TIE = 0.05        # relative
SHARPNESS_TIE = 0.05  # relative
# Below this recall a model's samples cover (almost) none of the real data: comparing two such
# recalls says nothing about which model is more diverse.
RECALL_FLOOR = 0.05
# Sharpness relative to real images: below BLURRY reads as "blurrier than real", above GRAINY as
# "grainier than real" (high-frequency noise also raises edge energy; more is not better).
BLURRY = 0.8
GRAINY = 1.3
FAR_FACTOR = 5.0  # FIDs above this multiple of real data's are "still far from it"


def _f(v: float, digits: int = 2) -> str:
    return f"{v:,.{digits}f}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _share(v: float) -> str:
    """0–1 shares: two decimals, three when small (a recall of 0.002 is not 0.00)."""
    return f"{v:.3f}" if 0 < abs(v) < 0.1 else f"{v:.2f}"


def _noise(d: Mapping | None, key: str) -> float | None:
    noise = d.get("noise") if d else None
    v = noise.get(key) if isinstance(noise, Mapping) else None
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def noise_band(left: Mapping | None, right: Mapping | None, key: str) -> float | None:
    """The gap two scores must exceed to count as different: NOISE_Z·√(se_l² + se_r²); None without noise."""
    a, b = _noise(left, key), _noise(right, key)
    if a is None or b is None:
        return None
    return NOISE_Z * math.hypot(a, b)


_FALLBACK = {"precision": (PRECISION_TIE, False), "recall": (RECALL_TIE, False), "kl_to_uniform": (KL_TIE, False),
             "fid": (FID_TIE, True), "sharpness": (SHARPNESS_TIE, True)}


def compare(left: Mapping | None, right: Mapping | None, key: str) -> int | None:
    """0 when left's `key` is larger beyond the noise, 1 when right's is, None within noise or missing."""
    a, b = _num(left, key), _num(right, key)
    if a is None or b is None:
        return None
    band = noise_band(left, right, key)
    if band is None:
        tie, relative = _FALLBACK.get(key, (0.0, False))
        band = tie * max(abs(a), abs(b), 1e-9) if relative else tie
    if abs(a - b) <= band:
        return None
    return 0 if a > b else 1


def _pm(left: Mapping, right: Mapping, key: str, fmt) -> str:
    band = noise_band(left, right, key)
    return (f"the gap is within the sampling noise (±{fmt(band)})" if band is not None
            else "the gap is within the tolerance used when no noise estimate is available")


def sharper(left: Mapping, right: Mapping) -> int | None:
    """0 when left's samples have more edge energy (sharpness), 1 when right's, None within noise."""
    return compare(left, right, "sharpness")


def more_faithful(left: Mapping, right: Mapping) -> int | None:
    """Higher precision (more samples among real images) beyond noise."""
    return compare(left, right, "precision")


def both_recalls_near_zero(left: Mapping | None, right: Mapping | None) -> bool:
    a, b = _num(left, "recall"), _num(right, "recall")
    return a is not None and b is not None and a < RECALL_FLOOR and b < RECALL_FLOOR


def more_diverse(left: Mapping, right: Mapping) -> int | None:
    """Higher recall (coverage of the real data) beyond noise; None when both recalls are ≈ 0 (no evidence)."""
    if both_recalls_near_zero(left, right):
        return None
    return compare(left, right, "recall")


def closer(left: Mapping, right: Mapping) -> int | None:
    """0 when left's FID is lower beyond noise, 1 when right's is."""
    c = compare(left, right, "fid")
    return None if c is None else 1 - c


def sharpness_word(v: float, real: float | None = None) -> str:
    """'blurrier than real' / 'about as sharp as real' / 'grainier than real' (relative to real images)."""
    r = v / real if real else v
    if r < BLURRY:
        return "blurrier than real images"
    if r > GRAINY:
        return "grainier (more high-frequency noise) than real images"
    return "about as sharp as real images"


def _sharpness_sentence(names, scores, reference) -> str | None:
    a, b = (_num(s, "sharpness") for s in scores)
    if a is None or b is None:
        return None
    ref = _num(reference, "sharpness")
    ref_text = f"; real test images {_f(ref)}×" if ref is not None else ""
    s = sharper(*scores)
    if s is None:
        return (f"**Sharpness:** about equal ({_f(a)}× and {_f(b)}× the edge energy of real images; "
                f"{_pm(*scores, 'sharpness', _f)}): both are {sharpness_word(a, ref)}.")
    w, l = scores[s], scores[1 - s]
    ws, ls = w["sharpness"], l["sharpness"]
    if ls / (ref or 1.0) >= BLURRY and ws / (ref or 1.0) > GRAINY:
        # More edge energy than real is grain, not detail: say so instead of "sharper".
        return (f"**Sharpness:** {names[s]}'s samples carry more high-frequency energy ({_f(ws)}× vs {_f(ls)}× "
                f"that of real images{ref_text}): they are {sharpness_word(ws, ref)}, which is not better.")
    return (f"**Sharpness:** {names[s]}'s samples are sharper ({_f(ws)}× vs {_f(ls)}× the edge energy of real "
            f"images{ref_text}); {names[1 - s]}'s are {sharpness_word(ls, ref)}"
            + (f", {names[s]}'s {sharpness_word(ws, ref)}." if sharpness_word(ws, ref) != sharpness_word(ls, ref)
               else "."))


def _fidelity_sentence(names, scores) -> str | None:
    a, b = (_num(s, "precision") for s in scores)
    if a is None or b is None:
        return None
    p = more_faithful(*scores)
    if p is None:
        return (f"**Fidelity:** about equal (precision {_share(a)} and {_share(b)}; "
                f"{_pm(*scores, 'precision', _share)}).")
    w, l = scores[p], scores[1 - p]
    return (f"**Fidelity:** more of {names[p]}'s samples fall among real images in the evaluator's feature "
            f"space (precision {_share(w['precision'])} vs {_share(l['precision'])}).")


def _coverage_sentence(names, scores) -> str | None:
    a, b = (_num(s, "recall") for s in scores)
    if a is None or b is None:
        return None
    if both_recalls_near_zero(*scores):
        return (f"**Coverage:** both recalls are near zero ({_share(a)} and {_share(b)}): neither model's "
                "samples cover the variety of the real images, so these scores cannot say which is more diverse.")
    d = more_diverse(*scores)
    if d is None:
        return (f"**Coverage:** about equal (recall {_share(a)} and {_share(b)}; "
                f"{_pm(*scores, 'recall', _share)}).")
    w, l = scores[d], scores[1 - d]
    return (f"**Coverage:** {names[d]}'s samples cover more of the real images' variety "
            f"(recall {_share(w['recall'])} vs {_share(l['recall'])}).")


def _overall_sentence(names, scores, reference, same_data) -> str | None:
    if not same_data:
        return ("They were trained on different datasets, so read each FID against its own real-data "
                "column rather than against each other.")
    a, b = (_num(s, "fid") for s in scores)
    if a is None or b is None:
        return None
    ref_fid = _num(reference, "fid")
    ref_text = f"; real data against itself scores {_f(ref_fid, 1)}" if ref_fid is not None else ""
    c = closer(*scores)
    if c is None:
        return (f"**Overall:** about equally close to the real data (FID {_f(a, 1)} and {_f(b, 1)}; "
                f"{_pm(*scores, 'fid', lambda v: _f(v, 1))}{ref_text}).")
    far = ref_fid is not None and min(a, b) > FAR_FACTOR * ref_fid
    return (f"**Overall:** {names[c]} is closer to the real data (FID {_f(scores[c]['fid'], 1)} vs "
            f"{_f(scores[1 - c]['fid'], 1)}{ref_text})"
            + (f", though both are still far from it (over {FAR_FACTOR:g}× the real-data value)." if far else "."))


def read_comparison(left: Mapping | None, right: Mapping | None, left_name: str = "the left model",
                    right_name: str = "the right model", *, reference: Mapping | None = None,
                    same_data: bool = True) -> str:
    """A short list for a student: sharpness, fidelity, coverage, overall, collapse — each only as far
    as the numbers (and their noise) support it. Markdown, one bullet per claim."""
    left, right, reference = flat_scores(left), flat_scores(right), flat_scores(reference)
    if not left or not right:
        return "Scores for both models are needed to compare them."
    names = (left_name, right_name)
    scores = (left, right)
    parts = [_sharpness_sentence(names, scores, reference), _fidelity_sentence(names, scores),
             _coverage_sentence(names, scores), _overall_sentence(names, scores, reference, same_data)]
    collapsed = [name for name, sc in zip(names, scores)
                 if sc.get("mode_collapse") or (_num(sc, "missing_classes") or 0) > 0]
    if len(collapsed) == 2:
        parts.append("**Classes:** both show signs of mode collapse: some classes are (almost) never generated.")
    elif collapsed:
        parts.append(f"**Classes:** {collapsed[0]} shows signs of mode collapse: some classes are (almost) "
                     "never generated.")
    has_noise = any(_noise(s, k) is not None for s in scores for k in ("fid", "precision", "recall", "sharpness"))
    lines = [f"- {_cap(p)}" for p in parts if p]
    if not has_noise:
        lines.append("- _No noise estimate came with these scores: small gaps may be luck of the draw._")
    return "\n".join(lines)


def time_to_quality(epochs: Sequence[Mapping], reference_fid: float | None = None, factor: float = 2.0) -> str | None:
    """'FID first fell below 2× the real-data value after 12 s of training (epoch 4).' — or the best so far."""
    scored = [e for e in epochs if _num(e, "fid") is not None]
    if not scored:
        return None
    best = min(scored, key=lambda e: e["fid"])
    best_text = (f"best FID so far {_f(best['fid'], 1)} at epoch {int(best.get('epoch', 0))} after "
                 f"{_f(float(best.get('time', 0.0)), 1)} s of training")
    if reference_fid is None or not math.isfinite(reference_fid):
        return _cap(best_text) + "."
    goal = factor * reference_fid
    hit = next((e for e in scored if e["fid"] <= goal), None)
    if hit is None:
        return (f"Not yet within {factor:g}× of real data (FID ≤ {_f(goal, 1)}): {best_text}; "
                f"real data scores {_f(reference_fid, 1)}.")
    return (f"FID first came within {factor:g}× of real data (≤ {_f(goal, 1)}) after "
            f"{_f(float(hit.get('time', 0.0)), 1)} s of training (epoch {int(hit.get('epoch', 0))}); "
            f"{best_text}.")


# ---------------------------------------------------------------------------
# Measuring (the expensive part; the dashboard caches it)
# ---------------------------------------------------------------------------

def evaluator_available(dataset: str) -> bool:
    from gen_core.evaluation.evaluator import evaluator_path
    return evaluator_path(dataset).exists()


def measure(model, data, n: int = 2000, *, family: str | None = None, recon_loss: str = "bce",
            seed: int = 0) -> dict | None:
    """{"samples": SampleScores dict, "vae": VAEScores dict (VAEs)} — the shape shipped checkpoints carry.

    None when the dataset has no evaluator.
    """
    from gen_core.data.images import scale_images
    from gen_core.evaluation import metrics

    samples = metrics.model_scores(model, data, n=n, seed=seed)
    if samples is None:
        return None
    out = {"samples": samples.as_dict()}
    if (family or getattr(model, "family", None)) == "vae":
        side = model.image_shape[-1]
        images = scale_images(data.test_images[:n], "unit", side)
        out["vae"] = metrics.vae_scores(model, images, recon_loss, seed=seed).as_dict()
    return out


def add_sharpness(scores: Mapping | None, extra: Mapping | None) -> dict | None:
    """Flat scores with `sharpness` and its noise from `extra` (`metrics.model_sharpness` /
    `metrics.real_sharpness`) when they lack it — e.g. a checkpoint saved before sharpness was measured."""
    flat = flat_scores(scores)
    if flat is None or "sharpness" in flat or not extra:
        return flat
    value = _num(extra, "sharpness")
    if value is not None:
        flat["sharpness"] = value
    se = _noise(extra, "sharpness")
    if se is not None:
        flat["noise"] = {**flat.get("noise", {}), "sharpness": se}
    return flat


def reference_scores(data, n: int = 2000) -> dict | None:
    """Real test images scored against real training images (the best a model can do), as a dict."""
    from gen_core.evaluation import metrics
    ref = metrics.real_reference(data, n=n)
    return ref.as_dict() if ref is not None else None


__all__ = ["METRIC_ROWS", "HELP", "EVALUATOR_CAPTION", "flat_scores", "score_table", "help_lines",
           "read_comparison", "compare", "noise_band", "sharper", "more_faithful", "more_diverse", "closer",
           "both_recalls_near_zero", "sharpness_word", "time_to_quality", "evaluator_available",
           "measure", "reference_scores", "add_sharpness"]
