#!/usr/bin/env bash
# Install everything the tests need on a fresh machine, then run the whole suite.
# Usage: bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -r requirements.txt -r requirements-dev.txt
# Headless Chromium for the end-to-end browser test (Debian package; no browser download).
if [ -f scripts/install_browser.sh ]; then
  bash scripts/install_browser.sh || echo "note: browser install failed; the browser test will be skipped"
fi
export GEN_CORE_OFFLINE=1
python -m pytest -q "$@"
