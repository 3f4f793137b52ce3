"""The tag formats: EmotioNet's five fields in each format's frames or keys, read and written slot
by slot as text, and the in-place safe write (`save_in_place`). Which songs get which values is
`library.tags`; this module knows files, not songs.

Five fields, each in the frames or keys its format's players read (docs/reference.md, "Tags for your
player", cites each player's documentation):

    field    ID3v2.4 (MP3, WAV, AIFF)  ID3v2.3        Vorbis comments (FLAC, Ogg, Opus)  MP4 (M4A)
    mood     TMOO                      TXXX:MOOD      MOOD                               ----:com.apple.iTunes:MOOD
    bpm      TBPM                      TBPM           BPM                                tmpo
    key      TKEY and TXXX:KEY         the same       INITIALKEY and KEY                 ----:com.apple.iTunes:initialkey and …:KEY
    valence  TXXX:VALENCE              TXXX:VALENCE   VALENCE                            ----:com.apple.iTunes:VALENCE
    energy   TXXX:ENERGY               TXXX:ENERGY    ENERGY                             ----:com.apple.iTunes:ENERGY

(ID3v2.3 has no TMOO frame, so a v2.3 file keeps v2.3 and gets TXXX:MOOD. The key goes in two
slots per format: TagLib, which most players read tags with, reports TKEY, INITIALKEY and MP4's
initialkey as INITIALKEY; Navidrome's `key` tag (resources/mappings.yaml) takes TKEY's raw name, KEY
and the MP4 atom's, but its TagLib reader hands it only INITIALKEY for those, so TXXX:KEY, KEY and
----:com.apple.iTunes:KEY (which TagLib reports as KEY) reach it.) The mood is the headline
model's word, valence and energy (the arousal) its 0-1 values on the listener scale, the BPM the
tempo rounded to a whole beat (TBPM is a whole number), the key in ID3's notation ("Am", "F#"; no
key tag for a song with no key). A marker (TXXX:EMOTIONET, EMOTIONET, ----:com.apple.iTunes:EMOTIONET)
names the models that wrote them and records what was written, slot by slot.

Safety (`save_in_place`). The tags are written into a hidden copy in the same folder
(``.name.XXXXXXXX.emotionet-tmp``), whose decoded audio must equal the original's, sample for
sample, or nothing is written. Then the original's bytes are kept in a second hidden copy
(``….emotionet-orig``, complete and flushed before it gets that name) and the new bytes are written
into the original file itself, in place: the same inode, so hard links, mode, owner and extended
attributes stay as the file system kept them. A run killed at any moment is undone by the next one
(`recover_leftovers`: a leftover ``-orig`` copy is written back, a ``-tmp`` one removed). A WAV or
AIFF whose RIFF/FORM size is wrong (36, as streaming recorders leave it; a FORM size covering only
the header; 0xFFFFFFFF from a pipe) is repaired in the copy when its chunks still account for the
file, and said; otherwise refused in one line. A read-only or damaged file is reported in one line
and skipped. ID3 frames are read untranslated, so a v2.3 tag's other frames are written back as they
were.

(Every other file EmotioNet writes goes through `io.files`' temporary-file-and-rename writer;
tags cannot: a rename would give the song a new inode, losing its hard links and attributes.)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile
from typing import Callable

FIELDS = ("mood", "bpm", "key", "valence", "energy")
MARKER = "EMOTIONET"
TEMP_SUFFIX = ".emotionet-tmp"  # a working copy: removed by the next run
BACKUP_SUFFIX = ".emotionet-orig"  # the original's bytes while they are rewritten: written back by the next run
ITUNES = "----:com.apple.iTunes:"

# field -> the slots (frame ids / keys) it is written to, per tag family
SLOTS = {
    "id3v24": {
        "mood": ["TMOO"],
        "bpm": ["TBPM"],
        "key": ["TKEY", "TXXX:KEY"],
        "valence": ["TXXX:VALENCE"],
        "energy": ["TXXX:ENERGY"],
    },
    "id3v23": {
        "mood": ["TXXX:MOOD"],
        "bpm": ["TBPM"],
        "key": ["TKEY", "TXXX:KEY"],
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
        "key": [ITUNES + "initialkey", ITUNES + "KEY"],
        "valence": [ITUNES + "VALENCE"],
        "energy": [ITUNES + "ENERGY"],
    },
}

MARKER_SLOT = {"id3v24": "TXXX:" + MARKER, "id3v23": "TXXX:" + MARKER, "vorbis": MARKER, "mp4": ITUNES + MARKER}


class TagError(Exception):
    """A file that cannot be tagged (read-only, damaged, not a taggable format): one line, shown as is."""


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


class TagFile:
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


def read_fields(path: str | os.PathLike) -> dict[str, str]:
    """The fields' values in a file as its format stores them (first slot of each), and the marker."""
    tags = TagFile(os.path.realpath(path))
    out = {name: tags.get(slots[0]) for name, slots in SLOTS[tags.family].items()}
    out["marker"] = tags.get(MARKER_SLOT[tags.family])
    return {k: v for k, v in out.items() if v is not None}


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


