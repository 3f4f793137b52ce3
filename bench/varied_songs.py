"""Varied songs of known moods (issue 30): is each section named by what it holds, and the song as a
listener would say it?

    .venv/bin/python bench/varied_songs.py [--songs 100] [--seed 0]

Builds songs of 2-4 parts from the 150 held-out validation clips of the 4Q set (`metrics.json` →
`predictions`: artists the CNN and SVR never trained on; ../shared/data, not in the repository). A
part is 1-3 clips of one editors' mood (30-90 s), the next part another mood. Each song is written
as a WAV to a temporary folder and analysed as `analyze` does. Measured:

- boundary F-measure: a found section boundary within ±5 s of a join between parts;
- section mood: the time-weighted share of the song whose section mood is the mood of the part
  under it, against the editors' moods, and against the model's own answer for each clip alone
  (what the sections can at best repeat);
- the song's answer: how often it names the longest part's mood (by the editors; by the model's
  own clip answers), how often it is said as mixed, and the same for the mean point of all the
  windows (the rule before issue 30, whose mood can be one the song never had);
- the issue's two 4-minute songs (four sad clips then four happy ones; eight clips of changing
  moods): whether every section is the mood most of its windows carry, the song its most frequent
  window mood, and mixed exactly when no mood holds half.

Writes bench/results/varied_songs.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine, write_result  # noqa: E402
from emotionet.io import audio  # noqa: E402
from emotionet.mood import MOOD_OF_QUADRANT, mood_of  # noqa: E402
from emotionet.predict import Predictor  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "4q"
OUT = ROOT / "bench" / "results" / "varied_songs.json"
RATE = 22050
TOLERANCE_S = 5.0


def held_out_clips() -> dict[str, list[Path]]:
    """Editors' mood -> the held-out validation clips of that mood."""
    ids = {p["song_id"] for p in json.loads((ROOT / "checkpoints" / "metrics.json").read_text())["predictions"]}
    with open(DATA / "labels.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["song_id"] in ids]
    out: dict[str, list[Path]] = {}
    for r in rows:
        out.setdefault(MOOD_OF_QUADRANT[r["quadrant"]], []).append(DATA / r["path"])
    return out


def load(path: Path) -> np.ndarray:
    clip = audio.load_clip(str(path), seconds=None)
    return np.asarray(clip.samples, np.float32)


def build(rng, clips: dict[str, list[Path]]) -> list[dict]:
    """Parts [{mood, clips}] of one song: 2-4 parts, each 1-3 clips of one mood, neighbours differ."""
    parts, last = [], None
    for _ in range(rng.integers(2, 5)):
        mood = rng.choice([m for m in clips if m != last])
        chosen = rng.choice(len(clips[mood]), size=rng.integers(1, 4), replace=False)
        parts.append({"mood": str(mood), "clips": [clips[mood][i] for i in chosen]})
        last = mood
    return parts


def f_measure(found: list[float], truth: list[float], tolerance: float = TOLERANCE_S) -> tuple[int, int, int]:
    """(hits, found, true) with each true boundary matched at most once."""
    free, hits = list(truth), 0
    for b in found:
        near = [t for t in free if abs(t - b) <= tolerance]
        if near:
            free.remove(min(near, key=lambda t: abs(t - b)))
            hits += 1
    return hits, len(found), len(truth)


def covering(spans: list[tuple[float, float, str]], start: float, end: float) -> str:
    """The label of the span that covers most of start..end."""
    overlap = {}
    for s, e, label in spans:
        overlap[label] = overlap.get(label, 0.0) + max(0.0, min(e, end) - max(s, start))
    return max(overlap, key=overlap.get)


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--songs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    clips = held_out_clips()
    predictor = Predictor.load()
    cache: dict[Path, tuple[np.ndarray, str]] = {}

    def clip(path: Path) -> tuple[np.ndarray, str]:
        if path not in cache:
            y = load(path)
            cache[path] = (
                y,
                predictor.analyze(_wav(y), name=path.name, describe=False).predictions[predictor.headline].mood,
            )
        return cache[path]

    hits = found = true = 0
    time_right = time_own = time_total = 0.0
    song = {"editors": 0, "own": 0, "mixed": 0, "mean_editors": 0, "mean_own": 0}
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.songs):
            parts = build(rng, clips)
            pieces, spans, own_spans, t = [], [], [], 0.0
            for part in parts:
                start = t
                for path in part["clips"]:
                    y, own = clip(path)
                    pieces.append(y)
                    own_spans.append((t, t + len(y) / RATE, own))
                    t += len(y) / RATE
                spans.append((start, t, part["mood"]))
            path = Path(tmp) / f"song{n}.wav"
            sf.write(path, np.concatenate(pieces), RATE)
            d = predictor.analyze(str(path)).to_dict()
            head = d[d["headline"]]
            bounds = [s["start_s"] for s in d["sections"][1:]]
            h, f, tr = f_measure(bounds, [s for s, _, _ in spans[1:]])
            hits, found, true = hits + h, found + f, true + tr
            for s in d["sections"]:
                length = s["end_s"] - s["start_s"]
                time_total += length
                time_right += length * (s["mood"] == covering(spans, s["start_s"], s["end_s"]))
                time_own += length * (s["mood"] == covering(own_spans, s["start_s"], s["end_s"]))
            longest = max(spans, key=lambda s: s[1] - s[0])[2]
            own_time = {}
            for s, e, m in own_spans:
                own_time[m] = own_time.get(m, 0.0) + e - s
            own_longest = max(own_time, key=own_time.get)
            windows = np.array([[w[d["headline"]]["valence"], w[d["headline"]]["arousal"]] for w in d["timeline"]])
            mean_mood = mood_of(*windows.mean(0), predictor.thresholds)
            song["editors"] += head["mood"] == longest
            song["own"] += head["mood"] == own_longest
            song["mixed"] += bool(head.get("mixed"))
            song["mean_editors"] += mean_mood == longest
            song["mean_own"] += mean_mood == own_longest
            print(
                n, [(p["mood"], len(p["clips"])) for p in parts], "->", head.get("mood"), head.get("mixed"), flush=True
            )
        cases = {}  # the two 4-minute songs: four sad clips then four happy ones; eight clips of changing moods
        moods8 = ["sad", "calm", "aggressive", "happy", "calm", "aggressive", "sad", "happy"]
        for case, plan in (("sad_then_happy", ["sad"] * 4 + ["happy"] * 4), ("eight_changing", moods8)):
            picks = [clips[m][int(rng.integers(len(clips[m])))] for m in plan]
            path = Path(tmp) / f"{case}.wav"
            sf.write(path, np.concatenate([clip(p)[0] for p in picks]), RATE)
            cases[case] = check_case(predictor.analyze(str(path)).to_dict(), plan)
            print(case, cases[case], flush=True)
    precision, recall = hits / max(found, 1), hits / max(true, 1)
    result = {
        "songs": args.songs,
        "seed": args.seed,
        "boundaries": {
            "tolerance_s": TOLERANCE_S,
            "precision": round(precision, 3),
            "recall": round(recall, 3),
            "f_measure": round(2 * precision * recall / max(precision + recall, 1e-9), 3),
            "found": found,
            "true": true,
        },
        "section_mood_time_share": {
            "editors": round(time_right / time_total, 3),
            "model_on_each_clip_alone": round(time_own / time_total, 3),
        },
        "song_names_longest_part": {
            "editors": round(song["editors"] / args.songs, 3),
            "model_on_each_clip_alone": round(song["own"] / args.songs, 3),
            "mixed": round(song["mixed"] / args.songs, 3),
        },
        "mean_point_rule_before": {
            "editors": round(song["mean_editors"] / args.songs, 3),
            "model_on_each_clip_alone": round(song["mean_own"] / args.songs, 3),
        },
        "four_minute_cases": cases,
        "seconds": round(time.time() - started, 1),
        "machine": machine(),
    }
    return write_result(OUT, result)


