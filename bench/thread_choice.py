"""How an analysis's threads should be set: measured before choosing (issue 31).

    .venv/bin/python bench/thread_choice.py [--rounds 3] [--repeats 2] [--busy 0,1] [--variants ...]

A 4-minute MP3 (bench/whole_song.py's synthetic song, or `--song FILE`) is analysed in a fresh
process per variant (the waiting policy must be set before torch loads), after the models are
loaded and warmed up, `--repeats` times; quiet and beside `--busy` CPU-bound processes
(`python -c 'while 1: pass'`), variants and loads interleaved in `--rounds` rounds. Variants:
  default             torch's defaults (as many threads as cores, OpenMP's threads spin while they wait)
  t1, t2              1 or 2 intra-op threads, the default waiting
  t1-passive, t2-passive   the same with OMP_WAIT_POLICY=PASSIVE (threads sleep while they wait)
  t2-passive-interop1      2 passive threads and one inter-op thread
  auto                what the product does (emotionet.io.threads.configure: passive waiting, one
                      inter-op thread, as many threads as cores are free)
Per variant and load: the median wall and CPU seconds per song (min-max over every analysis), and
what other processes used meanwhile (cores, the busy processes included). Writes
bench/results/thread_choice.json. No figure is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import spread, timed_analyses  # noqa: E402

OUT = ROOT / "bench" / "results" / "thread_choice.json"
VARIANTS = {  # name -> (environment, intra-op threads or "auto", inter-op threads or None)
    "default": ({}, None, None),
    "t1": ({}, 1, None),
    "t2": ({}, 2, None),
    "t1-passive": ({"OMP_WAIT_POLICY": "PASSIVE", "KMP_BLOCKTIME": "0"}, 1, None),
    "t2-passive": ({"OMP_WAIT_POLICY": "PASSIVE", "KMP_BLOCKTIME": "0"}, 2, None),
    "t2-passive-interop1": ({"OMP_WAIT_POLICY": "PASSIVE", "KMP_BLOCKTIME": "0"}, 2, 1),
    "auto": ({}, "auto", None),
}
BUSY = [sys.executable, "-c", "while 1: pass"]


def child(variant: str, song: str, repeats: int) -> None:
    """In a fresh process: set the variant's threads, load and warm the models, analyse the song."""
    from emotionet.io import threads

    load = threads.Load()
    _, count, interop = VARIANTS[variant]
    if count == "auto":
        threads.prepare()
    import torch

    from emotionet.predict import Predictor

    if count == "auto":
        chosen = threads.configure(load)
    else:
        if interop:
            torch.set_num_interop_threads(interop)
        if count:
            torch.set_num_threads(count)
        chosen = torch.get_num_threads()
    predictor = Predictor.load()
    predictor.warm_up()
    print(json.dumps({"threads": chosen, "runs": timed_analyses(predictor, song, repeats)}))


def run_variant(variant: str, busy: int, song: Path, repeats: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "KMP_BLOCKTIME", "OMP_NUM_THREADS")}
    env.update(VARIANTS[variant][0])
    hogs = [subprocess.Popen(BUSY) for _ in range(busy)]
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--child", variant, "--song", str(song), "--repeats", str(repeats)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    return json.loads(out.strip().splitlines()[-1])


def summary(runs: list[dict]) -> dict:
    return {key: spread(r[key] for r in runs) for key in ("wall_s", "cpu_s", "others_cores")}


def song_file(given: str | None) -> Path:
    if given:
        return Path(given)
    from bench.whole_song import write_mp3

    return write_mp3(Path(tempfile.mkdtemp(prefix="emotionet-threads-")))


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2, help="analyses per fresh process")
    parser.add_argument("--busy", default="0,1", help="busy processes beside it, e.g. 0,1,3")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--song", help="a 4-minute file (default: the synthetic MP3 of bench/whole_song.py)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill still stops the busy processes (finally)
    if args.child:
        return child(args.child, args.song, args.repeats)
    from bench.common import machine, write_result

    song = song_file(args.song)
    variants = args.variants.split(",")
    loads = [int(b) for b in args.busy.split(",")]
    found: dict[str, dict[int, list]] = {v: {b: [] for b in loads} for v in variants}
    chosen: dict[str, dict[int, list]] = {v: {b: [] for b in loads} for v in variants}
    load_before = []
    for round_ in range(args.rounds):
        for busy in loads if round_ % 2 == 0 else loads[::-1]:  # alone and busy alternate
            for variant in variants:
                load_before.append(os.getloadavg()[0])
                result = run_variant(variant, busy, song, args.repeats)
                found[variant][busy] += result["runs"]
                chosen[variant][busy].append(result["threads"])
                print(variant, f"busy={busy}", result, file=sys.stderr, flush=True)
    table = {v: {f"busy_{b}": {**summary(found[v][b]), "threads": chosen[v][b]} for b in loads} for v in variants}
    for v in variants:  # beside one busy process, against alone: what issue 31 bounds (2.2x wall, 1.3x CPU)
        if 0 in loads and 1 in loads:
            alone, busy = table[v]["busy_0"], table[v]["busy_1"]
            table[v]["busy_1_vs_alone"] = {
                "wall": round(busy["wall_s"]["median"] / alone["wall_s"]["median"], 2),
                "cpu": round(busy["cpu_s"]["median"] / alone["cpu_s"]["median"], 2),
            }
    from emotionet.models.musicnn import default_precision

    result = {
        "song": str(args.song or "synthetic 4-minute MP3 of bench/whole_song.py (44.1 kHz stereo)"),
        "variants": table,
        "rounds": args.rounds,
        "repeats": args.repeats,
        "musicnn_precision": default_precision(),
        "machine": machine(cpu=cpu_name(), load_average_before_each=[round(x, 2) for x in load_before]),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return write_result(args.out, result)


def cpu_name() -> str:
    """The CPU's model name, and whether it has AMX tiles (bfloat16 products in hardware)."""
    name = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
        flags = open("/proc/cpuinfo").read()
        name += " (AMX)" if "amx_tile" in flags else " (no AMX)"
    except OSError:
        pass
    return name


if __name__ == "__main__":
    main()
