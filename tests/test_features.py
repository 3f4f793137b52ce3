"""Features: shapes, determinism, one shared STFT equal to librosa's separate calls, normalisation."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from emotionet.features import (
    CHANNEL_ROWS,
    HOP,
    N_FFT,
    ROW_LABELS,
    Normalizer,
    compute_features,
    summary_statistics,
)
from emotionet.io.audio import SAMPLE_RATE
from tests.conftest import synth


def test_feature_shapes_follow_the_report():
    y = synth(5.0)
    feats = compute_features(y)
    frames = 1 + len(y) // HOP
    assert feats["mfcc"].shape == (13, frames)
    assert feats["contrast"].shape == (7, frames)
    assert feats["chroma"].shape == (12, frames)
    assert {k: len(v) for k, v in ROW_LABELS.items()} == {"mfcc": 13, "contrast": 7, "chroma": 12}


def test_features_are_deterministic():
    y = synth(4.0, seed=3)
    a, b = compute_features(y), compute_features(y.copy())
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


def librosa_features(y: np.ndarray) -> dict[str, np.ndarray]:
    """The report's three features from librosa itself, one call each on the whole signal: what
    compute_features (one shared STFT, numpy operations from features.dsp) must reproduce."""
    return {
        "mfcc": librosa.feature.mfcc(y=y, sr=SAMPLE_RATE, n_mfcc=13, n_fft=N_FFT, hop_length=HOP),
        "contrast": librosa.feature.spectral_contrast(
            y=y, sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP, fmin=200.0, n_bands=6
        ),
        "chroma": librosa.feature.chroma_stft(y=y, sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP, tuning=0.0),
    }


def test_shared_stft_features_equal_separate_librosa_calls():
    y = synth(6.0, kind="dark")
    feats = compute_features(y)
    for name, expected in librosa_features(y).items():
        np.testing.assert_allclose(feats[name], expected, rtol=1e-4, atol=1e-4, err_msg=name)


def test_different_music_gives_different_features():
    bright, dark = compute_features(synth(4.0)), compute_features(synth(4.0, kind="dark"))
    assert summary_statistics(bright)[0] != pytest.approx(summary_statistics(dark)[0], rel=0.05)
    # the bright chord's energy sits in C, E, G; the dark one's in A, C, E
    assert np.argmax(bright["chroma"].mean(1)) in (0, 4, 7)
    assert np.argmax(dark["chroma"].mean(1)) in (9, 0, 4)


def test_normaliser_stacks_three_zero_padded_channels():
    sets = [compute_features(synth(3.0, seed=s, kind=k)) for s, k in enumerate(["chord", "dark", "noise"])]
    norm = Normalizer.fit(sets)
    stacked = norm.stack(sets[0])
    assert stacked.shape == (3, CHANNEL_ROWS, sets[0]["mfcc"].shape[1])
    assert stacked.dtype == np.float32
    np.testing.assert_array_equal(stacked[1, 7:], 0)  # contrast has 7 rows
    np.testing.assert_array_equal(stacked[2, 12:], 0)  # chroma has 12
    everything = np.concatenate([norm.stack(f) for f in sets], axis=2)
    np.testing.assert_allclose(everything[0].mean(axis=1), 0, atol=1e-4)
    np.testing.assert_allclose(everything[0].std(axis=1), 1, atol=1e-3)
    again = Normalizer.from_arrays(norm.to_arrays())
    np.testing.assert_array_equal(again.stack(sets[1]), norm.stack(sets[1]))


def test_summary_statistics_of_the_first_three_mfccs_is_six_numbers():
    feats = compute_features(synth(3.0))
    assert summary_statistics(feats, ("mfcc",), 3).shape == (6,)
    assert summary_statistics(feats).shape == (2 * (13 + 7 + 12),)


@pytest.mark.parametrize("block", [SAMPLE_RATE * 10, 7777, 4097])
def test_features_of_audio_in_blocks_equal_one_call_on_the_whole(block):
    """Streaming (what the analysis of a long file does) changes nothing: the STFT's overlap across
    blocks and the clip-wide 80 dB floors give the same matrices as librosa on the whole signal."""
    from emotionet.features import FeatureStream

    y = np.concatenate([synth(20.0, kind="dark"), np.zeros(SAMPLE_RATE * 5, np.float32), synth(17.3, seed=2)])
    stream = FeatureStream()
    for i in range(0, len(y), block):
        stream.push(y[i : i + block])
    streamed = stream.finish()
    for name, expected in librosa_features(y).items():
        assert streamed[name].shape == expected.shape
        np.testing.assert_allclose(streamed[name], expected, rtol=1e-4, atol=2e-3, err_msg=name)
