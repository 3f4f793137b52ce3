"""Hostile input on the audio, model and store side (issue 26): each test is one case, stated as the
behaviour that holds. Edited model settings are refused until rehashed; a write that fails midway
(a full disk) leaves nothing behind and says so in one line; steady noise is flagged and answered
with no more than chance confidence; a few absurd samples are repaired, not a reason to silence the
whole file; a long silent file is refused before any feature work.

Cases that held before issue 26 and are tested elsewhere: corrupt, empty and truncated audio, NaN
samples and silence (test_audio.py::test_bad_input_raises_a_clear_audio_error,
test_near_silence_is_refused_however_it_is_disguised; test_av_decode.py::
test_garbage_and_truncated_files_are_clear_audio_errors); hashed checkpoints
(test_checkpoints.py::test_a_changed_weight_is_refused_naming_the_file) and musicnn weights
(test_tf_checkpoint.py::test_flipped_data_byte_is_a_crc_mismatch); 8 processes creating the
database at once (test_storage.py); an hour-long file's memory (test_memory.py,
test_audio.py::test_an_hour_long_file_costs_no_more_memory_than_its_excerpt). The 10-hour header,
8 channels at 192 kHz and `weights_only` loading are tested here.
"""

from __future__ import annotations

import builtins
import errno
import io
import json
import os
import shutil
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from emotionet import features
from emotionet.io.audio import SAMPLE_RATE, AudioError, load_clip
from emotionet.models import checkpoints
from emotionet.models.checkpoints import CheckpointError, ModelBundle
from emotionet.mood import CHANCE
from emotionet.predict import Predictor
from emotionet.team.storage import AudioStore
from tests.conftest import REPO, synth, write_audio

# --------------------------------------------------------------------------- model settings (case 6)


@pytest.fixture
def copy(tmp_path, shipped_checkpoints):
    return shutil.copytree(shipped_checkpoints, tmp_path / "checkpoints")


def edit_config(folder: Path, change) -> None:
    config = json.loads((folder / "config.json").read_text())
    change(config)
    (folder / "config.json").write_text(json.dumps(config, indent=2))


EDITS = {  # a number that decides the mood, edited by hand
    "mood_centre": lambda c: c.update(mood_centre=[0.1, 0.1]),
    "calibration": lambda c: c["calibration"]["pretrained"].update(pivot_valence=0.2),
    "joint weights": lambda c: c["joint"].update(blend=[0.5, 0.5]),
    "headline": lambda c: c.update(headline="svr"),
    "window": lambda c: c.update(window_seconds=3.0),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edited_number_in_config_json_is_refused_naming_the_file_until_rehashed(copy, edit):
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps(dict(reversed(list(config.items())))))  # order and spacing only
    ModelBundle.load(copy)
    edit_config(copy, EDITS[edit])
    with pytest.raises(CheckpointError, match=r"config\.json.*rehash-checkpoints") as refused:
        ModelBundle.load(copy)
    assert "\n" not in str(refused.value)
    with pytest.raises(CheckpointError, match=r"config\.json"):
        checkpoints.mood_centre(copy)  # what the CLI's playlist and evaluate read without loading models
    checkpoints.record_hashes(copy)  # `rehash-checkpoints`: the change was on purpose
    ModelBundle.load(copy)


def test_the_cli_refuses_edited_settings_in_one_line_and_rehash_accepts_them(copy, tmp_path, cli_run):
    edit_config(copy, EDITS["mood_centre"])
    song = write_audio(tmp_path / "a.wav", synth(3.0))
    cli = cli_run

    refused = cli("analyze", str(song), "--checkpoints", str(copy), "--workers", "1")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    [line] = refused.stderr.strip().splitlines()
    assert "config.json" in line and "rehash-checkpoints" in line
    assert cli("rehash-checkpoints", "--checkpoints", str(copy)).returncode == 0
    assert ModelBundle.load(copy).mood_centre == (0.1, 0.1)


def test_the_app_shows_edited_settings_as_an_error_not_a_traceback(copy, monkeypatch):
    from streamlit.testing.v1 import AppTest

    edit_config(copy, EDITS["mood_centre"])
    monkeypatch.setenv("EMOTIONET_CHECKPOINTS", str(copy))
    at = AppTest.from_file(str(REPO / "app_pages" / "analyze.py"), default_timeout=120).run()
    assert not at.exception
    assert any("config.json" in e.value and "rehash-checkpoints" in e.value for e in at.error)


