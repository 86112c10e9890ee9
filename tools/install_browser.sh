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

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser: apt-get not found; install Chromium by hand so that $CHROMIUM exists" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install_browser: need root (or sudo) to apt-get install chromium" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "install_browser: apt-get update"
$SUDO apt-get update -q
echo "install_browser: apt-get install chromium"
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
echo "install_browser: installed $("$CHROMIUM" --version)"
