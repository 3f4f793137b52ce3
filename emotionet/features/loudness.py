"""Integrated loudness (ITU-R BS.1770-4, as EBU R128 measures it) of a multichannel signal, streamed.

    K-weighting  per channel, a high shelf (+4 dB above ~1.7 kHz, the head's effect) then a high pass
                 (~38 Hz), as second-order sections designed for the signal's own rate from the
                 analogue filters behind the standard's 48 kHz coefficients (at 48 kHz they equal
                 the published ones to 1e-9; tests/test_spotify_fields.py)
    blocks       400 ms gating blocks overlapping by 75% (a 100 ms step); a block's loudness is
                 -0.691 + 10 log10(sum over channels of G_c * mean square), G = 1 for the front
                 channels, 1.41 for the surround ones of a 5.1 signal
    gating       blocks below -70 LUFS are dropped (absolute gate), then blocks more than 10 LU below
                 the loudness of those left (relative gate); the integrated loudness is that of the
                 blocks that pass both, in LUFS (= dB relative to full scale, K-weighted)

Spotify's `loudness` is "the overall loudness of a track in decibels", averaged across the track;
this is the standard measure of it. `LoudnessMeter.push(block)` takes (samples, channels) blocks at
the meter's rate; `integrated()` gives the figure (-inf for silence: under the absolute gate).
"""

from __future__ import annotations

import math

import numpy as np

ABSOLUTE_GATE = -70.0
RELATIVE_GATE = -10.0
BLOCK_S, STEP_S = 0.4, 0.1
SURROUND_GAIN = 1.41


def k_weighting(rate: float) -> np.ndarray:
    """The K-weighting filter at `rate` as scipy second-order sections (shelf, then high pass): the
    bilinear transforms of the analogue filters BS.1770's 48 kHz coefficients come from (a shelf
    of +4 dB around 1.68 kHz, a high pass at 38 Hz), so any rate gets the same response."""
    # the shelf: gain 4.0 dB, f0 1681.97 Hz, Q 0.7072
    gain_db, f0, q = 3.999843853973347, 1681.974450955533, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = [(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0]
    shelf += [1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    # the high pass: f0 38.14 Hz, Q 0.5003; numerator [1, -2, 1] as the standard gives it
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1 + k / q + k * k
    high_pass = [1.0, -2.0, 1.0, 1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    return np.array([shelf, high_pass])


class LoudnessMeter:
    """BS.1770 integrated loudness over blocks pushed one after another (see the module docstring)."""

    def __init__(self, rate: int, channels: int):
        from scipy import signal

        self.rate, self.channels = int(rate), int(channels)
        self.sos = k_weighting(rate)
        self.state = np.zeros((self.sos.shape[0], 2, self.channels))
        self._filter = signal.sosfilt
        self.step = max(1, int(round(STEP_S * rate)))
        self.carry = np.zeros((0, self.channels))
        self.steps: list[np.ndarray] = []  # per 100 ms step: the sum of squares per channel
        gains = np.ones(self.channels)
        if self.channels == 6:  # 5.1: L, R, C, LFE, Ls, Rs; the LFE is not counted
            gains = np.array([1.0, 1.0, 1.0, 0.0, SURROUND_GAIN, SURROUND_GAIN])
        self.gains = gains

    def push(self, block: np.ndarray) -> None:
        block = np.asarray(block, np.float64)
        if block.ndim == 1:
            block = block[:, None]
        filtered, self.state = self._filter(self.sos, block, axis=0, zi=self.state)
        data = np.concatenate([self.carry, filtered]) if len(self.carry) else filtered
        n = len(data) // self.step
        if n:
            squares = (data[: n * self.step] ** 2).reshape(n, self.step, self.channels).sum(axis=1)
            self.steps.extend(squares)
        self.carry = data[n * self.step :]

    def block_loudness(self) -> np.ndarray:
        """The loudness of every 400 ms gating block (75% overlap), LUFS."""
        per = int(round(BLOCK_S / STEP_S))
        if len(self.steps) < per:
            return np.zeros(0)
        steps = np.array(self.steps)
        cumulative = np.concatenate([np.zeros((1, self.channels)), np.cumsum(steps, axis=0)])
        mean_square = (cumulative[per:] - cumulative[:-per]) / (per * self.step)
        power = mean_square @ self.gains
        with np.errstate(divide="ignore"):
            return -0.691 + 10 * np.log10(power)

    def integrated(self) -> float:
        """The integrated loudness, LUFS; -inf when no block passes the absolute gate (silence)."""
        blocks = self.block_loudness()
        above = blocks[blocks > ABSOLUTE_GATE]
        if not len(above):
            return float("-inf")
        relative = _mean_loudness(above) + RELATIVE_GATE
        kept = above[above > relative]
        return float(_mean_loudness(kept)) if len(kept) else float("-inf")


def _mean_loudness(blocks: np.ndarray) -> float:
    """The loudness of the blocks' mean power (the mean of their powers, not of their dB)."""
    return float(-0.691 + 10 * np.log10(np.mean(10 ** ((blocks + 0.691) / 10))))


def integrated_loudness(samples: np.ndarray, rate: int) -> float:
    """BS.1770 integrated loudness of a whole (samples,) or (samples, channels) signal, LUFS."""
    samples = np.asarray(samples, np.float64)
    meter = LoudnessMeter(rate, 1 if samples.ndim == 1 else samples.shape[1])
    meter.push(samples)
    return meter.integrated()
