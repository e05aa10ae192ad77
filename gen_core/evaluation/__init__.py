"""Evaluation: the evaluator CNN, quality metrics, readings, latent exploration."""
