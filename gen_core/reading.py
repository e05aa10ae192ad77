"""Reading quality scores: tables and plain-English sentences for students. Pure functions.

The scores come from `gen_core.metrics` (as `SampleScores.as_dict()` / `VAEScores.as_dict()`,
from a checkpoint's `metadata["metrics"]`, or from a run's epoch records); here they become a
table with one row per metric and one column per model (plus real data), and a sentence that
says which model is sharper, which is more diverse and which is closer overall, with the
evidence numbers inline.

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

from .metrics import METRIC_HELP


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
    MetricRow("precision", "precision (sharpness)", "higher", ".3f"),
    MetricRow("recall", "recall (diversity)", "higher", ".3f"),
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
}

EVALUATOR_CAPTION = ("Scores use features of this project's own evaluator (a small CNN trained on the dataset), "
                     "not Inception-v3: they compare models within this dashboard, and are not comparable "
                     "with Inception-based numbers in papers.")

# Differences smaller than these read as "about the same".
PRECISION_TIE = 0.02
RECALL_TIE = 0.02
KL_TIE = 0.02
FID_TIE = 0.05  # relative


_NUMERIC_KEYS = ("n", "fid", "kid", "kid_std", "inception_score", "precision", "recall", "kl_to_uniform",
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
    return format(v, row.fmt)


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


def help_lines(keys: Sequence[str] = ("fid", "kid", "inception_score", "precision", "recall",
                                      "kl_to_uniform", "missing_classes", "elbo", "active_units")) -> list[str]:
    return [HELP[k] for k in keys if k in HELP]


# ---------------------------------------------------------------------------
# Sentences
# ---------------------------------------------------------------------------

def _f(v: float, digits: int = 2) -> str:
    return f"{v:,.{digits}f}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def sharper(left: Mapping, right: Mapping) -> int | None:
    """0 when left has the higher precision, 1 when right does, None on a tie or missing data."""
    a, b = _num(left, "precision"), _num(right, "precision")
    if a is None or b is None or abs(a - b) < PRECISION_TIE:
        return None
    return 0 if a > b else 1


def more_diverse(left: Mapping, right: Mapping) -> int | None:
    """Missing classes decide first (collapse is the strongest evidence), then recall, then KL to uniform."""
    ma, mb = _num(left, "missing_classes"), _num(right, "missing_classes")
    if ma is not None and mb is not None and ma != mb:
        return 0 if ma < mb else 1
    ra, rb = _num(left, "recall"), _num(right, "recall")
    if ra is not None and rb is not None and abs(ra - rb) >= RECALL_TIE:
        return 0 if ra > rb else 1
    ka, kb = _num(left, "kl_to_uniform"), _num(right, "kl_to_uniform")
    if ka is not None and kb is not None and abs(ka - kb) >= KL_TIE:
        return 0 if ka < kb else 1
    return None


def closer(left: Mapping, right: Mapping) -> int | None:
    a, b = _num(left, "fid"), _num(right, "fid")
    if a is None or b is None or abs(a - b) <= FID_TIE * max(a, b, 1e-9):
        return None
    return 0 if a < b else 1


def _share(v: float) -> str:
    """0–1 shares: two decimals, three when small (a recall of 0.002 is not 0.00)."""
    return f"{v:.3f}" if 0 < abs(v) < 0.1 else f"{v:.2f}"


def _diversity_evidence(win: Mapping, lose: Mapping) -> tuple[str, str | None]:
    """(the numbers that make `win` more diverse, a caveat naming those that point the other way)."""
    bits, against = [], []
    mw, ml = _num(win, "missing_classes"), _num(lose, "missing_classes")
    rw, rl = _num(win, "recall"), _num(lose, "recall")
    if rw is not None and rl is not None:
        if rw >= rl + RECALL_TIE or (rw >= rl and (mw is None or mw == ml)):
            bits.append(f"recall {_share(rw)} vs {_share(rl)}")
        elif rw <= rl - RECALL_TIE:
            against.append(f"its recall is lower ({_share(rw)} vs {_share(rl)})")
    if mw is not None and ml is not None and mw != ml:
        bits.append(f"{int(mw)} vs {int(ml)} missing classes")
    kw, kl = _num(win, "kl_to_uniform"), _num(lose, "kl_to_uniform")
    if kw is not None and kl is not None:
        if kw <= kl - KL_TIE or (kw <= kl and not bits):
            bits.append(f"KL to uniform {_f(kw)} vs {_f(kl)}")
        elif kw >= kl + KL_TIE:
            against.append(f"its classes are less evenly spread (KL to uniform {_f(kw)} vs {_f(kl)})")
    return "; ".join(bits), (" and ".join(against) if against else None)


def read_comparison(left: Mapping | None, right: Mapping | None, left_name: str = "the left model",
                    right_name: str = "the right model", *, reference: Mapping | None = None,
                    same_data: bool = True) -> str:
    """A few sentences for a student: which is sharper, which is more diverse, which is closer overall."""
    left, right, reference = flat_scores(left), flat_scores(right), flat_scores(reference)
    if not left or not right:
        return "Scores for both models are needed to compare them."
    names = (left_name, right_name)
    scores = (left, right)
    parts = []

    s = sharper(left, right)
    d = more_diverse(left, right)
    if s is not None:
        w, l = scores[s], scores[1 - s]
        sharp_text = f"sharper (precision {_share(w['precision'])} vs {_share(l['precision'])})"
    else:
        sharp_text = None
    caveat = None
    if d is not None:
        evidence, caveat = _diversity_evidence(scores[d], scores[1 - d])
        div_text = f"more diverse ({evidence})"
    else:
        div_text = None

    if s is not None and d is not None and s == d:
        parts.append(f"{_cap(names[s])} is both {sharp_text} and {div_text}.")
    else:
        clauses = []
        if sharp_text:
            clauses.append(f"{names[s]} is {sharp_text}")
        if div_text:
            clauses.append(f"{names[d]} is {div_text}")
        if len(clauses) == 2:
            parts.append(f"{_cap(clauses[0])}, but {clauses[1]}.")
        elif clauses:
            parts.append(_cap(clauses[0]) + ".")
        if s is None and _num(left, "precision") is not None and _num(right, "precision") is not None:
            parts.append(f"Both are about equally sharp (precision {_share(left['precision'])} and "
                         f"{_share(right['precision'])}).")
        if d is None and _num(left, "recall") is not None and _num(right, "recall") is not None:
            parts.append(f"Both are about equally diverse (recall {_share(left['recall'])} and "
                         f"{_share(right['recall'])}).")
    if caveat:
        parts.append(f"Not on every count, though: {caveat}.")

    if not same_data:
        parts.append("They were trained on different datasets, so read each FID against its own real-data "
                     "column rather than against each other.")
    else:
        c = closer(left, right)
        ref_fid = _num(reference, "fid")
        ref_text = f"; real data against itself scores {_f(ref_fid, 1)}" if ref_fid is not None else ""
        if c is not None:
            parts.append(f"Overall, {names[c]} is closer to the real data (FID {_f(scores[c]['fid'], 1)} vs "
                         f"{_f(scores[1 - c]['fid'], 1)}{ref_text}).")
        elif _num(left, "fid") is not None and _num(right, "fid") is not None:
            parts.append(f"Overall they are about equally close to the real data (FID {_f(left['fid'], 1)} and "
                         f"{_f(right['fid'], 1)}{ref_text}).")
    collapsed = [name for name, sc in zip(names, scores)
                 if sc.get("mode_collapse") or (_num(sc, "missing_classes") or 0) > 0]
    if len(collapsed) == 2:
        parts.append("Both show signs of mode collapse: some classes are (almost) never generated.")
    elif collapsed:
        parts.append(f"{_cap(collapsed[0])} shows signs of mode collapse: some classes are (almost) never generated.")
    return " ".join(parts)


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
    from .evaluator import evaluator_path
    return evaluator_path(dataset).exists()


def measure(model, data, n: int = 2000, *, family: str | None = None, recon_loss: str = "bce",
            seed: int = 0) -> dict | None:
    """{"samples": SampleScores dict, "vae": VAEScores dict (VAEs)} — the shape shipped checkpoints carry.

    None when the dataset has no evaluator.
    """
    from . import metrics
    from .data import scale_images

    samples = metrics.model_scores(model, data, n=n, seed=seed)
    if samples is None:
        return None
    out = {"samples": samples.as_dict()}
    if (family or getattr(model, "family", None)) == "vae":
        side = model.image_shape[-1]
        images = scale_images(data.test_images[:n], "unit", side)
        out["vae"] = metrics.vae_scores(model, images, recon_loss, seed=seed).as_dict()
    return out


def reference_scores(data, n: int = 2000) -> dict | None:
    """Real test images scored against real training images (the best a model can do), as a dict."""
    from . import metrics
    ref = metrics.real_reference(data, n=n)
    return ref.as_dict() if ref is not None else None


__all__ = ["METRIC_ROWS", "HELP", "EVALUATOR_CAPTION", "flat_scores", "score_table", "help_lines",
           "read_comparison", "sharper", "more_diverse", "closer", "time_to_quality", "evaluator_available",
           "measure", "reference_scores"]
