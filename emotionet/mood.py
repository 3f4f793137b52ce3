"""Moods: the quadrant of a (valence, arousal) point, and how sure a prediction is of it.

Valence and arousal are on a 0-1 scale; the quadrants meet at the thresholds (0.5, 0.5 by
default: the training labels define quadrants at the scale's midpoint).

Every model's raw outputs pass through a `Calibration` before they are shown. Regressors shrink
toward the mean of the training labels, so thresholding raw outputs at 0.5 over-predicts one
quadrant (calm, on this data). The calibration shifts each axis so that the model's median output
on held-out data lands on 0.5: the shown point and its mood agree, and the four moods come out
about as often as they occur in the (balanced) training data.

Confidence is the probability that the mood is right, given the model's typical error: with
per-axis validation error sigma (root-mean-square, after calibration), it is
Phi(|v - tv| / sigma_v) * Phi(|a - ta| / sigma_a). A point on a boundary gets 0.25 (a coin flip
on both axes would be 0.25); a point far from both boundaries approaches 1. For audio with nothing
a mood could be read from (steady noise), `predict` caps every confidence at CHANCE: a guess among
four moods is right one time in four, whatever the model's point.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

MOODS = ("happy", "aggressive", "sad", "calm")  # Q1..Q4
CHANCE = 1 / len(MOODS)  # the confidence of a guess among the moods
QUADRANTS = ("Q1", "Q2", "Q3", "Q4")
MOOD_OF_QUADRANT = dict(zip(QUADRANTS, MOODS))
EMOJI = {"happy": "😊", "aggressive": "😠", "sad": "😢", "calm": "😌"}
COLOURS = {"happy": "#e6a700", "aggressive": "#d62728", "sad": "#1f77b4", "calm": "#2ca02c"}  # every chart and PNG


def mood_index(valence, arousal, thresholds=(0.5, 0.5)) -> np.ndarray:
    """0..3 for happy (+v +a), aggressive (-v +a), sad (-v -a), calm (+v -a); ties count as +."""
    positive_v = np.asarray(valence) >= thresholds[0]
    positive_a = np.asarray(arousal) >= thresholds[1]
    return np.where(positive_a, np.where(positive_v, 0, 1), np.where(positive_v, 3, 2))


def mood_of(valence: float, arousal: float, thresholds=(0.5, 0.5)) -> str:
    return MOODS[int(mood_index(valence, arousal, thresholds))]


def quadrant_index(quadrant: str) -> int:
    """'Q1'..'Q4' (or a mood name) -> 0..3."""
    if quadrant in QUADRANTS:
        return QUADRANTS.index(quadrant)
    if quadrant in MOODS:
        return MOODS.index(quadrant)
    raise ValueError(f"Unknown quadrant {quadrant!r}: expected one of {QUADRANTS} or {MOODS}.")


def parse_thresholds(text: str) -> tuple[float, float]:
    """'V,A' -> the mood boundaries (two numbers in (0, 1)); an argparse type for every command."""
    import argparse

    try:
        values = tuple(float(x) for x in str(text).split(","))
    except ValueError:
        values = ()
    if len(values) != 2 or not all(0 < x < 1 for x in values):
        raise argparse.ArgumentTypeError("thresholds are two numbers in (0, 1): VALENCE,AROUSAL")
    return values


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


@dataclass
class Calibration:
    """Raw model outputs -> the reported scale, and how sure a mood is.

    ``apply``: centre + scale * (raw - pivot) per axis, clipped to 0-1. ``fit`` (the 4Q set) is
    the median shift: scale 1, pivot the median raw output, centre 0.5. ``fit_affine`` (the
    listener scale) maps the raw outputs' mean and spread onto the truth's (variance matching:
    the spread of moods shown is the spread listeners report, not a regressor's shrunken one).

    Confidence: Phi(|distance to the boundary| / sigma) per axis, sigma the axis's RMS error on
    held-out clips, multiplied over the axes. (Platt-scaled side probabilities, and a refit of the
    product against whether the mood was right, were measured on the listener set and were no
    better calibrated: bench/results/listener_cv.json.)
    """

    pivot_valence: float = 0.5
    pivot_arousal: float = 0.5
    sigma_valence: float = 0.15
    sigma_arousal: float = 0.15
    centre_valence: float = 0.5
    centre_arousal: float = 0.5
    scale_valence: float = 1.0
    scale_arousal: float = 1.0

    @classmethod
    def fit(cls, raw: np.ndarray, truth: np.ndarray) -> "Calibration":
        """Pivots at the median raw output (balanced classes), sigma from the residuals."""
        raw, truth = np.asarray(raw, float), np.asarray(truth, float)
        cal = cls(float(np.median(raw[:, 0])), float(np.median(raw[:, 1])))
        cal._fit_sigma(raw, truth)
        return cal

    @classmethod
    def fit_affine(cls, raw: np.ndarray, truth: np.ndarray, max_scale: float = 4.0) -> "Calibration":
        """Mean and spread of the raw outputs onto the truth's, per axis (sigma from the residuals)."""
        raw, truth = np.asarray(raw, float), np.asarray(truth, float)
        scale = np.clip(truth.std(0) / np.maximum(raw.std(0), 1e-9), 1 / max_scale, max_scale)
        pivot, centre = raw.mean(0), truth.mean(0)
        cal = cls(
            float(pivot[0]),
            float(pivot[1]),
            centre_valence=float(centre[0]),
            centre_arousal=float(centre[1]),
            scale_valence=float(scale[0]),
            scale_arousal=float(scale[1]),
        )
        cal._fit_sigma(raw, truth)
        return cal

    @classmethod
    def fit_centred(cls, raw: np.ndarray, truth: np.ndarray, pivot, centre, max_scale: float = 4.0) -> "Calibration":
        """``fit_affine``'s spread, with the mood centre fixed: the raw `pivot` (the model's median
        on a balanced set of moods, per axis) lands on `centre` (the shown mood centre)."""
        cal = cls.fit_affine(raw, truth, max_scale)
        cal.pivot_valence, cal.pivot_arousal = (float(p) for p in pivot)
        cal.centre_valence, cal.centre_arousal = (float(c) for c in centre)
        cal._fit_sigma(np.asarray(raw, float), np.asarray(truth, float))
        return cal

    def _fit_sigma(self, raw, truth) -> None:
        self.error_from(self.apply(raw), truth)

    def error_from(self, shown: np.ndarray, truth: np.ndarray) -> "Calibration":
        """Set the confidences' per-axis error from shown points (e.g. held-out ones) and their truth."""
        error = np.asarray(shown, float) - np.asarray(truth, float)
        self.sigma_valence, self.sigma_arousal = (float(s) for s in np.sqrt((error**2).mean(axis=0)))
        return self

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """(n, 2) raw valence/arousal -> calibrated, still in 0-1."""
        raw = np.asarray(raw, float)
        pivot = np.array([self.pivot_valence, self.pivot_arousal])
        centre = np.array([self.centre_valence, self.centre_arousal])
        scale = np.array([self.scale_valence, self.scale_arousal])
        return np.clip(centre + scale * (raw - pivot), 0.0, 1.0)

    def confidence(self, valence: float, arousal: float, thresholds=(0.5, 0.5)) -> float:
        return _phi(abs(valence - thresholds[0]) / self.sigma_valence) * _phi(
            abs(arousal - thresholds[1]) / self.sigma_arousal
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "Calibration":
        return cls(**values)


# --------------------------------------------------------------------------- a close call, in words

CLOSE_CALL = 2 / 3  # an axis whose side is less sure than this makes the mood across it a close second


def close_to(calibration: Calibration, valence: float, arousal: float, thresholds=(0.5, 0.5)) -> str | None:
    """The mood a point is close to, or None: the mood across the boundary the point is least sure
    of, when the probability of being on the shown side of it (Phi(distance / sigma), as in the
    confidence) is under CLOSE_CALL, i.e. when that neighbour is at least half as likely as the mood
    shown. The app says it as one answer: "calm, close to sad"."""
    v_side = _phi(abs(valence - thresholds[0]) / calibration.sigma_valence)
    a_side = _phi(abs(arousal - thresholds[1]) / calibration.sigma_arousal)
    if min(v_side, a_side) >= CLOSE_CALL:
        return None
    index = int(mood_index(valence, arousal, thresholds))
    positive_v, positive_a = index in (0, 3), index in (0, 1)
    if v_side <= a_side:
        positive_v = not positive_v
    else:
        positive_a = not positive_a
    return MOODS[(0 if positive_v else 1) if positive_a else (3 if positive_v else 2)]


def say(mood: str, close: str | None = None) -> str:
    """One answer in words: "calm", or "calm, close to sad"."""
    return f"{mood}, close to {close}" if close else mood


SURE_SHARE = 0.9  # a song this much one mood is said as that mood alone


def shares_text(shares: dict[str, float], least: float = 0.05) -> str:
    """ "aggressive 38%, calm 29%, happy 19%": the moods a song holds, largest first (at least two)."""
    ranked = sorted(shares.items(), key=lambda kv: -kv[1])
    named = [kv for i, kv in enumerate(ranked) if i < 2 or kv[1] >= least]
    return ", ".join(f"{mood} {share:.0%}" for mood, share in named)


def say_song(mood: str, close: str | None = None, shares: dict[str, float] | None = None, mixed: bool = False) -> str:
    """A song's answer in words, as a listener would say it: "sad" (one answer for the clip), "sad (62% of
    the song)" (the mood it spends most time in), or "mixed: aggressive 38%, calm 29%, …" (none holds half)."""
    if shares is None or (not mixed and shares.get(mood, 0) >= SURE_SHARE):
        return say(mood, close)
    if mixed:  # the song's mood first (a tie in shares goes to it), then the others, largest first
        return f"mixed: {shares_text({mood: shares[mood], **shares})}"
    return f"{mood} ({shares[mood]:.0%} of the song)"


def say_short(mood: str, close: str | None = None, share: float | None = None, mixed: bool = False) -> str:
    """`say_song` for a table cell: "calm", "calm, close to sad", "sad (62%)" or "mixed (aggressive 38%)"
    (`share`: the part of the song its mood holds; None for one answer for the whole clip)."""
    if share is None or (not mixed and share >= SURE_SHARE):
        return say(mood, close)
    return f"mixed ({mood} {share:.0%})" if mixed else f"{mood} ({share:.0%})"
