#!/usr/bin/env bash
# Install the two Debian packages the tests need beyond Python, when they are missing:
#   chromium    /usr/bin/chromium, the system browser Playwright drives in tests/browser/ (it never
#               downloads a browser of its own);
#   bubblewrap  bwrap, the sandbox the grader runs each submission in (lrcourse/grading/sandbox.py).
# Idempotent: installs nothing when both are there. Where they cannot be installed from here (no
# apt-get, not root and no password-less sudo), it says what to run and exits 0: the tests that need
# them skip (or fail, when CI is set) with the reason, and the grader warns that it runs unsandboxed.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
missing=()
if [ -x "$CHROMIUM" ]; then
    echo "install_test_tools: $CHROMIUM present ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
else
    missing+=(chromium fonts-dejavu-core)
fi
if command -v bwrap >/dev/null 2>&1; then
    echo "install_test_tools: bwrap present ($(bwrap --version 2>/dev/null || echo 'version unknown'))"
else
    missing+=(bubblewrap)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_test_tools: no apt-get; install ${missing[*]} with your package manager," \
        "or the browser test / the sandboxed grading tests are skipped"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "install_test_tools: not root and no password-less sudo; run" \
            "'sudo apt-get install ${missing[*]}', or the tests that need them are skipped"
        exit 0
    fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "install_test_tools: apt-get update"
$SUDO apt-get update -q
echo "install_test_tools: apt-get install ${missing[*]}"
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
