#!/usr/bin/env bash
# Install bubblewrap (bwrap), the sandbox the grader runs each submission in (lrcourse/grading/sandbox.py).
# Idempotent: does nothing when bwrap is already on the PATH.
# Where it cannot be installed, say so: the grader then warns that it runs unsandboxed, and refuses to
# run with --sandbox required; the sandbox tests skip (or fail, when CI is set) with the reason.
set -euo pipefail

if command -v bwrap >/dev/null 2>&1; then
    echo "install_sandbox: bwrap already present ($(bwrap --version 2>/dev/null || echo 'version unknown'))"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_sandbox: no apt-get; install bubblewrap (bwrap) for sandboxed grading"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "install_sandbox: not root and no password-less sudo; run" \
            "'sudo apt-get install bubblewrap', or grading runs unsandboxed"
        exit 0
    fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "install_sandbox: apt-get update"
$SUDO apt-get update -q
echo "install_sandbox: apt-get install bubblewrap"
$SUDO apt-get install -y -q --no-install-recommends bubblewrap
echo "install_sandbox: installed $(bwrap --version)"
