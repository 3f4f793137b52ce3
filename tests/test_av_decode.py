"""M4A/AAC through PyAV (no system ffmpeg): the same excerpt semantics and clear errors as load_clip."""

from __future__ import annotations

import io

import numpy as np
import pytest

from emotionet.io.audio import SAMPLE_RATE, AudioError, load_clip
from emotionet.io.av_decode import decode

av = pytest.importorskip("av")


def encode(y: np.ndarray, sr: int, fmt: str = "mp4", codec: str = "aac", channels: int = 2) -> bytes:
    """`y` encoded by PyAV's own encoder (AAC in MP4 = M4A; fmt="adts" = raw .aac)."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=fmt) as out:
        stream = out.add_stream(codec, rate=sr, layout="stereo" if channels == 2 else "mono")
        data = np.repeat(y[None, :], channels, 0).astype(np.float32)
        for i in range(0, data.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(data[:, i : i + 1024]), format="fltp", layout=stream.layout.name
            )
            frame.sample_rate = sr
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def two_tones(seconds: float = 30.0, sr: int = 44100, switch_s: float = 15.0) -> np.ndarray:
    """440 Hz until `switch_s`, 880 Hz after: where the switch lands shows where an excerpt starts."""
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * np.where(t < switch_s, 440.0, 880.0) * t)).astype(np.float32)


def switch_time(y: np.ndarray) -> float:
    """Seconds into `y` where the dominant frequency first passes 600 Hz."""
    hop = 512
    frames = np.lib.stride_tricks.sliding_window_view(y, 2048)[::hop] * np.hanning(2048)
    freqs = np.fft.rfftfreq(2048, 1 / SAMPLE_RATE)[np.abs(np.fft.rfft(frames)).argmax(axis=1)]
    return (int(np.argmax(freqs > 600)) * hop + 1024) / SAMPLE_RATE


@pytest.fixture(scope="module")
def m4a() -> bytes:
    return encode(two_tones(), 44100)


def test_m4a_decodes_whole_at_the_analysis_rate(m4a):
    clip = decode(m4a, name="phone.m4a")
    assert clip.start_s == 0.0
    assert clip.duration_s == pytest.approx(30.0, abs=0.1)
    assert clip.seconds == pytest.approx(30.0, abs=0.1)
    assert clip.samples.dtype == np.float32
    assert np.abs(clip.samples[SAMPLE_RATE * 5 : SAMPLE_RATE * 6]).max() == pytest.approx(0.3, abs=0.03)
    assert switch_time(clip.samples) == pytest.approx(15.0, abs=0.1)


def test_m4a_excerpt_is_the_middle_and_seeks_accurately(m4a):
    clip = decode(m4a, seconds=10.0)
    assert clip.start_s == pytest.approx(10.0, abs=0.05)
    assert clip.seconds == pytest.approx(10.0, abs=0.01)
    # the file's 15 s switch lies 5 s into its middle 10 s: the excerpt starts where it says
    assert switch_time(clip.samples) == pytest.approx(5.0, abs=0.1)


def test_load_clip_reads_m4a_from_a_path_and_from_bytes(tmp_path, m4a):
    path = tmp_path / "song.m4a"
    path.write_bytes(m4a)
    from_path = load_clip(path, seconds=10.0)
    from_bytes = load_clip(m4a, seconds=10.0, name="song.m4a")
    assert from_path.start_s == pytest.approx(10.0, abs=0.05)
    np.testing.assert_allclose(from_path.samples, from_bytes.samples)


def test_raw_aac_without_a_duration_header_and_mono_input():
    clip = decode(encode(two_tones(), 44100, fmt="adts", channels=1), seconds=10.0, name="memo.aac")
    assert clip.seconds == pytest.approx(10.0, abs=0.01)
    assert clip.duration_s == pytest.approx(30.0, abs=1.0)  # ADTS durations are estimated from bitrate


def test_garbage_and_truncated_files_are_clear_audio_errors(m4a):
    with pytest.raises(AudioError, match="Could not read notes.m4a"):
        decode(b"this is not audio at all" * 100, name="notes.m4a")
    with pytest.raises(AudioError, match="empty"):
        decode(b"", name="x.m4a")
    with pytest.raises(AudioError, match="Could not read cut.m4a"):
        load_clip(m4a[:2000], name="cut.m4a")  # the header promises audio that is not there


def test_a_file_with_no_audio_stream_says_so():
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height = 64, 64
        for _ in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with pytest.raises(AudioError, match="no audio stream"):
        decode(buffer.getvalue(), name="video.mp4")


def test_m4a_streams_block_by_block_into_the_analysis(m4a, monkeypatch):
    """The first block reaches the analysis while most of the file is still undecoded: an hour of
    M4A never sits in memory whole (issue 12), and the blocks add up to the whole song."""
    from emotionet.io import audio, av_decode

    decoded, seen_at_first_block = [], None
    original = av_decode._mono

    def counting(frame, converter):
        decoded.append(frame.samples)
        return original(frame, converter)

    monkeypatch.setattr(av_decode, "_mono", counting)
    excerpt = audio.open_excerpt(m4a, seconds=None, name="phone.m4a")
    blocks = []
    for block in excerpt.blocks():
        if seen_at_first_block is None:
            seen_at_first_block = sum(decoded) / 44100
        blocks.append(len(block))
    excerpt.finish()
    assert seen_at_first_block is not None and seen_at_first_block < 15.0  # of 30 s
    assert len(blocks) >= 3 and max(blocks) <= 11 * SAMPLE_RATE
    assert sum(blocks) / SAMPLE_RATE == pytest.approx(30.0, abs=0.1)


def test_damage_part_way_through_an_m4a_is_a_clear_error_while_reading(m4a):
    from emotionet.io import audio

    cut = m4a[: len(m4a) // 2] + bytes(len(m4a) // 2)  # the second half zeroed
    try:
        excerpt = audio.open_excerpt(cut, seconds=None, name="broken.m4a")
        for _ in excerpt.blocks():
            pass
        excerpt.finish()
    except AudioError as error:
        assert "broken.m4a" in str(error)
    else:  # ffmpeg may decode what is left and stop: then less than the whole song came out
        assert excerpt.seconds < 30.0
