"""Audio in: every supported format, any rate and channel count, and clear errors for bad input."""

from __future__ import annotations

import io
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from emotionet.io.audio import EXCERPT_SECONDS, SAMPLE_RATE, AudioError, load_clip
from tests.conftest import synth, write_audio

FORMATS = [  # (suffix, soundfile format, subtype, sample rate, channels)
    ("wav", "WAV", "PCM_16", 44100, 2),
    ("wav", "WAV", "FLOAT", 96000, 1),
    ("wav", "WAV", "PCM_16", 8000, 6),
    ("flac", "FLAC", "PCM_16", 48000, 2),
    ("ogg", "OGG", "VORBIS", 44100, 2),
    ("opus", "OGG", "OPUS", 48000, 1),
    ("mp3", "MP3", "MPEG_LAYER_III", 44100, 2),
    ("mp3", "MP3", "MPEG_LAYER_III", 16000, 1),
]


@pytest.mark.parametrize("suffix,fmt,subtype,sr,channels", FORMATS)
def test_each_format_decodes_to_mono_at_the_analysis_rate(tmp_path, suffix, fmt, subtype, sr, channels):
    path = write_audio(tmp_path / f"clip.{suffix}", synth(3.0, sr), sr, channels, format=fmt, subtype=subtype)
    clip = load_clip(path)
    assert clip.samples.ndim == 1 and clip.samples.dtype == np.float32
    assert clip.duration_s == pytest.approx(3.0, abs=0.1)
    assert len(clip.samples) == pytest.approx(3.0 * SAMPLE_RATE, rel=0.04)
    assert 0.05 < np.abs(clip.samples).max() <= 1.0


def test_bytes_and_path_give_the_same_samples(wav_file):
    from_path = load_clip(wav_file)
    from_bytes = load_clip(wav_file.read_bytes(), name="upload.wav")
    np.testing.assert_array_equal(from_path.samples, from_bytes.samples)


def test_a_long_file_decodes_only_the_middle_excerpt(tmp_path):
    path = write_audio(tmp_path / "long.wav", synth(120.0, 8000), 8000)
    clip = load_clip(path)
    assert clip.duration_s == pytest.approx(120.0)
    assert clip.start_s == pytest.approx((120.0 - EXCERPT_SECONDS) / 2, abs=0.01)
    assert clip.seconds == pytest.approx(EXCERPT_SECONDS, abs=0.01)
    whole = load_clip(path, seconds=None)
    assert whole.seconds == pytest.approx(120.0, abs=0.01)


