"""The mood in the file: EmotioNet's answers written into each song's own tags, where players read them.

The formats underneath (which frame or key each field goes in per format, reading and writing
them, and the in-place safe write that keeps every sample, link and attribute) are
`library.tagfile`; this module decides what to write: the values from an analysis, a plan per
slot, the report per file, and which files of the library.

Rules. A value that is there and that EmotioNet did not write (no marker, or different from what the
marker says it wrote: a mood set by hand, a DJ tool's BPM) is kept unless `overwrite`. `remove`
takes away only EmotioNet's own slots (`tagfile.SLOTS`) whose value is still what the marker says
EmotioNet wrote, then the marker; a marker naming any other frame (TIT2, TPE1) is not obeyed, and
every other tag stays. `dry_run` plans and writes nothing. In a folder, a link to a file outside
it is tagged only with `follow_links`, and said.

`tag_file` / `remove_file` work on one file and an analysis dict (`Analysis.to_dict()`, as the
library stores it); `tag_paths` tags files and folders through the library's cached scan. Writing
tags changes a file's bytes and so its content hash: `tag_paths` records the tagged file's new size
and modification time as pointing at the analysed hash (`store.remember_file`), so the next scan
finds it known without reading or analysing it again.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from ..analysis.explain import pitch_class_and_mode
from .paths import shown_path
from .tagfile import (  # noqa: F401 (the formats' names, re-exported for callers of tags)
    BACKUP_SUFFIX,
    FIELDS,
    MARKER,
    MARKER_SLOT,
    SLOTS,
    TEMP_SUFFIX,
    TagError,
    TagFile,
    _short,
    check_writable,
    format_marker,
    parse_marker,
    read_fields,
    recover_leftovers,
    repair_chunk_sizes,
    save_in_place,
)

# what a plan says about a slot
ADD, SAME, UPDATE, OVERWRITE, KEEP, REMOVE = "add", "same", "update", "overwrite", "keep", "remove"
WRITES = (ADD, UPDATE, OVERWRITE, REMOVE)


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
    notes: list[str] = field(default_factory=list)  # what else was done or found (a repair, a link followed)

    @property
    def changed(self) -> list[SlotChange]:
        return [c for c in self.changes if c.action in WRITES]

    def line(self) -> str:
        """One line for a person: what changed (or would), what was kept, or why it was skipped."""
        name = shown_path(self.path)
        notes = "".join(f" ({shown_path(n)})" for n in self.notes)
        if self.error:
            return f"{name}: skipped: {shown_path(self.error)}{notes}"
        shown = [c for c in self.changes if c.action != SAME]
        if not shown:
            return f"{name}: up to date{notes}"
        verb = "would change" if self.dry_run else "changed" if self.written else "unchanged"
        return f"{name}: {verb}: " + shown_path("; ".join(c.describe() for c in shown)) + notes


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
    fields = analysis.get("track")
    if isinstance(fields, dict) and "key" in fields:  # the file's own key measure (library.track)
        from ..features.key import key_name

        key = key_notation(key_name(int(fields["key"]), int(fields.get("mode", 1))))
    if key:
        values["key"] = key
    return {name: values[name] for name in FIELDS if name in values}


# --------------------------------------------------------------------------- plans


def plan_tags(tags: TagFile, values: dict[str, str], overwrite: bool = False) -> list[SlotChange]:
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


def plan_removal(tags: TagFile) -> list[SlotChange]:
    """The slots whose value is still what the marker says EmotioNet wrote (removed), and those
    changed since (kept); nothing without a marker."""
    marker = tags.get(MARKER_SLOT[tags.family])
    if marker is None:
        return []
    _, written = parse_marker(marker)
    field_of = {slot: name for name, slots in SLOTS[tags.family].items() for slot in slots}
    changes = []
    for slot, value in written.items():
        if slot not in field_of:  # the marker is text in the file: it never names what else to delete
            continue
        old = tags.get(slot)
        if old is None:
            continue
        action = REMOVE if old == value else KEEP
        changes.append(SlotChange(slot, field_of.get(slot, slot), old, None if action == REMOVE else value, action))
    changes.append(SlotChange(MARKER_SLOT[tags.family], "marker", marker, None, REMOVE))
    return changes


def _marker_after(tags: TagFile, changes: list[SlotChange], models: str) -> str | None:
    """The marker once `changes` are applied: every slot that holds EmotioNet's value (written now,
    or written before and unchanged); None when EmotioNet owns no slot."""
    _, last = parse_marker(tags.get(MARKER_SLOT[tags.family]))
    owned = {}
    for c in changes:
        if c.action in (ADD, UPDATE, OVERWRITE) or (c.action == SAME and last.get(c.slot) == c.old):
            owned[c.slot] = c.new
    return format_marker(models, owned) if owned else None


def _apply(path: str, changes: list[SlotChange], marker: str | None, marker_slot: str) -> Callable[[str], None]:
    def write(copy: str) -> None:
        tags = TagFile(copy)
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

    def plan(tags: TagFile) -> tuple[list[SlotChange], str | None]:
        changes = plan_tags(tags, tag_values(analysis), overwrite)
        return changes, _marker_after(tags, changes, models)

    return _edit(path, plan, dry_run)


def remove_file(path: str | os.PathLike, *, dry_run: bool = False) -> TagReport:
    """Take away what EmotioNet wrote into one file (recognised by its marker); every other tag,
    and a value changed by hand since, stays."""
    return _edit(path, lambda tags: (plan_removal(tags), None), dry_run)


def _edit(path, plan: Callable[[TagFile], tuple[list[SlotChange], str | None]], dry_run: bool) -> TagReport:
    """Plan a file's changes (`plan(tags)` -> (slot changes, the marker after them)) and, unless
    `dry_run` or there is nothing to change, save them in place (`save_in_place`). A link's target
    is edited, the link stays a link. A bad file gives a report with its one-line reason, never an
    exception."""
    path = os.path.realpath(path)
    report = TagReport(path, dry_run=dry_run)
    try:
        if not dry_run:
            report.notes += recover_leftovers(path)
            check_writable(path)
        tags = TagFile(path)
        report.changes, marker = plan(tags)
        marker_slot = MARKER_SLOT[tags.family]
        if dry_run or (not report.changed and marker == tags.get(marker_slot)):
            return report
        _, notes = save_in_place(path, _apply(path, report.changes, marker, marker_slot))
        report.notes += notes
        report.written = True
    except TagError as error:
        report.error = str(error)
    except OSError as error:
        report.error = (
            "its name is too long for this system"
            if error.errno == errno.ENAMETOOLONG
            else (error.strerror or _short(error))
        )
    except ValueError as error:
        report.error = _short(error)
    return report


# --------------------------------------------------------------------------- the library


@dataclass
class TagRun:
    reports: list[TagReport] = field(default_factory=list)
    analysed: int = 0  # songs analysed by this run's scan (0 when every file was known)
    known: int = 0

    @property
    def skipped(self) -> list[TagReport]:
        return [r for r in self.reports if r.error]


def expand_paths(
    paths: Iterable[str | os.PathLike],
    skipped: dict[str, str],
    follow_links: bool = False,
    followed: dict[str, str] | None = None,
) -> list[Path]:
    """Files as given, and the audio files under folders (recursively, as a scan finds them); a path
    that does not exist goes to `skipped`. A file in a folder that is a link (or under a linked
    folder) to a place outside that folder is skipped, and said, unless `follow_links` (then listed
    in `followed`: path -> where it leads); a file named itself is always followed."""
    from .scan import audio_files

    files: list[Path] = []
    for p in map(Path, paths):
        try:
            is_dir, is_file = p.is_dir(), p.is_file()
        except OSError as error:  # a name too long for the system
            skipped[str(p)] = error.strerror or str(error)
            continue
        if is_dir:
            root = os.path.realpath(p)
            for f in audio_files(p, skipped):
                real = os.path.realpath(f)
                if os.path.commonpath([root, real]) == root:
                    files.append(f)
                elif follow_links:
                    files.append(f)
                    if followed is not None:
                        followed[os.path.realpath(f)] = str(f)
                else:
                    skipped[str(f)] = (
                        f"a link to {shown_path(real)}, outside {shown_path(p)}: give --follow-links to tag it"
                    )
        elif is_file:
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
    follow_links: bool = False,
    report: Callable[[TagReport], None] | None = None,
    options=None,
    **fields,
) -> TagRun:
    """Tag every file under `paths` (files or folders) from the library's analyses: the files are
    scanned first (`scan.scan_files`, cached by content, so a known song is not analysed again),
    then each file's tags are written. `remove` only takes EmotioNet's tags away (no scan). A link
    in a folder to a file outside it is followed only with `follow_links` (and said).
    `report(r)` is called as each file is done; `options` (a `scan.ScanOptions`, or its `fields`
    named in the call: checkpoints, workers, preset, progress …) is how the files are scanned."""

    from ..io import database
    from . import scan as scanning
    from . import store

    run, skipped, followed = TagRun(), {}, {}
    files = expand_paths(paths, skipped, follow_links, followed)

    def done(r: TagReport) -> None:
        if r.path in followed:
            r.notes.append(f"through the link {followed[r.path]}")
        run.reports.append(r)
        if report:
            report(r)

    for path, why in skipped.items():
        done(TagReport(path, error=why, dry_run=dry_run))
    if remove:
        for f in files:
            done(remove_file(f, dry_run=dry_run))
        return run

    engine = engine or database.make_engine()
    options = scanning.options_of(options, fields)
    scan = scanning.scan_files(files, engine, options)
    run.analysed, run.known = scan.added, scan.known
    for path, why in scan.failed.items():
        done(TagReport(os.path.realpath(path), error=why, dry_run=dry_run))
    stats = {}
    for f in files:
        real = os.path.realpath(f)
        if str(f) in scan.failed or real in scan.failed:
            continue
        try:
            st = os.stat(real)
        except OSError as error:  # gone, or a name too long for the system: named, and the run goes on
            done(TagReport(real, error=error.strerror or str(error), dry_run=dry_run))
            continue
        stats[real] = (st.st_size, st.st_mtime_ns)
    hash_of = store.unchanged_file_hashes(engine, stats)
    rows = store.stored_rows(engine, set(hash_of.values()))
    from . import track

    stored = {digest: store.song_from_row(row) for digest, row in rows.items()}
    track.ensure(engine, list(stored.values()), options.workers)  # the file's own key
    for real in stats:
        digest = hash_of.get(real)
        row = rows.get(digest) if digest else None
        if row is None:
            done(TagReport(real, error="changed since it was analysed; scan it again", dry_run=dry_run))
            continue
        result = tag_file(real, stored[digest].extra["analysis"], row.models, overwrite=overwrite, dry_run=dry_run)
        if result.written:  # the new bytes are the same song: the next scan finds it known
            st = os.stat(real)
            store.remember_file(engine, real, st.st_size, st.st_mtime_ns, digest)
        done(result)
    return run
