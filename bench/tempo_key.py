"""Tempo and key: how right they are on synthesised music of known tempo and key, and what they
say on real clips (which carry no tempo or key reference: ../shared/data's 4Q and MUSIFEAST-17
READMEs and tags list none, so the real clips give the distributions and a few spot checks only).

    .venv/bin/python bench/tempo_key.py            # -> bench/results/tempo_key.json
    .venv/bin/python bench/tempo_key.py --essentia # only the agreement with essentia (issue 33)

Against the field's reference extractors (issue 33): bench/essentia_reference.py (run in its own
environment: essentia is AGPL and never a dependency) stores essentia's KeyExtractor key and
RhythmExtractor2013 tempo for two disjoint samples of 100 4Q clips ("a", on which the key measure
was developed, and "b", a check that it is not tuned to one sample); `essentia_agreement` scores
the analysis's key (Krumhansl-Kessler on the mean chroma), the shipped key measure (`features.key`,
as `export` and `tag` write it, through `library.track.measure`'s decode) and its pitch-class
profile with each of its profiles, and the tempo, against them; `key_speed` times the key measure
on a 4-minute song. Key agreement: exact, or the relative major/minor (MIREX: 1 and 0.3; "exact +
relative" counts both as agreeing); tempo: within 4%, or at half or double.

Synthetic: every major and minor key (I-IV-V-I or i-iv-V-i with a bass line, a chord per bar)
over a click track at tempos from 70 to 174 BPM, 20 s each. Tempo counts as right within 2%,
as an octave error at half or double; librosa's own whole-frame estimate (`dsp.tempo`) is scored
beside the refined one that the analysis stores.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from common import machine, spread, timings, write_result  # noqa: E402

from emotionet.analysis import explain as ex  # noqa: E402
from emotionet.features import dsp  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
TEMPOS = (70, 90, 100, 120, 128, 140, 160, 174)
SR, HOP = 22050, 512


def onsets_of(y: np.ndarray) -> np.ndarray:
    from emotionet.features import onset_envelope

    mel_db = dsp.power_to_db(dsp.mel_power(np.abs(dsp.stft(y, 2048, HOP)) ** 2))
    return onset_envelope(np.maximum(0.0, np.diff(mel_db, axis=1)).mean(axis=0), mel_db.shape[1])


def tempo_verdict(estimate: float, truth: float) -> str:
    for name, factor in (("right", 1.0), ("octave", 2.0), ("octave", 0.5)):
        if abs(estimate / (truth * factor) - 1) <= 0.02:
            return name
    return "wrong"


def synthetic() -> dict:
    from test_tempo_key import progression

    verdicts, coarse_verdicts, keys, modes, errors = Counter(), Counter(), 0, 0, []
    n = 0
    for root in range(12):
        for minor in (False, True):
            for bpm in TEMPOS:
                y = progression(root, minor, bpm, seconds=20.0, seed=root)
                m = ex.measure(y)
                coarse = dsp.tempo(onsets_of(y), SR, HOP)
                verdicts[tempo_verdict(m.tempo_bpm, bpm)] += 1
                coarse_verdicts[tempo_verdict(coarse, bpm)] += 1
                errors.append(abs(m.tempo_bpm / bpm - 1))
                pitch, mode = ex.pitch_class_and_mode(m.key)
                keys += pitch == root and mode == int(not minor)
                modes += mode == int(not minor)
                n += 1
    return {
        "clips": n,
        "tempo_within_2pct": round(verdicts["right"] / n, 3),
        "tempo_octave_errors": round(verdicts["octave"] / n, 3),
        "tempo_median_abs_error_pct": round(100 * float(np.median(errors)), 3),
        "tempo_max_abs_error_pct": round(100 * float(np.max(errors)), 3),
        "librosa_whole_frame_tempo_within_2pct": round(coarse_verdicts["right"] / n, 3),
        "key_and_mode_right": round(keys / n, 3),
        "mode_right": round(modes / n, 3),
    }


def real_clips() -> dict:
    from emotionet.io import audio

    sets = {"4q": SHARED / "4q", "musifeast": SHARED / "musifeast"}
    out = {}
    for name, folder in sets.items():
        labels = folder / "labels.csv"
        if not labels.is_file():
            out[name] = "not found"
            continue
        rows = list(csv.DictReader(labels.open(encoding="utf-8")))
        tempos, refined_minus_coarse, found, major, pcs, spot = [], [], 0, 0, Counter(), []
        by_mood: dict[str, list] = {}
        failed = 0
        for i, row in enumerate(rows):
            try:
                y = audio.load_clip(str(folder / row["path"]), seconds=None).samples
            except Exception:
                failed += 1
                continue
            m = ex.measure(y)
            coarse = dsp.tempo(onsets_of(y)[-int(ex.TEMPO_SECONDS * SR / HOP) :], SR, HOP)
            tempos.append(m.tempo_bpm)
            refined_minus_coarse.append(m.tempo_bpm - coarse)
            pitch, mode = ex.pitch_class_and_mode(m.key)
            if pitch >= 0:
                found += 1
                major += mode
                pcs[ex.NOTES[pitch]] += 1
            mood = row.get("mood") or ("high valence" if float(row["valence"]) >= 0.5 else "low valence")
            by_mood.setdefault(mood, []).append((m.tempo_bpm, mode if pitch >= 0 else None))
            if i % max(1, len(rows) // 8) == 0 and len(spot) < 8:
                spot.append(f"{row['artist']} - {row['title']}: {m.tempo_bpm:.1f} BPM, {m.key}")
        n = len(tempos)
        out[name] = {
            "clips": n,
            "unreadable": failed,
            "reference": "none (no tempo or key in the labels, READMEs or file tags)",
            "tempo_bpm_percentiles_5_25_50_75_95": [
                round(float(x), 1) for x in np.percentile(tempos, [5, 25, 50, 75, 95])
            ],
            "refined_minus_librosa_bpm_percentiles_5_50_95": [
                round(float(x), 2) for x in np.percentile(refined_minus_coarse, [5, 50, 95])
            ],
            "key_found_share": round(found / n, 3),
            "major_share_of_keyed": round(major / max(found, 1), 3),
            "tonic_counts": dict(pcs.most_common()),
            "by_mood": {
                mood: {
                    "clips": len(v),
                    "median_tempo_bpm": round(float(np.median([t for t, _ in v])), 1),
                    "major_share_of_keyed": round(
                        float(np.mean([md for _, md in v if md is not None]))
                        if any(md is not None for _, md in v)
                        else 0.0,
                        3,
                    ),
                }
                for mood, v in sorted(by_mood.items())
            },
            "spot_checks": spot,
        }
    return out


RESULTS = ROOT / "bench" / "results"
SAMPLES = {"a": RESULTS / "essentia_reference.json", "b": RESULTS / "essentia_reference_b.json"}
FLAT_NAMES = {"Bb": "A#", "Eb": "D#", "Ab": "G#", "Db": "C#", "Gb": "F#"}


def key_verdict(pitch: int, mode: int, reference: dict) -> str:
    """'exact', 'relative' (the relative major/minor), 'fifth', 'parallel' or 'other' against an essentia key."""
    ref_pitch = ex.NOTES.index(FLAT_NAMES.get(reference["key"], reference["key"]))
    ref_mode = int(reference["scale"] == "major")
    if (pitch, mode) == (ref_pitch, ref_mode):
        return "exact"
    if mode != ref_mode and (pitch + (9 if mode else 3)) % 12 == ref_pitch:
        return "relative"
    if mode == ref_mode and (pitch - ref_pitch) % 12 in (5, 7):
        return "fifth"
    if pitch == ref_pitch:
        return "parallel"
    return "other"


def file_chroma(path: str) -> np.ndarray:
    """The key measure's pitch-class profile of a whole file: its channels' mean at its own rate
    (`features.key.chroma` resamples to 44.1 kHz as `library.track.measure` does)."""
    import soundfile as sf

    from emotionet.features import key as key_measure

    y, rate = sf.read(path, dtype="float32", always_2d=True)
    return key_measure.chroma(y.mean(axis=1), rate)


def essentia_agreement(reference_file: Path) -> dict:
    from emotionet.features import key as key_measure
    from emotionet.io import audio
    from emotionet.library import track

    if not reference_file.is_file():
        return {"skipped": f"{reference_file.name} not found: run bench/essentia_reference.py first"}
    reference = json.loads(reference_file.read_text())
    folder = SHARED / "4q"
    variants: dict[str, Counter] = {}
    tempo = Counter()
    for clip in reference["clips"]:
        path = str(folder / clip["path"])
        y = audio.load_clip(path, seconds=None).samples
        m = ex.measure(y)  # the analysis's own key and tempo
        pitch, mode = ex.pitch_class_and_mode(m.key)
        variants.setdefault("analysis (Krumhansl-Kessler, mean chroma)", Counter())[
            key_verdict(pitch, mode if mode is not None else 1, clip["default"])
        ] += 1
        fields = track.measure(path)  # what export and tag write
        variants.setdefault(f"shipped ({key_measure.DEFAULT_PROFILE})", Counter())[
            key_verdict(fields["key"], fields["mode"], clip["default"])
        ] += 1
        chroma = file_chroma(path)
        for profile in key_measure.PROFILES:
            p, md, _ = key_measure.key_of(chroma, profile)
            variants.setdefault(f"hpcp + {profile}", Counter())[key_verdict(p, md, clip["default"])] += 1
        ratio = m.tempo_bpm / clip["bpm"]
        tempo[
            "within_4pct"
            if abs(ratio - 1) <= 0.04
            else "octave"
            if min(abs(ratio - 2), abs(ratio - 0.5)) <= 0.08
            else "other"
        ] += 1
    n = len(reference["clips"])

    def summary(c: Counter) -> dict:
        return {
            "exact": round(c["exact"] / n, 3),
            "exact_or_relative": round((c["exact"] + c["relative"]) / n, 3),
            "mirex_weighted": round((c["exact"] + 0.5 * c["fifth"] + 0.3 * c["relative"] + 0.2 * c["parallel"]) / n, 3),
            "counts": dict(c),
        }

    essentia_self = Counter(
        key_verdict(
            ex.NOTES.index(FLAT_NAMES.get(c["edma"]["key"], c["edma"]["key"])),
            int(c["edma"]["scale"] == "major"),
            c["default"],
        )
        for c in reference["clips"]
    )
    return {
        "clips": n,
        "reference": f"essentia {reference['essentia']} KeyExtractor (default profile) and RhythmExtractor2013",
        "key": {name: summary(c) for name, c in variants.items()},
        "essentia_edma_vs_its_default": summary(essentia_self),
        "tempo_vs_rhythmextractor2013": {k: round(v / n, 3) for k, v in tempo.items()},
    }


def key_speed(seconds: float = 240.0, repeats: int = 5) -> dict:
    """Seconds per song of `seconds` (a synthesised progression, 44.1 kHz stereo MP3, as a library
    holds them): the key measure alone, and `track.measure` (decode, loudness and key) as `export`
    and `tag` run it once per song; the median of `repeats` after a warm-up, with the spread."""
    import tempfile

    import soundfile as sf
    from test_tempo_key import progression

    from emotionet.features import key as key_measure
    from emotionet.library import track

    y = progression(9, True, 120, seconds=seconds)  # 22.05 kHz
    y = np.interp(np.arange(2 * len(y)) / 2, np.arange(len(y)), y).astype(np.float32)  # 44.1 kHz
    out = {"song_seconds": seconds}
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "song.mp3")
        sf.write(path, np.stack([y, y], 1), 44100, format="MP3")
        for name, fn in (
            ("key_only_s", lambda: key_measure.chroma(y, 44100)),
            ("track_measure_s", lambda: track.measure(path)),
        ):
            out[name] = spread(timings(fn, repeats))
    return out


def essentia_all() -> dict:
    """The agreement on each sample of clips whose reference exists, and the key measure's speed."""
    return {
        **{f"sample_{name}": essentia_agreement(file) for name, file in SAMPLES.items()},
        "speed": key_speed(),
    }


if __name__ == "__main__":
    if "--essentia" in sys.argv:
        write_result(
            ROOT / "bench" / "results" / "tempo_key_essentia.json",
            {"essentia": essentia_all(), "machine": machine(load_average=round(os.getloadavg()[0], 1))},
        )
    else:
        result = {
            "synthetic": synthetic(),
            "real": real_clips(),
            "essentia": essentia_all(),
            "machine": machine(),
        }
        write_result(ROOT / "bench" / "results" / "tempo_key.json", result)
