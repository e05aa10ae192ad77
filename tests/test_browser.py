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


SERVER: dict = {}


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
        deadline = time.monotonic() + 180
        while not _healthy(f"{base}/_stcore/health"):
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode}; see {log.name}")
            if time.monotonic() > deadline:
                pytest.fail("streamlit did not become healthy within 180 s")
            time.sleep(0.3)
        SERVER["proc"] = proc
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


STEP_MS = 180_000   # an upper bound for one step on a loaded CI machine; every wait is on a state


def _fill(page, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")


def _idle(page) -> None:
    """Until no script run is in progress (the status widget is gone)."""
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=STEP_MS)


def _open_train_gan(page, server: str, query: str = "") -> None:
    page.goto(f"{server}/train-gan?dataset=mnist-mini{query}", timeout=STEP_MS)
    page.wait_for_selector("h1:has-text('Train a GAN')", timeout=STEP_MS)
    _idle(page)


def _tiny_settings(page, epochs: int) -> None:
    _fill(page, "Epochs", str(epochs))
    _fill(page, "Images per epoch", "128")
    _fill(page, "Batch size", "64")
    # The settings are in when the estimate line says so (2 steps of 64, `epochs` epochs): a wait on
    # the state itself, not on a sleep.
    page.wait_for_selector(f"text=/2 steps ×.*for {epochs} epochs/", timeout=STEP_MS)
    _idle(page)


@pytest.fixture(scope="module")
def browser(server):
    """One Chromium for the module, after a warm-up page load: the server's first script run
    imports torch, plotly and pandas and loads the data, which can take a minute on a busy CI
    machine; the tests then wait on states, not on that first run."""
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            warm = chromium.new_page()
            warm.goto(f"{server}/?dataset=mnist-mini", timeout=STEP_MS)
            warm.wait_for_selector("h1", timeout=STEP_MS)
            _idle(warm)
            warm.context.close()
            yield chromium
        finally:
            chromium.close()


def test_train_a_tiny_gan_in_the_browser(server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 2200})
    try:
        page = context.new_page()
        _open_train_gan(page, server)
        _tiny_settings(page, 2)
        page.get_by_role("button", name="Start training").click()

        # Live panel: the loss chart first, the fixed-noise grid when epoch 1 ends.
        page.wait_for_selector("text=Generator loss", timeout=STEP_MS)
        page.wait_for_selector(".js-plotly-plot", timeout=STEP_MS)
        page.wait_for_selector("text=Samples from fixed noise", timeout=STEP_MS)
        page.wait_for_selector("[data-testid='stImage'] img", timeout=STEP_MS)
        page.wait_for_selector("text=finished", timeout=STEP_MS)
        assert "run=" in page.url  # the run id is in the URL, so a refresh re-attaches
        assert page.locator(".js-plotly-plot").count() >= 4
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "e2e_train_gan.png"), full_page=True)

        page.reload()  # same URL → same run, drawn again from the registry
        page.wait_for_selector("text=Samples from fixed noise", timeout=STEP_MS)
    finally:
        context.close()


def test_another_browser_sees_a_run_read_only_and_its_owner_keeps_control(server, browser):
    """Two browser contexts = two students (separate cookies). A's owner token lives in a cookie, so
    A keeps control after a reload; B, with A's link, watches read-only; neither lands on the other's
    run without the link."""
    a_ctx = browser.new_context(viewport={"width": 1400, "height": 1800})
    b_ctx = browser.new_context(viewport={"width": 1400, "height": 1800})
    try:
        a = a_ctx.new_page()
        _open_train_gan(a, server)
        _tiny_settings(a, 500)
        a.get_by_role("button", name="Start training").click()
        a.wait_for_selector("button:has-text('Pause')", timeout=STEP_MS)
        a.wait_for_function("() => location.search.includes('run=')", timeout=STEP_MS)
        link = a.url
        assert any(c["name"] == "gen_core_owner" for c in a_ctx.cookies())

        b = b_ctx.new_page()
        _open_train_gan(b, server)                       # no link: B's page shows no run of A's
        assert "run=" not in b.url and b.locator("button:has-text('Pause')").count() == 0
        b.goto(link, timeout=STEP_MS)                    # with the link: read-only
        b.wait_for_selector("text=read-only", timeout=STEP_MS)
        _idle(b)
        assert b.locator("button:has-text('Pause')").count() == 0
        assert b.locator("button:has-text('Stop')").count() == 0

        a.reload()                                       # the cookie: still A's run after a refresh
        a.wait_for_selector("button:has-text('Stop')", timeout=STEP_MS)
        a.get_by_role("button", name="Stop").click()
        a.wait_for_selector("text=stopped", timeout=STEP_MS)
    finally:
        a_ctx.close()
        b_ctx.close()


@pytest.mark.parametrize("width", [1440, 1280])
def test_home_formulas_fit_their_columns(server, browser, width):
    """The GAN and VAE objectives are drawn whole, not clipped, on a laptop / projector screen."""
    context = browser.new_context(viewport={"width": width, "height": 1200})
    try:
        page = context.new_page()
        page.goto(f"{server}/?dataset=mnist-mini", timeout=STEP_MS)
        page.wait_for_function("() => document.querySelectorAll('.katex-display .katex').length >= 2",
                               timeout=STEP_MS)
        page.wait_for_function("() => document.fonts.status === 'loaded'", timeout=STEP_MS)
        boxes = page.evaluate("""() => [...document.querySelectorAll('.katex-display')].map(e => ({
            scroll: e.scrollWidth, client: e.clientWidth,
            right: e.querySelector('.katex').getBoundingClientRect().right,
            column: (e.closest('[data-testid="stColumn"]') || e.parentElement).getBoundingClientRect().right}))""")
        assert len(boxes) == 2
        for b in boxes:
            # a few px of sub-pixel rounding; the clipped one-line formula overflowed by 21 px at 1440
            assert b["scroll"] <= b["client"] + 4 and b["right"] <= b["column"] + 1, (width, b)
    finally:
        context.close()


