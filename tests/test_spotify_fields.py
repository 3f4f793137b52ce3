"""Spotify's fields as Spotify defines them (issue 33): `duration_ms` from the container with the
encoder's delay and padding removed, `loudness` as the integrated loudness of the stereo signal
(ITU-R BS.1770-4 / EBU R128), `key`/`mode` from the file's own key measure; all stored once per song
and written by `export` and `tag`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from helpers_library import bundle  # noqa: F401 (fixture)
from helpers_playlists import write_song
from test_tempo_key import progression

from emotionet.features import key as keys
from emotionet.features import loudness
from emotionet.library import track

# BS.1770-4, table 1 and 2: the K-weighting filter's coefficients at 48 kHz
SHELF_48K = ([1.53512485958697, -2.69169618940638, 1.19839281085285], [1.0, -1.69065929318241, 0.73248077421585])
HIGH_PASS_48K = ([1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621])


def test_the_k_weighting_at_48khz_is_the_standards():
    sos = loudness.k_weighting(48000)
    for stage, (b, a) in zip(sos, (SHELF_48K, HIGH_PASS_48K)):
        np.testing.assert_allclose(stage[:3], b, atol=1e-9)
        np.testing.assert_allclose(stage[3:], a, atol=1e-9)


@pytest.mark.parametrize("rate", [44100, 48000, 22050])
def test_a_1khz_tone_at_minus_23_dbfs_reads_minus_23_lufs(rate):
    """EBU Tech 3341's first case: a stereo 997 Hz sine at -23 dBFS is -23.0 LUFS (within 0.1 LU)."""
    t = np.arange(rate * 20) / rate
    y = 10 ** (-23 / 20) * np.sin(2 * np.pi * 997 * t)
    assert loudness.integrated_loudness(np.stack([y, y], 1), rate) == pytest.approx(-23.0, abs=0.1)


def test_gating_leaves_out_silence_and_quiet_passages():
    rate = 48000
    t = np.arange(rate * 20) / rate
    loud = 10 ** (-23 / 20) * np.sin(2 * np.pi * 997 * t)
    quiet = 10 ** (-60 / 20) * np.sin(2 * np.pi * 997 * t)  # 37 LU below: under the relative gate
    signal = np.concatenate([loud, quiet, np.zeros(rate * 20)])
    assert loudness.integrated_loudness(np.stack([signal, signal], 1), rate) == pytest.approx(-23.0, abs=0.1)
    assert loudness.integrated_loudness(np.zeros((rate * 5, 2)), rate) == float("-inf")


def test_wide_stereo_is_measured_on_both_channels_not_a_mono_mix(tmp_path):
    """Left and right in opposite phase: a mono mix is silence; the stereo signal is as loud as one side."""
    rate = 44100
    y = 0.2 * progression(9, True, 120, seconds=20.0)
    y = np.interp(np.arange(len(y) * 2) / 2, np.arange(len(y)), y)[: rate * 20].astype(np.float32)
    path = tmp_path / "wide.wav"
    sf.write(path, np.stack([y, -y], 1), rate)
    fields = track.measure(str(path))
    one_side = loudness.integrated_loudness(np.stack([y, y], 1), rate)
    assert fields["loudness"] == pytest.approx(one_side, abs=0.05)
    assert fields["loudness"] > -40  # the old RMS of the mono mix: -inf dB, clipped


@pytest.mark.parametrize("encoder", ["libsndfile (LAME)", "ffmpeg (PyAV)"])
def test_duration_ms_is_the_containers_without_encoder_padding(tmp_path, encoder):
    """An MP3 of exactly 29.126 s: the encoder adds a delay and pads the last frame; the container's
    gapless fields say how much, and duration_ms is within 30 ms of the audio's own length."""
    rate, seconds = 44100, 29.126
    y = (0.3 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * rate)) / rate)).astype(np.float32)
    path = tmp_path / "song.mp3"
    if encoder.startswith("libsndfile"):
        sf.write(path, np.stack([y, y], 1), rate)
    else:
        av = pytest.importorskip("av")
        with av.open(str(path), "w") as container:
            stream = container.add_stream("mp3", rate=rate)
            stream.layout = "stereo"
            frame = av.AudioFrame.from_ndarray(np.stack([y, y]), format="fltp", layout="stereo")
            frame.sample_rate = rate
            for packet in [*stream.encode(frame), *stream.encode(None)]:
                container.mux(packet)
    assert abs(track.measure(str(path))["duration_ms"] - seconds * 1000) <= 30


