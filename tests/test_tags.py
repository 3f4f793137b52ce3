"""`tag` writes the mood where each format's players read it, and never harms a file: the audio is
unchanged, other tags survive, a value set by hand is kept, a crash leaves the original whole."""

from __future__ import annotations

import os
import stat

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import synth
from helpers_library import bundle, engine  # noqa: F401 (fixtures)
from helpers_playlists import write_song

from emotionet.library import songs as library
from emotionet.library import tagfile, tags

SR = 22050
ANALYSIS = {
    "headline": "pretrained",
    "pretrained": {"valence": 0.7132, "arousal": 0.3311, "mood": "calm", "confidence": 0.81},
    "cnn": {"valence": 0.2, "arousal": 0.9, "mood": "aggressive", "confidence": 0.5},
    "explanation": {"measurements": {"tempo_bpm": 119.6, "key": "F# minor", "mode": -0.12, "loudness_dbfs": -14.2}},
}
EXPECTED = {"mood": "calm", "bpm": "120", "key": "F#m", "valence": "0.713", "energy": "0.331"}
FORMATS = ["mp3", "mp3-v23", "flac", "ogg", "opus", "m4a", "wav", "aiff"]


def write_m4a(path, y, sr=SR):
    av = pytest.importorskip("av")
    try:
        with av.open(str(path), "w") as container:
            stream = container.add_stream("aac", rate=sr)
            stream.layout = "mono"
            frame = av.AudioFrame.from_ndarray(y[None, :].astype(np.float32), format="fltp", layout="mono")
            frame.sample_rate = sr
            for packet in [*stream.encode(frame), *stream.encode(None)]:
                container.mux(packet)
    except (av.error.FFmpegError, ValueError) as error:
        pytest.skip(f"PyAV cannot encode AAC here: {error}")


def make_file(folder, kind: str, seconds: float = 3.0):
    """A synthesised song of `kind` with a title, an artist and a genre a person gave it."""
    y = synth(seconds)
    suffix = kind.split("-")[0]
    path = folder / f"song.{suffix}"
    if kind == "m4a":
        write_m4a(path, y)
    elif kind == "opus":
        sf.write(path, y, 48000, format="OGG", subtype="OPUS")
    else:
        sf.write(path, y, SR)
    import mutagen

    if suffix in ("mp3", "wav", "aiff"):
        from mutagen import id3

        f = mutagen.File(path)
        if f.tags is None:
            f.add_tags()
        f.tags.add(id3.TIT2(encoding=1, text=["A Song"]))
        f.tags.add(id3.TPE1(encoding=1, text=["Someone"]))
        f.tags.add(id3.TCON(encoding=1, text=["Folk"]))
        if kind == "mp3-v23":
            f.tags.add(id3.TYER(encoding=1, text=["1999"]))  # a v2.3 frame
            f.save(v2_version=3)
        else:
            f.save()
    elif kind == "m4a":
        f = mutagen.File(path)
        f.add_tags() if f.tags is None else None
        f.tags["\xa9nam"], f.tags["\xa9ART"], f.tags["\xa9gen"] = ["A Song"], ["Someone"], ["Folk"]
        f.save()
    else:
        f = mutagen.File(path)
        f["title"], f["artist"], f["genre"] = "A Song", "Someone", "Folk"
        f.save()
    return path


def decoded(path) -> np.ndarray:
    """The file's decoded samples (PyAV for M4A, libsndfile for the rest)."""
    if str(path).endswith(".m4a"):
        import av

        with av.open(str(path)) as container:
            return np.concatenate([f.to_ndarray().ravel() for f in container.decode(audio=0)])
    return sf.read(path, dtype="float32")[0]


OURS = {slot for family in tags.SLOTS.values() for slots in family.values() for slot in slots} | set(
    tags.MARKER_SLOT.values()
)


