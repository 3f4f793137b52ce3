"""Mood playlists: pure functions over analysed songs on the valence-arousal plane.

Three ways to build a playlist, each returning songs best-first:

- `by_mood`: the songs of one mood, most clear-cut first (confidence times the part of the song that
  mood holds: a song of several moods is listed by the one it spends most time in, after the songs
  that are that mood throughout).
- `nearest`: the songs nearest a target point, optionally only those within `radius` of it;
  sorted by Euclidean distance to the target.
- `journey`: a gradual path from one point to another (e.g. sad -> happy). The segment
  start -> end is divided into `n` evenly spaced waypoints; each waypoint gets its own song by an
  optimal one-to-one assignment that minimises the total squared distance between waypoints and
  songs (so the songs follow the path as closely and as evenly as the library allows); the chosen
  songs are then ordered by their projection on the segment. Property (tested): the projection
  t = (song - start) . (end - start) / |end - start|^2 never decreases along the playlist, i.e.
  each song is at least as far along the path as the one before it.

Length is a number of songs or a number of minutes (`limit`): by minutes, the playlist is the
longest prefix whose total duration fits in the time (at least one song).

Exports: `to_m3u8` (extended M3U, UTF-8: #EXTM3U, then per song #EXTINF:<seconds>,<artist> -
<title> and its location) and `to_csv` (cells that start like a spreadsheet formula get a
leading '). An M3U8 location is always the library's own file -- the path the song was scanned at,
or the audio store's copy of an upload -- as players open it: its plain UTF-8 path (absolute,
relative to the playlist, or the bare file name for a playlist kept beside the music), and a
percent-encoded `file://` URI only where a plain line cannot carry the name (`paths.playlist_location`:
bytes that are not UTF-8, a line break, a leading '#'), so it resolves to that file whatever bytes
its name holds (tests/test_players.py plays every kind in mpv); the names people gave (an upload's
file name, tags) are only ever titles, with line breaks and control characters removed, so every
entry is exactly two lines.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

from ..io.text import spreadsheet_cell
from ..mood import MOODS, say_short
from .paths import playlist_location, shown_name, shown_path


@dataclass
class Song:
    """One analysed song as the playlists see it (one model's prediction)."""

    hash: str
    title: str
    artist: str
    path: str  # where the audio is (last seen path, or the app's stored copy)
    filename: str  # the original file name
    duration_s: float
    valence: float
    arousal: float
    mood: str
    confidence: float
    extra: dict = field(default_factory=dict, repr=False)
    # a song of several moods (issue 30): the part of it its mood holds, and whether no mood holds half
    share: float | None = None  # None: one answer for the whole clip
    mixed: bool = False

    @property
    def clear_cut(self) -> float:
        """How clearly the song is its mood: its confidence, times the part of the song that mood holds."""
        return self.confidence * (1.0 if self.share is None else self.share)

    @property
    def said(self) -> str:
        """Its mood as the pages say it in a table: "calm", "calm (62%)" or "mixed (calm 38%)"."""
        return say_short(self.mood, None, self.share, self.mixed)

    @property
    def point(self) -> np.ndarray:
        return np.array([self.valence, self.arousal], float)

    @property
    def label(self) -> str:
        return f"{self.artist} - {self.title}" if self.artist else self.title


# --- where moods are --------------------------------------------------------------------------


def mood_point(mood: str, thresholds=(0.5, 0.5)) -> tuple[float, float]:
    """The centre of a mood's quadrant of the unit square, e.g. sad -> (0.25, 0.25)."""
    if mood not in MOODS:
        raise ValueError(f"Unknown mood {mood!r}: expected one of {', '.join(MOODS)}.")
    tv, ta = thresholds
    high_v, high_a = mood in ("happy", "calm"), mood in ("happy", "aggressive")
    return ((1 + tv) / 2 if high_v else tv / 2, (1 + ta) / 2 if high_a else ta / 2)


def parse_point(text: str, thresholds=(0.5, 0.5)) -> tuple[float, float]:
    """A mood name ('sad') or 'VALENCE,AROUSAL' ('0.2,0.3') -> a point in the unit square."""
    text = text.strip().lower()
    if text in MOODS:
        return mood_point(text, thresholds)
    try:
        v, a = (float(x) for x in text.split(","))
    except ValueError:
        raise ValueError(f"{text!r} is neither a mood ({', '.join(MOODS)}) nor a point VALENCE,AROUSAL.") from None
    if not (0 <= v <= 1 and 0 <= a <= 1):
        raise ValueError(f"Point {text!r} is outside the 0-1 square.")
    return v, a


def counts_by_mood(songs: Sequence[Song]) -> dict[str, int]:
    out = {m: 0 for m in MOODS}
    for s in songs:
        out[s.mood] = out.get(s.mood, 0) + 1
    return out


# --- length -----------------------------------------------------------------------------------


def limit(songs: Sequence[Song], count: int | None = None, minutes: float | None = None) -> list[Song]:
    """The first `count` songs, or the longest prefix lasting at most `minutes` (>= 1 song)."""
    songs = list(songs)
    if count is not None:
        songs = songs[: max(0, int(count))]
    if minutes is not None:
        budget, total, kept = minutes * 60.0, 0.0, []
        for s in songs:
            if kept and total + s.duration_s > budget:
                break
            kept.append(s)
            total += s.duration_s
        songs = kept
    return songs


def total_seconds(songs: Sequence[Song]) -> float:
    return float(sum(s.duration_s for s in songs))


# --- the three modes --------------------------------------------------------------------------


def by_mood(songs: Sequence[Song], mood: str, count: int | None = None, minutes: float | None = None) -> list[Song]:
    """Songs of `mood` (the mood each spends most time in), most clear-cut first: confidence times the
    part of the song the mood holds, so a mixed song comes after the songs that are that mood
    throughout (ties: title)."""
    if mood not in MOODS:
        raise ValueError(f"Unknown mood {mood!r}: expected one of {', '.join(MOODS)}.")
    chosen = sorted((s for s in songs if s.mood == mood), key=lambda s: (-s.clear_cut, s.title.lower(), s.hash))
    return limit(chosen, count, minutes)


def distance(song: Song, target) -> float:
    return float(math.hypot(song.valence - target[0], song.arousal - target[1]))


def nearest(
    songs: Sequence[Song], target, radius: float | None = None, count: int | None = None, minutes: float | None = None
) -> list[Song]:
    """Songs sorted by distance to `target` (valence, arousal); only those within `radius` if given."""
    ranked = sorted(songs, key=lambda s: (distance(s, target), s.hash))
    if radius is not None:
        ranked = [s for s in ranked if distance(s, target) <= radius]
    return limit(ranked, count, minutes)


def progress_along(song: Song, start, end) -> float:
    """Projection of the song on the segment start -> end: 0 at start, 1 at end (unclamped)."""
    start, end = np.asarray(start, float), np.asarray(end, float)
    direction = end - start
    length2 = float(direction @ direction)
    if length2 == 0:
        return 0.0
    return float((song.point - start) @ direction / length2)


def _journey_of(songs: list[Song], start, end, n: int) -> list[Song]:
    from scipy.optimize import linear_sum_assignment

    start, end = np.asarray(start, float), np.asarray(end, float)
    steps = np.linspace(0.0, 1.0, n) if n > 1 else np.array([0.5])
    waypoints = start + steps[:, None] * (end - start)
    points = np.array([s.point for s in songs])
    cost = ((waypoints[:, None, :] - points[None, :, :]) ** 2).sum(-1)  # (n, songs)
    _, chosen = linear_sum_assignment(cost)
    picked = [songs[i] for i in chosen]
    return sorted(picked, key=lambda s: (progress_along(s, start, end), s.hash))


def journey(songs: Sequence[Song], start, end, count: int | None = None, minutes: float | None = None) -> list[Song]:
    """A gradual path from `start` to `end` (points): see the module docstring for the ordering.

    With `minutes`, the number of songs is the largest whose journey fits in the time.
    """
    songs = list(songs)
    if not songs:
        return []
    if count is None and minutes is None:
        count = min(len(songs), 10)
    n = min(len(songs), count if count is not None else len(songs))
    if minutes is None:
        return _journey_of(songs, start, end, max(1, n))
    budget = minutes * 60.0
    mean = max(1.0, total_seconds(songs) / len(songs))
    n = max(1, min(n, int(budget // mean) or 1))
    best = _journey_of(songs, start, end, n)
    while total_seconds(best) > budget and n > 1:  # too long: fewer songs
        n -= 1
        best = _journey_of(songs, start, end, n)
    upper = len(songs) if count is None else min(count, len(songs))
    while n < upper:  # room left: try more songs
        longer = _journey_of(songs, start, end, n + 1)
        if total_seconds(longer) > budget:
            break
        n, best = n + 1, longer
    return best


# --- export -----------------------------------------------------------------------------------


def _extinf_text(song: Song) -> str:
    return shown_name(song.label)  # one line: no line breaks, control characters or bidi overrides


def m3u8_location(song: Song, use_paths: bool = True, relative_to: str | os.PathLike | None = None) -> str:
    """Where a playlist entry points: the song's own file (never a name a user gave): its absolute
    path, relative to `relative_to` (the playlist's folder) when given, or only its file name
    (`use_paths=False`: a playlist kept beside the music); a `file://` URI where a plain line
    cannot carry the name (`paths.playlist_location`)."""
    if not use_paths:
        return playlist_location(song.path, os.path.dirname(os.path.abspath(song.path)))
    return playlist_location(song.path, relative_to)


def to_m3u8(songs: Sequence[Song], use_paths: bool = True, relative_to: str | os.PathLike | None = None) -> str:
    """Extended M3U (UTF-8): each song's own file as its absolute path, relative to `relative_to`
    when given, or its file name (`use_paths=False`); see `m3u8_location`."""
    lines = ["#EXTM3U"]
    for s in songs:
        lines += [f"#EXTINF:{round(s.duration_s)},{_extinf_text(s)}", m3u8_location(s, use_paths, relative_to)]
    return "\n".join(lines) + "\n"


CSV_COLUMNS = (
    "position",
    "title",
    "artist",
    "mood",
    "valence",
    "arousal",
    "confidence",
    "duration_s",
    "filename",
    "path",
    "hash",
)


def to_csv(songs: Sequence[Song]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for i, s in enumerate(songs, 1):
        row = {k: v for k, v in asdict(s).items() if k in CSV_COLUMNS}
        row.update(
            position=i,
            valence=round(s.valence, 4),
            arousal=round(s.arousal, 4),
            confidence=round(s.confidence, 3),
            duration_s=round(s.duration_s, 2),
            filename=shown_name(s.filename),
            path=shown_path(s.path),  # one line; bytes that are not UTF-8 as \\xNN
        )
        writer.writerow({k: spreadsheet_cell(v) for k, v in row.items()})
    return out.getvalue()


# --- smart playlists for players --------------------------------------------------------------

# Navidrome's rules for smart-playlist criteria, as its source states them (navidrome/navidrome at
# v0.63.2-111-g295886cb9, commit 295886cb9a432d375afa796ed8a32db0775464af): `mood` is a tag of
# resources/mappings.yaml; persistence/criteria_sql.go refuses a range operator (inTheRange) on a
# tag field, so a span is a `gt`/`lt` pair, which it compares as numbers once the tag is declared
# `float` (model/tag_mappings.go, numericTagNames). tests/test_players.py checks every rule written
# here against those rules (tests/data/navidrome_criteria.json, extracted by tools/navidrome_rules.py).
NAVIDROME_FLOAT_TAGS = ("valence", "energy")  # declared in navidrome.toml (docs/reference.md)


def to_nsp(
    name: str,
    mood: str | None = None,
    valence: tuple[float, float] | None = None,
    energy: tuple[float, float] | None = None,
    limit: int | None = None,
) -> str:
    """A Navidrome smart playlist (.nsp, JSON): a rule on the tags `python -m emotionet tag` writes,
    which Navidrome evaluates on its own library and keeps up to date -- songs whose `mood` tag is
    `mood`, and/or whose valence and energy tags lie in the given (low, high) spans (each a `gt` and
    an `lt` criterion: Navidrome takes no range on a tag). Navidrome reads the mood by default;
    valence and energy only once declared as float tags in its configuration (docs/reference.md,
    "Navidrome smart playlists")."""
    import json

    rules: list[dict] = []
    if mood is not None:
        if mood not in MOODS:
            raise ValueError(f"Unknown mood {mood!r}: expected one of {', '.join(MOODS)}.")
        rules.append({"is": {"mood": mood}})
    for tag, span in (("valence", valence), ("energy", energy)):
        if span is not None:
            low, high = (round(float(x), 3) for x in span)
            if not (math.isfinite(low) and math.isfinite(high)) or low > high:
                raise ValueError(f"The {tag} range {low}..{high} is empty.")
            if low > 0:  # a bound outside 0..1 holds every song: no criterion
                rules.append({"gt": {tag: low}})
            if high < 1:
                rules.append({"lt": {tag: high}})
            if low <= 0 and high >= 1:  # the whole span: every song that has the tag
                rules.append({"isPresent": {tag: True}})
    if not rules:
        raise ValueError("A smart playlist needs a mood or a valence/energy range.")
    playlist: dict = {
        "name": " ".join(str(name).split()) or "EmotioNet",
        "comment": "Written by EmotioNet from the mood tags of `python -m emotionet tag`",
        "all": rules,
        "sort": "random",
    }
    if limit is not None:
        playlist["limit"] = max(1, int(limit))
    return json.dumps(playlist, indent=2) + "\n"
