"""A library overnight on a laptop (issue 27): scan speed of 4-minute songs, and how often a quicker
scan preset gives the whole-song analysis's answer.

    .venv/bin/python bench/library_speed.py [--songs 80] [--speed-songs 20] [--repeats 3]
        [--variants overnight,step3,middle90] [--folder DIR]

Songs: realistic 4-minute songs built from the real 30 s clips of ../shared/data (4Q MP3s and
MUSIFEAST Opus files), 8 clips each, of five kinds: one 4Q artist's clips ("artist"), clips of one
4Q quadrant ("quadrant"), clips of one MUSIFEAST genre ("genre"), four clips of one quadrant then
four of another ("two-part": a song whose mood changes) and eight random clips ("mixed": eight
sections, the hardest case). Each clip is decoded once; each song is written as a 44.1 kHz stereo
MP3 (every fourth one as FLAC) to a temporary folder (or --folder, kept for reruns): no audio in
the repository.

Agreement: every song is scanned into a fresh library with the whole-song analysis (the
reference, `scan`'s default) and with each variant; per variant, the share of songs whose headline
mood equals the reference's and whose |delta valence| and |delta arousal (energy)| are at most
0.05, each with a Wilson 95% interval, per kind too. Variants: overnight (the `--preset overnight`
scan: every second musicnn patch), step3 / step4 (every third / fourth patch), middle90 (`--seconds 90`: the middle
90 s, for comparison with an excerpt).

Speed: `--repeats` rounds over the first --speed-songs songs, each round scanning them into a fresh
library with the whole-song analysis and with the preset (alternating, so the machine's drift hits
both): wall time of `library.scan_folder` with its default 2 worker processes (model loading,
hashing and database writes included), songs/s as the median over rounds with min-max, the
marginal rate once the workers are up ((n - 1) / (last - first song done)), and the CPU seconds
per song (this process and its workers: less sensitive to other work on the machine). The load
average is recorded; the machine is shared, so figures are noisy.

Writes bench/results/library_speed.json after each phase (`--variants ""` skips the agreement,
`--repeats 0` the timed rounds). No figure is asserted anywhere.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine, write_result  # noqa: E402
from emotionet.io import audio  # noqa: E402

OUT = ROOT / "bench" / "results" / "library_speed.json"
DATA = ROOT.parent / "shared" / "data"
CLIPS_PER_SONG = 8
FILE_RATE = 44100
TOLERANCE = 0.05
VARIANTS = {  # name -> scan_files options
    "overnight": {"preset": "overnight"},
    "step3": {"preset": "step3"},
    "step4": {"preset": "step4"},
    "middle90": {"seconds": 90.0},
}
KINDS = ("artist", "quadrant", "genre", "two-part", "mixed")


# --------------------------------------------------------------------------- songs


def clip_table() -> list[dict]:
    """Every clip: path, source, artist, quadrant (4Q) or genre (MUSIFEAST)."""
    rows = []
    with open(DATA / "4q" / "labels.csv", newline="") as f:
        for r in csv.DictReader(f):
            rows.append(
                {"path": str(DATA / "4q" / r["path"]), "source": "4q", "artist": r["artist"], "group": r["quadrant"]}
            )
    with open(DATA / "musifeast" / "labels.csv", newline="") as f:
        for r in csv.DictReader(f):
            rows.append(
                {
                    "path": str(DATA / "musifeast" / r["path"]),
                    "source": "musifeast",
                    "artist": r["artist"],
                    "group": r["genre"],
                }
            )
    return rows


def plan_songs(n: int, seed: int = 0) -> list[dict]:
    """n songs of CLIPS_PER_SONG clips: the 4Q artists with enough clips, then the other kinds in
    turn (quadrant, genre, two-part, mixed) until n."""
    rng = random.Random(seed)
    clips = clip_table()
    q4 = [c for c in clips if c["source"] == "4q"]
    by_artist, by_quadrant, by_genre = {}, {}, {}
    for c in q4:
        by_artist.setdefault(c["artist"], []).append(c)
        by_quadrant.setdefault(c["group"], []).append(c)
    for c in clips:
        if c["source"] == "musifeast":
            by_genre.setdefault(c["group"], []).append(c)
    songs = [
        {"kind": "artist", "about": artist, "clips": rng.sample(cs, CLIPS_PER_SONG)}
        for artist, cs in sorted(by_artist.items())
        if len(cs) >= CLIPS_PER_SONG
    ]
    quadrants, genres = sorted(by_quadrant), sorted(g for g, cs in by_genre.items() if len(cs) >= CLIPS_PER_SONG)
    i = 0
    while len(songs) < n:
        kind = ("quadrant", "genre", "quadrant", "two-part", "mixed")[i % 5]
        if kind == "quadrant":
            q = quadrants[(i // 5 * 2 + (i % 5 == 2)) % 4]
            songs.append({"kind": kind, "about": q, "clips": rng.sample(by_quadrant[q], CLIPS_PER_SONG)})
        elif kind == "genre":
            g = genres[(i // 5) % len(genres)]
            songs.append({"kind": kind, "about": g, "clips": rng.sample(by_genre[g], CLIPS_PER_SONG)})
        elif kind == "two-part":
            a, b = rng.sample(quadrants, 2)
            half = CLIPS_PER_SONG // 2
            chosen = rng.sample(by_quadrant[a], half) + rng.sample(by_quadrant[b], CLIPS_PER_SONG - half)
            songs.append({"kind": kind, "about": f"{a} then {b}", "clips": chosen})
        else:
            songs.append({"kind": kind, "about": "random clips", "clips": rng.sample(clips, CLIPS_PER_SONG)})
        i += 1
    return songs[:n]


def write_songs(songs: list[dict], folder: Path) -> list[dict]:
    """Decode each clip once, join each song's clips and write it (MP3; every fourth FLAC).
    Songs already written in `folder` (a rerun) are kept."""
    import soxr

    folder.mkdir(parents=True, exist_ok=True)
    decoded: dict[str, np.ndarray] = {}
    needed = {
        c["path"]: sum(c["path"] == d["path"] for s in songs for d in s["clips"]) for s in songs for c in s["clips"]
    }
    for i, song in enumerate(songs):
        suffix = ".flac" if i % 4 == 3 else ".mp3"
        path = folder / f"song_{i:03d}_{song['kind']}{suffix}"
        song["file"] = str(path)
        parts = []
        for c in song["clips"]:
            if c["path"] not in decoded:
                decoded[c["path"]] = audio.load_clip(c["path"], seconds=None).samples
            parts.append(decoded[c["path"]])
            needed[c["path"]] -= 1
            if needed[c["path"]] == 0:
                decoded.pop(c["path"])  # memory stays small
        y = np.concatenate(parts)
        song["duration_s"] = round(len(y) / audio.SAMPLE_RATE, 1)
        if not path.is_file():
            y44 = soxr.resample(y, audio.SAMPLE_RATE, FILE_RATE).astype(np.float32)
            y44 *= 0.9 / max(float(np.max(np.abs(y44))), 1e-6)
            tmp = path.with_suffix(".part" + suffix)
            sf.write(str(tmp), np.stack([y44, y44], 1), FILE_RATE, format=suffix[1:].upper())
            tmp.replace(path)
    return songs


# --------------------------------------------------------------------------- scans


def usage_seconds() -> float:
    """CPU seconds used so far by this process and its finished children (the pool's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed_scan(paths: list[str], db: Path, workers: int | None, **options) -> dict:
    """Scan `paths` into a fresh SQLite library: wall time, marginal rate, CPU time, the songs."""
    from emotionet.library import songs as library
    from emotionet.team import storage

    if db.exists():
        db.unlink()
    engine = storage.make_engine(f"sqlite:///{db}")
    done_at: list[float] = []

    def progress(done, total, _left, _path):
        if done:
            done_at.append(time.perf_counter())

    cpu0, t0 = usage_seconds(), time.perf_counter()
    result = library.scan_files(paths, engine, workers=workers, progress=progress, **options)
    wall, cpu = time.perf_counter() - t0, usage_seconds() - cpu0
    engine.dispose()
    n = len(paths)
    marginal = (len(done_at) - 1) / (done_at[-1] - done_at[0]) if len(done_at) > 1 else float("nan")
    return {
        "songs": n,
        "failed": len(result.failed),
        "seconds": wall,
        "songs_per_second": n / wall,
        "marginal_songs_per_second": marginal,
        "cpu_seconds_per_song": cpu / n,
        "by_path": {s.path: s for s in result.songs},
    }


# --------------------------------------------------------------------------- statistics


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson interval of a proportion k/n."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (round(max(0.0, centre - half), 3), round(min(1.0, centre + half), 3))


def share(flags: list[bool]) -> dict:
    k, n = sum(flags), len(flags)
    return {"share": round(k / n, 3) if n else None, "of": n, "ci95": wilson(k, n)}


def agreement(reference: dict, variant: dict, songs: list[dict]) -> dict:
    """How often the variant's headline answer is the reference's (per song, by path)."""
    rows = []
    for song in songs:
        ref, got = reference.get(song["file"]), variant.get(song["file"])
        if ref is None or got is None:
            continue
        rows.append(
            {
                "kind": song["kind"],
                "mood": ref.mood == got.mood,
                "dv": abs(ref.valence - got.valence),
                "da": abs(ref.arousal - got.arousal),
            }
        )

    def summary(subset: list[dict]) -> dict:
        dv, da = np.array([r["dv"] for r in subset]), np.array([r["da"] for r in subset])
        return {
            "same_mood": share([r["mood"] for r in subset]),
            "valence_within_0.05": share(list(dv <= TOLERANCE)),
            "arousal_within_0.05": share(list(da <= TOLERANCE)),
            "both_within_0.05": share(list((dv <= TOLERANCE) & (da <= TOLERANCE))),
            "abs_delta_valence": {
                "median": round(float(np.median(dv)), 4),
                "p95": round(float(np.percentile(dv, 95)), 4),
                "max": round(float(dv.max()), 4),
            },
            "abs_delta_arousal": {
                "median": round(float(np.median(da)), 4),
                "p95": round(float(np.percentile(da, 95)), 4),
                "max": round(float(da.max()), 4),
            },
        }

    out = summary(rows)
    out["by_kind"] = {
        k: summary([r for r in rows if r["kind"] == k]) for k in KINDS if any(r["kind"] == k for r in rows)
    }
    return out


def spread(values: list[float], digits: int = 3) -> dict:
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


# --------------------------------------------------------------------------- main


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--songs", type=int, default=80, help="songs compared with the whole-song analysis")
    parser.add_argument("--speed-songs", type=int, default=20, help="songs per timed round")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds")
    parser.add_argument("--variants", default="overnight,step3,step4,middle90", help=f"of {', '.join(VARIANTS)}")
    parser.add_argument("--preset", default="overnight", help="the variant timed against the whole song")
    parser.add_argument("--workers", type=int, default=None, help="scan processes (default: the scan's, up to 2)")
    parser.add_argument("--folder", type=Path, help="where the songs are written (kept; default: a temporary folder)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    variants = [v for v in args.variants.split(",") if v]
    from emotionet import predict

    for step in (3, 4):  # bench-only variants; the scan's worker processes fork after this
        predict.PRESETS.setdefault(f"step{step}", {"patch_step": step})

    tmp = Path(tempfile.mkdtemp(prefix="emotionet-library-speed-"))
    os.environ["EMOTIONET_DATA_DIR"] = str(tmp / "data")  # never touch the real library
    folder = args.folder or tmp / "songs"
    try:
        t = time.perf_counter()
        songs = write_songs(plan_songs(args.songs), folder)
        print(f"{len(songs)} songs ready in {folder} ({time.perf_counter() - t:.0f} s)", flush=True)
        paths = [s["file"] for s in songs]
        load = [os.getloadavg()[0]]
        result = {
            "songs": {
                "count": len(songs),
                "kinds": {k: sum(s["kind"] == k for s in songs) for k in KINDS},
                "minutes": spread([s["duration_s"] / 60 for s in songs], 2),
                "formats": {
                    "mp3": sum(s["file"].endswith(".mp3") for s in songs),
                    "flac": sum(s["file"].endswith(".flac") for s in songs),
                },
                "built_from": "8 real 30 s clips each (4Q MP3 and MUSIFEAST Opus), 44.1 kHz stereo",
            },
            "reference": None,
            "variants": {},
            "speed": None,
            "targets": {"songs_per_second": 0.7, "same_mood": 0.95, "within_0.05": 0.95},
        }

        def save() -> dict:  # after each phase: a run stopped later keeps what it measured
            result["machine"] = machine(loadavg_1min=[round(x, 2) for x in load])
            result["when"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            return write_result(args.out, result)

        # agreement (and one timing each) over every song
        if variants:
            reference = timed_scan(paths, tmp / "whole.db", args.workers)
            print(f"whole song: {reference['songs_per_second']:.3f} songs/s over {len(paths)}", flush=True)
            result["reference"] = {
                "what": "scan with the whole-song analysis (the default), headline model",
                "songs_per_second_all_songs": round(reference["songs_per_second"], 3),
                "cpu_seconds_per_song_all_songs": round(reference["cpu_seconds_per_song"], 3),
            }
        for name in variants:
            run = timed_scan(paths, tmp / f"{name}.db", args.workers, **VARIANTS[name])
            a = result["variants"][name] = {
                "songs_per_second_all_songs": round(run["songs_per_second"], 3),
                "cpu_seconds_per_song_all_songs": round(run["cpu_seconds_per_song"], 3),
                "failed": run["failed"],
                **agreement(reference["by_path"], run["by_path"], songs),
            }
            print(
                f"{name}: {run['songs_per_second']:.3f} songs/s; same mood {a['same_mood']['share']} "
                f"{a['same_mood']['ci95']}, |dv|<=0.05 {a['valence_within_0.05']['share']}, "
                f"|da|<=0.05 {a['arousal_within_0.05']['share']}",
                flush=True,
            )
            load.append(os.getloadavg()[0])
            save()

        # speed: alternating rounds, whole song vs the preset
        subset = paths[: args.speed_songs]
        rounds: dict[str, list[dict]] = {"whole": [], args.preset: []}
        for r in range(args.repeats):
            for name in rounds:
                run = timed_scan(
                    subset, tmp / f"speed_{name}.db", args.workers, **({} if name == "whole" else VARIANTS[name])
                )
                rounds[name].append(run)
                print(f"round {r + 1} {name}: {run['songs_per_second']:.3f} songs/s", flush=True)
            load.append(os.getloadavg()[0])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if args.repeats:
        speed = {
            name: {
                "songs_per_second": spread([x["songs_per_second"] for x in runs]),
                "marginal_songs_per_second": spread([x["marginal_songs_per_second"] for x in runs]),
                "cpu_seconds_per_song": spread([x["cpu_seconds_per_song"] for x in runs]),
                "songs_in_8_hours": int(statistics.median([x["songs_per_second"] for x in runs]) * 8 * 3600),
            }
            for name, runs in rounds.items()
        }
        ratios = [p["songs_per_second"] / w["songs_per_second"] for w, p in zip(rounds["whole"], rounds[args.preset])]
        result["speed"] = {
            "songs_per_round": len(subset),
            "rounds": args.repeats,
            "workers": args.workers or "default (up to 2)",
            **speed,
            f"{args.preset}_speedup": spread(ratios, 2),
        }
    return save()


if __name__ == "__main__":
    main()
