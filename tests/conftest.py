"""Shared test set-up: never touch the network, keep runs tiny and seeded."""
import os


# Set before gen_core is imported anywhere: no download attempts in tests, ever.
os.environ["GEN_CORE_OFFLINE"] = "1"
# The dashboard persists its runs; in tests they go to a throw-away folder, never the repo's runs/.
if not os.environ.get("GEN_CORE_RUNS_DIR"):
    import tempfile
    os.environ["GEN_CORE_RUNS_DIR"] = tempfile.mkdtemp(prefix="gen_core_test_runs_")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def mini_data():
    """The embedded mnist-mini dataset (10,000 / 2,000 digits), loaded once."""
    from gen_core.data.datasets import load_dataset
    return load_dataset("mnist-mini")


def tiny_config(model: str = "mlp-gan", **overrides):
    """A TrainConfig that trains in well under a second on CPU."""
    from gen_core.config.train import TrainConfig, model_config_from_dict
    small = {
        "mlp-gan": dict(g_hidden=(32, 64), d_hidden=(64, 32)),
        "dcgan": dict(g_width=8, d_width=8, latent_dim=8),
        "mlp-vae": dict(hidden=(64, 32)),
        "conv-vae": dict(conv_channels=(8, 16), hidden=32, latent_dim=4),
    }
    model_overrides = overrides.pop("model_overrides", {})
    model_config = model_config_from_dict(model, {**small.get(model, {}), **model_overrides})
    base = dict(model=model, model_config=model_config, dataset="mnist-mini", epochs=2,
                batch_size=32, images_per_epoch=128, val_images=64, n_fixed=16, latent_map_size=4)
    base.update(overrides)
    return TrainConfig(**base)


class torch_threads:
    """`with torch_threads(1):` trains on the main thread with that many torch threads, then restores
    the count. For tests whose numbers depend on a GAN's path, which depends on the floating-point
    summation order, hence on the thread count (which an earlier run in this process may have left
    changed)."""
    def __init__(self, n: int):
        self.n = n

    def __enter__(self):
        import torch
        self.before = torch.get_num_threads()
        torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        import torch
        torch.set_num_threads(self.before)


def wait_for(predicate, timeout: float = 60.0) -> bool:
    """Poll `predicate` until it is true or `timeout` seconds pass."""
    import time
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return False


# Owners (gen_core.classroom.owners): every AppTest is the same test browser unless a test gives a session
# another token; runs the tests create for a page to control are created as that browser.
ME_TOKEN = "test-browser-token-aaaaaaaaaaaa"
OTHER_TOKEN = "test-browser-token-bbbbbbbbbbbb"


def me():
    from gen_core.classroom.owners import Actor
    return Actor.student(ME_TOKEN)


@pytest.fixture(autouse=True)
def _test_browser_cookie(monkeypatch):
    """The app reads this browser's owner token from its cookie; in AppTest there is none."""
    import sys
    if "streamlit" in sys.modules:  # (tests of the engine alone need not import the app)
        from ui import identity
        monkeypatch.setattr(identity, "_cookie_token", lambda: ME_TOKEN)
    yield
