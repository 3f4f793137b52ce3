"""emotionet.features.dsp against librosa itself: the analysis path computes the report's librosa
features without importing librosa (a second of every fresh process), so each operation must give
librosa's answer on the same input, and the frozen filter banks must be librosa's banks."""

import json
import subprocess
import sys

import librosa
import numpy as np
import pytest

from emotionet.features import dsp
from tests.conftest import REPO, synth, write_audio

SR = 22050


def noisy_song(seconds=6.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    tones = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6))
    return (0.2 * tones + 0.05 * rng.standard_normal(len(t)) * np.linspace(0, 1, len(t))).astype(np.float32)


@pytest.mark.parametrize("name", sorted(dsp.BANKS))
def test_frozen_filter_banks_are_librosas(name):
    """If a librosa upgrade changes a bank, this fails: re-run `python -m emotionet.features.dsp`
    and retrain, since the shipped models learned from the old bank."""
    assert np.array_equal(dsp.filterbank(name), dsp.librosa_filterbank(name))


@pytest.mark.parametrize(("n_fft", "hop", "center"), [(2048, 512, True), (2048, 512, False), (512, 256, True)])
def test_stft_equals_librosas(n_fft, hop, center):
    y = noisy_song()
    expected = librosa.stft(y, n_fft=n_fft, hop_length=hop, center=center)
    got = dsp.stft(y, n_fft, hop, center=center)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6 * np.abs(expected).max())


def test_mel_db_mfcc_and_chroma_equal_librosas():
    power = np.abs(librosa.stft(noisy_song(), n_fft=2048, hop_length=512)) ** 2
    power[:, :4] = 0.0  # silent frames: chroma leaves them unscaled, dB floors them
    mel = librosa.feature.melspectrogram(S=power, sr=SR)
    np.testing.assert_allclose(dsp.mel_power(power), mel, rtol=1e-5, atol=1e-9)
    for top_db in (80.0, None):
        np.testing.assert_allclose(dsp.power_to_db(mel, top_db), librosa.power_to_db(mel, top_db=top_db), atol=1e-4)
    mel_db = librosa.power_to_db(mel)
    expected = librosa.feature.mfcc(S=mel_db, n_mfcc=13)
    np.testing.assert_allclose(dsp.mfcc(mel_db, 13), expected, atol=1e-5 * np.abs(expected).max())
    chroma = dsp.chroma(power)
    np.testing.assert_allclose(chroma, librosa.feature.chroma_stft(S=power, sr=SR, tuning=0.0), atol=1e-6)
    assert np.all(chroma[:, :4] == 0) and np.allclose(chroma[:, 4:].max(axis=0), 1.0)
    np.testing.assert_array_equal(dsp.fft_frequencies(SR, 2048), librosa.fft_frequencies(sr=SR, n_fft=2048))


@pytest.mark.parametrize("seed", range(6))
def test_tempo_and_its_tempogram_equal_librosas(seed):
    rng = np.random.default_rng(seed)
    beat_s, frames = rng.uniform(0.3, 1.0), int(rng.uniform(1000, 3000))
    t = np.arange(frames) * 512 / SR
    onsets = (np.maximum(0, np.sin(2 * np.pi * t / beat_s)) ** 8 + 0.3 * rng.random(frames)).astype(np.float32)
    if seed % 2:
        onsets[200:800] = 0.0  # a silence longer than the 344-frame window: stretches with no energy
    expected = librosa.feature.tempogram(onset_envelope=onsets, sr=SR, hop_length=512, win_length=344).mean(axis=1)
    np.testing.assert_allclose(dsp.mean_tempogram(onsets, 344), expected, rtol=1e-9, atol=1e-12)
    tempo = float(librosa.feature.tempo(onset_envelope=onsets, sr=SR, hop_length=512)[0])
    assert dsp.tempo(onsets, SR, 512) == tempo


def test_an_analysis_does_not_import_librosa(tmp_path, shipped_checkpoints):
    """What the fresh-process figure depends on: `analyze` with every model, the sections and
    what the model hears, runs without librosa, scipy.signal or numba being imported."""
    path = write_audio(tmp_path / "a.wav", synth(20.0))
    code = (
        "import sys; from emotionet import cli\n"
        f"code = cli.main(['analyze', {str(path)!r}, '--json', '--workers', '1'])\n"
        "print(code, sorted(m for m in ('librosa', 'scipy.signal', 'numba') if m in sys.modules), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.stderr.strip().endswith("0 []"), result.stderr[-2000:]
    analysis = json.loads(result.stdout)
    assert analysis["explanation"]["measurements"]["tempo_bpm"] > 0 and analysis["sections"] and analysis["pretrained"]