def audio_bytes(path) -> bytes | None:
    """The bytes of the file's encoded audio, where the format keeps them apart from its tags: MP3's
    frames after the ID3v2 tag, FLAC's frames after its metadata blocks, every RIFF/AIFF chunk but
    the ID3 one. None for Ogg and MP4, whose tag writes renumber pages or move the media data (their
    decoded samples are compared instead)."""
    data, suffix = Path(path).read_bytes(), Path(path).suffix
    if suffix == ".mp3":
        size = 10 + int.from_bytes(bytes(b & 0x7F for b in data[6:10]), "big") if data[:3] == b"ID3" else 0
        return data[size:]
    if suffix == ".flac":
        at, last = 4, False
        while not last:
            last, length = data[at] & 0x80, int.from_bytes(data[at + 1 : at + 4], "big")
            at += 4 + length
        return data[at:]
    if suffix in (".wav", ".aiff"):
        big = suffix == ".aiff"
        at, chunks = 12, []
        while at + 8 <= len(data):
            name, length = data[at : at + 4], int.from_bytes(data[at + 4 : at + 8], "big" if big else "little")
            if name.strip().lower() != b"id3":
                chunks.append(data[at : at + 8 + length])
            at += 8 + length + (length & 1)
        return b"".join(chunks)
    return None


def other_tags(path) -> dict:
    """Every tag EmotioNet does not own, as its format stores it (ID3 frames untranslated)."""
    import mutagen

    f = mutagen.File(path)
    if hasattr(f.tags, "getall"):  # ID3: read again as stored, v2.3 frames included
        f = type(f)(path, translate=False)
        return {key: frame._pprint() for key, frame in f.tags.items() if key not in OURS}
    ours = {slot.upper() for slot in OURS}
    return {key.upper(): list(value) for key, value in (f.tags or {}).items() if key.upper() not in ours}


@pytest.mark.parametrize("kind", FORMATS)
def test_each_format_gets_the_fields_its_players_read_and_nothing_else_changes(tmp_path, kind):
    path = make_file(tmp_path, kind)
    audio, others, encoded = decoded(path), other_tags(path), audio_bytes(path)
    report = tags.tag_file(path, ANALYSIS, "models123")
    assert report.written and not report.error, report.line()
    import mutagen

    f = mutagen.File(path)
    if kind.startswith("mp3") or kind in ("wav", "aiff"):
        v23 = kind == "mp3-v23"
        assert f.tags.version[:2] == ((2, 3) if v23 else (2, 4))  # a v2.3 file stays v2.3
        mood_frame = "TXXX:MOOD" if v23 else "TMOO"
        assert str(f.tags[mood_frame]) == "calm" and ("TMOO" not in f.tags if v23 else True)
        assert [str(f.tags[s]) for s in ("TBPM", "TKEY", "TXXX:VALENCE", "TXXX:ENERGY")] == [
            "120",
            "F#m",
            "0.713",
            "0.331",
        ]
        assert "models=models123" in str(f.tags["TXXX:EMOTIONET"])
    elif kind == "m4a":
        freeform = {k: bytes(v[0]).decode() for k, v in f.tags.items() if k.startswith("----")}
        assert f.tags["tmpo"] == [120]
        assert freeform["----:com.apple.iTunes:MOOD"] == "calm"
        assert freeform["----:com.apple.iTunes:initialkey"] == "F#m"
        assert (freeform["----:com.apple.iTunes:VALENCE"], freeform["----:com.apple.iTunes:ENERGY"]) == (
            "0.713",
            "0.331",
        )
    else:  # Vorbis comments
        assert {k: f.tags[k] for k in ("MOOD", "BPM", "INITIALKEY", "KEY", "VALENCE", "ENERGY")} == {
            "MOOD": ["calm"],
            "BPM": ["120"],
            "INITIALKEY": ["F#m"],
            "KEY": ["F#m"],
            "VALENCE": ["0.713"],
            "ENERGY": ["0.331"],
        }
    assert tags.read_fields(path) | {"marker": ""} == EXPECTED | {"marker": ""}
    np.testing.assert_array_equal(decoded(path), audio)  # the audio itself is untouched
    assert audio_bytes(path) == encoded  # byte for byte, where the format keeps audio and tags apart
    assert other_tags(path) == others

    removed = tags.remove_file(path)
    assert removed.written and set(tags.read_fields(path)) == set()  # no EmotioNet tag left
    assert other_tags(path) == others
    np.testing.assert_array_equal(decoded(path), audio)
    assert audio_bytes(path) == encoded