# --------------------------------------------------------------------------- a full disk (case 10, store side)


class FillingDisk:
    """Files opened for writing (under `root`, or through os.fdopen) take `room` bytes in all, then
    fail with ENOSPC part way through a write: a disk that fills up midway."""

    def __init__(self, monkeypatch, root: Path, room: int):
        self.root, self.room = str(root), room
        real_open, real_fdopen = builtins.open, os.fdopen

        def opener(file, mode="r", *args, **kwargs):
            handle = real_open(file, mode, *args, **kwargs)
            writing = any(m in mode for m in "wax+")
            under = isinstance(file, (str, os.PathLike)) and os.fspath(file).startswith(self.root)
            return Filling(handle, self) if writing and under else handle

        def fdopener(fd, mode="r", *args, **kwargs):
            handle = real_fdopen(fd, mode, *args, **kwargs)
            return Filling(handle, self) if any(m in mode for m in "wax+") else handle

        for module, name, value in ((builtins, "open", opener), (io, "open", opener), (os, "fdopen", fdopener)):
            monkeypatch.setattr(module, name, value)


class Filling:
    def __init__(self, handle, disk: FillingDisk):
        self._handle, self._disk = handle, disk

    def write(self, data):
        if len(data) > self._disk.room:
            self._handle.write(data[: self._disk.room])
            self._handle.flush()
            self._disk.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._disk.room -= len(data)
        return self._handle.write(data)

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._handle.close()


def files_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def assert_one_line_disk_full(error: BaseException, names: str) -> None:
    message = str(error)
    assert "\n" not in message and "disk is full" in message and names in message, message


def test_a_store_write_that_fails_midway_leaves_no_partial_file_and_says_why(tmp_path, monkeypatch):
    store = AudioStore(tmp_path / "audio")
    data = io.BytesIO()
    sf.write(data, synth(5.0), SAMPLE_RATE, format="WAV")
    with monkeypatch.context() as m:
        FillingDisk(m, tmp_path, room=1000)
        with pytest.raises(OSError) as failed:
            store.put(data.getvalue(), "song.wav")
    assert_one_line_disk_full(failed.value, str(store.root))
    assert files_in(tmp_path / "audio") == []  # no .tmp left behind, nothing that looks stored
    digest, path = store.put(data.getvalue(), "song.wav")  # room again: stored whole
    assert store.find(digest) == path and path.read_bytes() == data.getvalue()


def test_adding_a_track_on_a_full_disk_stores_nothing_and_registers_nothing(tmp_path, monkeypatch):
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from emotionet.team import labelling, storage

    engine = storage.make_engine(f"sqlite:///{tmp_path / 'team.db'}")
    store = AudioStore(tmp_path / "audio")
    data = io.BytesIO()
    sf.write(data, synth(5.0), SAMPLE_RATE, format="WAV")
    with monkeypatch.context() as m:
        FillingDisk(m, tmp_path / "audio", room=1000)
        with pytest.raises(OSError) as failed:
            labelling.add_track(engine, store, data.getvalue(), "song.wav", added_by="ann")
    assert_one_line_disk_full(failed.value, "audio")
    assert files_in(tmp_path / "audio") == []
    with Session(engine) as session:
        assert session.scalars(select(labelling.Track)).all() == []


def test_saving_models_on_a_full_disk_leaves_no_partial_file(shipped_checkpoints, tmp_path, monkeypatch):
    bundle = ModelBundle.load(shipped_checkpoints)
    out = tmp_path / "saved"
    with monkeypatch.context() as m:
        FillingDisk(m, tmp_path, room=200_000)  # the first files fit, a later one does not
        with pytest.raises(OSError) as failed:
            bundle.save(out)
    assert_one_line_disk_full(failed.value, "saved")
    left = files_in(out)
    assert "config.json" not in left and not any(".tmp" in name for name in left)
    for name in left:  # whatever was written is whole (np.load / torch.load read it)
        if name.endswith(".pt"):
            torch.load(out / name, weights_only=True)
        else:
            np.load(out / name, allow_pickle=False).files


