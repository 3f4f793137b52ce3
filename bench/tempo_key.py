"""Tempo and key: how right they are on synthesised music of known tempo and key, and what they
say on real clips (which carry no tempo or key reference: ../shared/data's 4Q and MUSIFEAST-17
READMEs and tags list none, so the real clips give the distributions and a few spot checks only).

    .venv/bin/python bench/tempo_key.py            # -> bench/results/tempo_key.json

Synthetic: every major and minor key (I-IV-V-I or i-iv-V-i with a bass line, a chord per bar)
over a click track at tempos from 70 to 174 BPM, 20 s each. Tempo counts as right within 2%,
as an octave error at half or double; librosa's own whole-frame estimate (`dsp.tempo`) is scored
beside the refined one that the analysis stores.
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from common import machine, write_result  # noqa: E402

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


if __name__ == "__main__":
    result = {"synthetic": synthetic(), "real": real_clips(), "machine": machine()}
    write_result(ROOT / "bench" / "results" / "tempo_key.json", result)