@pytest.mark.parametrize("rate", [22050, 44100])
@pytest.mark.parametrize(("root", "minor"), [(0, False), (9, True), (6, False), (3, True), (10, True)])
def test_the_key_of_a_synthesised_progression(root, minor, rate):
    y = progression(root, minor, 110, seconds=20.0)  # at 22.05 kHz
    if rate == 44100:
        y = np.interp(np.arange(2 * len(y)) / 2, np.arange(len(y)), y).astype(np.float32)
    pitch, mode, strength = keys.detect(y, rate)
    assert (pitch, mode) == (root, 0 if minor else 1) and strength > 0.5
    assert keys.detect(np.zeros(rate * 5, np.float32), rate)[0] == -1  # silence: no key


def test_a_tone_adds_to_the_fundamentals_it_may_be_a_harmonic_of():
    """HPCP's harmonic weighting: A 440 Hz counts 9 for A (its own, 2nd and 4th harmonic), 1 for D
    (A is D's 3rd harmonic) and 1 / 1.161 squared for F (its 5th), each times the cosine of its
    distance to the tempered pitch in semitones times pi; nothing elsewhere."""
    t = np.arange(keys.SR * 3) / keys.SR
    profile = keys.chroma((0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))
    a, d, f = (keys.NOTES.index(n) for n in ("A", "D", "F"))
    off_d = 12 * np.log2(440 / 3 * 2 / 293.665)  # A / 3, two octaves up, against D
    off_f = 12 * np.log2(440 / 5 * 4 / 349.228)
    assert profile[a] == 1.0
    assert profile[d] == pytest.approx(np.cos(np.pi * off_d) / 9, rel=0.03)
    assert profile[f] == pytest.approx(np.cos(np.pi * off_f) * (1 / (12 * np.log2(5) / 24)) ** 2 / 9, rel=0.03)
    assert np.delete(profile, [a, d, f]).max() < 1e-3


def test_the_profile_is_the_same_however_the_audio_is_cut_into_blocks():
    y = progression(4, False, 100, seconds=12.0)
    y = np.interp(np.arange(2 * len(y)) / 2, np.arange(len(y)), y).astype(np.float32)
    whole = keys.chroma(y)
    chroma = keys.Chroma()
    for start, size in zip(np.cumsum([0, 1000, 77777, 4096, 300000]), (1000, 77777, 4096, 300000, len(y))):
        chroma.push(y[start : start + size])
    assert np.allclose(chroma.result(), whole, atol=1e-9) and whole.max() == 1.0


def test_weak_pitch_classes_are_gated_before_the_profiles_are_matched():
    """The song's profile is scaled to a maximum of 1 and classes below 0.2 count as 0: a faint
    leading-note haze (0.15 on every other class) does not move a clear A minor triad's key."""
    triad = np.full(12, 0.15)
    triad[[9, 0, 4]] = (1.0, 0.8, 0.9)  # A C E
    assert keys.key_of(triad)[:2] == (9, 0) == keys.key_of(np.where(triad < 0.2, 0, triad))[:2]
    assert keys.key_of(triad)[2] == pytest.approx(keys.key_of(np.where(triad < 0.2, 0, triad))[2])


def test_export_writes_the_measured_fields_and_stores_them_once(tmp_path, bundle, monkeypatch):
    from emotionet.cli import main

    monkeypatch.setenv("EMOTIONET_DATA_DIR", str(tmp_path / "data"))
    music = tmp_path / "music"
    rate = 44100
    y = 0.3 * progression(9, True, 120, seconds=12.0)
    y = np.interp(np.arange(int(len(y) * 2)) / 2, np.arange(len(y)), y).astype(np.float32)
    music.mkdir()
    sf.write(music / "a minor.wav", np.stack([y, -0.5 * y], 1), rate)  # wide: the mono mix is 6 dB down
    write_song(music / "other.flac", "bright", 4)
    out = tmp_path / "library.json"
    assert main(["export", str(music), "-o", str(out), "--checkpoints", str(bundle), "--workers", "1"]) == 0
    rows = {r["path"].rsplit("/", 1)[-1]: r for r in json.loads(out.read_text())}
    wide = rows["a minor.wav"]
    assert (wide["key"], wide["mode"]) == (9, 0)
    assert wide["duration_ms"] == pytest.approx(len(y) / rate * 1000, abs=1)
    assert wide["loudness"] == pytest.approx(loudness.integrated_loudness(np.stack([y, 0.5 * y], 1), rate), abs=0.05)
    calls = []
    monkeypatch.setattr(track, "measure", lambda path: calls.append(path) or {})
    assert main(["export", str(music), "-o", str(out), "--checkpoints", str(bundle), "--workers", "1"]) == 0
    assert calls == []  # stored with the song: nothing decoded again
