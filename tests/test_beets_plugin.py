"""The beets plugin (beetsplug/emotionet.py, issue 27): `beet import` and `beet emotionet` store the
mood, valence, energy, BPM and key of each track as beets fields, equal to the library's analysis."""

from __future__ import annotations

import pytest

pytest.importorskip("beets", reason="beets is not installed (pip install beets; requirements-dev.txt)")

import beets  # noqa: E402
import beets.plugins  # noqa: E402
import beets.ui  # noqa: E402
from beets.library import Library  # noqa: E402

from emotionet.library import songs as library  # noqa: E402
from emotionet.library import tags  # noqa: E402
from emotionet.team import storage  # noqa: E402
from tests.conftest import REPO, synth, write_audio  # noqa: E402


@pytest.fixture
def beet(tmp_path, monkeypatch):
    """beets with the plugin loaded from the repository's beetsplug/, a library in tmp_path, and a
    `run(*args)` that runs a beet command on it."""
    monkeypatch.setenv("BEETSDIR", str(tmp_path / "beets"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("EMOTIONET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EMOTIONET_DB_URL", raising=False)
    config = beets.config
    config.clear()
    config.read(user=False, defaults=True)
    config["pluginpath"] = [str(REPO / "beetsplug")]
    config["plugins"] = ["emotionet"]
    config["threaded"] = False
    config["create_backup_before_migrations"] = False  # else beets leaves backups in the working folder
    config["directory"] = str(tmp_path / "beets-music")
    beets.plugins.load_plugins()
    lib = Library(str(tmp_path / "beets.db"), str(tmp_path / "beets-music"))
    monkeypatch.setattr(beets.ui, "_open_library", lambda _config: lib)
    monkeypatch.setattr(lib, "_close", lambda: None)

    def run(*args: str) -> None:
        beets.ui._raw_main(list(args))

    yield lib, run
    beets.plugins.BeetsPlugin.listeners.clear()
    beets.plugins._instances.clear()
    config.clear()


def stored(path) -> dict:
    """The library's analysis of a file, as the tag command would write it."""
    [song] = library.scan_files([path], storage.make_engine(), workers=1).songs  # known: not analysed again
    return tags.tag_values(song.extra["analysis"])


def test_beet_import_sets_the_fields_and_beet_emotionet_fills_the_rest(beet, tmp_path):
    lib, run = beet
    album = tmp_path / "album"
    album.mkdir()
    write_audio(album / "01 calm.flac", synth(10.0, kind="dark"))
    run("import", "-A", "-C", "-W", "-q", str(album))  # as is, no copy, no write
    [item] = lib.items()
    want = stored(album / "01 calm.flac")
    assert item["mood"] == want["mood"]
    assert item["valence"] == pytest.approx(float(want["valence"])) and 0 <= item["valence"] <= 1
    assert item["energy"] == pytest.approx(float(want["energy"]))
    assert item.bpm == int(want["bpm"]) and (item.initial_key or "") == want.get("key", "")
    assert item["emotionet_models"]
    assert [i.path for i in lib.items(f"mood:{want['mood']}")] == [item.path]  # queryable like any field

    # a track added without the plugin's stage, and one whose bpm a person set: the command
    later = write_audio(tmp_path / "later.wav", synth(8.0, kind="chord"))
    from beets.library import Item

    added = Item.from_path(str(later))
    added.bpm = 99
    lib.add(added)
    run("emotionet")
    added.load()
    want = stored(later)
    assert added["mood"] == want["mood"] and added.bpm == 99  # a bpm already set is kept
    run("emotionet", "-f", "--overwrite", f"path:{later}")
    added.load()
    assert added.bpm == int(want["bpm"])
