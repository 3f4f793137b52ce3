"""The whole song, every model, against the floor -- and the first analysis in a fresh process.

    .venv/bin/python bench/whole_song.py [--repeats 3] [--no-fresh] [--out FILE]

A synthetic 4-minute MP3 (44.1 kHz stereo: pad, riff, pad, riff, a minute each) is written once.
Measured in one run, median of `--repeats` after a warm-up:
  floor_s        decode of the whole file + one STFT (n_fft 2048, hop 512): touching the song once
  end_to_end_s   Predictor.analyze(mp3): the whole song decoded once into the features and musicnn,
                 every model once, the sections, the mood arc and what the model hears
  stages         from the same runs' progress reports: listening (decode + features + musicnn,
                 streamed), models (CNN, SVRs, pretrained head, calibration), describe (sections,
                 explanation)
  ratio          end_to_end_s / floor_s (issue 12 asks for at most 6, issue 31 for at most 4)
  threads        torch threads, set up as the CLI and the app do (io.threads: passive waiting, as
                 many as cores are free of other processes' work)
  fresh_process_s  wall time of `python -m emotionet analyze one.mp3 --json` in a new process
                 (imports, model loading, checks and the analysis of the whole 4-minute song), and
                 of the same with `--seconds 45` (the report's snippet), median of `--repeats`
Prints the figures and writes bench/results/whole_song.json. No figure is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emotionet.io import threads  # noqa: E402

threads.prepare()  # as the CLI and the app set themselves up: before torch and numpy load (issue 31)
import librosa  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from bench.common import machine, median_time, write_result  # noqa: E402
from emotionet import features  # noqa: E402
from emotionet.io import audio  # noqa: E402
from emotionet.predict import Predictor  # noqa: E402
from tests import demo_song  # noqa: E402

OUT = ROOT / "bench" / "results" / "whole_song.json"


def write_mp3(folder: Path) -> Path:
    y = demo_song.song([("pad", 60), ("riff", 60), ("pad", 60), ("riff", 60)])
    y44 = np.interp(np.arange(int(len(y) * 44100 / 22050)) * 22050 / 44100, np.arange(len(y)), y).astype(np.float32)
    path = folder / "song4min.mp3"
    sf.write(str(path), np.stack([y44, y44], 1), 44100, format="MP3")
    return path


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-fresh", action="store_true", help="skip the fresh-process figures")
    parser.add_argument("--out", type=Path, default=OUT, help="where the JSON goes (default bench/results/)")
    args = parser.parse_args()
    mp3 = write_mp3(Path(tempfile.mkdtemp(prefix="emotionet-bench-")))

    def floor():
        clip = audio.load_clip(mp3, seconds=None)
        np.abs(librosa.stft(clip.samples, n_fft=features.N_FFT, hop_length=features.HOP))

    chosen_threads = threads.configure()  # as many as cores are free
    predictor = Predictor.load()
    stages: dict[str, list[float]] = {"listening_s": [], "models_s": [], "describe_s": []}
    found = {}

    def end_to_end():
        marks = {}
        start = time.perf_counter()

        def progress(fraction, message):
            marks[message.split(":")[0]] = time.perf_counter() - start

        analysis = predictor.analyze(mp3, progress=progress)
        total = time.perf_counter() - start
        stages["listening_s"].append(marks["listening"])
        stages["models_s"].append(marks["every model has listened"] - marks["listening"])
        stages["describe_s"].append(total - marks["every model has listened"])
        found["analysis"] = analysis

    figures = {"floor_s": median_time(floor, args.repeats), "end_to_end_s": median_time(end_to_end, args.repeats)}
    breakdown = {k: round(statistics.median(v[1:] or v), 3) for k, v in stages.items()}  # the warm-up left out
    song = found["analysis"].song
    result = {
        "song": "synthetic 4-minute MP3, 44.1 kHz stereo: pad, riff, pad, riff (a minute each)",
        "models": predictor.model_names,
        "threads": chosen_threads,
        **{k: round(v, 3) for k, v in figures.items()},
        "ratio": round(figures["end_to_end_s"] / figures["floor_s"], 2),
        "stages": breakdown,
        "sections_found": [[round(s.start_s, 1), round(s.end_s, 1), s.mood] for s in song.sections],
        "arc": song.arc,
        "hears": found["analysis"].explanation.hears,
        "json_bytes": len(json.dumps(found["analysis"].to_dict(), allow_nan=False)),
    }
    if not args.no_fresh:
        for key, extra in (("fresh_process_s", []), ("fresh_process_45s_snippet_s", ["--seconds", "45"])):
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-m", "emotionet", "analyze", str(mp3), "--json", *extra],
                    cwd=ROOT,
                    check=True,
                    capture_output=True,
                )
                times.append(time.perf_counter() - start)
            result[key] = round(statistics.median(times), 3)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import emotionet.cli"], cwd=ROOT, check=True)
        result["fresh_import_cli_s"] = round(time.perf_counter() - start, 3)
    result.update(
        {
            "repeats": args.repeats,
            "machine": machine(),
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    )
    return write_result(args.out, result)


if __name__ == "__main__":
    main()
