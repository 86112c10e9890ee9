"""Fixtures for the real-browser test: a JupyterLab server and Debian's headless Chromium.

The server runs from this interpreter (``sys.executable -m jupyter lab``) on 127.0.0.1 with a
random port and token, in a temporary copy of the course, with its own settings, data and
runtime directories so that nothing on the machine (or in the checkout) leaks in or is changed.
Chromium is the system one (``/usr/bin/chromium``, from ``tools/install_test_tools.sh``), driven by
Playwright; no browser is ever downloaded.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# The course that is copied into the server's root; override to test another checkout.
COURSE_ROOT = Path(os.environ.get("LRCOURSE_COURSE_ROOT", REPO_ROOT))
COURSE_DIRS = ("notebooks", "exercises")
ARTIFACTS = REPO_ROOT / "artifacts" / "browser"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SERVER_START_TIMEOUT_S = 90

# JupyterLab settings for the test session: every cell stays in the DOM (so the test can see
# all prompts and outputs), and no news or update checks (there is no network).
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: end-to-end test in JupyterLab with headless Chromium"
    )


def require_browser_tools():
    """Skip when Chromium or Playwright is missing, except in CI, where the test must run."""
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} not found (run: bash tools/install_test_tools.sh)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright is not installed (pip install -e '.[test]')")
    if not missing:
        return
    reason = "; ".join(missing)
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"CI is set, so the browser test must run, but {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass
class LabServer:
    url: str
    token: str
    root: Path
    log: Path

    def lab_url(self, relpath: str) -> str:
        return f"{self.url}/lab/tree/{relpath}?token={self.token}&reset"

    def read_log(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_lab_settings(settings_dir: Path) -> None:
    for name, values in LAB_SETTINGS.items():
        path = settings_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


# Talk to the local server directly, whatever proxy the environment names.
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _wait_until_up(proc: subprocess.Popen, url: str, token: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    status = f"{url}/api/status?token={token}"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"jupyter lab exited with code {proc.returncode}:\n"
                f"{log.read_text(errors='replace')}"
            )
        try:
            with _LOCAL.open(status, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise RuntimeError(
        f"jupyter lab did not answer on {url} within {SERVER_START_TIMEOUT_S} s:\n"
        f"{log.read_text(errors='replace')}"
    )


def _stop_server(proc: subprocess.Popen, url: str, token: str) -> None:
    """Shut the server and its kernels down; escalate to signals if it does not go."""
    try:
        import psutil

        children = psutil.Process(proc.pid).children(recursive=True)
    except Exception:  # psutil missing or the server already gone
        children = []
    if proc.poll() is None:
        try:  # the server shuts its kernels down cleanly on this request
            request = urllib.request.Request(
                f"{url}/api/shutdown?token={token}", method="POST", data=b""
            )
            _LOCAL.open(request, timeout=5).close()
            proc.wait(timeout=15)
        except Exception:
            pass
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    # Kernels start in sessions of their own: make sure none outlives the server.
    for child in children:
        try:
            child.kill()  # psutil refuses if the pid now belongs to another process
        except Exception:
            pass


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory):
    require_browser_tools()
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "course"
    root.mkdir()
    for name in COURSE_DIRS:
        if (COURSE_ROOT / name).is_dir():
            shutil.copytree(
                COURSE_ROOT / name,
                root / name,
                ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
            )
    settings_dir = base / "lab-user-settings"
    _write_lab_settings(settings_dir)
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_DATA_DIR=str(base / "data"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        IPYTHONDIR=str(base / "ipython"),
        PYTHONUNBUFFERED="1",
        # The same limits as on Binder; also keeps the 2-core CI machine responsive.
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )
    env.pop("JUPYTER_TOKEN", None)
    port = _free_port()
    token = secrets.token_hex(24)
    url = f"http://127.0.0.1:{port}"
    log = base / "jupyterlab.log"
    cmd = [
        sys.executable, "-m", "jupyter", "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={settings_dir}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
        "--ServerApp.allow_root=True",
    ]  # fmt: skip
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(
            cmd,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_up(proc, url, token, log)
        yield LabServer(url=url, token=token, root=root, log=log)
    finally:
        _stop_server(proc, url, token)


@pytest.fixture(scope="module")
def chromium():
    require_browser_tools()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium, lab_server, request):
    """A fresh browser tab; on failure a screenshot and the server log go to artifacts/."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    tab = context.new_page()
    console = []
    tab.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    tab.on("pageerror", lambda exc: console.append(f"pageerror: {exc}"))
    stem = f"FAILED_{request.node.name}"
    for stale in ARTIFACTS.glob(f"{stem}.*"):
        stale.unlink()
    yield tab
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        try:
            tab.screenshot(path=str(ARTIFACTS / f"{stem}.png"))
        except Exception:
            pass
        (ARTIFACTS / f"{stem}.console.log").write_text("\n".join(console))
        (ARTIFACTS / f"{stem}.server.log").write_text(lab_server.read_log())
    context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
