"""Issue 31, in a real browser at a laptop's 1280×800 and a projector's 1024×768: a cold server shows the
Analyze page's uploader while the models are still loading (with a note that says so), an upload made
then waits for them in the queue, and two sessions' uploads on a one-core server queue: the second
sees its place in line, then both get their mood.

Screenshots go to test-artifacts/queue-*.png.
"""

from __future__ import annotations

import os
import re

import pytest

from tests.browser_kit import (  # noqa: F401 (fixtures)
    ARTIFACTS,
    VIEWPORTS,
    assert_no_exception,
    browser,
    start_server,
)
from tests.conftest import synth, write_audio

LOADING = "Loading the models"
VERDICT = '[data-testid="stMetric"]'


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.mouse.move(2, 2)
    page.screenshot(path=str(ARTIFACTS / f"queue-{name}.png"))


@pytest.mark.parametrize("screen", list(VIEWPORTS))
def test_a_cold_server_takes_uploads_at_once_and_two_sessions_queue(browser, screen, tmp_path):  # noqa: F811
    long_song = write_audio(tmp_path / "first, a long song.wav", synth(240.0, kind="chord"))
    second = write_audio(tmp_path / "second song.wav", synth(30.0, kind="dark", seed=1))
    one_core = {min(os.sched_getaffinity(0))}
    (tmp_path / "data").mkdir()
    with start_server(tmp_path / "data", cpus=one_core) as url:  # a fresh server, one core: one analysis at a time
        first_person = browser.new_context(viewport=VIEWPORTS[screen])
        other_person = browser.new_context(viewport=VIEWPORTS[screen])  # another session
        a, b = first_person.new_page(), other_person.new_page()
        a.goto(url)
        # the uploader and the note come while the models are still loading
        a.get_by_text(LOADING).first.wait_for(timeout=120_000)
        dropzone = a.get_by_test_id("stFileUploaderDropzone")
        assert dropzone.is_visible() and dropzone.get_by_role("button", name="Upload", exact=True).is_enabled()
        assert a.get_by_text(LOADING).first.is_visible()
        shot(a, f"cold-{screen}")
        a.locator("input[type=file]").first.set_input_files(str(long_song))  # while they load
        b.goto(url)
        b.get_by_test_id("stFileUploaderDropzone").wait_for(timeout=120_000)
        b.locator("input[type=file]").first.set_input_files(str(second))
        # the first song waits for the models, then runs; the second waits its turn and says where it is
        a.get_by_text(re.compile(r"Loading the models|listening")).first.wait_for(timeout=120_000)
        place = b.get_by_text(re.compile(r"Waiting in the queue: your song is 1st in line \(1 running\)"))
        place.first.wait_for(timeout=120_000)
        shot(b, f"second-waits-{screen}")
        shot(a, f"first-runs-{screen}")
        a.locator(VERDICT).first.wait_for(timeout=300_000)
        b.locator(VERDICT).first.wait_for(timeout=300_000)
        for page, name in ((a, "first"), (b, "second")):
            page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=120_000)
            assert_no_exception(page)
            assert page.get_by_text(LOADING).count() == 0
            assert page.get_by_text("Waiting in the queue").count() == 0
            shot(page, f"{name}-done-{screen}")
        first_person.close()
        other_person.close()
