"""Moods: the quadrant at and around the thresholds, calibration and confidence."""

from __future__ import annotations

import numpy as np
import pytest

from emotionet.mood import Calibration, mood_index, mood_of, quadrant_index


@pytest.mark.parametrize(
    "v,a,mood",
    [
        (0.8, 0.8, "happy"),
        (0.2, 0.8, "aggressive"),
        (0.2, 0.2, "sad"),
        (0.8, 0.2, "calm"),
        (0.5, 0.5, "happy"),
        (0.49, 0.5, "aggressive"),
        (0.49, 0.49, "sad"),
        (0.5, 0.49, "calm"),
    ],
)
def test_mood_is_the_quadrant_with_ties_on_the_positive_side(v, a, mood):
    assert mood_of(v, a) == mood


def test_thresholds_are_configurable():
    assert mood_of(0.55, 0.55) == "happy"
    assert mood_of(0.55, 0.55, thresholds=(0.6, 0.6)) == "sad"
    assert mood_index([0.1, 0.9], [0.9, 0.1]).tolist() == [1, 3]


def test_quadrant_names_and_moods_map_to_the_same_index():
    assert [quadrant_index(q) for q in ("Q1", "Q2", "Q3", "Q4")] == [0, 1, 2, 3]
    assert quadrant_index("sad") == 2
    with pytest.raises(ValueError, match="Unknown quadrant"):
        quadrant_index("Q5")


def test_calibration_moves_the_median_output_to_the_boundary():
    rng = np.random.default_rng(0)
    truth = rng.uniform(0.2, 0.8, size=(400, 2))
    shrunk = 0.45 + 0.3 * (truth - 0.5)  # a regressor shrinking toward a mean below 0.5
    cal = Calibration.fit(shrunk, truth)
    calibrated = cal.apply(shrunk)
    assert np.median(calibrated, axis=0) == pytest.approx([0.5, 0.5], abs=1e-6)
    balanced = np.bincount(mood_index(calibrated[:, 0], calibrated[:, 1]), minlength=4) / 400
    raw = np.bincount(mood_index(shrunk[:, 0], shrunk[:, 1]), minlength=4) / 400
    assert balanced.min() > 0.2 and raw[2] > 0.5  # uncalibrated: most points fall in "sad"


def test_confidence_is_a_coin_flip_on_the_boundary_and_near_one_far_from_it():
    cal = Calibration(sigma_valence=0.1, sigma_arousal=0.1)
    assert cal.confidence(0.5, 0.5) == pytest.approx(0.25)
    assert cal.confidence(0.95, 0.95) > 0.99
    assert cal.confidence(0.6, 0.6) < cal.confidence(0.7, 0.7)
