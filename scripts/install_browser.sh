#!/usr/bin/env bash
# Install what tests/test_browser.py needs: Debian's Chromium and the Playwright
# Python package. No browser download from Playwright's CDN (`playwright install`
# is never run): the tests drive /usr/bin/chromium through executable_path.
# Idempotent and quick when both are already present.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
fi

if [ ! -x /usr/bin/chromium ]; then
    echo "install_browser: installing chromium (apt)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
else
    echo "install_browser: chromium already at /usr/bin/chromium"
fi

PYTHON="${PYTHON:-python}"
if ! "$PYTHON" -c "import playwright.sync_api" >/dev/null 2>&1; then
    echo "install_browser: installing the playwright Python package (pip)"
    "$PYTHON" -m pip install -q playwright
else
    echo "install_browser: playwright Python package already installed"
fi