def check_case(d: dict, plan: list[str]) -> dict:
    """What the issue checks on a 4-minute song: each section's mood is the mood most of its windows carry,
    the song's mood its most frequent window mood, mixed when none holds half, and what is said."""
    head, name = d[d["headline"]], d["headline"]
    windows = [(w["start_s"] + w["end_s"]) / 2 for w in d["timeline"]]
    moods = [w[name]["mood"] for w in d["timeline"]]
    sections_ok = True
    for s in d["sections"]:
        inside = [m for c, m in zip(windows, moods) if s["start_s"] <= c <= s["end_s"]]
        sections_ok &= not inside or inside.count(s["mood"]) == max(inside.count(m) for m in inside)
    top = max(moods.count(m) for m in moods)
    return {
        "editors_moods": plan,
        "said": d["song"]["said"],
        "arc": d["song"]["arc"],
        "sections": [f"{s['start']} {s['mood']}" for s in d["sections"]],
        "every_section_is_its_windows_main_mood": bool(sections_ok),
        "song_is_its_most_frequent_window_mood": moods.count(head["mood"]) == top,
        "mixed_exactly_when_no_mood_holds_half": bool(head.get("mixed")) == (top / len(moods) < 0.5),
    }


def _wav(y: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    sf.write(buffer, y, RATE, format="WAV")
    return buffer.getvalue()


if __name__ == "__main__":
    main()
