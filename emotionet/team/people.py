"""What a person's name on the team may be, with no heavy imports: the sign-in (`accounts`) and the
ratings (`labelling`) share it, and the app's entry script loads the sign-in on every first visit."""

from __future__ import annotations

from ..io.text import clean_text

MAX_NAME = 100


class LabellingError(ValueError):
    """A request the labelling store refuses, with a message a person understands."""


def clean_name(name: str | None) -> str:
    """A rater name with surrounding and repeated spaces removed; refuses an empty one."""
    cleaned = " ".join(clean_text(name).split())
    if not cleaned:
        raise LabellingError("Enter your name first: every rating belongs to a rater.")
    if len(cleaned) > MAX_NAME:
        raise LabellingError(f"Names are at most {MAX_NAME} characters.")
    return cleaned