def _temp_prefix(name: str) -> str:
    """The hidden prefix of a file's working copies: its own name where that leaves room (a name
    near the 255-byte limit gets a short digest of it instead, so the copy's name still fits)."""
    if len(os.fsencode(name)) <= 200:
        return f".{name}."
    return "." + hashlib.sha256(os.fsencode(name)).hexdigest()[:24] + "."


def _leftovers(path: str) -> list[str]:
    """The working copies (`TEMP_SUFFIX`, `BACKUP_SUFFIX`) an earlier run left beside `path`: exactly
    its prefix, mkstemp's 8 characters and a suffix (another file's leftovers never match)."""
    folder, name = os.path.split(path)
    prefix = _temp_prefix(name)
    found = []
    with contextlib.suppress(OSError):
        for entry in os.listdir(folder or "."):
            for suffix in (TEMP_SUFFIX, BACKUP_SUFFIX):
                if entry.startswith(prefix) and entry.endswith(suffix) and len(entry) == len(prefix) + 8 + len(suffix):
                    found.append(os.path.join(folder, entry))
    return sorted(found, key=lambda p: not p.endswith(BACKUP_SUFFIX))  # a backup first


def recover_leftovers(path: str) -> list[str]:
    """Undo what a killed run left beside `path`: its original bytes (a `BACKUP_SUFFIX` copy, which
    is complete whenever it has that name) are written back into the file in place, and working
    copies are removed. Returns what was done, for the report."""
    done = []
    for leftover in _leftovers(path):
        if leftover.endswith(BACKUP_SUFFIX) and os.path.isfile(path):
            _write_into(path, leftover)
            done.append("restored its bytes from the copy a killed run left")
        os.unlink(leftover)
        if leftover.endswith(TEMP_SUFFIX):
            done.append("removed a working copy a killed run left")
    return done


