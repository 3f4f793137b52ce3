"""The team server against a hostile visitor (issue 26): uploads that would fill its memory, links
smuggled into team text, team audio fetched without a sign-in; and what held before and must keep
holding (XSRF protection, many raters saving at once). Guessing secrets, the sign-in and who rates
what (issue 34) are in tests/test_team_server.py.

Held cases covered elsewhere: the server listens on loopback by default and visitors see no
tracebacks (tests/test_app_config.py: .streamlit/config.toml and `make run`); user text never
renders as Markdown (tests/test_label_pages.py, tests/test_app_config.py).

The real-browser cases run where Debian's chromium is installed (tests/browser_kit.py); the others
everywhere.
"""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers_labelling import tone
from streamlit.testing.v1 import AppTest

from emotionet.app import uploads, webapp
from emotionet.team import labelling as lab
from emotionet.team.storage import AudioStore, make_engine

try:
    from tests.browser_kit import ARTIFACTS, VIEWPORTS, browser, expect, join, settle, start_server  # noqa: F401 (fixtures)

    NO_BROWSER = ""
except pytest.skip.Exception as why:  # no chromium here: the browser cases skip, the rest still run
    NO_BROWSER = str(why)
needs_browser = pytest.mark.skipif(bool(NO_BROWSER), reason=NO_BROWSER)

PAGES = Path(__file__).resolve().parent.parent / "app_pages"
LINKY = "http://evil.example/x www.evil.example mail@evil.example"  # Streamlit's Markdown links all three
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060"))  # zero-width characters, for reading text as typed


def seed_label_tracks(data: Path, title: str = "Calm tone", added_by: str = "seed") -> Path:
    """A data folder with two tracks to label (tones: no model is run), the second rated by `added_by`."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("EMOTIONET_DATA_DIR", str(data))
        env.delenv("EMOTIONET_DB_URL", raising=False)
        engine = make_engine()
        for frequency, name in ((330.0, title), (550.0, "Second tone")):
            track, _ = lab.add_track(
                engine, AudioStore(), tone(frequency, 4.0), f"{frequency:.0f}.wav", name, added_by=added_by
            )
        lab.save_rating(engine, track.hash, added_by, 0.6, 0.4)  # the Test set page has a table to show
        engine.dispose()
    return data


# --- 4. uploads are counted as they arrive ------------------------------------------------------


def silent_wav(path: Path, mb: float) -> Path:
    """A WAV header and zeros: never decoded here, only sent."""
    size = int(mb * 1e6)
    header = b"RIFF" + (size - 8).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
    header += (1).to_bytes(2, "little") * 2 + (22050).to_bytes(4, "little") + (44100).to_bytes(4, "little")
    header += (2).to_bytes(2, "little") + (16).to_bytes(2, "little") + b"data" + (size - 44).to_bytes(4, "little")
    path.write_bytes(header + bytes(size - len(header)))
    return path


@needs_browser
def test_uploads_past_the_servers_upload_memory_are_refused_as_they_arrive(browser, tmp_path):
    """Nobody presses "Analyse and add": the server must still refuse to hold a third file past its
    upload memory, and the page must say so in one line."""
    (tmp_path / "data").mkdir()
    files = [str(silent_wav(tmp_path / f"big {i}.wav", 0.6)) for i in range(3)]
    with start_server(tmp_path / "data", {"EMOTIONET_UPLOAD_MEMORY_MB": "1.5"}) as url:
        page = browser.new_page(viewport=VIEWPORTS["laptop"])
        page.goto(f"{url}/playlists")
        page.get_by_text("Audio files").first.wait_for(timeout=90_000)
        settle(page)
        for name in files:  # one at a time, so which one is refused does not depend on timing
            page.locator("input[type=file]").first.set_input_files(name)
            page.wait_for_function(
                "() => !document.querySelector('[data-testid=stFileChipIconSpinner]')", timeout=60_000
            )
            settle(page)
        chips = page.locator('[data-testid="stFileChip"]')
        expect(chips).to_have_count(3)
        refused = [c.inner_text() for c in chips.all() if "Error" in c.inner_text()]
        assert len(refused) == 1 and "big 2.wav" in refused[0], [c.inner_text() for c in chips.all()]
        page.screenshot(path=str(ARTIFACTS / "upload-refused-laptop.png"), full_page=True)
        errors = page.locator('[data-testid="stAlertContentError"]')
        expect(errors).to_have_count(1)
        assert errors.inner_text().translate(INVISIBLE).startswith("big 2.wav was not taken: The server holds 1.2 MB")


def test_files_the_store_cannot_take_leave_the_uploader_at_once(tmp_path, monkeypatch):
    """The Playlists page's quota check runs when files are chosen, not only on "Analyse and add"."""
    monkeypatch.setenv("EMOTIONET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EMOTIONET_DB_URL", raising=False)
    monkeypatch.setenv("EMOTIONET_STORE_LIMIT_MB", "0.1")
    uploads.upload_guard.clear()
    at = AppTest.from_file(str(PAGES / "playlists.py"), default_timeout=120).run()
    at.file_uploader[0].set_value([("a.wav", tone(300, 4.0), "audio/wav")]).run()
    assert not at.exception
    assert "EMOTIONET_STORE_LIMIT_MB" in at.error[0].value and len(at.error) == 1
    assert not at.file_uploader[0].value  # dropped: the box is empty again
    assert next(b for b in at.button if b.label == "Analyse and add").disabled


# --- 8. team text never becomes a link ---------------------------------------------------------


