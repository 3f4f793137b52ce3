"""Memory of long files: analysing a long file whole stays under 1 GB (issue 11: a 10-minute WAV
used to peak at 4.4 GB, an hour past 16.9 GB). bench/memory.py records the figures for an hour."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import REPO, synth

LIMIT_MB = 1000
MINUTES = 20  # long enough that holding the audio, its spectrogram or all patches at once would show


def peak_rss_mb(*args: str) -> tuple[dict, float]:
    """Run `python -m emotionet analyze ... --json` in a fresh process: (its JSON, its peak RSS in MB)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-m", "emotionet", "analyze", *args, "--json", "--workers", "1"],
                                cwd=REPO, stdout=out, stderr=err)  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        out.seek(0)
        err.seek(0)
        assert os.waitstatus_to_exitcode(status) == 0, err.read()[-3000:]
        return json.loads(out.read()), usage.ru_maxrss / 1024


@pytest.fixture(scope="module")
def long_wav(tmp_path_factory):
    """A 20-minute WAV of cheap synthetic music (8 kHz mono: decoding resamples it like any file)."""
    path = tmp_path_factory.mktemp("long") / "long.wav"
    minute = np.concatenate([synth(30.0, 8000), synth(30.0, 8000, kind="dark", seed=1)])
    with sf.SoundFile(str(path), "w", 8000, 1, "PCM_16") as f:
        for _ in range(MINUTES):
            f.write(minute)
    return path


@pytest.mark.parametrize("setting", [["--seconds", "45"], []], ids=["45 s snippet", "whole song (default)"])
def test_analysing_a_long_file_peaks_under_1_gb(long_wav, setting, shipped_checkpoints):
    analysis, peak = peak_rss_mb(str(long_wav), *setting)
    analysed = analysis["analysed"]["end_s"] - analysis["analysed"]["start_s"]
    assert analysed == pytest.approx(45.0 if setting else MINUTES * 60, abs=0.5)
    assert {"cnn", "svr", "pretrained"} <= set(analysis)  # every model ran over it
    assert analysis["sections"] and analysis["sections"][-1]["end_s"] == pytest.approx(analysis["analysed"]["end_s"], abs=0.5)
    print(f"\n{MINUTES} min file, {'45 s snippet' if setting else 'whole song'}: peak {peak:.0f} MB")
    assert peak < LIMIT_MB, f"peak resident memory {peak:.0f} MB"
