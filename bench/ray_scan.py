"""Library scan speed: the local scan against the Ray engine, and what starting Ray costs.

    .venv/bin/python bench/ray_scan.py [--songs 16] [--cpus 2] [--checkpoints DIR]

Synthesises --songs clips of 30-45 s (44.1 kHz stereo WAV, as bench/scan_speed.py) and, after an
untimed warm-up scan of one song in this process, scans them into fresh libraries:
  - locally: `library.scan_folder` with 1 process and with --cpus worker processes;
  - on Ray: `ray.init` of a local instance limited to --cpus CPUs (timed: the start-up
    overhead), then `scan_folder_ray` of one song (pipeline and actor start-up plus one
    analysis) and of all of them, each in a fresh library. The marginal rate,
    (songs - 1) / (t_all - t_one), is the throughput once the actors are up: the figure a
    long catalogue run approaches.
Also measures the storage per song (library row, Parquet row). Prints a table and writes
bench/results/ray_scan.json. Every figure is one run's wall time on whatever else the machine
is doing at the time (the load average is recorded).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "tests")]
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")

from scan_speed import make_folder  # noqa: E402

from bench.common import machine  # noqa: E402
from emotionet.library import songs as library  # noqa: E402
from emotionet.models.checkpoints import checkpoint_dir  # noqa: E402
from emotionet.scale import ray_engine  # noqa: E402
from emotionet.scale.parquet import write_parquet  # noqa: E402
from emotionet.team import storage  # noqa: E402

OUT = ROOT / "bench" / "results" / "ray_scan.json"


def figure(n: int, seconds: float, result) -> dict:
    return {
        "songs": n,
        "analysed": result.added,
        "failed": len(result.failed),
        "seconds": round(seconds, 3),
        "songs_per_second": round(n / seconds, 3),
    }


def timed(scan, folder: Path, db: Path, **options) -> dict:
    engine = storage.make_engine(f"sqlite:///{db}")
    t0 = time.perf_counter()
    result = scan(folder, engine, **options)
    wall = time.perf_counter() - t0
    engine.dispose()
    return figure(len(result.songs), wall, result)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--songs", type=int, default=16)
    ap.add_argument("--cpus", type=int, default=2, help="local worker processes and Ray CPUs (2)")
    ap.add_argument("--checkpoints", type=Path, default=None, help="model folder (default: the shipped one)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    checkpoints = args.checkpoints or checkpoint_dir()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["EMOTIONET_DATA_DIR"] = str(tmp / "data")  # never touch the real library
        for name in ("songs", "one", "warm"):
            (tmp / name).mkdir()
        audio_seconds = make_folder(tmp / "songs", args.songs)
        make_folder(tmp / "one", 1)
        make_folder(tmp / "warm", 1)
        load_start = os.getloadavg()
        timed(library.scan_folder, tmp / "warm", tmp / "warm.db", checkpoints=checkpoints, workers=1)  # untimed

        local_1 = timed(library.scan_folder, tmp / "songs", tmp / "local1.db", checkpoints=checkpoints, workers=1)
        local_n = timed(
            library.scan_folder, tmp / "songs", tmp / "localn.db", checkpoints=checkpoints, workers=args.cpus
        )

        t0 = time.perf_counter()
        ray, _ = ray_engine.init_ray(num_cpus=args.cpus, object_store_mb=512)
        ray_init = time.perf_counter() - t0
        options = {"checkpoints": checkpoints, "device": "cpu"}
        ray_one = timed(ray_engine.scan_folder_ray, tmp / "one", tmp / "ray1.db", **options)
        ray_all = timed(ray_engine.scan_folder_ray, tmp / "songs", tmp / "rayn.db", **options)
        rescan = timed(ray_engine.scan_folder_ray, tmp / "songs", tmp / "rayn.db", **options)
        ray.shutdown()

        engine = storage.make_engine(f"sqlite:///{tmp / 'rayn.db'}")
        with engine.connect() as connection:
            row_bytes = connection.exec_driver_sql(
                "SELECT avg(length(analysis) + length(title) + length(artist) + length(filename) + length(path)"
                " + 64 + 16 + 5 * 8) FROM library_songs"
            ).scalar()
            hashes = [h for (h,) in connection.exec_driver_sql("SELECT hash FROM library_songs")]
        parquet = tmp / "songs.parquet"
        write_parquet(parquet, hashes, engine, checkpoints)
        parquet_bytes = parquet.stat().st_size
        engine.dispose()
        load_end = os.getloadavg()

    marginal = (args.songs - 1) / max(ray_all["seconds"] - ray_one["seconds"], 1e-9)
    results = {
        "songs": args.songs,
        "audio_minutes": round(audio_seconds / 60, 1),
        "cpus": args.cpus,
        "checkpoints": str(checkpoints),
        "local_1_process": local_1,
        f"local_{args.cpus}_workers": local_n,
        "ray_init_seconds": round(ray_init, 3),
        "ray_scan_one_song": ray_one,
        "ray_scan": ray_all,
        "ray_scan_including_init": {
            **ray_all,
            "seconds": round(ray_init + ray_all["seconds"], 3),
            "songs_per_second": round(args.songs / (ray_init + ray_all["seconds"]), 3),
        },
        "ray_marginal_songs_per_second": round(marginal, 3),
        "ray_startup_overhead_seconds": round(ray_init + ray_one["seconds"] - 1 / marginal, 2),
        "ray_rescan_known_folder": rescan,
        "library_row_bytes_per_song": round(float(row_bytes)),
        "parquet_bytes_per_song": round(parquet_bytes / len(hashes)),
        "machine": machine(
            loadavg_at_start=[round(x, 2) for x in load_start], loadavg_at_end=[round(x, 2) for x in load_end]
        ),
    }
    print(
        f"{args.songs} songs of 30-45 s ({results['audio_minutes']} min of audio), {args.cpus} CPUs, "
        f"load {load_start[0]:.1f} -> {load_end[0]:.1f}"
    )
    rows = (
        ("local, 1 process", local_1),
        (f"local, {args.cpus} workers", local_n),
        ("Ray, 1 song", ray_one),
        ("Ray, all songs", ray_all),
        ("Ray, rescan", rescan),
    )
    for label, r in rows:
        print(f"  {label:<20} {r['seconds']:7.2f} s  {r['songs_per_second']:7.2f} songs/s")
    print(
        f"  ray.init {ray_init:.2f} s; marginal Ray rate {marginal:.2f} songs/s; start-up overhead "
        f"{results['ray_startup_overhead_seconds']:.1f} s (init + pipeline + actors)"
    )
    print(
        f"  storage: {results['library_row_bytes_per_song']} B/song in the library, "
        f"{results['parquet_bytes_per_song']} B/song as Parquet"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
