"""Shared fixtures: data (full MNIST where RNN_DEMO_DATA points at it, else the bundled
sample), tiny models, and for browser tests a Streamlit server plus headless Chromium."""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import torch

from rnn_demo import data

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "tests" / "artifacts"


def full_mnist() -> bool:
    return bool(os.environ.get(data.ENV_VAR)) and data.mnist_available()


@pytest.fixture(scope="session")
def test_digits() -> data.Digits:
    """The full test set where configured, else the bundled sample."""
    return data.load_mnist(train=False, download=False) if full_mnist() else data.load_sample()


@pytest.fixture(scope="session")
def sample() -> data.Digits:
    return data.load_sample()


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def user_models(tmp_path, monkeypatch):
    """A private user-model folder, so tests never write next to the shipped models."""
    folder = tmp_path / "user_models"
    monkeypatch.setenv("RNN_DEMO_USER_MODELS", str(folder))
    from rnn_demo import ui
    monkeypatch.setattr(ui, "USER_DIR", folder)
    return folder


def shown(markdown: str) -> str:
    """The text a reader sees for a Markdown body that ui.plain escaped (backslash escapes gone)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def poll(at, until, timeout: float = 60) -> None:
    """Rerun an AppTest until `until(at)` holds (a background job has moved on), or fail."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        at.run()
        if until(at):
            return
        time.sleep(0.3)
    pytest.fail("the page did not reach the expected state in time")


# --- browser -----------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server_user_models(tmp_path_factory) -> Path:
    """The browser server's folder of user models (trained or uploaded in the browser)."""
    return tmp_path_factory.mktemp("browser_user_models")


@pytest.fixture(scope="session")
def app_url(tmp_path_factory, server_user_models):
    """A real Streamlit server on localhost, for the whole browser session."""
    port = _free_port()
    env = dict(os.environ, RNN_DEMO_USER_MODELS=str(server_user_models))
    log = open(tmp_path_factory.mktemp("server") / "streamlit.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.address", "127.0.0.1", "--server.port", str(port),
                             "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("the Streamlit server did not start within 60 s")
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM}; .ci/run must install it (apt-get install chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium); browser tests skipped")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _base_path_probe(message) -> bool:
    """Opening a page by its URL (/Draw), Streamlit's frontend first probes /Draw/_stcore/health
    and /Draw/_stcore/host-config for a base path, gets 404, then uses /. That is Streamlit's
    own start-up, not an error of the app."""
    url = (message.location or {}).get("url", "")
    return "404" in message.text and url.endswith(("/_stcore/health", "/_stcore/host-config")) \
        and url.count("/") > 4


@pytest.fixture
def page(browser, app_url):
    """A fresh tab; fails the test if the page logged an error to the console."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" and not _base_path_probe(m) else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.app_url = app_url
    tab.console_errors = errors
    ARTIFACTS.mkdir(exist_ok=True)
    yield tab
    context.close()


def wait_for_app(tab, timeout: float = 60_000) -> None:
    """Wait until Streamlit has finished running the script and the page has finished computing:
    no "Running..." status and no spinner (st.spinner, a cached function's show_spinner) on screen."""
    tab.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    tab.wait_for_function("""() => {
        const s = document.querySelector('[data-testid="stStatusWidget"]');
        const running = s && s.innerText.toLowerCase().includes('running');
        const spinning = [...document.querySelectorAll('[data-testid="stSpinner"]')]
            .some(e => e.offsetParent !== null || e.getClientRects().length > 0);
        return !running && !spinning;
    }""", timeout=timeout)


# --- the training queue --------------------------------------------------------------------

class Workers:
    """Huey's own consumer for a training queue, in this process (thread workers, so a test's
    monkeypatch reaches them): started, then stopped gracefully. Never a process left behind."""

    def __init__(self, tq, n: int = 2):
        import signal
        handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        self.consumer = tq.huey.create_consumer(workers=n, worker_type="thread", periodic=False, max_delay=0.2)
        self.consumer.start()
        for s, h in handlers.items():  # the consumer took the signals; pytest keeps them
            signal.signal(s, h)
        import threading

        from rnn_demo import worker
        self.stopped = threading.Event()  # and say how many they are, as `python -m rnn_demo.worker` does
        self.announcer = threading.Thread(target=worker._announce, args=(tq, n, self.stopped), daemon=True)
        self.announcer.start()

    def stop(self):
        self.consumer.stop(graceful=True)
        self.stopped.set()
        self.announcer.join(5)


@pytest.fixture
def train_workers(user_models):
    """The pages' training queue (in the test's own models folder) with two workers; any run
    still waiting or training at the end is stopped, and the workers with it."""
    from rnn_demo import queue, ui
    tq = ui.train_queue()
    workers = Workers(tq)
    yield tq
    for rec in tq.records():
        if rec["status"] in queue.ACTIVE:
            for p in (tq.path(rec["id"], "stop"), tq.path(rec["id"], "claim")):
                p.touch()
    workers.stop()


# The slow tests, by file or by test name: every browser test (Chromium), the replicas behind
# nginx, the load benches and the long hostile-upload run. `python -m pytest -m "not slow"` is the
# quick run the README names; `python -m pytest` (CI's command) still runs everything.
SLOW_FILES = ("tests/browser/", "tests/test_replicas.py", "tests/test_load_bench.py",
              "tests/test_page_load_bench.py", "tests/test_drawn_digits_bench.py")
SLOW_TESTS = ("test_no_hostile_upload_costs_more_than_200_mb_or_a_few_seconds",)


def pytest_collection_modifyitems(config, items):
    import pytest
    for item in items:
        path = Path(str(item.fspath)).resolve().relative_to(Path(__file__).resolve().parent.parent).as_posix()
        if path.startswith(SLOW_FILES) or item.originalname in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
