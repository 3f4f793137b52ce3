"""Peak memory of analysing a 1-hour file: the report's 45 s snippet and the whole song (the default).

    .venv/bin/python bench/memory.py [--minutes 60] [--checkpoints DIR]

Synthesises a --minutes long 44.1 kHz stereo 16-bit WAV (bright and dark arpeggios, a CD rip's
format) in a temporary folder and runs `python -m emotionet analyze FILE --json --workers 1`
on it in a fresh process, once with `--seconds 45` (the report's snippet) and once with the default (the whole
file), all models (the pretrained one included). The figure is the process's peak resident
memory (ru_maxrss from wait4: Python, torch, librosa and the models included) and its wall time.
Prints a table and writes bench/results/memory.json. Issue 11 asks for under 1 GB either way.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from helpers_playlists import song_samples  # noqa: E402

from bench.common import machine  # noqa: E402

OUT = ROOT / "bench" / "results" / "memory.json"
FILE_RATE = 44100
SETTINGS = {"middle 45 s (--seconds 45)": ["--seconds", "45"], "whole song (default)": []}


def write_long_wav(path: Path, minutes: float) -> Path:
    """A stereo 44.1 kHz PCM_16 WAV of `minutes`, written a minute at a time (cheap to make)."""
    minute = [
        np.repeat(song_samples(kind, 60.0, seed, FILE_RATE)[:, None], 2, axis=1)
        for seed, kind in enumerate(("bright", "dark"))
    ]
    with sf.SoundFile(str(path), "w", FILE_RATE, 2, "PCM_16") as f:
        for i in range(int(round(minutes))):
            f.write(minute[i % 2])
    return path


def peak_memory(args: list[str], env=None) -> dict:
    """Run `python -m emotionet ARGS` in a fresh process: its peak RSS (MB, from wait4), wall
    time, exit status and output."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "emotionet", *args], cwd=ROOT, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {
            "rc": proc.returncode,
            "stdout": out.read(),
            "stderr": err.read(),
            "seconds": seconds,
            "peak_rss_mb": usage.ru_maxrss / 1024,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--checkpoints", type=Path)
    args = parser.parse_args()
    extra = ["--checkpoints", str(args.checkpoints)] if args.checkpoints else []
    results = {}
    with tempfile.TemporaryDirectory(prefix="emotionet-memory-") as tmp:
        path = write_long_wav(Path(tmp) / "long.wav", args.minutes)
        size_mb = path.stat().st_size / 1e6
        for label, setting in SETTINGS.items():
            run = peak_memory(["analyze", str(path), "--json", "--workers", "1", *setting, *extra])
            if run["rc"] != 0:
                raise SystemExit(f"{label}: analysis failed:\n{run['stderr'][-2000:]}")
            analysis = json.loads(run["stdout"])
            results[label] = {
                "peak_rss_mb": round(run["peak_rss_mb"], 1),
                "seconds": round(run["seconds"], 1),
                "analysed_s": round(analysis["analysed"]["end_s"] - analysis["analysed"]["start_s"], 1),
                "windows": len(analysis["timeline"]),
                "models": [k for k, v in analysis.items() if isinstance(v, dict) and "mood" in v],
            }
            print(
                f"{label:28s} peak {run['peak_rss_mb']:7.1f} MB   {run['seconds']:7.1f} s   "
                f"{results[label]['analysed_s']:.0f} s analysed, {results[label]['windows']} windows",
                flush=True,
            )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "file": {
                    "minutes": args.minutes,
                    "format": "WAV, 44.1 kHz, stereo, 16-bit",
                    "size_mb": round(size_mb, 1),
                },
                "command": "python -m emotionet analyze FILE --json --workers 1 [--seconds 45]",
                "limit_mb": 1000,
                "results": results,
                "machine": machine(platform=platform.platform()),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"-> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