def test_an_hour_long_file_costs_no_more_memory_than_its_excerpt(tmp_path):
    path = tmp_path / "hour.wav"
    with sf.SoundFile(str(path), "w", 8000, 2, "PCM_16") as f:
        block = np.repeat(synth(60.0, 8000)[:, None], 2, axis=1)
        for _ in range(60):
            f.write(block)
    tracemalloc.start()
    clip = load_clip(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert clip.duration_s == pytest.approx(3600.0)
    excerpt_bytes = clip.samples.nbytes
    assert peak < 4 * excerpt_bytes, f"peak {peak / 1e6:.1f} MB for a {excerpt_bytes / 1e6:.1f} MB excerpt"


def _bad_inputs(tmp_path):
    good = io.BytesIO()
    sf.write(good, synth(5.0), SAMPLE_RATE, format="WAV")
    wav = good.getvalue()
    nan_wav = io.BytesIO()
    y = synth(3.0)
    y[100] = np.nan
    sf.write(nan_wav, y, SAMPLE_RATE, format="WAV", subtype="FLOAT")
    short, silent = io.BytesIO(), io.BytesIO()
    sf.write(short, synth(0.5), SAMPLE_RATE, format="WAV")
    sf.write(silent, np.zeros(SAMPLE_RATE * 3, np.float32), SAMPLE_RATE, format="WAV")
    return {
        "empty.wav": (b"", "empty"),
        "truncated.wav": (wav[:44], "no audio|too short|not audio"),
        "random.mp3": (np.random.default_rng(0).bytes(20000), "not audio|too short"),
        "notes.wav": (b"this is a text file, not audio\n" * 50, "not audio"),
        "nan.wav": (nan_wav.getvalue(), "NaN"),
        "short.wav": (short.getvalue(), "too short"),
        "silent.wav": (silent.getvalue(), "silent"),
    }


@pytest.mark.parametrize(
    "name", ["empty.wav", "truncated.wav", "random.mp3", "notes.wav", "nan.wav", "short.wav", "silent.wav"]
)
def test_bad_input_raises_a_clear_audio_error(tmp_path, name):
    data, message = _bad_inputs(tmp_path)[name]
    for source in (data, tmp_path / name):
        if not isinstance(source, bytes):
            source.write_bytes(data)
        with pytest.raises(AudioError, match=message):
            load_clip(source, name=name)


def test_a_missing_file_is_an_audio_error(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        load_clip(tmp_path / "nope.wav")


def test_a_damaged_m4a_is_a_clear_error_not_a_missing_ffmpeg():
    # M4A decodes through PyAV (tests/test_av_decode.py); a header with no audio after it is damaged
    fake_m4a = b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom" + bytes(2000)
    with pytest.raises(AudioError, match="Could not read song.m4a.*damaged") as raised:
        load_clip(fake_m4a, name="song.m4a")
    assert "install ffmpeg" not in str(raised.value)


def test_a_folder_or_a_broken_link_is_named_for_what_it_is(tmp_path):
    folder = tmp_path / "x.mp3"
    folder.mkdir()
    with pytest.raises(AudioError, match="is a folder"):
        load_clip(folder)
    dangling = tmp_path / "gone.wav"
    dangling.symlink_to(tmp_path / "nowhere.wav")
    with pytest.raises(AudioError, match="does not exist"):
        load_clip(dangling)
    loop = tmp_path / "loop.wav"
    loop.symlink_to(loop)
    with pytest.raises(AudioError, match="link loop"):
        load_clip(loop)


# --- near-silence and out-of-range input ---


def _wav(tmp_path, name, y, subtype="PCM_16"):
    return write_audio(tmp_path / name, np.asarray(y, np.float32), subtype=subtype)


def test_near_silence_is_refused_however_it_is_disguised(tmp_path):
    rng = np.random.default_rng(0)
    click = np.zeros(SAMPLE_RATE * 10, np.float32)
    click[SAMPLE_RATE * 5] = 0.9  # ten seconds of zeros with one click
    dc = np.full(SAMPLE_RATE * 10, 0.3, np.float32)  # a DC offset only
    hiss = (10 ** (-90 / 20) * rng.standard_normal(SAMPLE_RATE * 10)).astype(np.float32)  # -90 dBFS noise
    for name, y, subtype in [
        ("click.wav", click, "PCM_16"),
        ("dc.wav", dc, "PCM_16"),
        ("hiss.wav", hiss, "FLOAT"),
        ("dc_hiss.wav", dc + hiss, "FLOAT"),
    ]:
        with pytest.raises(AudioError, match="silent"):
            load_clip(_wav(tmp_path, name, y, subtype))


def test_quiet_music_music_on_a_dc_offset_and_a_late_start_are_still_analysed(tmp_path):
    music = synth(10.0)
    quiet = 10 ** (-40 / 20) * music / np.max(np.abs(music))  # peaks at -40 dBFS
    late = np.concatenate([np.zeros(SAMPLE_RATE * 20, np.float32), music])  # 20 s of silence first
    for name, y in [("quiet.wav", quiet), ("offset.wav", 0.3 + 0.5 * music), ("late.wav", late)]:
        assert load_clip(_wav(tmp_path, name, y, "FLOAT"), seconds=None).seconds > 9


def test_a_float_file_far_outside_plus_minus_one_is_scaled_and_says_so(tmp_path):
    y = synth(5.0)
    loud = _wav(tmp_path, "loud.wav", y * 1e6 / np.max(np.abs(y)), "FLOAT")
    clip = load_clip(loud)
    assert np.max(np.abs(clip.samples)) <= 1.01
    assert len(clip.warnings) == 1 and "scaled" in clip.warnings[0] and "1e+06" in clip.warnings[0]
    normal = load_clip(_wav(tmp_path, "normal.wav", y / np.max(np.abs(y)), "FLOAT"))
    assert normal.warnings == ()
    np.testing.assert_allclose(clip.samples, normal.samples, atol=1e-5)
