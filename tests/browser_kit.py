"""What every real-browser test module shares: a streamlit server on a seeded data folder, Debian's
chromium (via Playwright), and small actions (settle after a click, pick in a selectbox).

A test module imports what it needs from here (`from tests.browser_kit import server, data, browser,
page, ...`: fixtures imported into a module are that module's fixtures). Importing this module skips
the importing test module with a reason when chromium is not installed, except where
EMOTIONET_REQUIRE_BROWSER is set (CI installs chromium, so there it always runs).

`start_server(data, env)` starts another server (e.g. with other upload limits) as a context
manager; `VIEWPORTS` are the two screens every flow is checked at: a laptop's 1280×800 and a
projector's 1024×768. `join` puts a person on the team of a server's data folder and opens their
personal link in a page; `sign_in` signs in with name and secret; `start_rating` joins as a
coordinator and opens Label.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import soundfile as sf

from tests.conftest import REPO, write_audio

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO / "test-artifacts"

if not Path(CHROMIUM).exists():
    if os.environ.get("EMOTIONET_REQUIRE_BROWSER"):
        pytest.fail("chromium is required here (EMOTIONET_REQUIRE_BROWSER) but not installed", pytrace=False)
    pytest.skip("no chromium installed (apt-get install chromium) for the real-browser test", allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")
expect = playwright.expect  # retrying checks: what a click changes is read once its rerun has drawn it


SERVED: dict[str, Path] = {}  # a running server's URL -> its data folder
SECRET = "a long blue whale"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(data: Path, music: Path, checkpoints: Path) -> None:
    """A library of the four demos, twice each (the second a 14 s cut, so another file), and two
    tracks to label, in `data` (the server's EMOTIONET_DATA_DIR)."""
    from emotionet.demo import DEMO_MOODS, demo_wav
    from emotionet.library import songs as library
    from emotionet.team import labelling, storage

    music.mkdir(parents=True, exist_ok=True)
    files = []
    for title, mood in DEMO_MOODS.items():
        y, sr = sf.read(io.BytesIO(demo_wav(title)))
        files.append(write_audio(music / f"{mood} one.wav", y, sr))
        files.append(write_audio(music / f"{mood} two.wav", y[: 14 * sr], sr))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("EMOTIONET_DATA_DIR", str(data))
        env.delenv("EMOTIONET_DB_URL", raising=False)
        engine = storage.make_engine()
        assert library.scan_files(files, engine, checkpoints=checkpoints, workers=1).added == len(files)
        store = storage.AudioStore()
        for name in ("happy one", "sad one"):
            labelling.add_track(
                engine, store, (music / f"{name}.wav").read_bytes(), f"{name}.wav", name.title(), added_by="seed"
            )
        engine.dispose()


def _seeded(tmp_path_factory, checkpoints: Path) -> Path:
    """The seeded data folder all modules copy, made once per run: the first of pytest-xdist's
    workers to need it seeds it (the models load and hear eight clips, seconds of CPU), the others
    wait on the lock and find it made. Its music folder is shared, read only."""
    import filelock

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the run's, not another run's
    done = shared / "seeded" / "done"
    with filelock.FileLock(str(shared / "seeded.lock")):
        if not done.exists():
            shutil.rmtree(shared / "seeded", ignore_errors=True)
            _seed(shared / "seeded" / "data", shared / "seeded" / "music", checkpoints)
            done.touch()
    return shared / "seeded" / "data"


@pytest.fixture(scope="module")
def data(tmp_path_factory, shipped_checkpoints) -> Path:
    """A module's own copy of the seeded data folder (`_seed`)."""
    folder = tmp_path_factory.mktemp("data")
    shutil.copytree(_seeded(tmp_path_factory, shipped_checkpoints), folder, dirs_exist_ok=True)
    return folder


def playlist_titles(data: Path, mood: str) -> list[str]:
    """The titles the Playlists page should list By mood (headline model, 10 songs), from the library."""
    from emotionet.library import playlists
    from emotionet.library import songs as library
    from emotionet.team import storage

    engine = storage.make_engine(f"sqlite:///{data / 'emotionet.db'}")
    songs = library.load_songs(engine, model=json.loads((REPO / "checkpoints" / "config.json").read_text())["headline"])
    engine.dispose()
    return [s.title for s in playlists.by_mood(songs, mood, 10)]


@contextlib.contextmanager
def start_server(data: Path, env: dict[str, str] | None = None, cpus: set[int] | None = None):
    """A streamlit server of the app on the data folder `data` (extra environment `env`; `cpus`: the
    only cores it may use, as taskset sets them), on a free loopback port; yields its URL and stops
    it afterwards. Its console goes to data/streamlit-PORT.log."""
    port = _free_port()
    environ = {**os.environ, "EMOTIONET_DATA_DIR": str(data)}
    environ.pop("EMOTIONET_DB_URL", None)
    environ.update(env or {})
    log = open(data / f"streamlit-{port}.log", "w")  # a file, not a pipe nobody reads (which could fill and block)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(REPO / "streamlit_app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--client.showErrorDetails",
            "full",
        ],
        cwd=REPO,
        env=environ,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    )
    url = f"http://127.0.0.1:{port}"
    SERVED[url] = data
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
        log.close()


