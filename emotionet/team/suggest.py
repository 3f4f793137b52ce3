"""What to rate next: the track whose rating helps the team's test set most, and why.

The set the team builds is worth most when every track has enough ratings for its mean to be
the truth (``target`` raters, the report's team had 4), the four moods are balanced, and the
ratings are spent where the truth is unclear. For one rater, among the tracks they have not
rated, the order is:

1. **Too few ratings first.** Tracks below the target come before any that reached it. Among
   them, a track whose mood is scarce in the set comes first (the mood of the team's mean so
   far, or, before anyone rated it, the headline model's guess), then a track others already
   started (finishing it makes it count sooner than starting a new one), then the less certain.
2. **Then where the truth is unclear:** tracks at the target whose raters disagree most (their
   spread on either axis), whose headline model is least sure (1 − its confidence), or whose
   models name different moods. One more rating there moves the mean most.

Each suggestion says why, in words a rater reads on the Label page. ``rank`` is pure (tested
with synthetic raters in tests/test_suggest.py: the set reaches 3 ratings per track with the
moods balanced in far fewer ratings than a random order); ``suggest`` reads the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Engine

from ..mood import MOODS, mood_of
from . import labelling as lab
from . import predictions as stored_predictions

TARGET_RATINGS = 3
SPREAD_NOTED = 0.15  # a rater spread above this on an axis is called a disagreement
UNSURE_NOTED = 0.5  # a headline confidence below this is called unsure


@dataclass
class TrackState:
    """What the team and the models know of one track."""

    hash: str
    n_ratings: int = 0
    mean: tuple[float, float] | None = None  # the team's mean (valence, arousal), when rated
    spread: tuple[float, float] | None = None  # the raters' standard deviation per axis (2+ raters)
    models: dict[str, dict] = field(default_factory=dict)  # model -> {valence, arousal, mood, confidence}
    headline: str = "pretrained"

    def mood(self, centre) -> tuple[str | None, str]:
        """(its mood so far, whose): the team's mean's, else the headline model's guess."""
        if self.mean is not None:
            return mood_of(*self.mean, centre), "the team's ratings"
        guess = self.models.get(self.headline)
        return (guess["mood"], "the models' guess") if guess else (None, "")

    def uncertainty(self) -> float:
        """0 (clear) upwards: raters' spread, the headline's doubt, and the models' disagreement."""
        spread = max(self.spread) / 0.25 if self.spread else 0.0
        lead = self.models.get(self.headline)
        doubt = 1.0 - lead["confidence"] if lead else 0.5
        moods = {m["mood"] for m in self.models.values()}
        disagree = (len(moods) - 1) / 3 if moods else 0.0
        return spread + doubt + disagree


@dataclass
class Suggestion:
    track_hash: str
    reasons: list[str]
    needs_ratings: bool  # below the target

    @property
    def why(self) -> str:
        return "; ".join(self.reasons)


def _counts(states: list[TrackState], centre) -> dict[str, int]:
    """Tracks per mood among those the team has started rating (the set being built)."""
    counts = dict.fromkeys(MOODS, 0)
    for s in states:
        if s.n_ratings:
            mood, _ = s.mood(centre)
            counts[mood] += 1
    return counts


def _reasons(s: TrackState, target: int, counts: dict[str, int], centre, blind: bool = False) -> list[str]:
    """Why `s` is suggested. `blind`: for a rater who has not rated it, in words that give away
    neither the team's values (nor the mood of their mean) nor the models' answers."""
    reasons = []
    if s.n_ratings < target:
        reasons.append("no ratings yet" if not s.n_ratings else f"has {s.n_ratings} of the {target} ratings it needs")
    mood, whose = s.mood(centre)
    started = sum(counts.values())
    if mood is not None and s.n_ratings < target and started and counts[mood] == min(counts.values()):
        reasons.append(
            "its mood looks scarce in the set so far"
            if blind
            else f"{mood} tracks are scarce so far ({counts[mood]} of the {started} tracks being rated are {mood}; "
            f"{mood} by {whose})"
        )
    if s.spread and max(s.spread) > SPREAD_NOTED:
        axis = "valence" if s.spread[0] >= s.spread[1] else "arousal"
        reasons.append(
            "raters disagree on it" if blind else f"raters disagree on its {axis} (spread {max(s.spread):.2f})"
        )
    lead = s.models.get(s.headline)
    if lead and lead["confidence"] < UNSURE_NOTED:
        reasons.append(
            "the headline model is unsure of it"
            if blind
            else f"the headline model is unsure ({lead['confidence']:.0%} sure it is {lead['mood']})"
        )
    moods = sorted({m["mood"] for m in s.models.values()}, key=MOODS.index)
    if len(moods) > 1:
        reasons.append("the models hear different moods" if blind else f"the models disagree ({' vs '.join(moods)})")
    return reasons or ["the next track in the set"]


def rank(
    states: list[TrackState], done: set[str], target: int = TARGET_RATINGS, centre=(0.5, 0.5), blind: bool = False
) -> list[Suggestion]:
    """Every track not in `done` (the rater's rated tracks), best to rate first (see the module);
    `blind`: reasons a rater may read before rating (see `_reasons`)."""
    counts = _counts(states, centre)

    def key(s: TrackState):
        if s.n_ratings < target:
            mood, _ = s.mood(centre)
            scarcity = counts[mood] if mood is not None else np.mean(list(counts.values()))
            return (0, scarcity, -s.n_ratings, -s.uncertainty())
        return (1, -s.uncertainty(), s.n_ratings)

    order = sorted((s for s in states if s.hash not in done), key=key)  # stable: ties keep the set's order
    return [Suggestion(s.hash, _reasons(s, target, counts, centre, blind), s.n_ratings < target) for s in order]


def track_states(engine: Engine, key: str | None = None) -> list[TrackState]:
    """The labelling set's tracks (in the order added) with their ratings and stored model answers."""
    ratings = lab.current_ratings(engine)
    answers = stored_predictions.stored(engine, key) if key else {}
    groups = dict(tuple(ratings.groupby("track_hash"))) if len(ratings) else {}
    states = []
    for track in lab.list_tracks(engine):
        state = TrackState(track.hash)
        if (group := groups.get(track.hash)) is not None:
            state.n_ratings = len(group)
            state.mean = (float(group.valence.mean()), float(group.arousal.mean()))
            if len(group) > 1:
                state.spread = (float(group.valence.std(ddof=1)), float(group.arousal.std(ddof=1)))
        if (known := answers.get(track.hash)) is not None:
            state.models, state.headline = known["models"], known["headline"]
        states.append(state)
    return states


def suggest(
    engine: Engine,
    rater: str,
    key: str | None = None,
    target: int = TARGET_RATINGS,
    centre=(0.5, 0.5),
    blind: bool = False,
) -> list[Suggestion]:
    """What `rater` should rate next, best first (empty when they have rated every track)."""
    return rank(track_states(engine, key), lab.rated_by(engine, rater), target, centre, blind)
