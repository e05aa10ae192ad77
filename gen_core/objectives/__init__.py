"""Training objectives: GAN and VAE losses, per-step updates, stabilisation tricks."""
