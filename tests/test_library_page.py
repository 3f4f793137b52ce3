"""The Playlists page's "Your player" section in a real browser (issue 27): export the library as a
table with Spotify's column names, and tag the files of songs scanned from a folder on the server
after a preview, at a laptop's and a projector's screen size. The server, browser and actions are in
tests/browser_kit.py."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.browser_kit import (  # noqa: F401 (fixtures)
    ARTIFACTS,
    VIEWPORTS,
    assert_no_exception,
    browser,
    choose,
    expect,
    join,
    page,
    settle,
    start_server,
    visitor,
)
from tests.conftest import synth, write_audio

SECTION = "🏷️ Your player: tag the files, export the table"
SPOTIFY = ("valence", "energy", "tempo", "key", "mode", "loudness", "duration_ms")


@pytest.fixture(scope="module")
def library(tmp_path_factory, shipped_checkpoints) -> dict:
    """A data folder whose library holds an MP3 and a FLAC scanned from a folder (the MP3 with a title
    and artist of its own) and one upload (the app's stored copy)."""
    from mutagen.id3 import ID3, TIT2, TPE1

    from emotionet.library import songs as library
    from emotionet.team import storage

    data, music = tmp_path_factory.mktemp("data"), tmp_path_factory.mktemp("music")
    mp3 = write_audio(music / "calm piano.mp3", synth(10.0, kind="dark"), format="MP3")
    tags = ID3()
    tags.add(TIT2(encoding=3, text="Calm Piano"))
    tags.add(TPE1(encoding=3, text="The Testers"))
    tags.save(mp3)
    flac = write_audio(music / "bright song.flac", synth(10.0, kind="chord"))
    upload = io.BytesIO()
    import soundfile as sf

    sf.write(upload, synth(8.0, kind="chord", seed=3), 22050, format="WAV")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("EMOTIONET_DATA_DIR", str(data))
        env.delenv("EMOTIONET_DB_URL", raising=False)
        engine = storage.make_engine()
        assert library.scan_files([mp3, flac], engine, checkpoints=shipped_checkpoints, workers=1).added == 2
        added = library.add_uploads([("uploaded.wav", upload.getvalue())], engine, checkpoints=shipped_checkpoints)
        assert added.added == 1
        moods = {Path(s.path).name: s.mood for s in library.load_songs(engine)}
        engine.dispose()
    return {"data": data, "mp3": mp3, "flac": flac, "moods": moods}


@pytest.fixture(scope="module")
def server(library):
    with start_server(library["data"]) as url:
        yield url


def open_section(page, server: str, viewport: str) -> None:
    page.set_viewport_size(VIEWPORTS[viewport])
    page.goto(f"{server}/playlists")
    page.get_by_text("Library", exact=True).wait_for(timeout=90_000)
    settle(page)
    page.get_by_text(SECTION).click()
    settle(page)
    assert_no_exception(page)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_export_downloads_the_library_with_spotifys_columns(server, library, page, viewport):
    open_section(page, server, viewport)
    measure = page.get_by_role("button", name="📏 Measure the files")
    if measure.count():  # the files' own length, loudness and key, as `export` writes them (issue 33)
        measure.click()
        settle(page)
        page.get_by_text("still show the analysis's own key").wait_for(state="detached", timeout=60_000)
    expect(page.get_by_role("button", name="📏 Measure the files")).to_have_count(0)
    with page.expect_download() as download:
        page.get_by_role("button", name="⬇️ Table as CSV").click()
    assert download.value.suggested_filename == "emotionet-library.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert len(rows) == 3  # every song of the library, the upload too
    for row in rows:
        assert set(SPOTIFY) <= set(row)
        assert 0 <= float(row["valence"]) <= 1 and 0 <= float(row["energy"]) <= 1
        assert -1 <= int(row["key"]) <= 11 and row["mode"] in ("0", "1") and int(row["duration_ms"]) > 0
        assert row["mood"] == library["moods"][Path(row["path"]).name]
    with page.expect_download() as download:
        page.get_by_role("button", name="⬇️ Table as JSON").click()
    assert len(json.loads(Path(download.value.path()).read_text(encoding="utf-8"))) == 3
    settle(page)
    assert_no_exception(page)
    shot(page, f"library-export-{viewport}")


def preview_then_confirm(page, button: str, changing: int) -> None:
    page.get_by_role("button", name="🔍 Preview the changes to 2 file(s)").click()
    settle(page)
    assert_no_exception(page)
    page.get_by_text(f"{changing} file(s) would change").wait_for(timeout=30_000)
    page.get_by_role("button", name=button).scroll_into_view_if_needed()


def test_tagging_writes_after_a_preview_and_removing_takes_only_emotionets_tags(server, library, page):
    from mutagen.flac import FLAC
    from mutagen.id3 import ID3

    mp3, flac, moods = library["mp3"], library["flac"], library["moods"]
    open_section(page, server, "laptop")
    assert page.get_by_text("a team coordinator signs in").count() == 1  # a visitor changes no file on the server
    join(page, server, "Tagger")  # a coordinator may
    open_section(page, server, "laptop")
    assert page.get_by_text("app's own copies of uploads").count() == 1  # the upload is not offered
    preview_then_confirm(page, "✅ Write the tags into 2 file(s)", 2)
    assert page.get_by_text("TMOO").count() >= 1  # the preview lists the frames it would write
    shot(page, "library-tag-preview-laptop")
    assert "TMOO" not in ID3(mp3) and "MOOD" not in FLAC(flac).tags  # a preview writes nothing
    page.get_by_role("button", name="✅ Write the tags into 2 file(s)").click()
    settle(page)
    assert_no_exception(page)
    page.get_by_text("Done: 2 file(s) changed").wait_for(timeout=30_000)
    shot(page, "library-tag-written-laptop")
    id3 = ID3(mp3)
    assert id3["TMOO"].text[0] == moods[mp3.name] and 0 <= float(id3["TXXX:VALENCE"].text[0]) <= 1
    assert id3["TIT2"].text[0] == "Calm Piano" and id3["TPE1"].text[0] == "The Testers"  # other tags stay
    assert FLAC(flac).tags["MOOD"] == [moods[flac.name]]

    open_section(page, server, "projector")
    choose(page, "Tags", "Remove what EmotioNet wrote")
    preview_then_confirm(page, "✅ Remove EmotioNet's tags from 2 file(s)", 2)
    shot(page, "library-tag-remove-preview-projector")
    page.get_by_role("button", name="✅ Remove EmotioNet's tags from 2 file(s)").click()
    settle(page)
    assert_no_exception(page)
    page.get_by_text("Done: 2 file(s) changed").wait_for(timeout=30_000)
    shot(page, "library-tag-removed-projector")
    id3 = ID3(mp3)
    assert "TMOO" not in id3 and not id3.getall("TXXX:VALENCE") and id3["TIT2"].text[0] == "Calm Piano"
    assert "MOOD" not in FLAC(flac).tags
