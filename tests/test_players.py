"""What players do with what EmotioNet writes (issue 33).

- Every M3U8 `playlist` and the Playlists page write is played by a real player, Debian's mpv: every
  entry opens, whatever its name (spaces and accents, '%', '#', a line break, bytes that are not
  UTF-8, a leading space). Skipped with a reason without mpv, except where EMOTIONET_REQUIRE_BROWSER
  is set (CI, where .ci/run installs it): there it must run.
- Every .nsp rule `playlist -o NAME.nsp` writes passes Navidrome's criteria rules as its source states
  them (tests/data/navidrome_criteria.json, extracted by tools/navidrome_rules.py from navidrome at the
  commit it names: model/criteria/json.go, fields.go, resources/mappings.yaml, persistence/criteria_sql.go).
- The tags `tag` writes reach the fields TagLib-based players and Navidrome read: TagLib's property
  map (taglib/taglib at v2.3.1-53-gd3910296: mpeg/id3v2/id3v2frame.cpp's frameTranslation,
  frames/textidentificationframe.cpp's TXXX keys, mp4/mp4itemfactory.cpp's freeform names) as
  Navidrome's go-taglib reader lower-cases it (adapters/gotaglib/gotaglib.go), then
  mappings.yaml's aliases.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, synth, write_audio

from emotionet.library import playlists, tags
from emotionet.library.playlists import Song

RULES = json.loads((REPO / "tests" / "data" / "navidrome_criteria.json").read_text())
MPV = shutil.which("mpv")


def require_mpv() -> str:
    if MPV:
        return MPV
    if os.environ.get("EMOTIONET_REQUIRE_BROWSER"):
        pytest.fail("mpv is required here (EMOTIONET_REQUIRE_BROWSER): apt-get install mpv", pytrace=False)
    pytest.skip("mpv is not installed (Debian: apt-get install mpv; .ci/run installs it)")


def mpv_opened(playlist: Path, cwd: Path | None = None) -> tuple[set[int], str]:
    """The playlist positions mpv started playing (0-based), and what it printed."""
    done = subprocess.run(
        [
            require_mpv(),
            "--no-config",
            "--ao=null",
            "--vo=null",
            "--length=0.1",
            "--msg-level=all=error,term-msg=info",
            "--term-playing-msg=EMOTIONET-OPENED ${playlist-pos}",
            f"--playlist={playlist}",
        ],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=120,
        cwd=cwd,
    )
    opened = {int(n) for n in re.findall(r"EMOTIONET-OPENED (\d+)", done.stdout + done.stderr)}
    return opened, done.stdout + done.stderr


NAMES = [
    "My Song - Café.wav",  # issue 33: was written as lib/My%20Song%20-%20Caf%C3%A9.mp3, which mpv cannot open
    "50%25 off.wav",
    "#EXTINF:0,hash first.wav",
    "new\nline.wav",
    " leading space.wav",
    "bidi\u202eevil.wav",
    "日本語.wav",
]


def library(folder: Path) -> list[Song]:
    folder.mkdir(parents=True, exist_ok=True)
    songs = []
    y = synth(1.0)
    for i, name in enumerate(NAMES):
        path = write_audio(folder / name, y)
        songs.append(Song(f"{i:064x}", name, "", str(path), name, 1.0, 0.5, 0.5, "happy", 0.5))
    latin = os.path.join(os.fsencode(folder), b"caf\xe9 latin-1.wav")
    os.rename(write_audio(folder / "tmp.wav", y), latin)
    songs.append(Song("f" * 64, "latin", "", os.fsdecode(latin), "latin", 1.0, 0.5, 0.5, "happy", 0.5))
    return songs


def test_every_kind_of_m3u8_opens_every_entry_in_mpv(tmp_path):
    require_mpv()
    songs = library(tmp_path / "lib")
    lists = tmp_path / "lists"
    lists.mkdir()
    written = {
        "absolute (stdout)": (playlists.to_m3u8(songs), lists / "absolute.m3u8"),
        "relative (-o)": (playlists.to_m3u8(songs, relative_to=lists), lists / "relative.m3u8"),
        "names (--names, the page)": (playlists.to_m3u8(songs, use_paths=False), tmp_path / "lib" / "names.m3u8"),
    }
    for kind, (text, path) in written.items():
        path.write_text(text, encoding="utf-8")
        opened, said = mpv_opened(path)
        assert opened == set(range(len(songs))), (kind, said, text)
    plain = playlists.to_m3u8(songs[:1], relative_to=lists).splitlines()[2]
    assert plain == "../lib/My Song - Café.wav"  # a plain UTF-8 path: no percent-encoding an ordinary name

    def location(song, **where) -> str:
        return playlists.to_m3u8([song], **where).split("\n")[2]

    for odd in (songs[3], songs[5], songs[-1]):  # a line break, a bidi override, bytes that are not UTF-8
        assert location(odd).startswith("file://") and location(odd, relative_to=lists).startswith("file://")
    assert location(songs[2], use_paths=False).startswith("file://")  # '#...' would be a comment line
    assert location(songs[4], relative_to=lists) == "../lib/ leading space.wav"  # not at the line's start


def test_the_playlist_command_writes_an_m3u8_mpv_plays(tmp_path, monkeypatch, capsys):
    require_mpv()
    from helpers_playlists import make_tiny_bundle, write_song

    from emotionet.cli import main

    monkeypatch.setenv("EMOTIONET_DATA_DIR", str(tmp_path / "data"))
    bundle = make_tiny_bundle(tmp_path / "bundle")
    music = tmp_path / "music"
    write_song(music / "My Song - Café.wav", "bright", 2)
    write_song(music / "sub dir" / "#2 dark.wav", "dark", 2, seed=1)
    out = tmp_path / "lists" / "all.m3u8"
    out.parent.mkdir()
    assert main(["playlist", str(music), "--checkpoints", str(bundle), "--near", "0.5,0.5", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "../music/My Song - Café.wav" in text.splitlines()
    opened, said = mpv_opened(out, cwd=tmp_path)
    assert opened == {0, 1}, (said, text)


# --- Navidrome smart playlists -------------------------------------------------------------------


def declared_float_tags() -> set[str]:
    """The custom tags docs/reference.md tells a user to declare as floats in navidrome.toml."""
    text = (REPO / "docs" / "reference.md").read_text(encoding="utf-8")
    return {m.lower() for m in re.findall(r'^Tags\.(\w+)\.Type = "float"$', text, re.M)}


def navidrome_problems(rule: dict, float_tags: set[str]) -> list[str]:
    """What Navidrome would refuse in a smart playlist, by its source's rules (empty: accepted)."""
    problems = []
    tags_known = set(RULES["tags"]) | float_tags

    def check(expression: dict) -> None:
        if len(expression) != 1:
            problems.append(f"an expression holds one operator: {expression}")
            return
        [(operator, value)] = expression.items()
        op = operator.lower()
        if op in RULES["conjunctions"]:
            for child in value:
                check(child)
            return
        if op not in RULES["operators"]:
            problems.append(f"invalid expression key {operator!r} (json.go)")
            return
        if not isinstance(value, dict):
            problems.append(f"{operator}: not a field map")
            return
        for name, operand in value.items():
            field = name.lower()
            is_tag = field not in RULES["column_fields"] and field in tags_known
            if field not in RULES["column_fields"] and not is_tag:
                problems.append(f"invalid field in criteria: {name} (fields.go, mappings.yaml)")
            if is_tag and len(value) != 1:
                problems.append(f"tag and role criteria must contain exactly one field: {name} (criteria_sql.go)")
            if is_tag and op in RULES["range_operators"]:
                problems.append(f"range operator not supported for tag/role field: {name} (criteria_sql.go)")
            if op in ("gt", "lt") and is_tag and field not in float_tags:
                problems.append(f"{name} compares as text unless declared int/float (tag_mappings.go)")
            if op in ("gt", "lt") and not isinstance(operand, (int, float)):
                problems.append(f"{operator} {name}: not a number")

    for key in ("all", "any"):
        if key in rule:
            check({key: rule[key]})
    if ("all" in rule) == ("any" in rule):
        problems.append("a rule has one of 'all' or 'any'")
    for part in str(rule.get("sort", "title")).split(","):
        if part.strip().lstrip("+-").lower() not in set(RULES["column_fields"]) | {"random"}:
            problems.append(f"invalid sort field {part!r} (sort.go)")
    if "limit" in rule and not (isinstance(rule["limit"], int) and rule["limit"] > 0):
        problems.append("limit is a positive whole number")
    return problems


