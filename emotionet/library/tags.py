"""The mood in the file: EmotioNet's answers written into each song's own tags, where players read them.

Five fields, each in the frames or keys its format's players read (docs/reference.md, "Tags for your
player", cites each player's documentation):

    field    ID3v2.4 (MP3, WAV, AIFF)  ID3v2.3        Vorbis comments (FLAC, Ogg, Opus)  MP4 (M4A)
    mood     TMOO                      TXXX:MOOD      MOOD                               ----:com.apple.iTunes:MOOD
    bpm      TBPM                      TBPM           BPM                                tmpo
    key      TKEY                      TKEY           INITIALKEY and KEY                 ----:com.apple.iTunes:initialkey
    valence  TXXX:VALENCE              TXXX:VALENCE   VALENCE                            ----:com.apple.iTunes:VALENCE
    energy   TXXX:ENERGY               TXXX:ENERGY    ENERGY                             ----:com.apple.iTunes:ENERGY

(ID3v2.3 has no TMOO frame, so a v2.3 file keeps v2.3 and gets TXXX:MOOD.) The mood is the headline
model's word, valence and energy (the arousal) its 0-1 values on the listener scale, the BPM the
tempo rounded to a whole beat (TBPM is a whole number), the key in ID3's notation ("Am", "F#"; no
key tag for a song with no key). A marker (TXXX:EMOTIONET, EMOTIONET, ----:com.apple.iTunes:EMOTIONET)
names the models that wrote them and records what was written, slot by slot.

Rules. A value that is there and that EmotioNet did not write (no marker, or different from what the
marker says it wrote: a mood set by hand, a DJ tool's BPM) is kept unless `overwrite`. `remove`
takes away only the slots whose value is still what the marker says EmotioNet wrote, then the marker;
every other tag stays. `dry_run` plans and writes nothing.

Safety. The audio is never rewritten: mutagen changes only the tag blocks. A file is never left half
written: the tags are saved into a copy in the same folder (a hidden ``.name.emotionet-tmp`` file,
with the original's mode and, where allowed, owner), flushed to disk, and moved over the original in
one step (os.replace); a crash before that leaves the original as it was (at worst a hidden
temporary file, which scans skip). A read-only or damaged file is reported in one line and skipped.
ID3 frames are read untranslated, so a v2.3 tag's other frames are written back as they were.

`tag_file` / `remove_file` work on one file and an analysis dict (`Analysis.to_dict()`, as the
library stores it); `tag_paths` tags files and folders through the library's cached scan. Writing
tags changes a file's bytes and so its content hash: `tag_paths` records the tagged file's new size
and modification time as pointing at the analysed hash (`songs.remember_file`), so the next scan
finds it known without reading or analysing it again.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from ..analysis.explain import pitch_class_and_mode

FIELDS = ("mood", "bpm", "key", "valence", "energy")
MARKER = "EMOTIONET"
TEMP_SUFFIX = ".emotionet-tmp"
ITUNES = "----:com.apple.iTunes:"

# field -> the slots (frame ids / keys) it is written to, per tag family
SLOTS = {
    "id3v24": {
        "mood": ["TMOO"],
        "bpm": ["TBPM"],
        "key": ["TKEY"],
        "valence": ["TXXX:VALENCE"],
        "energy": ["TXXX:ENERGY"],
    },
    "id3v23": {
        "mood": ["TXXX:MOOD"],
        "bpm": ["TBPM"],
        "key": ["TKEY"],
        "valence": ["TXXX:VALENCE"],
        "energy": ["TXXX:ENERGY"],
    },
    "vorbis": {
        "mood": ["MOOD"],
        "bpm": ["BPM"],
        "key": ["INITIALKEY", "KEY"],
        "valence": ["VALENCE"],
        "energy": ["ENERGY"],
    },
    "mp4": {
        "mood": [ITUNES + "MOOD"],
        "bpm": ["tmpo"],
        "key": [ITUNES + "initialkey"],
        "valence": [ITUNES + "VALENCE"],
        "energy": [ITUNES + "ENERGY"],
    },
}
MARKER_SLOT = {"id3v24": "TXXX:" + MARKER, "id3v23": "TXXX:" + MARKER, "vorbis": MARKER, "mp4": ITUNES + MARKER}

# what a plan says about a slot
ADD, SAME, UPDATE, OVERWRITE, KEEP, REMOVE = "add", "same", "update", "overwrite", "keep", "remove"
WRITES = (ADD, UPDATE, OVERWRITE, REMOVE)


class TagError(Exception):
    """A file that cannot be tagged (read-only, damaged, not a taggable format): one line, shown as is."""


@dataclass
class SlotChange:
    slot: str  # frame id or key, e.g. "TMOO", "INITIALKEY"
    field: str  # one of FIELDS
    old: str | None
    new: str | None  # None: removed (or, with KEEP, what EmotioNet would have written)
    action: str  # ADD, SAME, UPDATE, OVERWRITE, KEEP (a value EmotioNet did not write), REMOVE

    def describe(self) -> str:
        if self.field == "marker":  # its value is a record for EmotioNet, not for a person
            return f"{self.slot} (what EmotioNet wrote) " + ("removed" if self.action == REMOVE else "written")
        if self.action == KEEP:
            return (
                f"{self.slot} kept {self.old!r} (not written by EmotioNet; --overwrite replaces it with {self.new!r})"
            )
        if self.action == REMOVE:
            return f"{self.slot} {self.old!r} removed"
        if self.action == ADD:
            return f"{self.slot} = {self.new!r}"
        return f"{self.slot} {self.old!r} -> {self.new!r}"


@dataclass
class TagReport:
    path: str
    changes: list[SlotChange] = field(default_factory=list)
    error: str | None = None  # why the file was skipped
    written: bool = False  # the file was changed (never with dry_run)
    dry_run: bool = False

    @property
    def changed(self) -> list[SlotChange]:
        return [c for c in self.changes if c.action in WRITES]

    def line(self) -> str:
        """One line for a person: what changed (or would), what was kept, or why it was skipped."""
        name = self.path
        if self.error:
            return f"{name}: skipped: {self.error}"
        shown = [c for c in self.changes if c.action != SAME]
        if not shown:
            return f"{name}: up to date"
        verb = "would change" if self.dry_run else "changed" if self.written else "unchanged"
        return f"{name}: {verb}: " + "; ".join(c.describe() for c in shown)


# --------------------------------------------------------------------------- values


def key_notation(key: str) -> str | None:
    """A key name ("A minor") as ID3's TKEY writes it ("Am"); None for no key."""
    pitch, mode = pitch_class_and_mode(key)
    if pitch < 0:
        return None
    from ..analysis.explain import NOTES

    return NOTES[pitch] + ("" if mode else "m")