@pytest.fixture(scope="module")
def server(data):
    with start_server(data) as url:
        yield url


def _launch(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=ARGS)


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        chromium = _launch(p)
        yield chromium
        chromium.close()


VIEWPORTS = {"laptop": {"width": 1280, "height": 800}, "projector": {"width": 1024, "height": 768}}


@pytest.fixture(scope="module")
def visitor(browser):
    """The browser context `page` and `screen` open their pages in, one per module: its pages share
    the HTTP cache (a page of the app loads in about 1.1 s and 1.8 CPU s, against 1.5 s and 2.2 in a
    fresh context each), and each test starts without cookies, as a new visitor."""
    context = browser.new_context()
    context.module_visitor = True  # kept open between the module's tests (tests/conftest.py)
    yield context
    context.close()


def visit(visitor, viewport: dict):
    """A new page (a new session of the app) for a new visitor, the window `viewport`."""
    visitor.clear_cookies()
    page = visitor.new_page()
    page.set_viewport_size(viewport)
    return page


@pytest.fixture
def page(visitor):
    page = visit(visitor, {"width": 1400, "height": 1000})
    yield page
    page.close()


def settle(page) -> None:
    """Wait until the script run an interaction started has finished."""
    page.wait_for_timeout(300)  # the rerun starts a moment after the click
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=90_000)
    page.wait_for_timeout(200)


def assert_no_exception(page) -> None:
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, errors.first.inner_text()


def timeline(page):
    """Analyze's Mood over time chart, once Plotly has drawn it. (Not `.js-plotly-plot` by position: under load the
    charts draw in any order, and the second one drawn can be a feature heatmap in a hidden tab.)"""
    chart = page.locator('[class*="st-key-timeline_"] .js-plotly-plot')
    chart.wait_for(state="visible", timeout=90_000)
    return chart


def combobox(page, label: str):
    """A selectbox (a react-aria combobox in Streamlit 1.67) by its label."""
    return page.get_by_role("combobox", name=label, exact=True)


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label`, as a user would: scroll to it, open it, click the
    option. (Below the fold, charts still drawing can shift it away from a click made while scrolling.)"""
    combobox(page, label).scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    combobox(page, label).click()
    page.get_by_role("option", name=option, exact=True).click()
    settle(page)


def shown_in(page, label: str) -> str:
    """What the selectbox labelled `label` shows now."""
    return combobox(page, label).input_value().strip()


def wait_shown(page, label: str, expected: str, timeout: float = 30_000) -> None:
    """Until the selectbox labelled `label` shows `expected` (fails after `timeout` ms): what a click
    changes is read once its rerun has drawn it, even where a loaded machine starts that rerun after
    `settle` has looked."""
    playwright.expect(combobox(page, label)).to_have_value(expected, timeout=timeout)


def invite(data: Path, name: str, role: str = "coordinator") -> str:
    """Put `name` on the team of the data folder `data` (as `role`); returns their invitation token."""
    from emotionet.team import accounts
    from emotionet.team.storage import make_engine

    engine = make_engine(f"sqlite:///{data / 'emotionet.db'}")
    try:
        return accounts.invite(engine, name, role)[1]
    finally:
        engine.dispose()


def join(page, server: str, name: str, role: str = "coordinator", secret: str = SECRET) -> None:
    """`name` opens their personal link on `server`, chooses `secret` and joins (signed in, in this browser)."""
    page.goto(f"{server}/label?invite={invite(SERVED[server], name, role)}")
    page.get_by_label("Your secret (at least 8 characters)").fill(secret)
    page.get_by_label("The same secret again").fill(secret)
    page.get_by_role("button", name="Join the team").click()
    settle(page)


def sign_in(page, server: str, name: str, secret: str = SECRET, path: str = "label") -> None:
    """Sign in on `path` with a name and secret, as a member does on a browser of their own."""
    page.goto(f"{server}/{path}")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Your secret").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    settle(page)


def start_rating(page, server: str, name: str) -> None:
    """Open Label signed in as `name`, a new coordinator (who may also add tracks)."""
    join(page, server, name)


@pytest.fixture(params=list(VIEWPORTS))
def screen(request, visitor):
    """A page at one of the two screens every flow is checked at: (name, page)."""
    page = visit(visitor, VIEWPORTS[request.param])
    yield request.param, page
    page.close()


WHOLE_SHOTS = os.environ.get("EMOTIONET_WHOLE_SHOTS") == "1"  # also the whole page, below the fold


def shoot(page, name: str) -> None:
    """test-artifacts/<name>.png: the screen as the user sees it; with EMOTIONET_WHOLE_SHOTS=1 also
    <name>-whole.png, the whole page (the main area scrolls, not the document: the window is made as
    tall as the page and the charts redraw, about 2.5 s a shot, so the suite leaves it out)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.mouse.move(2, 2)  # no tooltip in the picture
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    if not WHOLE_SHOTS:
        return
    size = page.viewport_size
    height = page.evaluate("document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": min(max(height, size["height"]), 12_000)})
    page.wait_for_timeout(1500)  # charts redraw at the new size
    page.screenshot(path=str(ARTIFACTS / f"{name}-whole.png"))
    page.set_viewport_size(size)
    page.wait_for_timeout(500)
