"""What the pages say in words, on the one scale (issue 30): a mood as one answer (`said`), each
number against the mood centre (`va_text`, `arrow`), what the scale means (`scale_note`), and
which mood a rating falls in as the Label sliders move."""

from __future__ import annotations

from .resources import checkpoint_config, mood_centre


def said(answer) -> str:
    """A prediction's, section's or song's mood as one answer in words (`mood.say_song`): "calm",
    "calm, close to sad" where the point is a close call with a neighbouring mood, "sad (62% of the
    song)" or "mixed: aggressive 38%, calm 29%, …" for a song of several moods."""
    from ..mood import say_song

    return say_song(answer.mood, answer.close_to, getattr(answer, "shares", None), getattr(answer, "mixed", False))


def said_short(answer) -> str:
    """`said` for a table cell (`mood.say_short`): "sad (62%)", "mixed (aggressive 38%)"."""
    from ..mood import say_short

    shares = getattr(answer, "shares", None)
    return say_short(answer.mood, answer.close_to, shares[answer.mood] if shares else None, answer.mixed)


def arrow(value: float, middle: float) -> str:
    """↑ above the mood centre's value, ↓ below: how a number reads against the one scale (issue 30)."""
    return "↑" if value >= middle else "↓"


def va_text(valence: float, arousal: float, bold: bool = True) -> str:
    """ "valence 0.54 ↓ · arousal 0.70 ↑": each number with which side of the mood centre it is on, so
    that no number reads against its mood word (0.54 is below the middle when the middle is 0.60)."""
    v, a = mood_centre()
    b = "**" if bold else ""
    return f"valence {b}{valence:.2f}{b} {arrow(valence, v)} · arousal {b}{arousal:.2f}{b} {arrow(arousal, a)}"


def centre_text() -> str:
    v, a = mood_centre()
    return f"↑/↓: above/below the middle (valence {v:.2f}, arousal {a:.2f}), where the moods meet"


SCALE_NOTES = {
    "listener": "Listener scale: valence and arousal are what listeners would rate (the mean of many listeners' "
    "1–5 ratings of the valence and the energy the music expresses, mapped to 0–1; 0.5 is neutral). "
    "The mood is named relative to typical music: the four moods meet at the mood centre (valence "
    "{v:.2f}, arousal {a:.2f}; the cross on the plane), where a balanced set of happy, aggressive, sad "
    "and calm songs splits evenly. Most music sounds mildly positive to listeners, so “sad” means "
    "sadder and calmer than most songs, not below neutral.",
    "4q": "4Q scale: mood tags placed on valence and arousal, shifted so the four moods come out about equally often.",
}


def scale_sentence() -> str:
    """What the numbers mean, in one sentence for a first screen (scale_note says it in full)."""
    rated = ", as listeners would rate it" if checkpoint_config().get("scale") == "listener" else ""
    return (
        f"Valence is how positive the music sounds and arousal how energetic, each from 0 to 1{rated}; "
        "the mood is the quarter of that plane the song falls in."
    )


def scale_note() -> str:
    """What the numbers on every page mean: the scale the shipped models report (config.json's "scale")."""
    v, a = mood_centre()
    return SCALE_NOTES.get(checkpoint_config().get("scale", "4q"), SCALE_NOTES["4q"]).format(v=v, a=a)


def rating_mood_line(valence: float, arousal: float) -> str:
    """Which mood a rating falls in, as the Label sliders move (issue 30): the same rule and centre as
    every model's answer, so the word saved is the word shown."""
    from ..mood import EMOJI, mood_of

    centre = mood_centre()
    mood = mood_of(valence, arousal, centre)
    if abs(valence - centre[0]) < 0.01 and abs(arousal - centre[1]) < 0.01:
        return f"Your rating reads as **{EMOJI[mood]} {mood}**, but it sits at the middle: move the sliders to say its mood."
    return f"Your rating reads as **{EMOJI[mood]} {mood}**: {va_text(valence, arousal)}."