def test_an_adapted_folder_that_cannot_be_written_leaves_nothing_behind(shipped_checkpoints, tmp_path, monkeypatch):
    from emotionet.team import adapt
    from tests.test_adapt import team_set

    bundle = ModelBundle.load(shipped_checkpoints)
    result = adapt.adapt(bundle, team_set(bundle, shift=(0.1, 0.0)), str(shipped_checkpoints))
    out = tmp_path / "models" / "adapted"
    out.parent.mkdir()
    with monkeypatch.context() as m:
        FillingDisk(m, tmp_path / "models", room=20_000)
        with pytest.raises(OSError) as failed:
            adapt.save(result, shipped_checkpoints, out)
    assert_one_line_disk_full(failed.value, "adapted")
    assert files_in(tmp_path / "models") == [] and not out.exists()
    checkpoints.ModelBundle.load(adapt.save(result, shipped_checkpoints, out))  # room again: a whole folder


# --------------------------------------------------------------------------- nonsense audio (case 11)


@pytest.fixture(scope="module")
def predictor(shipped_checkpoints):
    return Predictor.load(shipped_checkpoints, pretrained=False)


def noise(seconds: float, dbfs: float, colour: str = "white", seed: int = 0) -> np.ndarray:
    """Steady Gaussian noise at an RMS level of `dbfs`: white, pink (1/f power) or brown (1/f²)."""
    white = np.random.default_rng(seed).standard_normal(int(seconds * SAMPLE_RATE))
    exponent = {"white": 0.0, "pink": 0.5, "brown": 1.0}[colour]
    spectrum = np.fft.rfft(white)
    spectrum[1:] /= np.arange(1, len(spectrum)) ** exponent
    y = np.fft.irfft(spectrum, len(white))
    return (y / np.sqrt(np.mean(y**2)) * 10 ** (dbfs / 20)).astype(np.float32)


def test_steady_noise_is_flagged_and_answered_with_at_most_chance_confidence_while_music_is_not(predictor, tmp_path):
    for colour, dbfs in [("white", -55.0), ("pink", -20.0), ("brown", -30.0)]:
        path = write_audio(tmp_path / f"{colour}.wav", noise(12.0, dbfs, colour), subtype="FLOAT")
        analysis = predictor.analyze(path)
        assert any("noise" in w for w in analysis.warnings), (colour, analysis.warnings)
        assert all(p.confidence <= CHANCE for p in analysis.predictions.values()), (colour, analysis.predictions)
        assert all(s.confidence is None or s.confidence <= CHANCE for s in analysis.song.sections)
    for kind in ("chord", "dark"):
        music = predictor.analyze(write_audio(tmp_path / f"{kind}.wav", synth(12.0, kind=kind)))
        assert not any("noise" in w for w in music.warnings)
        assert any(p.confidence > CHANCE for p in music.predictions.values())
    hiss = synth(15.0) + noise(15.0, -30.0, "white", seed=1)  # music on an old recording's tape hiss
    assert not any("noise" in w for w in predictor.analyze(write_audio(tmp_path / "hiss.wav", hiss)).warnings)


@pytest.mark.parametrize("channels", [1, 2])
def test_a_few_absurd_samples_are_silenced_with_a_warning_not_the_whole_file(tmp_path, channels):
    y = synth(5.0)
    clean = load_clip(write_audio(tmp_path / "clean.wav", y, channels=channels, subtype="FLOAT"))
    damaged = y.copy()
    bad = [1000, 30_000, 60_000]
    damaged[bad] = [3e38, np.inf, -1e30]
    clip = load_clip(write_audio(tmp_path / "damaged.wav", damaged, channels=channels, subtype="FLOAT"))
    assert len(clip.warnings) == 1 and f"{3 * channels} damaged samples" in clip.warnings[0], clip.warnings
    away = np.ones(len(clip.samples), bool)
    for i in bad:
        away[max(0, i - 64) : i + 64] = False
    np.testing.assert_allclose(clip.samples[away], clean.samples[away], atol=1e-6)  # not rescaled
    assert np.max(np.abs(clip.samples)) <= 1.0