def test_dry_run_lists_the_changes_and_writes_nothing(tmp_path):
    path = make_file(tmp_path, "flac")
    before = path.read_bytes()
    report = tags.tag_file(path, ANALYSIS, "m", dry_run=True)
    assert not report.written and {c.slot for c in report.changed} == {
        "MOOD",
        "BPM",
        "INITIALKEY",
        "KEY",
        "VALENCE",
        "ENERGY",
    }
    assert "would change" in report.line() and "MOOD = 'calm'" in report.line()
    assert path.read_bytes() == before
    tags.tag_file(path, ANALYSIS, "m")
    tagged = path.read_bytes()
    assert tags.remove_file(path, dry_run=True).changed and path.read_bytes() == tagged


def test_a_mood_set_by_hand_is_kept_unless_overwrite(tmp_path):
    import mutagen

    path = make_file(tmp_path, "mp3")
    f = mutagen.File(path)
    from mutagen import id3

    f.tags.add(id3.TMOO(encoding=3, text=["melancholic"]))
    f.tags.add(id3.TBPM(encoding=3, text=["121"]))  # a DJ tool's beat grid
    f.save()
    report = tags.tag_file(path, ANALYSIS, "m")
    kept = {c.slot: c for c in report.changes if c.action == tags.KEEP}
    assert set(kept) == {"TMOO", "TBPM"} and "kept 'melancholic'" in report.line()
    fields = tags.read_fields(path)
    assert fields["mood"] == "melancholic" and fields["bpm"] == "121" and fields["key"] == "F#m"
    assert "TMOO" not in fields["marker"]  # not EmotioNet's: --remove will leave it
    tags.remove_file(path)
    assert tags.read_fields(path) == {"mood": "melancholic", "bpm": "121"}

    report = tags.tag_file(path, ANALYSIS, "m", overwrite=True)
    assert {c.slot for c in report.changes if c.action == tags.OVERWRITE} == {"TMOO", "TBPM"}
    assert tags.read_fields(path)["mood"] == "calm"


def test_emotionets_own_value_is_updated_but_a_hand_edit_of_it_is_kept(tmp_path):
    import mutagen

    path = make_file(tmp_path, "ogg")
    tags.tag_file(path, ANALYSIS, "old-models")
    happier = ANALYSIS | {"pretrained": {"valence": 0.8, "arousal": 0.7, "mood": "happy", "confidence": 0.9}}
    report = tags.tag_file(path, happier, "new-models")
    assert {c.slot: c.action for c in report.changes}["MOOD"] == tags.UPDATE
    assert tags.read_fields(path)["mood"] == "happy" and "models=new-models" in tags.read_fields(path)["marker"]

    f = mutagen.File(path)
    f["MOOD"] = "wistful"  # a person disagrees
    f.save()
    report = tags.tag_file(path, ANALYSIS, "new-models")
    assert {c.slot: c.action for c in report.changes}["MOOD"] == tags.KEEP
    assert tags.read_fields(path)["mood"] == "wistful"
    assert "MOOD=" not in tags.read_fields(path)["marker"]  # no longer EmotioNet's
    removal = tags.remove_file(path)
    assert "MOOD" not in {c.slot for c in removal.changes}
    assert tags.read_fields(path) == {"mood": "wistful"}


def test_remove_touches_nothing_without_emotionets_marker(tmp_path):
    import mutagen

    path = make_file(tmp_path, "flac")
    f = mutagen.File(path)
    f["MOOD"], f["BPM"] = "dreamy", "90"
    f.save()
    before = path.read_bytes()
    report = tags.remove_file(path)
    assert not report.written and report.changes == [] and path.read_bytes() == before


