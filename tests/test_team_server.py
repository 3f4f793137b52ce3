"""A team server that knows who rated (issue 34), with two and three people in real browsers: each
rater is signed in as themselves (never a name picked or put in the URL), a reload keeps the sign-in,
a rater sees no mean before saving, a stranger's wrong secrets (whatever X-Forwarded-For they send)
never keep a member out, uploads are charged per person across browser sessions, a listening cut
short is finished on the next visit, and the server's metrics are closed to visitors.

The browser cases run where Debian's chromium is installed (tests/browser_kit.py); the others
everywhere. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from test_hostile_server import seed_label_tracks, silent_wav

from emotionet.app import uploads
from emotionet.team import accounts as acc
from emotionet.team import labelling as lab
from emotionet.team import predictions as answers
from emotionet.team.storage import make_engine
from tests.conftest import REPO

try:
    from tests.browser_kit import (  # noqa: F401 (fixtures)
        ARTIFACTS,
        SECRET,
        VIEWPORTS,
        browser,
        expect,
        invite,
        join,
        settle,
        sign_in,
        start_server,
    )

    NO_BROWSER = ""
except pytest.skip.Exception as why:  # no chromium here: the browser cases skip, the rest still run
    NO_BROWSER = str(why)
needs_browser = pytest.mark.skipif(bool(NO_BROWSER), reason=NO_BROWSER)
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060"))


def engine_of(data: Path):
    return make_engine(f"sqlite:///{data / 'emotionet.db'}")


def sidebar(page) -> str:
    return page.locator('[data-testid="stSidebar"]').inner_text().translate(INVISIBLE)


def main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text().translate(INVISIBLE)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def fetch(url: str, cookie: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


# --- who rates: three people, each as themselves ------------------------------------------------


@needs_browser
def test_three_people_each_rate_as_themselves_a_reload_keeps_it_and_no_mean_shows_before_saving(browser, tmp_path):
    data = seed_label_tracks(tmp_path / "data")  # two tones; the second rated by "seed"
    with start_server(data) as url:
        ana = browser.new_context(viewport=VIEWPORTS["laptop"]).new_page()  # the coordinator
        ben = browser.new_context(viewport=VIEWPORTS["projector"]).new_page()  # a rater
        cy = browser.new_context(viewport=VIEWPORTS["laptop"]).new_page()  # another rater
        join(ana, url, "Ana")
        assert "Signed in as Ana (coordinator)" in sidebar(ana) and "invite=" not in ana.url

        # Ben opens his personal link with ?rater=Ana added, as the old page allowed: he is still Ben
        token = invite(data, "Ben", "rater")
        ben.goto(f"{url}/label?invite={token}&rater=Ana")
        ben.get_by_label("Your secret (at least 8 characters)").fill(SECRET)
        ben.get_by_label("The same secret again").fill(SECRET)
        ben.get_by_role("button", name="Join the team").click()
        settle(ben)
        ben.goto(f"{url}/label?rater=Ana")  # and the URL picks no one
        ben.get_by_role("button", name="💾 Save").wait_for(timeout=60_000)
        settle(ben)
        assert "Signed in as Ben (rater)" in sidebar(ben)
        expect(ben.get_by_label("Your name")).to_have_count(0)  # retrying: the sign-in form goes with the rerun
        expect(ben.get_by_label("New name")).to_have_count(0)
        assert ben.get_by_role("tab", name="➕ Add tracks").count() == 0  # coordinators add tracks
        shot(ben, "team-rater-label-projector")
        # blind: on the track "seed" rated, nothing of seed's rating before Ben saves his own
        ben.get_by_role("combobox", name="Track", exact=True).click()
        ben.get_by_role("option", name="Second tone", exact=True).click()
        settle(ben)
        expect(ben.get_by_text("Other raters and the models")).to_have_count(0)
        ben.get_by_role("link", name="Test set").click()
        settle(ben)
        ben.get_by_text("Viewing as Ben").wait_for(timeout=60_000)
        assert "1 track(s) you have not rated yet: their values are hidden" in main_text(ben)  # the grid is drawn
        # on a canvas: the hidden cells themselves are checked in tests/test_label_pages.py
        assert ben.get_by_role("combobox", name="Who is looking?").count() == 0
        assert ben.get_by_role("button", name="Prepare the test set", exact=False).count() == 0
        shot(ben, "team-rater-test-set-blind-projector")
        ben.get_by_role("link", name="Label").click()
        ben.get_by_role("button", name="💾 Save").wait_for(timeout=60_000)
        settle(ben)
        ben.get_by_role("combobox", name="Track", exact=True).click()
        ben.get_by_role("option", name="Second tone", exact=True).click()
        settle(ben)
        ben.get_by_role("button", name="💾 Save").click()
        settle(ben)
        ben.get_by_text("Other raters and the models").wait_for(timeout=30_000)  # after saving, the team's view

        ben.reload()  # a reload keeps the sign-in
        ben.get_by_role("button", name="💾 Save").wait_for(timeout=60_000)
        settle(ben)
        assert "Signed in as Ben (rater)" in sidebar(ben)
        shot(ben, "team-rater-reloaded-projector")

        join(cy, url, "Cy", "rater")
        cy.get_by_role("button", name="💾 Save").wait_for(timeout=60_000)
        settle(cy)
        cy.get_by_role("button", name="💾 Save").click()
        settle(cy)
        cy.get_by_role("button", name="Sign out").click()
        settle(cy)
        cy.reload()
        cy.get_by_label("Your name").wait_for(timeout=60_000)  # signed out stays signed out
        sign_in(cy, url, "Cy")
        cy.get_by_role("button", name="💾 Save").wait_for(timeout=60_000)
        assert "Signed in as Cy (rater)" in sidebar(cy)

        ana.get_by_role("link", name="Test set").click()
        settle(ana)
        ana.get_by_text("Viewing as Ana, a coordinator").wait_for(timeout=60_000)
        assert "you have not rated yet" not in main_text(ana)  # the coordinator sees every mean
        ana.get_by_text("👥 The team").scroll_into_view_if_needed()
        shot(ana, "team-coordinator-test-set-laptop")
        for page in (ana, ben, cy):
            page.context.close()

    engine = engine_of(data)
    ratings = lab.current_ratings(engine)
    engine.dispose()
    assert sorted(ratings.rater) == ["Ben", "Cy", "seed"]  # no one rated as Ana


@needs_browser
def test_a_coordinator_invites_from_the_page_and_the_link_works_once(browser, tmp_path):
    data = seed_label_tracks(tmp_path / "data")
    with start_server(data) as url:
        ana = browser.new_context(viewport=VIEWPORTS["projector"]).new_page()
        join(ana, url, "Ana")
        ana.goto(f"{url}/test_set")
        ana.get_by_role("textbox", name="Name").wait_for(timeout=60_000)
        ana.get_by_role("textbox", name="Name").fill("Dee")
        ana.get_by_role("button", name="✉️ Make a personal link").click()
        settle(ana)
        link = ana.locator('[data-testid="stCode"]').inner_text().strip()
        assert link.startswith(f"{url}/label?invite=")
        shot(ana, "team-invite-projector")
        dee = browser.new_context(viewport=VIEWPORTS["laptop"]).new_page()
        dee.goto(link)
        dee.get_by_text("Welcome, Dee").wait_for(timeout=60_000)
        dee.get_by_label("Your secret (at least 8 characters)").fill("dee's own secret")
        dee.get_by_label("The same secret again").fill("dee's own secret")
        dee.get_by_role("button", name="Join the team").click()
        settle(dee)
        assert "Signed in as Dee (rater)" in sidebar(dee)
        other = browser.new_context(viewport=VIEWPORTS["laptop"]).new_page()
        other.goto(link)  # used: worth nothing now
        other.get_by_text("used, expired or not valid").wait_for(timeout=60_000)
        assert other.get_by_role("button", name="💾 Save").count() == 0
        for page in (ana, dee, other):
            page.context.close()


# --- a stranger cannot lock the team out ------------------------------------------------------------


@needs_browser
def test_a_strangers_wrong_secrets_with_any_forwarded_for_never_keep_the_team_out(browser, tmp_path):
    data = seed_label_tracks(tmp_path / "data")
    with start_server(data) as url:
        ana = browser.new_context(viewport=VIEWPORTS["laptop"])
        join(ana.new_page(), url, "Ana", "rater")  # her browser: she signed in here before
        ana.pages[0].get_by_role("button", name="Sign out").click()
        settle(ana.pages[0])
        token = invite(data, "Ben", "rater")
        engine = engine_of(data)
        acc.accept_invite(engine, token, SECRET, SECRET)
        engine.dispose()
        tries = acc.FREE_TRIES + 2  # the free tries, the one that starts the wait, one refused unchecked
        for i in range(tries):  # each try from a fresh browser, a new X-Forwarded-For each time
            stranger = browser.new_context(
                viewport=VIEWPORTS["projector"], extra_http_headers={"X-Forwarded-For": f"203.0.113.{i}"}
            )
            page = stranger.new_page()
            sign_in(page, url, "Ana", secret=f"guess number {i}")
            said = main_text(page)
            if i == tries - 1:
                # strangers are slowed, whatever they send: refused unchecked, or checked and told to wait
                assert "Too many wrong tries for this name" in said or "Try again in" in said, said
                shot(page, "team-stranger-slowed-projector")
            stranger.close()
        page = ana.pages[0]
        sign_in(page, url, "Ana")  # the right secret, on her own browser: in
        page.get_by_role("button", name="💾 Save").wait_for(timeout=60_000)
        assert "Signed in as Ana (rater)" in sidebar(page)
        shot(page, "team-ana-still-gets-in-laptop")
        ben = browser.new_context(viewport=VIEWPORTS["projector"]).new_page()  # another member, a new browser
        sign_in(ben, url, "Ben")
        ben.get_by_role("button", name="💾 Save").wait_for(timeout=60_000)
        assert "Signed in as Ben (rater)" in sidebar(ben)
        ben.context.close()
        ana.close()


# --- uploads per person; the length limit; internals closed ------------------------------------------


@needs_browser
def test_uploads_are_charged_per_person_across_sessions_and_a_long_file_is_refused_before_work(browser, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    files = [str(silent_wav(tmp_path / f"part {i}.wav", 0.6)) for i in range(2)]
    long_flac = tmp_path / "six minutes.flac"
    import numpy as np
    import soundfile as sf

    sf.write(long_flac, np.zeros(6 * 60 * 8000, np.int16), 8000, format="FLAC")  # tiny file, 6 minutes decoded
    env = {"EMOTIONET_PERSON_UPLOAD_MB": "1", "EMOTIONET_MAX_MINUTES": "5"}
    with start_server(data, env) as url:
        context = browser.new_context(viewport=VIEWPORTS["laptop"])
        first = context.new_page()
        first.goto(url)  # the app has run once (its first run closes the metrics)
        settle(first)
        assert fetch(f"{url}/_stcore/metrics") == 404  # nothing of the server's internals to a visitor
        assert fetch(f"{url}/_stcore/agent/openapi.json") == 404 and fetch(f"{url}/_stcore/health") == 200
        join(first, url, "Ana")
        cookie = next(c for c in context.cookies() if c["name"] == "emotionet_sign_in")
        assert cookie["sameSite"] == "Strict" and cookie["expires"] > 0
        assert fetch(f"{url}/_stcore/metrics", f"emotionet_sign_in={cookie['value']}") == 200  # a coordinator's
        for page, name in ((first, files[0]), (context.new_page(), files[1])):  # the second: a new session
            page.goto(f"{url}/playlists")
            page.get_by_text("Audio files").first.wait_for(timeout=90_000)
            settle(page)
            page.locator("input[type=file]").first.set_input_files(name)
            page.wait_for_function(
                "() => !document.querySelector('[data-testid=stFileChipIconSpinner]')", timeout=60_000
            )
            settle(page)
        said = main_text(page)
        assert "part 1.wav was not taken: You have uploaded 0.6 MB today" in said, said  # the same person
        shot(page, "team-upload-per-person-laptop")
        page.locator("input[type=file]").first.set_input_files(str(long_flac))  # 30 kB that decodes to 6 minutes
        page.wait_for_function("() => !document.querySelector('[data-testid=stFileChipIconSpinner]')", timeout=60_000)
        settle(page)
        assert "6 minutes" in main_text(page) and "limit" in main_text(page), main_text(page)
        assert page.get_by_role("button", name="Analyse and add").is_disabled()
        shot(page, "team-upload-too-long-laptop")
        context.close()


def test_an_allowance_belongs_to_the_person_and_a_file_left_chosen_is_released():
    now = [0.0]
    guard = uploads.UploadGuard(clock=lambda: now[0])
    os.environ["EMOTIONET_PERSON_UPLOAD_MB"] = "1"
    try:
        guard.assign("session a", "person:1")
        guard.assign("session b", "person:1")  # the same person in another browser session
        guard.assign("session c", "person:2")
        assert guard.admit("session a", "f1", 600_000) is None
        assert "You have uploaded 0.6 MB today" in guard.admit("session b", "f2", 600_000)
        assert guard.admit("session c", "f3", 600_000) is None  # another person's own allowance
        assert "Visitors who are not signed in" in (guard.admit("x", "v1", 600_000) or guard.admit("y", "v2", 600_000))
        assert guard.abandoned() == []
        now[0] += uploads.HOLD_S + 1  # chosen, never added
        assert set(guard.abandoned()) == {("session a", "f1"), ("session c", "f3"), ("x", "v1")}
        for key in guard.abandoned():
            guard.release(*key)
        assert guard.held() == 0
        now[0] += uploads.WINDOW_S
        assert guard.admit("session b", "f4", 600_000) is None  # a day later the allowance is back
    finally:
        del os.environ["EMOTIONET_PERSON_UPLOAD_MB"]


# --- work left behind is finished ---------------------------------------------------------------------


@needs_browser
def test_a_listening_cut_short_by_a_closed_tab_is_finished_on_the_next_visit(browser, tmp_path):
    from tests.conftest import synth, write_audio

    data = tmp_path / "data"
    data.mkdir()
    files = [str(write_audio(tmp_path / f"long {i}.wav", synth(60.0, seed=i), 22050)) for i in range(3)]
    with start_server(data) as url:
        ana = browser.new_context(viewport=VIEWPORTS["laptop"])
        page = ana.new_page()
        join(page, url, "Ana")  # the coordinator adds three minute-long tracks ...
        page.get_by_role("tab", name="➕ Add tracks").click()
        page.get_by_test_id("stForm").locator("input[type=file]").set_input_files(files)
        page.wait_for_timeout(1500)
        page.get_by_role("button", name="Add tracks").click()
        page.get_by_text("Keep this tab open until they finish").wait_for(timeout=120_000)  # warned, as elsewhere
        shot(page, "team-listening-laptop")
        ana.close()  # ... and closes the tab while the models listen
        engine = engine_of(data)
        time.sleep(3)
        left = answers.queued(engine)
        assert left, "the models finished before the tab closed: nothing was cut short"
        ben = browser.new_context(viewport=VIEWPORTS["projector"]).new_page()  # the next visit, by someone else
        ben.goto(f"{url}/label?invite={invite(data, 'Ben', 'rater')}")
        ben.get_by_label("Your secret (at least 8 characters)").fill(SECRET)
        ben.get_by_label("The same secret again").fill(SECRET)
        ben.get_by_role("button", name="Join the team").click()
        ben.get_by_text(f"{len(left)} track(s) added earlier were not heard by the models yet").wait_for(timeout=60_000)
        shot(ben, "team-listening-resumed-projector")
        ben.get_by_role("button", name="💾 Save").wait_for(timeout=180_000)
        settle(ben)
        expect(ben.get_by_text("not heard by the models yet")).to_have_count(0)
        ben.context.close()
    from emotionet.models.checkpoints import checkpoint_dir

    assert answers.queued(engine) == []
    assert len(answers.stored(engine, answers.models_key(checkpoint_dir()))) == 3  # every track heard
    engine.dispose()


# --- set-up ----------------------------------------------------------------------------------------------


def test_make_run_says_how_to_add_the_first_coordinator_then_nothing(tmp_path):
    commands = subprocess.run(["make", "-n", "run"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert commands.index("emotionet team setup") < commands.index("streamlit run")
    env = {**os.environ, "EMOTIONET_DATA_DIR": str(tmp_path)}
    env.pop("EMOTIONET_DB_URL", None)
    run = lambda *a: subprocess.run(
        [sys.executable, "-m", "emotionet", "team", *a], cwd=REPO, env=env, capture_output=True, text=True
    )  # noqa: E731
    said = run("setup").stdout.strip().splitlines()
    assert said == [
        "No team yet: add the first coordinator with `.venv/bin/python -m emotionet team add-coordinator NAME` "
        "(it prints their sign-in link)."
    ]
    assert (tmp_path / acc.KEY_FILE).is_file()
    added = run("add-coordinator", "Ana", "--url", "http://team.example:8501")
    assert added.returncode == 0 and added.stdout.startswith(
        "Ana (coordinator): http://team.example:8501/label?invite="
    )
    assert run("setup").stdout == ""
    assert run("invite", "").returncode == 1  # refused by the team layer: a runtime failure, one line
    engine = engine_of(tmp_path)
    assert acc.invited(engine, added.stdout.strip().split("invite=")[1]).name == "Ana"
    engine.dispose()


# --- every page is drawn whatever names the library holds ---------------------------------------------


@needs_browser
def test_playlists_draws_a_library_holding_a_latin_1_file_name(browser, tmp_path):
    from helpers_playlists import write_song

    from emotionet.library import songs as library

    data, music = tmp_path / "data", tmp_path / "music"
    data.mkdir()
    music.mkdir()
    plain = write_song(music / "bright.wav", "bright", 6, seed=1)
    odd = os.fsencode(music) + b"/old caf\xe9 disk.wav"  # as a terminal in Latin-1 names it: not UTF-8
    os.rename(write_song(music / "other.wav", "bright", 7, seed=2), odd)
    engine = engine_of(data)
    assert library.scan_files([plain, os.fsdecode(odd)], engine, checkpoints=REPO / "checkpoints", workers=1).added == 2
    engine.dispose()
    with start_server(data) as url:
        for name, viewport in VIEWPORTS.items():
            page = browser.new_context(viewport=viewport).new_page()
            if name == "projector":
                join(page, url, "Ana")  # a coordinator also sees the tagging section's file list
            page.goto(f"{url}/playlists")
            page.get_by_text("Library", exact=True).wait_for(timeout=90_000)
            settle(page)
            page.get_by_text("Your player: tag the files").click()
            settle(page)
            assert page.locator('[data-testid="stException"]').count() == 0
            assert page.get_by_text("This app has encountered an error").count() == 0
            assert "2 of 2 songs shown" in main_text(page)
            shot(page, f"team-latin-1-name-playlists-{name}")
            page.context.close()