def tag_values(analysis: dict) -> dict[str, str]:
    """The text of each field for a stored analysis (`Analysis.to_dict()`): the headline model's mood,
    valence and energy (arousal), the tempo and key the analysis measured. A field with no value
    (no key, no tempo) is left out."""
    head = analysis.get(analysis.get("headline", "cnn")) or analysis.get("cnn")
    if not isinstance(head, dict) or "mood" not in head:
        raise ValueError("the analysis has no headline prediction")
    values = {"mood": str(head["mood"]), "valence": f"{float(head['valence']):.3f}"}
    values["energy"] = f"{float(head['arousal']):.3f}"
    measured = (analysis.get("explanation") or {}).get("measurements") or {}
    if measured.get("tempo_bpm"):
        values["bpm"] = str(int(round(float(measured["tempo_bpm"]))))
    key = key_notation(measured.get("key", ""))
    if key:
        values["key"] = key
    return {name: values[name] for name in FIELDS if name in values}


def format_marker(models: str, written: dict[str, str]) -> str:
    """The marker's text: the models' fingerprint, then each slot EmotioNet wrote and its value."""
    return "; ".join([f"models={models}", *(f"{slot}={value}" for slot, value in written.items())])


def parse_marker(text: str | None) -> tuple[str, dict[str, str]]:
    """(models fingerprint, slot -> value EmotioNet wrote) from a marker's text ("", {} for none)."""
    models, written = "", {}
    for part in (text or "").split("; "):
        name, sep, value = part.partition("=")
        if not sep:
            continue
        if name == "models":
            models = value
        else:
            written[name] = value
    return models, written


# --------------------------------------------------------------------------- formats