def test_the_navidrome_rules_are_those_of_its_source():
    assert RULES["commit"] == "295886cb9a432d375afa796ed8a32db0775464af"
    assert {"mood", "key", "bpm"} <= set(RULES["tags"]) and "intherange" in RULES["operators"]
    assert "tkey" in RULES["tags"]["key"] and "initialkey" not in RULES["tags"]["key"]
    floats = declared_float_tags()
    assert floats == {"valence", "energy"}
    # the checker refuses what Navidrome refuses: issue 33's inTheRange on a tag, an undeclared tag
    old = {"all": [{"inTheRange": {"valence": [0.5, 0.9]}}], "sort": "random"}
    assert any("range operator not supported" in p for p in navidrome_problems(old, floats))
    assert any("invalid field" in p for p in navidrome_problems({"all": [{"gt": {"valence": 0.5}}]}, set()))


@pytest.mark.parametrize(
    "argv",
    [
        ["--mood", "calm"],
        ["--mood", "happy", "--count", "30"],
        ["--near", "0.7,0.4", "--radius", "0.2"],  # issue 33's refused rule
        ["--near", "0.05,0.95", "--radius", "0.3"],  # spans past 0 and 1
        ["--near", "0.5,0.5", "--radius", "2"],  # the whole square
        ["--near", "sad", "--radius", "0.1", "--count", "5"],
    ],
)
def test_every_smart_playlist_passes_navidromes_rules(tmp_path, argv):
    from emotionet.cli import main

    out = tmp_path / "rule.nsp"
    assert main(["playlist", str(tmp_path), *argv, "-o", str(out)]) == 0
    rule = json.loads(out.read_text())
    assert navidrome_problems(rule, declared_float_tags()) == []