def test_a_float_file_mostly_out_of_range_is_still_scaled_not_silenced(tmp_path):
    y = synth(5.0) * 32768.0  # written unscaled, with one absurd sample too
    y[500] = 3e38
    clip = load_clip(write_audio(tmp_path / "unscaled.wav", y, subtype="FLOAT"))
    assert 0.5 < np.max(np.abs(clip.samples)) <= 1.0
    assert any("scaled" in w for w in clip.warnings) and any("1 damaged sample" in w for w in clip.warnings)


def test_a_long_silent_file_is_refused_before_any_feature_work_and_a_late_start_still_counts(
    predictor, tmp_path, monkeypatch
):
    path = tmp_path / "silent.flac"
    with sf.SoundFile(str(path), "w", 8000, 1, "PCM_16", format="FLAC") as f:
        for _ in range(20):  # 20 minutes
            f.write(np.zeros(8000 * 60, np.int16))
    pushed = []
    monkeypatch.setattr(features.FeatureStream, "push", lambda self, block: pushed.append(len(block)))
    with pytest.raises(AudioError, match="silent"):
        predictor.analyze(path)
    assert pushed == []  # no features computed for a file that is refused
    monkeypatch.undo()
    # a song after a long silent intro (longer than what is held back while listening) is analysed whole
    y = np.concatenate([np.zeros(SAMPLE_RATE * 45, np.float32), synth(10.0)])
    path = write_audio(tmp_path / "late.wav", y, subtype="FLOAT")
    analysis = predictor.analyze(path)
    assert analysis.end_s == pytest.approx(55.0, abs=0.01)
    expected = features.compute_features(y)
    for name, values in analysis.features.items():
        np.testing.assert_allclose(values, expected[name], rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------- cases that held before


def test_a_wav_header_claiming_ten_hours_reads_only_what_is_there(tmp_path):
    buffer = io.BytesIO()
    sf.write(buffer, synth(5.0, 8000), 8000, format="WAV", subtype="PCM_16")
    data = bytearray(buffer.getvalue())
    claimed = 10 * 3600 * 8000 * 2  # bytes of 10 hours of 8 kHz 16-bit mono
    at = data.find(b"data")
    struct.pack_into("<I", data, at + 4, claimed)
    struct.pack_into("<I", data, 4, claimed + 36)
    tracemalloc.start()
    clip = load_clip(bytes(data), seconds=None, name="liar.wav")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert clip.duration_s == pytest.approx(5.0, abs=0.01) and clip.seconds == pytest.approx(5.0, abs=0.01)
    assert peak < 50e6  # nothing sized by the header's 10 hours (576 MB of PCM, 1.2 GB as float32)


def test_eight_channels_at_192_khz_decode_to_mono_at_the_analysis_rate(tmp_path):
    path = write_audio(tmp_path / "surround.wav", synth(3.0, 192000), 192000, channels=8, subtype="PCM_24")
    clip = load_clip(path)
    assert clip.samples.ndim == 1 and len(clip.samples) == pytest.approx(3.0 * SAMPLE_RATE, rel=0.01)
    mono = load_clip(write_audio(tmp_path / "mono.wav", synth(3.0, 192000), 192000, subtype="FLOAT"))
    np.testing.assert_allclose(clip.samples, mono.samples, atol=1e-3)  # the mean of 8 equal channels


class Planted:
    """Unpickling this runs code: torch.load(weights_only=True) must refuse it."""

    def __reduce__(self):
        return (os.system, (f"touch {PLANTED_MARK}",))


PLANTED_MARK = Path(os.environ.get("TMPDIR", "/tmp")) / "emotionet-planted-pickle-ran"


def test_a_pickle_planted_in_a_checkpoint_is_never_run_even_when_rehashed(copy):
    PLANTED_MARK.unlink(missing_ok=True)
    torch.save({"weight": Planted()}, copy / "cnn.pt")
    with pytest.raises(CheckpointError, match=r"cnn\.pt"):
        ModelBundle.load(copy)  # its hash no longer matches
    checkpoints.record_hashes(copy)  # someone re-hashed it: weights_only loading still refuses
    with pytest.raises(CheckpointError, match=r"cnn\.pt cannot be read"):
        ModelBundle.load(copy)
    assert not PLANTED_MARK.exists()
