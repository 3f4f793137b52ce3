"""Built-in demo clips, synthesised here (no third-party audio ships with the project).

Each is 20 s of simple synthetic music with a clear character, written as WAV bytes. They show
the app working in one click; they are not a test of the models, which were trained on real
recordings and may hear synthetic sound differently from a person.
"""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf

SAMPLE_RATE = 22050
SECONDS = 20.0


def _notes(freqs, times, seconds, decay, sr=SAMPLE_RATE, timbre=(1.0, 0.5, 0.25)):
    t = np.arange(int(seconds * sr)) / sr
    y = np.zeros_like(t)
    for f, start in zip(freqs, times):
        active = t >= start
        local = t[active] - start
        tone = sum(a * np.sin(2 * np.pi * f * (k + 1) * local) for k, a in enumerate(timbre))
        y[active] += tone * np.exp(-decay * local)
    return y


def bright_fast_major() -> np.ndarray:
    """Quick C-major arpeggios at 150 bpm, bright and plucked."""
    scale = [523.25, 659.25, 783.99, 1046.5]
    times = np.arange(0, SECONDS, 0.2)
    return _notes([scale[i % 4] for i in range(len(times))], times, SECONDS, decay=6.0)


def harsh_driving_noise() -> np.ndarray:
    """Distorted low riff over noisy drum hits at 170 bpm."""
    rng = np.random.default_rng(7)
    t = np.arange(int(SECONDS * SAMPLE_RATE)) / SAMPLE_RATE
    riff = np.tanh(6 * np.sin(2 * np.pi * np.where((t % 1.4) < 0.7, 82.4, 87.3) * t))
    hits = rng.standard_normal(len(t)) * np.exp(-25 * (t % (60 / 170)))
    return 0.6 * riff + 0.8 * hits


def slow_dark_minor() -> np.ndarray:
    """Slow A-minor chords, low and soft, one every 3 s."""
    chord = [110.0, 130.81, 164.81]
    times = np.repeat(np.arange(0, SECONDS, 3.0), 3)
    return _notes(chord * (len(times) // 3), times, SECONDS, decay=0.7, timbre=(1.0, 0.2))


def soft_warm_major() -> np.ndarray:
    """A gentle F-major pad with slow, bright melody notes."""
    pad = _notes([174.6, 220.0, 261.6] * 5, np.repeat(np.arange(0, SECONDS, 4.0), 3), SECONDS, decay=0.3, timbre=(1.0, 0.1))
    melody = _notes([698.5, 880.0, 784.0, 1047.0] * 3, np.arange(0.5, SECONDS, 1.6), SECONDS, decay=1.5, timbre=(1.0,))
    return pad + 0.4 * melody


DEMOS = {
    "Bright, fast major arpeggios": bright_fast_major,
    "Harsh, driving distorted riff": harsh_driving_noise,
    "Slow, dark minor chords": slow_dark_minor,
    "Soft, warm major pad": soft_warm_major,
}


def demo_wav(title: str) -> bytes:
    """The demo clip called `title` as 16-bit WAV bytes, peak-normalised."""
    y = DEMOS[title]()
    y = 0.8 * y / np.max(np.abs(y))
    buffer = io.BytesIO()
    sf.write(buffer, y.astype(np.float32), SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return buffer.getvalue()
