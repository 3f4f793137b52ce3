"""How fast EmotioNet analyses music, as figures measured in one run (no pass/fail).

    .venv/bin/python bench/analyze_speed.py [--repeats 7] [--files 16]

1. A 45 s MP3 (44.1 kHz stereo, synthesised): median end-to-end analysis (decode + features +
   the report's models, CNN and SVRs, + timeline) next to the floor (decode + one STFT) measured
   in the same run; and the same with the pretrained musicnn model added (what the app runs).
2. The first analysis in a fresh process (`python -m emotionet analyze`), wall time, with the
   numba cache warm (librosa compiles its numba code once per environment: ~15-30 s, done by
   `make run`/`make test` at install time and by the app when it loads the models).
3. Files per second over a folder of 30 s clips with one worker and with two (both cores).
Prints the figures and writes bench/results/analyze_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine, median_time  # noqa: E402
from emotionet import features  # noqa: E402
from emotionet.batch import analyze_files  # noqa: E402
from emotionet.demo import DEMOS  # noqa: E402
from emotionet.io import audio  # noqa: E402
from emotionet.predict import Predictor  # noqa: E402

OUT = ROOT / "bench" / "results" / "analyze_speed.json"


def music(seconds: float, sr: int, seed: int) -> np.ndarray:
    """Demo-clip material looped to `seconds`, resampled crudely to `sr`, with a little noise."""
    makers = list(DEMOS.values())
    y = makers[seed % len(makers)]()
    y = np.resize(y, int(seconds * 22050))
    y = np.interp(np.arange(int(seconds * sr)) * 22050 / sr, np.arange(len(y)), y)
    y = 0.7 * y / np.abs(y).max() + 0.005 * np.random.default_rng(seed).standard_normal(len(y))
    return y.astype(np.float32)


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--files", type=int, default=16)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="emotionet-bench-"))
    mp3 = tmp / "clip45.mp3"
    sf.write(str(mp3), np.stack([music(45, 44100, 0)] * 2, 1), 44100, format="MP3")

    predictor = Predictor.load()
    report_models = Predictor.load(pretrained=False)

    def floor():
        clip = audio.load_clip(mp3)
        np.abs(librosa.stft(clip.samples, n_fft=features.N_FFT, hop_length=features.HOP))

    stages = {
        "decode": lambda: audio.load_clip(mp3),
        "decode_plus_stft": floor,
        "decode_plus_features": lambda: features.compute_features(audio.load_clip(mp3).samples),
        "end_to_end_report_models": lambda: report_models.analyze(mp3),
        "end_to_end_all_models": lambda: predictor.analyze(mp3),
    }
    timing = {name: median_time(fn, args.repeats) for name, fn in stages.items()}

    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "emotionet", "analyze", str(mp3), "--json", "--workers", "1"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    fresh = time.perf_counter() - start

    folder = tmp / "folder"
    folder.mkdir()
    for i in range(args.files):
        sf.write(str(folder / f"song{i}.wav"), music(30, 22050, i + 1), 22050)
    paths = sorted(folder.glob("*.wav"))
    throughput = {}
    for workers in (1, 2):
        start = time.perf_counter()
        results = list(analyze_files(paths, workers=workers))
        assert not any(isinstance(r, str) for _, r in results)
        throughput[workers] = len(paths) / (time.perf_counter() - start)

    report = {
        "machine": machine(load_average=os.getloadavg()),
        "clip": "45 s MP3, 44.1 kHz stereo",
        "median_seconds": {k: round(v, 4) for k, v in timing.items()},
        "report_models_over_floor": round(timing["end_to_end_report_models"] / timing["decode_plus_stft"], 2),
        "all_models_over_floor": round(timing["end_to_end_all_models"] / timing["decode_plus_stft"], 2),
        "models": predictor.model_names,
        "fresh_process_first_analysis_seconds": round(fresh, 2),
        "files_per_second": {
            "1_worker": round(throughput[1], 2),
            "2_workers": round(throughput[2], 2),
            "speedup": round(throughput[2] / throughput[1], 2),
        },
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
