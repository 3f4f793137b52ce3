"""What sections and "what the model hears" cost on a 4-minute song, next to decode + one STFT.

    .venv/bin/python bench/section_speed.py [--repeats 3] [--no-end-to-end]

A synthetic 4-minute MP3 (44.1 kHz stereo: pad, riff, pad, riff, a minute each) is written once.
Measured in one run, median of `--repeats` (after a warm-up):
  floor          decode (whole file) + one STFT (n_fft 2048, hop 512): the cost of touching the song
  segmentation   sections.segment on the librosa features and the musicnn penultimate embedding
                 (given), plus the per-section values and the summary
  explanation    explain.measure (reusing the features' chroma) + top tags of the song and of
                 every section
  end_to_end     Predictor.analyze: decode, features, every model, musicnn once,
                 sections, explanation (one run unless --repeats-e2e)
Each as seconds and as a ratio to the floor. Prints and writes bench/results/section_speed.json.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine, median_time, write_result  # noqa: E402
from emotionet import features  # noqa: E402
from emotionet.analysis import explain, song  # noqa: E402
from tests import demo_song  # noqa: E402
from emotionet.analysis import sections as sec  # noqa: E402
from emotionet.io import audio  # noqa: E402
from emotionet.models import pretrained  # noqa: E402
from emotionet.predict import Predictor  # noqa: E402

OUT = ROOT / "bench" / "results" / "section_speed.json"


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--repeats-e2e", type=int, default=1)
    parser.add_argument("--no-end-to-end", action="store_true")
    args = parser.parse_args()

    y = demo_song.song([("pad", 60), ("riff", 60), ("pad", 60), ("riff", 60)])
    y44 = np.interp(np.arange(int(len(y) * 44100 / 22050)) * 22050 / 44100, np.arange(len(y)), y).astype(np.float32)
    mp3 = Path(tempfile.mkdtemp(prefix="emotionet-bench-")) / "song4min.mp3"
    sf.write(str(mp3), np.stack([y44, y44], 1), 44100, format="MP3")

    def floor():
        clip = audio.load_clip(mp3, seconds=None)
        np.abs(librosa.stft(clip.samples, n_fft=features.N_FFT, hop_length=features.HOP))

    predictor = Predictor.load()
    clip = audio.load_clip(mp3, seconds=None)
    feats = features.compute_features(clip.samples)
    parts, starts = pretrained.embed_parts(predictor.backbones, clip.samples)
    per_patch = pretrained.select(parts, song.SECTION_PARTS)
    model = predictor.bundle.pretrained
    found = {}

    def segmentation():
        series = [sec.feature_series(feats), sec.patch_series(per_patch, starts)]
        spans, _ = sec.segment(series, clip.seconds)
        emb = pretrained.window_embeddings(pretrained.select(parts, model.part_names), starts, spans)
        values = predictor.calibration("pretrained").apply(model.predict_raw(emb))
        found["song"] = sec.summarise(spans, values, predictor.thresholds, predictor.calibration("pretrained"))

    def explanation():
        explain.explain(clip.samples, parts, chroma=feats["chroma"])
        for s in found["song"].sections:
            explain.top_tags(parts, 3, None, starts, (s.start_s, s.end_s))

    figures = {
        "floor_s": median_time(floor, args.repeats),
        "segmentation_s": median_time(segmentation, args.repeats),
        "explanation_s": median_time(explanation, args.repeats),
    }
    if not args.no_end_to_end:
        figures["end_to_end_s"] = median_time(lambda: predictor.analyze(mp3), args.repeats_e2e)
    floor_s = figures["floor_s"]
    ratios = {k.replace("_s", "_ratio"): round(v / floor_s, 2) for k, v in figures.items() if k != "floor_s"}
    ratios["segmentation_plus_explanation_ratio"] = round(
        (figures["segmentation_s"] + figures["explanation_s"]) / floor_s, 2
    )
    result = {
        "song": "synthetic 4-minute MP3, 44.1 kHz stereo: pad, riff, pad, riff (a minute each)",
        "sections_found": [[round(s.start_s, 1), round(s.end_s, 1), s.mood] for s in found["song"].sections],
        "arc": found["song"].arc,
        **{k: round(v, 4) for k, v in figures.items()},
        **ratios,
        "repeats": args.repeats,
        "machine": machine(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return write_result(OUT, result)


if __name__ == "__main__":
    main()
