"""The field's reference key and tempo on 100 4Q clips: essentia's KeyExtractor and RhythmExtractor2013.

essentia is AGPL-3.0: it is never a dependency of EmotioNet and nothing in `emotionet/` imports it.
This script runs in a separate environment and imports nothing of EmotioNet; bench/tempo_key.py
compares EmotioNet's key and tempo with what it writes:

    python3.11 -m venv /tmp/essentia_venv && /tmp/essentia_venv/bin/pip install essentia soundfile numpy
    /tmp/essentia_venv/bin/python bench/essentia_reference.py    # -> bench/results/essentia_reference.json
    /tmp/essentia_venv/bin/python bench/essentia_reference.py b  # -> bench/results/essentia_reference_b.json

The clips: 25 per quadrant of ../shared/data/4q, every 7th song id in order (deterministic):
sample "a" from the first id on, sample "b" (a check that nothing is tuned to one sample) from the
fourth on, so that the two share no clip. Keys
come from KeyExtractor with its default profile and with the 'edma' and 'temperley' profiles (how
far essentia agrees with itself), each at 44.1 kHz mono as essentia's extractors expect.
"""

from __future__ import annotations

import csv
import json
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT.parent / "shared" / "data" / "4q"
RESULTS = ROOT / "bench" / "results"
PER_QUADRANT, STEP = 25, 7
SAMPLES = {"a": 0, "b": 3}  # sample -> the first row taken in each quadrant
PROFILES = ("default", "edma", "temperley")


def output(sample: str) -> Path:
    return RESULTS / ("essentia_reference.json" if sample == "a" else f"essentia_reference_{sample}.json")


def chosen_rows(sample: str = "a") -> list[dict]:
    rows = sorted(csv.DictReader((FOLDER / "labels.csv").open(encoding="utf-8")), key=lambda r: r["song_id"])
    out = []
    for quadrant in ("Q1", "Q2", "Q3", "Q4"):
        out += [r for r in rows if r["quadrant"] == quadrant][SAMPLES[sample] :: STEP][:PER_QUADRANT]
    return out


def main(sample: str) -> int:
    import essentia
    import essentia.standard as es

    essentia.log.infoActive = False
    extractors = {
        name: es.KeyExtractor() if name == "default" else es.KeyExtractor(profileType=name) for name in PROFILES
    }
    rhythm = es.RhythmExtractor2013(method="multifeature")
    clips = []
    for row in chosen_rows(sample):
        audio = es.MonoLoader(filename=str(FOLDER / row["path"]), sampleRate=44100)()
        entry = {"path": row["path"], "quadrant": row["quadrant"]}
        for name, extractor in extractors.items():
            key, scale, strength = extractor(audio)
            entry[name] = {"key": key, "scale": scale, "strength": round(float(strength), 3)}
        bpm = rhythm(audio)[0]
        entry["bpm"] = round(float(bpm), 2)
        clips.append(entry)
        print(entry["path"], entry["default"]["key"], entry["default"]["scale"], entry["bpm"], flush=True)
    result = {
        "what": "essentia KeyExtractor (default, edma, temperley profiles) and RhythmExtractor2013 on 4Q clips",
        "sample": sample,
        "essentia": essentia.__version__,
        "python": platform.python_version(),
        "clips": clips,
    }
    output(sample).write_text(json.dumps(result, indent=1) + "\n")
    print(f"{len(clips)} clips -> {output(sample)}")
    return 0


if __name__ == "__main__":
    choice = sys.argv[1] if len(sys.argv) > 1 else "a"
    if choice not in SAMPLES:
        sys.exit(f"usage: essentia_reference.py [{'|'.join(SAMPLES)}]")
    sys.exit(main(choice))