def _inside_viewport(page, selector: str, height: int = 720) -> list[bool]:
    # One snapshot of every match in a single evaluation: the live panel redraws about once a second,
    # and measuring element by element could wait on one that a redraw has just replaced.
    return page.evaluate("([sel, h]) => Array.from(document.querySelectorAll(sel)).map(e => {"
                         " const b = e.getBoundingClientRect(); return b.top >= 0 && b.bottom <= h; })",
                         [selector, height])


def test_presenter_mode_fits_a_1280x720_projector(server, browser):
    """A settings link fills the form; ?present=1 then puts the loss chart, D(x) vs D(G(z)) and the
    current grid on one 1280×720 screen in large type; a second tab sees a Pause pressed in the first."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        # 6,000 steps: the run must outlast the measurement (a run that ends mid-way changes the layout
        # under it, and the Pause below needs it running); the MLP default does them in 35-70 s.
        _open_train_gan(page, server, "&epochs=600&images_per_epoch=640&batch_size=64")
        page.wait_for_selector("text=The form holds the link's settings", timeout=STEP_MS)
        epochs = page.get_by_label("Epochs", exact=True)
        sync_api.expect(epochs).to_have_value("600", timeout=STEP_MS)  # (waits for the widget to show it)
        page.wait_for_selector("text=/10 steps ×.*for 600 epochs/", timeout=STEP_MS)
        _idle(page)
        page.get_by_role("button", name="Start training").click()
        page.wait_for_selector("text=Samples from fixed noise", timeout=STEP_MS)
        # the x-axis control is whole at 1280 px (it used to read "secon")
        seconds = page.locator("button", has=page.locator("p", has_text="seconds")).first
        assert seconds.evaluate("e => e.scrollWidth <= e.clientWidth + 1 && "
                                "e.querySelector('p').scrollWidth <= e.querySelector('p').clientWidth + 1")
        page.wait_for_function("() => location.search.includes('run=')", timeout=STEP_MS)
        run_url = page.url

        page.goto(run_url + "&present=1", timeout=STEP_MS)
        page.wait_for_selector("[data-testid='stImage'] img", timeout=STEP_MS)
        # Wait for the presenter layout itself (exactly its two charts): the page's first render after the
        # reload can still show the normal layout's three loss charts for a moment.
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length === 2", timeout=STEP_MS)
        charts = _inside_viewport(page, ".js-plotly-plot")
        grids = _inside_viewport(page, "[data-testid='stImage'] img")
        assert len(charts) == 2 and all(charts), charts        # losses + D(x) vs D(G(z)), no scrolling
        assert len(grids) == 1 and all(grids), grids           # the current fixed-noise grid beside them
        # (waits: the chart's title is SVG text that a live redraw may be replacing at this instant)
        sync_api.expect(page.get_by_text("Discriminator outputs").first).to_be_visible(timeout=STEP_MS)
        size = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector("
                             "'[data-testid=\"stMarkdownContainer\"] p')).fontSize)")
        assert size >= 19, size                                # large type
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "e2e_presenter_1280x720.png"))

        # A second tab of the same browser (same owner) sees a Pause pressed in the first at its next redraw.
        page.goto(run_url, timeout=STEP_MS)
        page.wait_for_selector("button:has-text('Pause'):not([disabled])", timeout=STEP_MS)
        other = context.new_page()
        other.goto(run_url, timeout=STEP_MS)
        other.wait_for_selector("button:has-text('Pause'):not([disabled])", timeout=STEP_MS)
        started = time.monotonic()
        page.get_by_role("button", name="Pause").first.click()
        other.wait_for_selector("button:has-text('Resume'):not([disabled])", timeout=STEP_MS)
        (ARTIFACTS / "e2e_pause_latency.txt").write_text(f"{time.monotonic() - started:.2f} s\n")
        other.get_by_role("button", name="Stop").first.click()
        other.wait_for_selector("text=stopped", timeout=STEP_MS)
    finally:
        context.close()


def test_sigterm_saves_the_runs_and_the_server_exits_0(server, browser):
    """Last in this module (it ends the server): a run is training when the server gets SIGTERM; the
    run stops and saves, and the process exits 0 (it used to abort: exit -6, "terminate called
    without an active exception", from a training thread still inside torch at interpreter exit)."""
    import json
    import signal
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    try:
        page = context.new_page()
        _open_train_gan(page, server)
        _tiny_settings(page, 500)
        page.get_by_role("button", name="Start training").click()
        page.wait_for_selector("text=Generator loss", timeout=STEP_MS)
        page.wait_for_function("() => location.search.includes('run=')", timeout=STEP_MS)
        run_id = page.url.split("run=")[1].split("&")[0]
    finally:
        context.close()
    proc = SERVER["proc"]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(120) == 0
    folder = Path(os.environ["GEN_CORE_RUNS_DIR"]) / run_id
    record = json.loads((folder / "run.json").read_text())
    assert record["state"] == "stopped" and (folder / "checkpoint.pt").is_file(), record
    assert any("server shut down" in w for w in record["warnings"])