class _Tags:
    """One opened file's tags, read and written slot by slot as text."""

    def __init__(self, path: str):
        import mutagen

        try:
            probe = mutagen.File(path)
        except mutagen.MutagenError as error:
            raise TagError(f"not a readable audio file ({_short(error)})") from None
        if probe is None:
            raise TagError("not an audio format EmotioNet can tag")
        from mutagen.aiff import AIFF
        from mutagen.flac import FLAC
        from mutagen.mp3 import MP3
        from mutagen.mp4 import MP4
        from mutagen.oggopus import OggOpus
        from mutagen.oggvorbis import OggVorbis
        from mutagen.wave import WAVE

        self.path = path
        if isinstance(probe, (MP3, WAVE, AIFF)):
            try:  # untranslated: a v2.3 tag's other frames are written back exactly as they are
                self.file = type(probe)(path, translate=False)
            except mutagen.MutagenError as error:
                raise TagError(f"damaged ID3 tag ({_short(error)})") from None
            if self.file.tags is None:
                self.file.add_tags()
            version = self.file.tags.version
            if version < (2, 3, 0):  # v2.2 frames cannot be written back: translate to v2.4
                self.file = type(probe)(path)
                version = (2, 4, 0)
            self.family = "id3v23" if version[:2] == (2, 3) else "id3v24"
        elif isinstance(probe, (FLAC, OggVorbis, OggOpus)):
            self.file, self.family = probe, "vorbis"
            if self.file.tags is None:
                self.file.add_tags()
        elif isinstance(probe, MP4):
            self.file, self.family = probe, "mp4"
            if self.file.tags is None:
                self.file.add_tags()
        else:
            raise TagError(f"EmotioNet does not tag {type(probe).__name__} files")

    @property
    def kind(self) -> str:
        return {"id3v23": "ID3v2.3", "id3v24": "ID3v2.4", "vorbis": "Vorbis comments", "mp4": "MP4"}[self.family]

    def get(self, slot: str) -> str | None:
        tags = self.file.tags
        if self.family.startswith("id3"):
            frames = tags.getall(slot)
            texts = [str(t) for frame in frames for t in getattr(frame, "text", [])]
            return "; ".join(texts) if frames else None
        if self.family == "vorbis":
            values = tags.get(slot)
            return "; ".join(values) if values else None
        values = tags.get(slot)
        if not values:
            return None
        return "; ".join(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values)

    def set(self, slot: str, value: str) -> None:
        tags = self.file.tags
        if self.family.startswith("id3"):
            from mutagen import id3

            tags.delall(slot)
            encoding = id3.Encoding.UTF16 if self.family == "id3v23" else id3.Encoding.UTF8
            if slot.startswith("TXXX:"):
                tags.add(id3.TXXX(encoding=encoding, desc=slot[5:], text=[value]))
            else:
                tags.add(getattr(id3, slot)(encoding=encoding, text=[value]))
        elif self.family == "vorbis":
            tags[slot] = [value]
        elif slot == "tmpo":
            tags[slot] = [int(value)]
        else:
            from mutagen.mp4 import AtomDataType, MP4FreeForm

            tags[slot] = [MP4FreeForm(value.encode("utf-8"), AtomDataType.UTF8)]

    def delete(self, slot: str) -> None:
        tags = self.file.tags
        if self.family.startswith("id3"):
            tags.delall(slot)
        elif slot in tags:
            del tags[slot]

    def save(self) -> None:
        if self.family.startswith("id3"):
            self.file.save(v2_version=3 if self.family == "id3v23" else 4)
        else:
            self.file.save()


def _short(error: Exception) -> str:
    return " ".join(str(error).split())[:160] or type(error).__name__


# --------------------------------------------------------------------------- plans


def plan_tags(tags: _Tags, values: dict[str, str], overwrite: bool = False) -> list[SlotChange]:
    """What writing `values` (field -> text) would do to each slot of an opened file."""
    _, last = parse_marker(tags.get(MARKER_SLOT[tags.family]))
    changes = []
    for name in FIELDS:
        if name not in values:
            continue
        new = values[name]
        for slot in SLOTS[tags.family][name]:
            old = tags.get(slot)
            if old is None:
                action = ADD
            elif old == new:
                action = SAME
            elif last.get(slot) == old:
                action = UPDATE  # EmotioNet's own earlier value
            else:
                action = OVERWRITE if overwrite else KEEP
            changes.append(SlotChange(slot, name, old, new, action))
    return changes


