#!/usr/bin/env bash
# Install Debian's Chromium for the browser test (tests/browser/).
# Idempotent: does nothing when /usr/bin/chromium is already there.
# Playwright drives this system browser; it never downloads one of its own.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    echo "install_browser: $CHROMIUM already present ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
    exit 0
fi

# Where Chromium cannot be installed from here, say so and leave it to the test: it skips
# (or fails, when CI is set) with the reason.
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser: no apt-get; install Chromium so that $CHROMIUM exists," \
        "or the browser test is skipped"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "install_browser: not root and no password-less sudo; run" \
            "'sudo apt-get install chromium', or the browser test is skipped"
        exit 0
    fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "install_browser: apt-get update"
$SUDO apt-get update -q
echo "install_browser: apt-get install chromium"
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
echo "install_browser: installed $("$CHROMIUM" --version)"
