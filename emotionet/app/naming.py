"""How the pages name and order the models: the headline model first, then `models.names`' order,
each by its shown name (the one table of names is `emotionet.models.names`)."""

from __future__ import annotations

from ..models.names import MODEL_ORDER
from . import resources


def ordered(predictions, headline: str | None = None) -> list[str]:
    """Model names in display order: the headline model first (the checkpoint's by default), then
    the others in MODEL_ORDER. `predictions` is anything iterable over model names."""
    headline = headline or resources.headline()
    rank = {name: i for i, name in enumerate(MODEL_ORDER)}
    return sorted(predictions, key=lambda n: (n != headline, rank.get(n, len(rank)), n))


def model_name(name: str, headline_model: str | None = None) -> str:
    """A model as every table names it: its friendly name, "⭐ headline" after the headline model."""
    from ..models import label

    return label(name) + (" ⭐ headline" if name == (headline_model or resources.headline()) else "")


def model_rows(predictions: dict, headline: str | None = None) -> list[dict]:
    """The models' table of one clip or song, headline (⭐) first, as Analyze and Label show it:
    "😌 calm, close to sad" or "mixed (sad 48%)", "0.66 ↑, 0.21 ↓" against the mood centre, and the
    confidence. `predictions`: model -> `predict.Prediction`."""
    from ..models import label
    from ..mood import EMOJI
    from .text import arrow, said_short

    headline = headline or resources.headline()
    centre = resources.mood_centre()
    return [
        {
            "model": label(n) + (" ⭐" if n == headline else ""),
            "mood": f"{EMOJI[p.mood]} {said_short(p)}",
            "valence, arousal": f"{p.valence:.2f} {arrow(p.valence, centre[0])}, "
            f"{p.arousal:.2f} {arrow(p.arousal, centre[1])}",
            "confidence": f"{p.confidence:.0%}",
        }
        for n, p in ((n, predictions[n]) for n in ordered(predictions, headline))
    ]


def disagreement(predictions: dict, headline: str | None = None) -> str | None:
    """A sentence naming which models hear which mood, or None when they all agree."""
    moods = {}
    for name in ordered(predictions, headline):
        moods.setdefault(predictions[name].mood, []).append(name)
    if len(moods) == 1:
        return None
    from ..models import label

    parts = [
        f"{' and '.join(label(n) for n in names)} {'hear' if len(names) > 1 else 'hears'} **{mood}**"
        for mood, names in moods.items()
    ]
    return "The models disagree: " + "; ".join(parts) + "."