def links_to_evil(page) -> list[str]:
    return [a.get_attribute("href") for a in page.locator("a[href]").all() if "evil" in (a.get_attribute("href") or "")]


@needs_browser
@pytest.mark.parametrize("viewport", list(VIEWPORTS) if not NO_BROWSER else ["laptop"])
def test_urls_in_rater_names_titles_and_upload_names_are_never_links(browser, tmp_path, viewport):
    data = seed_label_tracks(tmp_path / "data", title=f"Tune {LINKY}", added_by="www.evil.example rater")
    upload = tmp_path / "www.evil.example.wav"
    upload.write_bytes(tone(330.0, 4.0))  # the same bytes as the seeded track: "already in the set"
    with start_server(data) as url:
        page = browser.new_page(viewport=VIEWPORTS[viewport])
        join(page, url, "www.evil.example")
        page.get_by_role("tab", name="➕ Add tracks").click()
        page.locator("input[type=file]").first.set_input_files(str(upload))
        page.wait_for_function("() => !document.querySelector('[data-testid=stFileChipIconSpinner]')")
        page.get_by_role("button", name="Add tracks").click()
        settle(page)
        shown = page.get_by_text("is already in the set")
        shown.wait_for()
        text = shown.inner_text().translate(INVISIBLE)
        assert "www.evil.example.wav is already in the set, as Tune http://evil.example/x" in text  # read as typed
        assert "mail@evil.example" in text
        sidebar = page.locator('[data-testid="stSidebar"]').inner_text().translate(INVISIBLE)
        assert "Signed in as www.evil.example" in sidebar
        assert links_to_evil(page) == []
        page.screenshot(path=str(ARTIFACTS / f"no-links-label-{viewport}.png"), full_page=True)
        page.get_by_role("link", name="Test set").click()  # the same session, another page
        settle(page)
        page.get_by_text("Viewing as").wait_for()
        assert "Viewing as www.evil.example, a coordinator" in page.get_by_text("Viewing as").inner_text().translate(
            INVISIBLE
        )
        assert links_to_evil(page) == []
        page.screenshot(path=str(ARTIFACTS / f"no-links-test-set-{viewport}.png"), full_page=True)
        page.close()


# --- 9. team audio only for a signed-in session --------------------------------------------------


def fetch(url: str) -> tuple[int, bytes]:
    """A plain GET, as a client with no session and no cookie."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


@needs_browser
def test_no_media_url_of_the_label_page_gives_its_audio_to_a_client_without_a_session(browser, tmp_path):
    data = seed_label_tracks(tmp_path / "data")
    stored = {p.read_bytes() for p in (data / "audio").rglob("*.wav")}
    with start_server(data) as url:
        for name, viewport in VIEWPORTS.items():
            page = browser.new_page(viewport=viewport)
            join(page, url, f"Ann {name}", "rater")
            player = page.locator("audio").first
            player.wait_for(state="attached", timeout=60_000)
            sources = page.evaluate(
                "() => [...document.querySelectorAll('[src], [href]')].map(e => e.src || e.href)"
                ".filter(u => typeof u === 'string' && u.startsWith('http') && new URL(u).pathname.startsWith('/media/'))"
            )  # Streamlit's media endpoint: it answers any client that has the URL
            for source in sources:
                status, body = fetch(source)
                assert not (status == 200 and body in stored), f"{source} gave the track to a stranger"
            played = page.evaluate(  # the rater still hears it (muted: no user gesture needed)
                """async () => { const a = document.querySelector('audio'); a.muted = true; await a.play();
                   await new Promise(r => setTimeout(r, 1200)); a.pause(); return [a.duration, a.currentTime]; }"""
            )
            assert played[0] == pytest.approx(4.0, abs=0.1) and played[1] > 0.2
            assert player.is_visible()
            page.screenshot(path=str(ARTIFACTS / f"label-player-{name}.png"))
            page.close()


# --- held: XSRF protection, many raters at once ------------------------------------------------


@needs_browser
def test_a_state_changing_request_without_the_xsrf_token_is_refused(tmp_path):
    (tmp_path / "data").mkdir()
    with start_server(tmp_path / "data") as url:
        request = urllib.request.Request(f"{url}/_stcore/upload_file/some-session/some-file", data=b"x", method="PUT")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 403


def test_eight_hundred_ratings_saved_at_once_on_sqlite_are_all_kept(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'team.db'}")
    store = AudioStore(tmp_path / "audio")
    tracks = [lab.add_track(engine, store, tone(f), f"{f}.wav", added_by="seed")[0] for f in (300, 400, 500, 600)]
    raters = [f"rater {i}" for i in range(200)]
    jobs = [(t.hash, r, (i % 10) / 10) for i, r in enumerate(raters) for t in tracks]
    barrier = threading.Barrier(32)

    def save(job):
        try:
            barrier.wait(timeout=5)
        except threading.BrokenBarrierError:
            pass
        lab.save_rating(engine, job[0], job[1], job[2], 1 - job[2])

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(save, jobs))
    assert len(jobs) == 800
    assert len(lab.rating_history(engine)) == 800
    assert len(lab.current_ratings(engine)) == 800 and len(lab.list_raters(engine)) == 200
    engine.dispose()


def test_plain_text_has_no_url_www_or_e_mail_address_left_to_link():
    shown = webapp.plain(LINKY)
    assert not re.search(r"https?:|www\.|\w@\w", shown)
    assert shown.translate(INVISIBLE).replace("\\", "") == LINKY  # reads as typed
