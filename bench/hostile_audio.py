"""Hostile audio (issue 26): what a 20-minute silent FLAC, steady noise at -55 dBFS and one 3e38
sample in a song cost and get, before and after; and how many real clips the noise check flags.

    git archive 9d28a25 | tar -x -C /tmp/before     # the code before (optional)
    python bench/hostile_audio.py [--before /tmp/before] [--clips 60]

Each case runs in a fresh process per code version (`--before` and this checkout), timed in CPU
seconds of that process (all its threads). Ordinary music: the four demos and `--clips` 4Q clips
are analysed by both versions (every model's valence, arousal and mood must be identical); the
steadiness of every 4Q clip per quadrant up to `--steady-clips` and every MusiFeast clip
(../shared/data, not in CI) is measured, and how many the noise check flags.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine, write_result  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
OUT = REPO / "bench" / "results" / "hostile_audio.json"

# run in a fresh process with the code under test first on sys.path: argv = code dir, case, file...
CASE = r"""
import json, resource, sys
sys.path.insert(0, sys.argv[1])
from emotionet.io.audio import AudioError
from emotionet.predict import Predictor

predictor = Predictor.load()
out = {}
for path in sys.argv[3:]:
    before = resource.getrusage(resource.RUSAGE_SELF)
    try:
        a = predictor.analyze(path)
        result = {
            "headline": a.headline,
            "predictions": {n: p.to_dict() for n, p in a.predictions.items()},
            "warnings": a.warnings,
        }
    except AudioError as error:
        result = {"error": str(error)}
    after = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_s"] = round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2)
    out[path] = result
print(json.dumps(out))
"""


def run_case(code: Path, paths: list[str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CASE, str(code), "case", *paths], capture_output=True, text=True, cwd=code
    )
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def hostile_files(folder: Path) -> dict[str, str]:
    import soundfile as sf

    rate, rng = 22050, np.random.default_rng(0)
    files = {}
    silent = folder / "silent_20min.flac"
    with sf.SoundFile(str(silent), "w", 44100, 2, "PCM_16", format="FLAC") as f:
        for _ in range(20):
            f.write(np.zeros((44100 * 60, 2), np.int16))
    files["silent_20min_flac"] = str(silent)
    noise = (10 ** (-55 / 20) * rng.standard_normal(rate * 30)).astype(np.float32)
    sf.write(str(folder / "white_noise_-55dBFS.wav"), noise, rate, subtype="FLOAT")
    files["white_noise_-55dBFS_30s"] = str(folder / "white_noise_-55dBFS.wav")
    sys.path.insert(0, str(REPO / "tests"))
    from conftest import synth

    song = synth(10.0)
    song[rate * 5] = 3e38
    sf.write(str(folder / "one_3e38_sample.wav"), song, rate, subtype="FLOAT")
    files["one_3e38_sample_in_a_song"] = str(folder / "one_3e38_sample.wav")
    return files


def summary(result: dict) -> dict:
    if "error" in result:
        return {"refused": result["error"], "cpu_s": result["cpu_s"]}
    head = result["predictions"][result["headline"]]
    return {
        "mood": head["mood"],
        "confidence": head["confidence"],
        "warnings": result["warnings"],
        "cpu_s": result["cpu_s"],
    }


def steadiness_of(paths: list[Path]) -> list[float | None]:
    sys.path.insert(0, str(REPO))
    from emotionet.io.audio import AudioError, open_excerpt

    values = []
    for path in paths:
        try:
            excerpt = open_excerpt(path, seconds=None)
            for _ in excerpt.blocks():
                pass
            excerpt.finish()
            values.append(excerpt.steadiness)
        except AudioError:
            values.append(None)
    return values


def steadiness_summary(values: list[float | None]) -> dict:
    from emotionet.io.audio import STEADY_RATIO

    judged = np.array([v for v in values if v is not None])
    return {
        "clips": len(values),
        "judged": int(len(judged)),
        "flagged_as_noise": int((judged < STEADY_RATIO).sum()),
        "steadiness_min": round(float(judged.min()), 2),
        "steadiness_p1": round(float(np.percentile(judged, 1)), 2),
        "steadiness_median": round(float(np.median(judged)), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="a checkout of the code before (git archive ... | tar -x)")
    parser.add_argument("--clips", type=int, default=8, help="4Q clips whose answers both versions must agree on")
    parser.add_argument("--steady-clips", type=int, default=60, help="4Q clips per quadrant measured for steadiness")
    args = parser.parse_args()
    from emotionet.demo import DEMOS, demo_wav
    from emotionet.io.audio import STEADY_RATIO

    versions = {"after": REPO} | ({"before": args.before} if args.before else {})
    result: dict = {"machine": machine(), "steady_ratio": STEADY_RATIO, "cases": {}}
    with tempfile.TemporaryDirectory() as tmp:
        files = hostile_files(Path(tmp))
        for version, code in versions.items():
            answers = run_case(code, list(files.values()))
            for case, path in files.items():
                result["cases"].setdefault(case, {})[version] = summary(answers[path])

        # ordinary music: the same answers from both versions, and no noise warning
        music = {}
        for title in DEMOS:
            music[f"demo: {title}"] = Path(tmp) / f"demo{len(music)}.wav"
            music[f"demo: {title}"].write_bytes(demo_wav(title))
        clips = sorted((DATA / "4q" / "audio").glob("Q*/*.mp3"))
        for path in clips[:: max(1, len(clips) // args.clips)][: args.clips]:
            music[f"4q: {path.name}"] = path
        answers = {v: run_case(code, [str(p) for p in music.values()]) for v, code in versions.items()}
        rows = {}
        for name, path in music.items():
            after = answers["after"][str(path)]
            row = {
                "noise_warning": any("noise" in w for w in after.get("warnings", [])),
                "headline": summary(after),
            }
            if "before" in answers:
                before = answers["before"][str(path)]
                keep = ("valence", "arousal", "mood")
                row["same_as_before"] = all(
                    {k: p[k] for k in keep} == {k: before["predictions"][n][k] for k in keep}
                    for n, p in after["predictions"].items()
                )
            rows[name] = row
        result["ordinary_music"] = rows
        demos = [path for name, path in music.items() if name.startswith("demo")]
        result["demos_steadiness"] = [round(v, 2) for v in steadiness_of(demos)]

    sample = []
    for quadrant in ("Q1", "Q2", "Q3", "Q4"):
        sample += sorted((DATA / "4q" / "audio" / quadrant).glob("*.mp3"))[: args.steady_clips]
    musifeast = sorted((DATA / "musifeast" / "audio").glob("*"))
    result["real_clips_noise_check"] = {
        "4q": steadiness_summary(steadiness_of(sample)),
        "musifeast": steadiness_summary(steadiness_of(musifeast)),
    }
    write_result(OUT, result)


if __name__ == "__main__":
    main()