# --- where TagLib-based players and Navidrome read the key ---------------------------------------

ID3_PROPERTY = {"TKEY": "INITIALKEY", "TMOO": "MOOD", "TBPM": "BPM"}  # id3v2frame.cpp frameTranslation
MP4_PROPERTY = {"tmpo": "BPM", "----:com.apple.iTunes:MOOD": "MOOD"}  # mp4itemfactory.cpp (others: freeform name)


def taglib_properties(path: Path) -> dict[str, list[str]]:
    """The file's tags as TagLib's PropertyMap names them (upper-case keys)."""
    import mutagen

    f = mutagen.File(path)
    out: dict[str, list[str]] = {}
    if hasattr(f.tags, "getall"):
        for frame in type(f)(path, translate=False).tags.values():
            if frame.FrameID == "TXXX":
                key = frame.desc.upper()
            else:
                key = ID3_PROPERTY.get(frame.FrameID)
            if key:
                out.setdefault(key, []).extend(str(t) for t in frame.text)
    elif hasattr(f.tags, "keys") and any(k.startswith(("----", "tmpo")) for k in f.tags.keys()):
        for key, values in f.tags.items():
            name = MP4_PROPERTY.get(key) or (key.split(":", 2)[2].upper() if key.startswith("----:") else None)
            if name:
                out.setdefault(name, []).extend(
                    bytes(v).decode() if isinstance(v, (bytes, bytearray)) or hasattr(v, "dataformat") else str(v)
                    for v in values
                )
    else:
        for key, values in f.tags.items():
            out.setdefault(key.upper(), []).extend(values)
    return out


def navidrome_tag(properties: dict[str, list[str]], tag: str) -> list[str]:
    """What Navidrome stores for `tag`: the first of its mappings.yaml aliases the lower-cased
    properties hold (go-taglib lower-cases keys and strips MP4's iTunes prefix)."""
    lowered = {k.lower(): v for k, v in properties.items()}
    for alias in RULES["tags"][tag]:
        if alias in lowered:
            return lowered[alias]
    return []


@pytest.mark.parametrize("kind", ["mp3", "mp3-v23", "flac", "ogg", "opus", "m4a", "wav", "aiff"])
def test_mood_bpm_and_key_reach_taglib_players_and_navidrome(tmp_path, kind):
    from test_tags import ANALYSIS, make_file

    path = make_file(tmp_path, kind)
    assert tags.tag_file(path, ANALYSIS, "m").written
    properties = taglib_properties(path)
    assert properties.get("INITIALKEY") == ["F#m"]  # what TagLib-based players show as the key
    assert navidrome_tag(properties, "key") == ["F#m"]  # issue 33: ID3 and MP4 keys never reached it
    assert navidrome_tag(properties, "mood") == ["calm"] and navidrome_tag(properties, "bpm") == ["120"]
    lowered = {k.lower() for k in properties}
    assert {"valence", "energy"} <= lowered  # what the documented custom tags' alias names
