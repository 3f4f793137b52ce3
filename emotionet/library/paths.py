"""File names as the library keeps, shows and exports them: bytes-safe from the disk to the database.

A name on disk is bytes; Python gives the bytes that are not UTF-8 as lone surrogates (b'\\xff' ->
'\\udcff'), which neither SQLite nor PostgreSQL can store and no page can show. So:

- `path_to_text` / `text_to_path`: a path as database text and back, losslessly. A path that is valid
  UTF-8 is stored as itself; any other (and one that starts like a URI) as a `file://` URI of its
  bytes, which no real absolute path starts with.
- `shown_name`: a name for people (titles, file names in lists): undecodable bytes become U+FFFD,
  control characters and bidi overrides are removed.
- `shown_path`: a path on one line for messages: undecodable bytes, control and format characters
  (bidi overrides, zero-width marks) become visible escapes (\\xff, \\n, \\u202e), so a name can
  neither break a line nor hide what it is.
- `playlist_location`: where a playlist entry points, as players open it: the file's own path as
  plain UTF-8 (relative to the playlist's folder when given), and a percent-encoded `file://` URI
  of its bytes (`file_uri`) only where a plain line cannot carry the name (bytes that are not
  UTF-8, a line break or other control or invisible character, a leading `#` or space, `://`);
  never text a user typed. mpv, like most players, opens a plain path as it is (no percent-decoding)
  and a `file://` URI percent-decoded, so each form reaches the file.
"""

from __future__ import annotations

import os
import unicodedata
from urllib.parse import quote_from_bytes, unquote_to_bytes

from ..io.text import clean_text

URI_PREFIX = "file://"
# marks that reorder text without being a bidi embedding or override (io.text.clean_text removes those)
BIDI_MARKS = {"\u200e", "\u200f", "\u061c"}


def _unicode_path(path) -> str:
    return os.fsdecode(path) if isinstance(path, (bytes, os.PathLike)) else str(path)


def path_to_text(path) -> str:
    """The path as text any database stores: itself when it is UTF-8, else a `file://` URI of its bytes."""
    text = _unicode_path(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return URI_PREFIX + quote_from_bytes(os.fsencode(text))
    return URI_PREFIX + quote_from_bytes(os.fsencode(text)) if text.startswith("file:") else text


def text_to_path(text: str) -> str:
    """The file system path (str, undecodable bytes as surrogates) that `path_to_text` stored."""
    if text.startswith(URI_PREFIX):
        return os.fsdecode(unquote_to_bytes(text[len(URI_PREFIX) :]))
    return text


def shown_name(text) -> str:
    """A name for people: bytes that are not UTF-8 become U+FFFD; no control characters, bidi
    overrides or line separators."""
    text = _unicode_path(text).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = "".join(" " if unicodedata.category(c) in ("Zl", "Zp") else c for c in text if c not in BIDI_MARKS)
    return clean_text(text)


def shown_path(path) -> str:
    """A path on one line: undecodable bytes as \\xNN, control, bidi and line-separator characters
    as Python escapes; everything else as it is."""
    text = os.fsencode(_unicode_path(path)).decode("utf-8", "backslashreplace")
    out = []
    for c in text:
        if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp"):  # controls, bidi and invisible format marks
            out.append(c.encode("unicode_escape").decode("ascii"))
        else:
            out.append(c)
    return "".join(out)


def file_uri(path) -> str:
    """An absolute `file://` URI of the path's bytes (every byte that is not unreserved percent-encoded)."""
    return URI_PREFIX + quote_from_bytes(os.fsencode(os.path.abspath(_unicode_path(path))))


def plain_line_carries(text: str) -> bool:
    """Whether a playlist line can hold `text` as it is: valid UTF-8, one line with nothing a player
    strips or reads as something else (no control, format or line-separator character, no leading
    '#' (a comment) or surrounding whitespace (stripped), no '://' (a URL)), and not empty."""
    if not text or text[0] == "#" or text != text.strip() or "://" in text or text.startswith("file:"):
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8 (surrogate escapes)
        return False
    return not any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs") or c in BIDI_MARKS for c in text)


def playlist_location(path, folder=None) -> str:
    """Where a playlist entry points: the path as plain text, relative to `folder` when given (the
    playlist's folder), else absolute; an absolute `file://` URI of its bytes where a plain line
    cannot carry it (`plain_line_carries`) or there is no relative path (another drive)."""
    path = os.path.abspath(_unicode_path(path))
    text = path
    if folder is not None:
        try:
            text = os.path.relpath(path, os.path.abspath(_unicode_path(folder)))
        except ValueError:
            return file_uri(path)
    return text if plain_line_carries(text) else file_uri(path)