@pytest.mark.parametrize("crash", ["while saving", "before the backup is named", "while writing in place"])
def test_a_run_interrupted_midway_leaves_the_original_whole(tmp_path, monkeypatch, crash):
    path = make_file(tmp_path, "mp3")
    before = path.read_bytes()
    if crash == "while saving":

        def save(self):
            with open(self.path, "r+b") as f:  # half a tag written into the copy, then the process dies
                f.write(b"\0" * 64)
            raise KeyboardInterrupt

        monkeypatch.setattr(tagfile.TagFile, "save", save)
    elif crash == "before the backup is named":

        def replace(src, dst):
            raise KeyboardInterrupt

        monkeypatch.setattr(tagfile.os, "replace", replace)
    else:
        real, calls = tagfile._write_into, []

        def write_into(path, source):
            calls.append(source)
            if len(calls) > 1:  # restoring the original: the real thing
                return real(path, source)
            with open(source, "rb") as data, open(path, "r+b") as out:
                out.write(data.read(len(before) // 2))  # half the new bytes are in the file ...
            raise KeyboardInterrupt  # ... when the run is stopped

        monkeypatch.setattr(tagfile, "_write_into", write_into)
    with pytest.raises(KeyboardInterrupt):
        tags.tag_file(path, ANALYSIS, "m")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.mp3"]  # no temporary copy left behind


def test_the_tagged_file_keeps_its_mode(tmp_path):
    path = make_file(tmp_path, "wav")
    path.chmod(0o640)
    assert tags.tag_file(path, ANALYSIS, "m").written
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_read_only_and_damaged_files_are_reported_in_one_line_and_skipped(tmp_path):
    locked = make_file(tmp_path, "flac")
    locked.chmod(0o444)
    before = locked.read_bytes()
    report = tags.tag_file(locked, ANALYSIS, "m")
    assert report.error == "the file is read-only" and not report.written and locked.read_bytes() == before
    assert report.line().endswith("skipped: the file is read-only") and "\n" not in report.line()

    garbage = tmp_path / "broken.mp3"
    garbage.write_bytes(b"\xff\xfb junk " * 10)
    report = tags.tag_file(garbage, ANALYSIS, "m")
    assert report.error and "\n" not in report.line() and garbage.read_bytes() == b"\xff\xfb junk " * 10

    bad_flac = tmp_path / "broken.flac"
    bad_flac.write_bytes(b"fLaC" + b"\x00" * 20)
    assert tags.tag_file(bad_flac, ANALYSIS, "m").error


def test_a_link_is_followed_and_stays_a_link(tmp_path):
    target = make_file(tmp_path, "ogg")
    link = tmp_path / "link.ogg"
    link.symlink_to(target)
    assert tags.tag_file(link, ANALYSIS, "m").written
    assert link.is_symlink() and tags.read_fields(target)["mood"] == "calm"


def test_tagging_a_folder_uses_the_library_and_a_rescan_analyses_nothing(tmp_path, engine, bundle):
    music = tmp_path / "music"
    write_song(music / "a.flac", "bright", 3)
    write_song(music / "b.wav", "dark", 3, seed=1)
    first = library.scan_folder(music, engine, checkpoints=bundle, workers=1)
    moods = {os.path.basename(s.path): s.mood for s in first.songs}

    run = tags.tag_paths([music], engine, checkpoints=bundle, workers=1)
    assert run.analysed == 0 and run.known == 2 and not run.skipped  # nothing analysed twice
    assert all(r.written for r in run.reports)
    assert {os.path.basename(r.path): tags.read_fields(r.path)["mood"] for r in run.reports} == moods

    rescan = library.scan_folder(music, engine, checkpoints=bundle, workers=1)
    assert (rescan.added, rescan.known) == (0, 2)  # the tagged files are still the analysed songs
    assert tags.tag_paths([music], engine, checkpoints=bundle, workers=1).reports[0].line().endswith("up to date")


def test_the_tag_command_goes_on_past_a_bad_file_and_exits_1(tmp_path, bundle, monkeypatch, capsys):
    monkeypatch.setenv("EMOTIONET_DATA_DIR", str(tmp_path / "data"))
    music = tmp_path / "music"
    good = write_song(music / "good.flac", "bright", 3)
    locked = write_song(music / "locked.flac", "dark", 3, seed=2)
    locked.chmod(0o444)
    (music / "noise.mp3").write_bytes(b"not audio" * 40)
    from emotionet.cli import main

    before = good.read_bytes()
    assert main(["tag", str(music), "--checkpoints", str(bundle), "--workers", "1", "--dry-run"]) == 1
    assert good.read_bytes() == before
    assert main(["tag", str(music), "--checkpoints", str(bundle), "--workers", "1"]) == 1
    out, err = capsys.readouterr()
    assert "locked.flac: skipped: the file is read-only" in err and "noise.mp3: skipped" in err
    assert tags.read_fields(good)["mood"] in ("happy", "aggressive", "sad", "calm")
    assert main(["tag", str(good), "--remove"]) == 0
    assert tags.read_fields(good) == {}


# --- issue 33: never a changed sample, never a lost link, attribute or tag --------------------------


def wav_with_sizes(path: Path, riff: int | None = None, data: int | None = None) -> Path:
    """A 16-bit WAV whose RIFF and/or data size fields say `riff` / `data` (a streaming recorder's 36,
    a pipe's 0xFFFFFFFF) instead of the truth."""
    sf.write(path, synth(2.0), SR, subtype="PCM_16")
    raw = bytearray(path.read_bytes())
    if riff is not None:
        raw[4:8] = riff.to_bytes(4, "little")
    if data is not None:
        at = raw.index(b"data")
        raw[at + 4 : at + 8] = data.to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize(
    "case",
    ["riff size 36 (streaming recorder)", "riff and data sizes unset (a pipe)", "aiff form covers the header only"],
)
def test_wrong_chunk_sizes_are_repaired_without_changing_a_sample(tmp_path, case):
    if case.startswith("aiff"):
        path = tmp_path / "song.aiff"
        sf.write(path, synth(2.0), SR, subtype="PCM_16")
        raw = bytearray(path.read_bytes())
        raw[4:8] = (raw.index(b"SSND") + 16 - 8).to_bytes(4, "big")  # FORM ends where the samples begin
        path.write_bytes(bytes(raw))
    elif "pipe" in case:
        path = wav_with_sizes(tmp_path / "song.wav", riff=0xFFFFFFFF, data=0xFFFFFFFF)
    else:
        path = wav_with_sizes(tmp_path / "song.wav", riff=36)
    audio = decoded(path)
    assert len(audio) == int(2.0 * SR)  # players play it whole
    report = tags.tag_file(path, ANALYSIS, "m")
    assert report.written and not report.error, report.line()
    assert "repaired its wrong chunk sizes" in report.line() and "\n" not in report.line()
    np.testing.assert_array_equal(decoded(path), audio)  # every sample as it was
    assert tags.read_fields(path)["mood"] == "calm"
    assert tags.remove_file(path).written
    np.testing.assert_array_equal(decoded(path), audio)


def test_chunks_that_do_not_account_for_the_file_are_refused_in_one_line(tmp_path):
    path = wav_with_sizes(tmp_path / "song.wav")
    raw = bytearray(path.read_bytes())
    at = raw.index(b"fmt ")
    raw[at + 4 : at + 8] = (10_000_000).to_bytes(4, "little")  # a format chunk past the end of the file
    path.write_bytes(bytes(raw))
    before = path.read_bytes()
    report = tags.tag_file(path, ANALYSIS, "m")
    assert report.error and not report.written and "\n" not in report.line()
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["song.wav"]


def test_tagging_keeps_the_inode_hard_links_mode_and_extended_attributes(tmp_path):
    path = make_file(tmp_path, "flac")
    other = tmp_path / "second name.flac"
    os.link(path, other)
    path.chmod(0o640)
    try:
        os.setxattr(path, "user.origin", b"bandcamp")
        xattr = True
    except OSError:  # a file system without user attributes
        xattr = False
    inode = path.stat().st_ino
    audio = decoded(path)
    assert tags.tag_file(path, ANALYSIS, "m").written
    assert path.stat().st_ino == inode and path.stat().st_nlink == 2  # the link holds
    assert tags.read_fields(other)["mood"] == "calm"  # the other name sees the same, tagged bytes
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    if xattr:
        assert os.getxattr(path, "user.origin") == b"bandcamp"
    np.testing.assert_array_equal(decoded(other), audio)


def test_a_write_that_would_change_the_audio_is_never_made(tmp_path, monkeypatch):
    path = make_file(tmp_path, "wav")
    before = path.read_bytes()
    real = tagfile.TagFile.save

    def save_and_damage(self):
        real(self)
        with open(self.path, "r+b") as f:  # a tag writer that touches the samples
            f.seek(os.path.getsize(self.path) // 2)
            f.write(b"\x7f" * 64)

    monkeypatch.setattr(tagfile.TagFile, "save", save_and_damage)
    report = tags.tag_file(path, ANALYSIS, "m")
    assert not report.written and "would change its decoded audio" in report.error
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["song.wav"]


def test_remove_never_obeys_a_marker_that_names_the_users_own_frames(tmp_path):
    from mutagen import id3

    path = make_file(tmp_path, "mp3")
    tags.tag_file(path, ANALYSIS, "m")
    f = id3.ID3(path)
    marker = str(f["TXXX:EMOTIONET"])
    f.delall("TXXX:EMOTIONET")  # a marker someone edited to name the title and artist
    f.add(id3.TXXX(encoding=3, desc="EMOTIONET", text=[marker + "; TIT2=A Song; TPE1=Someone"]))
    f.save()
    report = tags.remove_file(path)
    assert report.written and {c.slot for c in report.changes} <= OURS
    after = id3.ID3(path)
    assert str(after["TIT2"]) == "A Song" and str(after["TPE1"]) == "Someone"  # the user's title and artist
    assert tags.read_fields(path) == {}


def test_a_run_killed_with_sigkill_midway_is_undone_by_the_next(tmp_path):
    import subprocess
    import sys

    path = make_file(tmp_path, "flac")
    before, audio = path.read_bytes(), decoded(path)
    script = f"""
import os, signal
from emotionet.library import tagfile, tags
from test_tags import ANALYSIS

def write_into(path, source):  # half of the new bytes written into the file, then kill -9
    with open(source, "rb") as data, open(path, "r+b") as out:
        out.write(data.read({len(before) // 2}))
        out.flush()
        os.fsync(out.fileno())
    os.kill(os.getpid(), signal.SIGKILL)

tagfile._write_into = write_into
tags.tag_file({str(path)!r}, ANALYSIS, "m")
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent.parent), str(Path(__file__).parent)])}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=300)
    assert done.returncode == -9, done.stderr[-2000:]
    assert path.read_bytes() != before  # killed halfway through the in-place write ...
    assert any(p.name.endswith(tags.BACKUP_SUFFIX) for p in tmp_path.iterdir())
    report = tags.tag_file(path, ANALYSIS, "m")  # ... and the next run puts it right, then tags it
    assert report.written and "restored its bytes" in report.line(), report.line()
    np.testing.assert_array_equal(decoded(path), audio)
    assert tags.read_fields(path)["mood"] == "calm"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.flac"]  # no leftover


def test_a_link_out_of_the_folder_is_followed_only_when_asked(tmp_path, engine, bundle):
    music, elsewhere = tmp_path / "music", tmp_path / "elsewhere"
    write_song(music / "inside.flac", "bright", 3)
    outside = write_song(elsewhere / "outside.flac", "dark", 3, seed=1)
    (music / "link.flac").symlink_to(outside)
    before = outside.read_bytes()
    run = tags.tag_paths([music], engine, checkpoints=bundle, workers=1)
    [skipped] = run.skipped
    assert skipped.path.endswith("link.flac") and "--follow-links" in skipped.line()
    assert outside.read_bytes() == before
    run = tags.tag_paths([music], engine, checkpoints=bundle, workers=1, follow_links=True)
    followed = [r for r in run.reports if r.path == str(outside.resolve())]
    assert followed and followed[0].written and "through the link" in followed[0].line()
    assert (music / "link.flac").is_symlink()


def test_aiff_in_a_folder_is_tagged_and_exported(tmp_path, engine, bundle):
    music = tmp_path / "music"
    music.mkdir()
    for name in ("a.aif", "b.aiff"):
        sf.write(music / name, synth(3.0, kind="dark" if name == "a.aif" else "chord"), SR, format="AIFF")
    result = library.scan_folder(music, engine, checkpoints=bundle, workers=1)
    assert {os.path.basename(s.path) for s in result.songs} == {"a.aif", "b.aiff"}
    run = tags.tag_paths([music], engine, checkpoints=bundle, workers=1)
    assert len(run.reports) == 2 and all(r.written for r in run.reports), [r.line() for r in run.reports]
