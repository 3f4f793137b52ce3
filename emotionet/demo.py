"""Built-in demo clips, synthesised here (no third-party audio ships with the project).

Each is 20 s of deliberately stereotypical music for one mood, written as WAV bytes, so that a
presenter's first click shows the headline model at work:

- happy: a bright major pop loop (C-G-Am-F) at 176 bpm with drums, strummed chords and bass;
- aggressive: a distorted riff on E with tritones and semitone clashes at 180 bpm, noisy drums;
- sad: slow, soft, low minor chords (Am-F-Dm-E) at 56 bpm, no drums;
- calm: slow, soft major pads (Fmaj7, G, F, C) with a gentle high melody at 60 bpm.

tests/test_demo.py checks that the shipped headline model puts each in its named quadrant. They
are synthetic: the models learned from real recordings, so they show the pipeline, not its accuracy.
"""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf

SAMPLE_RATE = 22050
SECONDS = 20.0


def _midi(note: int) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def _tone(freq: float, length: float, harmonics=(1.0,), attack: float = 0.005, decay: float = 3.0) -> np.ndarray:
    """A note of `length` s: the given harmonic amplitudes, a linear attack and an exponential decay."""
    t = np.arange(int(length * SAMPLE_RATE)) / SAMPLE_RATE
    y = sum(a * np.sin(2 * np.pi * freq * (k + 1) * t) for k, a in enumerate(harmonics))
    return y * np.minimum(1.0, t / attack) * np.exp(-decay * t)


def _saw(freq: float, length: float, partials: int = 10, decay: float = 3.0) -> np.ndarray:
    """A bright, buzzy note: a sawtooth of `partials` harmonics."""
    return _tone(freq, length, tuple(1 / k for k in range(1, partials + 1)), decay=decay)


def _kick(length: float = 0.3) -> np.ndarray:
    t = np.arange(int(length * SAMPLE_RATE)) / SAMPLE_RATE
    return np.sin(2 * np.pi * np.cumsum(50 + 100 * np.exp(-30 * t)) / SAMPLE_RATE) * np.exp(-12 * t)


def _noise_hit(rng, length: float, decay: float, bright: bool = False) -> np.ndarray:
    """A snare (noise) or, `bright`, a hi-hat (differentiated noise)."""
    y = rng.standard_normal(int(length * SAMPLE_RATE))
    if bright:
        y = np.diff(y, prepend=0.0)
    return y * np.exp(-decay * np.arange(len(y)) / SAMPLE_RATE)


def _place(track: np.ndarray, clip: np.ndarray, start_s: float) -> None:
    i = int(start_s * SAMPLE_RATE)
    j = min(len(track), i + len(clip))
    if i < j:
        track[i:j] += clip[: j - i]


def _empty() -> np.ndarray:
    return np.zeros(int(SECONDS * SAMPLE_RATE))


def bright_pop_loop() -> np.ndarray:
    """Happy: C-G-Am-F at 176 bpm, strummed major chords, high arpeggio, bass, kick/snare/hi-hats."""
    rng, y, beat = np.random.default_rng(1), _empty(), 60 / 176
    chords = [(60, 64, 67), (67, 71, 74), (69, 72, 76), (65, 69, 72)]
    bar = 4 * beat
    for b in range(int(SECONDS / bar) + 1):
        chord = chords[b % 4]
        for s in range(8):  # eighth notes
            for note in chord:
                _place(y, 0.2 * _saw(_midi(note), beat / 2, decay=4), b * bar + s * beat / 2)
            _place(y, 0.3 * _saw(_midi(chord[s % 3] + 24), beat / 2, partials=6, decay=6), b * bar + s * beat / 2)
        for s in range(4):  # quarter notes
            _place(y, 0.35 * _saw(_midi(chord[0] - 24), beat, partials=6, decay=2), b * bar + s * beat)
            _place(y, 0.5 * _kick(), b * bar + s * beat)
            if s % 2:
                _place(y, 0.4 * _noise_hit(rng, 0.2, 15), b * bar + s * beat)
        for s in range(16):
            _place(y, 0.15 * _noise_hit(rng, 0.04, 80, bright=True), b * bar + s * beat / 4)
    return np.tanh(y / np.max(np.abs(y)))


def distorted_riff() -> np.ndarray:
    """Aggressive: a heavily clipped E riff with tritones and semitone clashes at 180 bpm, noisy drums."""
    rng, y, step = np.random.default_rng(2), _empty(), 60 / 180 / 2
    riff = [40, 40, 46, 40, 43, 40, 46, 41]
    for i in range(int(SECONDS / step) + 1):
        note = riff[i % len(riff)]
        cluster = sum(_saw(_midi(note + k), step, partials=16, decay=1) for k in (0, 1, 6))
        _place(y, np.tanh(8 * cluster), i * step)
        _place(y, 0.8 * _kick(0.15), i * step)
        if i % 2:
            _place(y, 0.9 * _noise_hit(rng, 0.15, 15), i * step)
        _place(y, 0.4 * _noise_hit(rng, 0.08, 30, bright=True), i * step + step / 2)
    return np.tanh(2 * y)


def slow_minor_chords() -> np.ndarray:
    """Sad: soft, low Am-F-Dm-E chords at 56 bpm with slow attacks, no drums."""
    y, beat = _empty(), 60 / 56
    chords = [(45, 48, 52), (41, 45, 48), (38, 41, 45), (40, 44, 47)]
    for b in range(int(SECONDS / (2 * beat)) + 1):
        for note in chords[b % 4]:
            _place(y, 0.3 * _tone(_midi(note), 4 * beat, (1, 0.3, 0.1), attack=0.2, decay=0.6), b * 2 * beat)
    return y


def soft_major_pads() -> np.ndarray:
    """Calm: slow, soft Fmaj7-G-F-C pads in the middle register at 60 bpm with a gentle high melody
    (all major: with the moods named around typical music, the darker Dm/Bb version sounded sad)."""
    y, beat = _empty(), 1.0
    chords = [(65, 69, 72, 76), (67, 71, 74, 79), (65, 69, 72, 77), (60, 64, 67, 72)]
    melody = [77, 76, 72, 74, 77, 79, 76, 72]
    for b in range(int(SECONDS / (4 * beat)) + 1):
        for note in chords[b % 4]:
            _place(y, 0.25 * _tone(_midi(note), 5 * beat, (1, 0.15), attack=1.0, decay=0.25), b * 4 * beat)
        for k in range(2):
            _place(y, 0.12 * _tone(_midi(melody[(2 * b + k) % 8]), 2 * beat, decay=1.2), b * 4 * beat + 2 * k * beat)
    return y


DEMOS = {
    "Happy: bright, fast major pop loop": bright_pop_loop,
    "Aggressive: fast distorted riff": distorted_riff,
    "Sad: slow, soft minor chords": slow_minor_chords,
    "Calm: slow, soft major pads": soft_major_pads,
}
DEMO_MOODS = dict(zip(DEMOS, ("happy", "aggressive", "sad", "calm")))  # the mood each is made to sound


def demo_wav(title: str) -> bytes:
    """The demo clip called `title` as 16-bit WAV bytes, peak-normalised."""
    y = DEMOS[title]()
    y = 0.8 * y / np.max(np.abs(y))
    buffer = io.BytesIO()
    sf.write(buffer, y.astype(np.float32), SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return buffer.getvalue()
