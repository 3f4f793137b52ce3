"""User text on its way in and out: no control characters stored, no formulas or extra lines exported.

Text typed by people or read from file tags reaches the database, CSV exports that open in
spreadsheets, and M3U8 playlists. `clean_text` drops control characters (a NUL byte is refused by
PostgreSQL; bidirectional overrides disguise file names), `spreadsheet_cell` keeps a cell from
being read as a formula, and `one_line` keeps a value on its own line. `positive_int` and
`positive_float` check numbers given on the command line (argparse types, for every layer's options).
"""

from __future__ import annotations

import argparse
import math
import unicodedata

# Unicode "format" characters that reorder or hide text (bidi embeddings, overrides, isolates)
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets read as a formula (OWASP)


def clean_text(value, keep_newlines: bool = False) -> str:
    """`value` as text without control characters (NUL, escape, ...) and bidi overrides.

    Tabs and line breaks become spaces unless `keep_newlines` (then CR LF and CR become LF).
    """
    text = str(value if value is not None else "")
    if keep_newlines:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for ch in text:
        if ch == "\n" and keep_newlines:
            out.append(ch)
        elif ch in "\t\n\r\v\f":
            out.append(" ")
        elif unicodedata.category(ch) == "Cc" or ch in _BIDI:
            continue
        else:
            out.append(ch)
    return "".join(out)


def spreadsheet_cell(value):
    """A CSV cell that a spreadsheet shows as text: one starting like a formula gets a leading '."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def one_line(value) -> str:
    """Text with every control character (line breaks included) removed: one playlist line."""
    return clean_text(value).replace("\n", " ")


def argument_number(text: str, cast, noun: str, ok, why: str):
    """A command-line number (the body of every argparse number type): `cast(text)`, or an
    ArgumentTypeError saying it is not a `noun`; refused with `why` unless `ok(value)`."""
    try:
        value = cast(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a {noun}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"{text} {why}")
    return value


def positive_int(text: str) -> int:
    """A command-line number (an argparse type): a whole number of at least 1 (--count, --workers, --batch-size)."""
    return argument_number(text, int, "whole number", lambda v: v >= 1, "is not positive: give 1 or more")


def positive_float(text: str) -> float:
    """A command-line number (an argparse type): a finite number above 0 (--minutes, --radius)."""
    return argument_number(text, float, "number", lambda v: math.isfinite(v) and v > 0, "is not a positive number")