def plan_removal(tags: _Tags) -> list[SlotChange]:
    """The slots whose value is still what the marker says EmotioNet wrote (removed), and those
    changed since (kept); nothing without a marker."""
    marker = tags.get(MARKER_SLOT[tags.family])
    if marker is None:
        return []
    _, written = parse_marker(marker)
    field_of = {slot: name for name, slots in SLOTS[tags.family].items() for slot in slots}
    changes = []
    for slot, value in written.items():
        old = tags.get(slot)
        if old is None:
            continue
        action = REMOVE if old == value else KEEP
        changes.append(SlotChange(slot, field_of.get(slot, slot), old, None if action == REMOVE else value, action))
    changes.append(SlotChange(MARKER_SLOT[tags.family], "marker", marker, None, REMOVE))
    return changes


def _marker_after(tags: _Tags, changes: list[SlotChange], models: str) -> str | None:
    """The marker once `changes` are applied: every slot that holds EmotioNet's value (written now,
    or written before and unchanged); None when EmotioNet owns no slot."""
    _, last = parse_marker(tags.get(MARKER_SLOT[tags.family]))
    owned = {}
    for c in changes:
        if c.action in (ADD, UPDATE, OVERWRITE) or (c.action == SAME and last.get(c.slot) == c.old):
            owned[c.slot] = c.new
    return format_marker(models, owned) if owned else None


# --------------------------------------------------------------------------- files


def check_writable(path: str) -> os.stat_result:
    """The file's stat; TagError when it is not a regular file or is read-only."""
    try:
        st = os.stat(path)
    except OSError as error:
        raise TagError(f"cannot read it ({error.strerror or error})") from None
    if not stat.S_ISREG(st.st_mode):
        raise TagError("not a regular file")
    if not st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(path, os.W_OK):
        raise TagError("the file is read-only")
    return st