def _copy(source: str, folder: str, prefix: str, suffix: str) -> str:
    """A flushed copy of `source` in `folder` named prefix + 8 random characters + suffix."""
    try:
        fd, copy = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder or ".")
    except OSError as error:
        raise TagError(f"cannot write in its folder ({error.strerror or error})") from None
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as data:
            shutil.copyfileobj(data, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(copy)
        raise
    return copy


def _write_into(path: str, source: str) -> None:
    """Overwrite `path`'s bytes with `source`'s, in place (the same inode), and flush them."""
    with open(source, "rb") as data, open(path, "r+b") as out:
        shutil.copyfileobj(data, out, 1 << 20)
        out.truncate()
        out.flush()
        os.fsync(out.fileno())


def _audio_digest(path: str) -> str:
    from ..io.audio import AudioError, decoded_digest

    try:
        return decoded_digest(path)
    except AudioError as error:
        raise TagError(f"its audio cannot be decoded to check it stays the same ({error})") from None


# --------------------------------------------------------------------------- RIFF and AIFF sizes

UNSET_SIZE = 0xFFFFFFFF  # what a writer to a pipe leaves in RIFF and data sizes


def repair_chunk_sizes(path: str) -> str | None:
    """Make a WAV (RIFF) or AIFF (FORM) file's sizes agree with its bytes, in place, before a tag
    chunk is added (mutagen appends it where the RIFF/FORM size says the file ends: a size of 36,
    as streaming recorders leave it, would put the tag inside the audio). Its chunks must account
    for the file: each chunk's size leads to the next, and only the last (the audio) may run past the
    end (an unset 0xFFFFFFFF or a recording cut short), which is then cut to the bytes there. A
    missing pad byte after an odd last chunk is added. Returns what was repaired (None: nothing);
    TagError when the chunks do not account for the file (refused, nothing changed). Other files:
    None."""
    with open(path, "r+b") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"FORM"):
            return None
        order = "big" if head[:4] == b"FORM" else "little"
        kind = "FORM" if order == "big" else "RIFF"
        size = os.fstat(f.fileno()).st_size
        stated = int.from_bytes(head[4:8], order)
        at, repairs, last = 12, [], None
        while at + 8 <= size:
            f.seek(at)
            header = f.read(8)
            length = int.from_bytes(header[4:8], order)
            if at + 8 + length > size:  # runs past the end: only the last chunk, the audio, may
                if header[:4] not in (b"data", b"SSND"):
                    raise TagError(
                        f"its {header[:4].decode('latin-1')!r} chunk says it is {length} bytes, past the end of "
                        "the file; left as it was"
                    )
                new = size - at - 8
                f.seek(at + 4)
                f.write(new.to_bytes(4, order))
                repairs.append(
                    f"{header[:4].decode('latin-1').strip()} size {'unset' if length == UNSET_SIZE else length} -> {new}"
                )
                length = new
            last = (at, length)
            at += 8 + length + (length & 1)
        if last is None:
            raise TagError(f"its {kind} header holds no chunks; left as it was")
        end = last[0] + 8 + last[1]
        if at == size + 1 and end == size:  # an odd last chunk without its pad byte
            f.seek(size)
            f.write(b"\0")
            size += 1
            repairs.append("pad byte added")
        elif at < size and size - at < 8:  # a few stray bytes after the last chunk: not covered
            size = at
        elif at != size:
            raise TagError(f"its chunks do not add up to the file's {size} bytes; left as it was")
        if stated != size - 8:
            f.seek(4)
            f.write((size - 8).to_bytes(4, order))
            repairs.append(f"{kind} size {'unset' if stated == UNSET_SIZE else stated} -> {size - 8}")
        f.flush()
        os.fsync(f.fileno())
    return f"repaired its wrong chunk sizes ({', '.join(repairs)})" if repairs else None


# --------------------------------------------------------------------------- saving


def save_in_place(path: str, write: Callable[[str], None]) -> tuple[os.stat_result, list[str]]:
    """Apply `write(copy_path)` to a working copy of `path`, check the copy's decoded audio equals
    the original's, then write the copy's bytes into `path` itself (the same inode: hard links,
    mode, owner and extended attributes stay), with the original's bytes kept in a flushed backup
    copy until they are replaced, so a killed run is undone by the next (`recover_leftovers`).
    Returns (the file's new stat, notes: a leftover recovered, sizes repaired). TagError, with the
    original untouched, when anything is wrong (the audio would change, the file changed meanwhile)."""
    notes = recover_leftovers(path)
    before = check_writable(path)
    folder, name = os.path.split(path)
    prefix = _temp_prefix(name)
    original_audio = _audio_digest(path)
    temp = _copy(path, folder, prefix, TEMP_SUFFIX)
    backup = staged = None
    try:
        repaired = repair_chunk_sizes(temp)
        if repaired:
            notes.append(repaired)
        write(temp)
        with open(temp, "rb+") as f:
            os.fsync(f.fileno())
        if _audio_digest(temp) != original_audio:
            raise TagError(
                "writing the tags would change its decoded audio (a damaged or unusual file); left as it was"
            )
        staged = _copy(path, folder, prefix, TEMP_SUFFIX)  # the original's bytes ...
        backup = staged[: -len(TEMP_SUFFIX)] + BACKUP_SUFFIX
        os.replace(staged, backup)  # ... named a backup only once complete
        now = os.stat(path)
        if (now.st_size, now.st_mtime_ns, now.st_ino) != (before.st_size, before.st_mtime_ns, before.st_ino):
            raise TagError("the file changed while it was being tagged; left as it was")
        _write_into(path, temp)
        os.unlink(backup)
        backup = None
    except BaseException:
        if backup is not None and os.path.exists(backup):
            with contextlib.suppress(OSError):
                if os.stat(path).st_size != os.stat(backup).st_size or _file_digest(path) != _file_digest(backup):
                    _write_into(path, backup)
                os.unlink(backup)
        raise
    finally:
        for leftover in (temp, staged):
            with contextlib.suppress(FileNotFoundError, TypeError):
                os.unlink(leftover)
    return os.stat(path), notes


def _file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
