"""The built-in demo clips: each must land in its named quadrant for the shipped headline model,
with room to spare, since a presenter clicks these first."""

from __future__ import annotations

import pytest

from emotionet.demo import DEMO_MOODS, DEMOS, demo_wav
from emotionet.mood import MOODS

MARGIN = 0.05  # each axis at least this far from its boundary (the mood centre)


@pytest.fixture(scope="module")
def predictor(shipped_checkpoints):
    from emotionet.predict import Predictor

    return Predictor.load(shipped_checkpoints)


def test_there_is_one_demo_per_mood():
    assert sorted(DEMO_MOODS.values()) == sorted(MOODS) and set(DEMO_MOODS) == set(DEMOS)


@pytest.mark.parametrize("title", list(DEMOS))
def test_each_demo_lands_in_its_named_quadrant_for_the_headline_model(predictor, title):
    analysis = predictor.analyze(demo_wav(title), name=title)
    lead = analysis.predictions[analysis.headline]
    assert lead.mood == DEMO_MOODS[title], (
        f"{title}: {analysis.headline} hears {lead.mood} ({lead.valence:.2f}, {lead.arousal:.2f})"
    )
    tv, ta = predictor.thresholds
    assert min(abs(lead.valence - tv), abs(lead.arousal - ta)) >= MARGIN, (lead.valence, lead.arousal)
    assert all(w[analysis.headline]["mood"] == DEMO_MOODS[title] for w in analysis.timeline)  # every window, too