def save_atomically(path: str, write: Callable[[str], None]) -> os.stat_result:
    """Apply `write(copy_path)` to a copy of `path` in the same folder, flush it, then move it over
    `path` in one step: the original is whole until the move, and whole and new after it. Returns
    the new file's stat. The copy keeps the original's mode (and owner where allowed); the original
    must not change meanwhile (TagError, nothing replaced)."""
    before = check_writable(path)
    folder, name = os.path.split(path)
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=TEMP_SUFFIX, dir=folder or ".")
    except OSError as error:
        raise TagError(f"cannot write in its folder ({error.strerror or error})") from None
    try:
        with os.fdopen(fd, "wb") as out, open(path, "rb") as source:
            shutil.copyfileobj(source, out, 1 << 20)
        shutil.copymode(path, temp)
        with contextlib.suppress(OSError):
            os.chown(temp, before.st_uid, before.st_gid)
        write(temp)
        with open(temp, "rb+") as f:
            os.fsync(f.fileno())
        now = os.stat(path)
        if (now.st_size, now.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            raise TagError("the file changed while it was being tagged; left as it was")
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    with contextlib.suppress(OSError):  # the folder entry itself, so the move survives a power cut
        dir_fd = os.open(folder or ".", os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return os.stat(path)


def _apply(path: str, changes: list[SlotChange], marker: str | None, marker_slot: str) -> Callable[[str], None]:
    def write(copy: str) -> None:
        tags = _Tags(copy)
        for c in changes:
            if c.action in (ADD, UPDATE, OVERWRITE):
                tags.set(c.slot, c.new)
            elif c.action == REMOVE:
                tags.delete(c.slot)
        if marker is not None:
            tags.set(marker_slot, marker)
        tags.save()

    return write


def tag_file(
    path: str | os.PathLike, analysis: dict, models: str, *, overwrite: bool = False, dry_run: bool = False
) -> TagReport:
    """Write the analysis's mood, BPM, key, valence and energy into one file's tags (see the rules
    above); never raises for a bad file: the report carries the one-line reason."""

    def plan(tags: _Tags) -> tuple[list[SlotChange], str | None]:
        changes = plan_tags(tags, tag_values(analysis), overwrite)
        return changes, _marker_after(tags, changes, models)

    return _edit(path, plan, dry_run)


def remove_file(path: str | os.PathLike, *, dry_run: bool = False) -> TagReport:
    """Take away what EmotioNet wrote into one file (recognised by its marker); every other tag,
    and a value changed by hand since, stays."""
    return _edit(path, lambda tags: (plan_removal(tags), None), dry_run)


def _edit(path, plan: Callable[[_Tags], tuple[list[SlotChange], str | None]], dry_run: bool) -> TagReport:
    """Plan a file's changes (`plan(tags)` -> (slot changes, the marker after them)) and, unless
    `dry_run` or there is nothing to change, save them atomically. A link's target is edited, the
    link stays a link. A bad file gives a report with its one-line reason, never an exception."""
    path = os.path.realpath(path)
    report = TagReport(path, dry_run=dry_run)
    try:
        if not dry_run:
            check_writable(path)
        tags = _Tags(path)
        report.changes, marker = plan(tags)
        marker_slot = MARKER_SLOT[tags.family]
        if dry_run or (not report.changed and marker == tags.get(marker_slot)):
            return report
        save_atomically(path, _apply(path, report.changes, marker, marker_slot))
        report.written = True
    except TagError as error:
        report.error = str(error)
    except (OSError, ValueError) as error:
        report.error = _short(error)
    return report


def read_fields(path: str | os.PathLike) -> dict[str, str]:
    """The fields' values in a file as its format stores them (first slot of each), and the marker."""
    tags = _Tags(os.path.realpath(path))
    out = {name: tags.get(slots[0]) for name, slots in SLOTS[tags.family].items()}
    out["marker"] = tags.get(MARKER_SLOT[tags.family])
    return {k: v for k, v in out.items() if v is not None}


# --------------------------------------------------------------------------- the library


@dataclass
class TagRun:
    reports: list[TagReport] = field(default_factory=list)
    analysed: int = 0  # songs analysed by this run's scan (0 when every file was known)
    known: int = 0

    @property
    def skipped(self) -> list[TagReport]:
        return [r for r in self.reports if r.error]


def expand_paths(paths: Iterable[str | os.PathLike], skipped: dict[str, str]) -> list[Path]:
    """Files as given, and the audio files under folders (recursively, as a scan finds them);
    a path that does not exist goes to `skipped`."""
    from .songs import audio_files

    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += audio_files(p, skipped)
        elif p.is_file():
            files.append(p)
        else:
            skipped[str(p)] = "no such file or folder"
    seen, unique = set(), []
    for f in files:
        real = os.path.realpath(f)
        if real not in seen:
            seen.add(real)
            unique.append(f)
    return unique


def tag_paths(
    paths: Iterable[str | os.PathLike],
    engine=None,
    *,
    overwrite: bool = False,
    dry_run: bool = False,
    remove: bool = False,
    report: Callable[[TagReport], None] | None = None,
    **scan_options,
) -> TagRun:
    """Tag every file under `paths` (files or folders) from the library's analyses: the files are
    scanned first (`songs.scan_files`, cached by content, so a known song is not analysed again),
    then each file's tags are written. `remove` only takes EmotioNet's tags away (no scan).
    `report(r)` is called as each file is done; `scan_options` go to `scan_files` (checkpoints,
    thresholds, workers, seconds, progress)."""
    import json

    from ..team import storage
    from . import songs

    run, skipped = TagRun(), {}
    files = expand_paths(paths, skipped)

    def done(r: TagReport) -> None:
        run.reports.append(r)
        if report:
            report(r)

    for path, why in skipped.items():
        done(TagReport(path, error=why, dry_run=dry_run))
    if remove:
        for f in files:
            done(remove_file(f, dry_run=dry_run))
        return run

    engine = engine or storage.make_engine()
    scan = songs.scan_files(files, engine, **scan_options)
    run.analysed, run.known = scan.added, scan.known
    for path, why in scan.failed.items():
        done(TagReport(os.path.realpath(path), error=why, dry_run=dry_run))
    stats = {}
    for f in files:
        real = os.path.realpath(f)
        if str(f) in scan.failed or real in scan.failed:
            continue
        with contextlib.suppress(OSError):
            st = os.stat(real)
            stats[real] = (st.st_size, st.st_mtime_ns)
    hash_of = songs.unchanged_file_hashes(engine, stats)
    rows = songs.stored_rows(engine, set(hash_of.values()))
    for real in stats:
        digest = hash_of.get(real)
        row = rows.get(digest) if digest else None
        if row is None:
            done(TagReport(real, error="changed since it was analysed; scan it again", dry_run=dry_run))
            continue
        result = tag_file(real, json.loads(row.analysis), row.models, overwrite=overwrite, dry_run=dry_run)
        if result.written:  # the new bytes are the same song: the next scan finds it known
            st = os.stat(real)
            songs.remember_file(engine, real, st.st_size, st.st_mtime_ns, digest)
        done(result)
    return run
