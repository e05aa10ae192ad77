"""Persistence: checkpoints, resumable run state, run folders, atomic writes."""
