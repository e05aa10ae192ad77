"""End to end: the real server in headless Chromium. Start a tiny GAN run from the Train a GAN
page and see the loss chart and a sample grid appear; a screenshot goes to artifacts/.

Needs Debian's chromium (/usr/bin/chromium) and the playwright Python package, both installed
by scripts/install_browser.sh (no browser download: Playwright drives the system Chromium).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="playwright is not installed (run scripts/install_browser.sh)")
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (run scripts/install_browser.sh)", allow_module_level=True)
if shutil.which("streamlit") is None and not (Path(sys.executable).parent / "streamlit").exists():
    pytest.skip("the streamlit command is not installed", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200 and r.read().strip() == b"ok"
    except OSError:
        return False


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    env = {**os.environ, "GEN_CORE_OFFLINE": "1"}
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / "streamlit_e2e.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _healthy(f"{base}/_stcore/health"):
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode}; see {log.name}")
            if time.monotonic() > deadline:
                pytest.fail("streamlit did not become healthy within 60 s")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def _fill(page, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")
    page.wait_for_timeout(300)
    _wait_idle(page)


def _wait_idle(page, timeout_ms: int = 60_000) -> None:
    """Until the script run is over (the estimate line is drawn at its end)."""
    page.wait_for_selector("text=/per epoch\\** on/", timeout=timeout_ms)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                           timeout=timeout_ms)


def test_train_a_tiny_gan_in_the_browser(server):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2200})
            page.goto(f"{server}/train-gan?dataset=mnist-mini", timeout=60_000)
            page.wait_for_selector("h1:has-text('Train a GAN')", timeout=60_000)
            _wait_idle(page)
            _fill(page, "Epochs", "2")
            _fill(page, "Images per epoch", "128")
            _fill(page, "Batch size", "64")
            page.get_by_role("button", name="Start training").click()

            # Live panel: the loss chart first, the fixed-noise grid when epoch 1 ends.
            page.wait_for_selector("text=Generator loss", timeout=60_000)
            page.wait_for_selector(".js-plotly-plot", timeout=60_000)
            page.wait_for_selector("text=Samples from fixed noise", timeout=90_000)
            page.wait_for_selector("[data-testid='stImage'] img", timeout=30_000)
            page.wait_for_selector("text=finished", timeout=90_000)
            assert "run=" in page.url  # the run id is in the URL, so a refresh re-attaches
            assert page.locator(".js-plotly-plot").count() >= 4
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "e2e_train_gan.png"), full_page=True)

            page.reload()  # same URL → same run, drawn again from the registry
            page.wait_for_selector("text=Samples from fixed noise", timeout=60_000)
        finally:
            browser.close()
