"""Library scan speed: songs per second analysing a folder, one process vs one per core.

    .venv/bin/python bench/scan_speed.py [--songs 16] [--workers 2] [--checkpoints DIR]

Synthesises --songs clips of 30-45 s (44.1 kHz stereo WAV, bright and dark arpeggios) in a
temporary folder and, after an untimed warm-up scan of one song, scans it into fresh libraries:
with one process (torch's default threads; and again limited to one thread), with --workers
processes (one torch and one BLAS thread each, as batch.py sets them), and again with --workers
on the now-known folder (cached: hashing only, no decoding). Each figure is the wall time of the
whole `library.scan_folder` call (model loading, hashing, database writes included).
Prints a table and writes bench/results/scan_speed.json. Uses the shipped checkpoints (or
EMOTIONET_CHECKPOINTS); --tiny uses a small synthetic model bundle instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from helpers_playlists import make_tiny_bundle, song_samples  # noqa: E402

from bench.common import machine  # noqa: E402
from emotionet.library import songs as library  # noqa: E402
from emotionet.models.checkpoints import checkpoint_dir  # noqa: E402
from emotionet.team import storage  # noqa: E402

OUT = ROOT / "bench" / "results" / "scan_speed.json"
FILE_RATE = 44100


def make_folder(folder: Path, n: int) -> float:
    """n songs of 30-45 s; returns their total length in seconds."""
    rng = np.random.default_rng(0)
    total = 0.0
    for i in range(n):
        seconds = float(rng.uniform(30, 45))
        mono = song_samples("bright" if i % 2 else "dark", seconds, seed=i, sr=FILE_RATE)
        sf.write(folder / f"song_{i:03d}.wav", np.stack([mono, 0.9 * mono], axis=1), FILE_RATE)
        total += seconds
    return total


@contextmanager
def single_thread():
    """torch and the BLAS/OpenMP pools limited to one thread (the per-worker setting)."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(before)


def timed_scan(folder: Path, db: Path, checkpoints, workers: int) -> dict:
    engine = storage.make_engine(f"sqlite:///{db}")
    t0, c0 = time.perf_counter(), time.process_time()
    result = library.scan_folder(folder, engine, checkpoints=checkpoints, workers=workers)
    wall = time.perf_counter() - t0
    engine.dispose()
    n = len(result.songs)
    return {
        "workers": workers,
        "songs": n,
        "analysed": result.added,
        "cached": result.known,
        "failed": len(result.failed),
        "seconds": round(wall, 3),
        "songs_per_second": round(n / wall, 3),
        "main_process_cpu_s": round(time.process_time() - c0, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--songs", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--checkpoints", type=Path, default=None, help="model folder (default: the shipped one)")
    ap.add_argument("--tiny", action="store_true", help="use a small synthetic model bundle")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["EMOTIONET_DATA_DIR"] = str(tmp / "data")  # never touch the real library
        checkpoints = make_tiny_bundle(tmp / "tiny") if args.tiny else (args.checkpoints or checkpoint_dir())
        (tmp / "songs").mkdir()
        audio_seconds = make_folder(tmp / "songs", args.songs)
        # warm-up, untimed: imports, librosa's JIT and allocator warm-up happen once per process,
        # and the pool's workers are forked from this process, so both figures start warm
        (tmp / "warm").mkdir()
        make_folder(tmp / "warm", 1)
        timed_scan(tmp / "warm", tmp / "warm.db", checkpoints, 1)
        load_start = os.getloadavg()
        single = timed_scan(tmp / "songs", tmp / "one.db", checkpoints, 1)
        with single_thread():
            single_1t = timed_scan(tmp / "songs", tmp / "one_1t.db", checkpoints, 1)
        parallel = timed_scan(tmp / "songs", tmp / "two.db", checkpoints, args.workers)
        cached = timed_scan(tmp / "songs", tmp / "two.db", checkpoints, args.workers)
        load_end = os.getloadavg()

    results = {
        "songs": args.songs,
        "audio_minutes": round(audio_seconds / 60, 1),
        "checkpoints": "tiny synthetic bundle" if args.tiny else str(checkpoints),
        "single_process": single,
        "single_process_one_thread": single_1t,
        "parallel": parallel,
        "speedup": round(parallel["songs_per_second"] / single["songs_per_second"], 2),
        "speedup_vs_one_thread": round(parallel["songs_per_second"] / single_1t["songs_per_second"], 2),
        "rescan_cached": cached,
        "machine": machine(
            loadavg_at_start=[round(x, 2) for x in load_start], loadavg_at_end=[round(x, 2) for x in load_end]
        ),
    }
    print(
        f"{args.songs} songs of 30-45 s ({results['audio_minutes']} min of audio), {os.cpu_count()} CPUs, "
        f"load {load_start[0]:.1f}"
    )
    rows = (
        ("1 process", single),
        ("1 proc, 1 thread", single_1t),
        (f"{args.workers} workers", parallel),
        ("rescan (cached)", cached),
    )
    for label, r in rows:
        print(f"  {label:<16} {r['seconds']:7.2f} s  {r['songs_per_second']:7.2f} songs/s")
    print(f"  speed-up {results['speedup']:.2f}x ({results['speedup_vs_one_thread']:.2f}x over one thread)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
