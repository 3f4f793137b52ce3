"""Shared fixtures: synthesised audio (tests never need ../shared) and the shipped models."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "checkpoints"


def synth(seconds: float, sr: int = 22050, kind: str = "chord", seed: int = 0) -> np.ndarray:
    """Deterministic test music: 'chord' (bright major, plucked), 'dark' (slow low minor), 'noise'."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    if kind == "noise":
        return (0.3 * rng.standard_normal(len(t))).astype(np.float32)
    if kind == "dark":
        freqs, beat = (110.0, 130.81, 164.81), 1.5
    else:
        freqs, beat = (523.25, 659.25, 783.99), 0.25
    envelope = np.exp(-3 * (t % beat))
    y = sum(np.sin(2 * np.pi * f * t) for f in freqs) * envelope / len(freqs)
    return (0.5 * y + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def write_audio(path: Path, y: np.ndarray, sr: int = 22050, channels: int = 1, **kwargs) -> Path:
    data = np.repeat(y[:, None], channels, axis=1) if channels > 1 else y
    sf.write(str(path), data, sr, **kwargs)
    return path


@pytest.fixture
def wav_file(tmp_path) -> Path:
    return write_audio(tmp_path / "song.wav", synth(12.0))


@pytest.fixture(scope="session")
def shipped_checkpoints() -> Path:
    if not (SHIPPED / "config.json").is_file():
        pytest.fail("checkpoints/ has no trained models: run `python train.py` and commit them")
    return SHIPPED


@pytest.fixture(autouse=True)
def _close_a_tests_browser_contexts(request):
    """After a real-browser test, the contexts it opened and left open are closed (its module's
    `visitor` stays): a page left on a stopped server keeps trying to reconnect, on the CPU the
    rest of the suite needs."""
    yield
    if "browser" in request.fixturenames:
        for context in request.getfixturevalue("browser").contexts:
            if not getattr(context, "module_visitor", False):
                context.close()


@pytest.fixture
def cli_run(capsys, monkeypatch):
    """`python -m emotionet ARGS` run in this process (`emotionet.cli.main`), as a fresh interpreter
    would run it: returns its returncode, stdout and stderr. `env` sets variables for the call (None
    removes one). Only tests of the process boundary itself (startup imports, kill -9, a private
    mount, PYTHONPATH) start a real `python -m emotionet`."""
    from types import SimpleNamespace

    from emotionet.cli import main

    def run(*args, env=None):
        with monkeypatch.context() as patch:
            for key, value in (env or {}).items():
                if value is None:
                    patch.delenv(key, raising=False)
                else:
                    patch.setenv(key, value)
            capsys.readouterr()
            try:
                code = main([str(a) for a in args])
            except SystemExit as stop:  # argparse refusing the command line
                code = stop.code
            out = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)

    return run


# --- tiers: every test is marked here, by what it uses, so no test module needs a marker ----------
# `make test-fast` runs -m "not browser and not pg and not subprocess" (pyproject.toml registers them).

BROWSER_FIXTURES = {"browser", "page"}  # tests/browser_kit.py's Playwright browser and page
PROCESS_NAMES = {"subprocess", "Popen", "executable", "ray_engine"}  # a fresh interpreter (Ray: its workers)
TESTS = Path(__file__).resolve().parent


def _starts_a_process(function, seen: set) -> bool:
    """Whether a test or fixture function (or a helper of the tests it calls, followed through the
    tests' own modules) names subprocess, sys.executable or the Ray engine."""
    function = inspect.unwrap(function)
    code = getattr(function, "__code__", None)
    if code is None or code in seen:
        return False
    seen.add(code)
    codes, names = [code], set()
    while codes:  # the function's own code and every nested function, lambda and comprehension
        current = codes.pop()
        names |= set(current.co_names)
        codes += [c for c in current.co_consts if hasattr(c, "co_names")]
    if names & PROCESS_NAMES:
        return True
    helpers = (inspect.unwrap(h) for h in map(function.__globals__.get, names) if callable(h))
    return any(
        _starts_a_process(h, seen) for h in helpers if TESTS in Path(getattr(h, "__code__", code).co_filename).parents
    )


# The slowest modules, slowest first (`pytest --durations=60`, summed per module; 2026-12-07): they run
# first, so that the workers (ci/test.sh: one module each at a time) finish together. In the file
# order, test_team_server (3.5 minutes) started last and ran on alone at the end.
SLOWEST_FIRST = (
    "test_browser_glance.py",
    "test_team_server.py",
    "test_browser.py",
    "test_ray_engine.py",
    "test_browser_song_mood.py",
    "test_hostile_server.py",
    "test_browser_queue.py",
    "test_hostile_library.py",
    "test_library_page.py",
    "test_memory.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each module's own order kept
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "postgresql" in params.values():
            item.add_marker(pytest.mark.pg)
        definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
        functions = [getattr(item, "function", None)] + [d[-1].func for d in definitions.values() if d]
        seen: set = set()
        if any(_starts_a_process(f, seen) for f in functions if f is not None):
            item.add_marker(pytest.mark.subprocess)
