"""One real-browser run: streamlit serves the app, Debian's chromium (via Playwright) uploads an
MP3, waits for the mood, opens Results and finds its charts, and saves screenshots.

Skipped with a reason when chromium is not installed, except where EMOTIONET_REQUIRE_BROWSER is
set (CI installs chromium, so there it always runs).
"""

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

from tests.conftest import REPO, synth, write_audio

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
ARTIFACTS = REPO / "test-artifacts"

if not Path(CHROMIUM).exists():
    if os.environ.get("EMOTIONET_REQUIRE_BROWSER"):
        pytest.fail("chromium is required here (EMOTIONET_REQUIRE_BROWSER) but not installed", pytrace=False)
    pytest.skip("no chromium installed (apt-get install chromium) for the real-browser test", allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, shipped_checkpoints):
    port = _free_port()
    env = {**os.environ, "EMOTIONET_DATA_DIR": str(tmp_path_factory.mktemp("data"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "streamlit_app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("streamlit did not start within 60 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _launch(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def test_a_bookmarked_page_on_a_fresh_server_gets_the_apps_navigation(server):
    """Runs first, on the fresh server: a first visit straight to /results (a presenter's bookmark)."""
    with playwright.sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{server}/results")
            page.get_by_text("Model card").wait_for(timeout=90_000)
            sidebar = page.locator("[data-testid=stSidebar]")
            for section in ("Listen", "Present"):  # the sections of st.navigation
                assert sidebar.get_by_text(section, exact=True).is_visible()
            assert sidebar.get_by_role("link", name=re.compile("Analyze")).is_visible()
            assert sidebar.get_by_text("streamlit app").count() == 0  # no legacy pages/ listing
        finally:
            browser.close()


def test_upload_an_mp3_see_the_mood_then_the_results(server, tmp_path):
    mp3 = write_audio(tmp_path / "song.mp3", synth(30.0, sr=44100), 44100, channels=2, format="MP3")
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 2000})
        try:
            loaded = time.perf_counter()
            page.goto(server)
            page.get_by_text("Upload a file, record a clip").wait_for(timeout=90_000)
            ready = time.perf_counter()
            page.locator("input[type=file]").first.set_input_files(str(mp3))
            page.get_by_text(re.compile(r"The models disagree|All models agree")).wait_for(timeout=90_000)
            done = time.perf_counter()
            print(f"\nfirst result for a 30 s MP3: {done - ready:.2f} s after the page was ready "
                  f"({done - loaded:.2f} s after navigation, model loading included)")  # fmt: skip
            assert page.get_by_text("confidence").first.is_visible()
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 5", timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "analyze.png"), full_page=True)

            page.get_by_role("link", name=re.compile("Results")).click()
            page.get_by_text("Training curves").wait_for(timeout=60_000)
            page.get_by_text("Model card").wait_for(timeout=60_000)
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 8", timeout=60_000)
            assert page.locator(".js-plotly-plot").count() >= 8
            page.screenshot(path=str(ARTIFACTS / "results.png"), full_page=True)
        finally:
            browser.close()
