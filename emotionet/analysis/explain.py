"""What the model hears: musicnn's top tags, and four measurements with their pull on the mood.

Tags. Both musicnn backbones output 50 tag probabilities per 3 s patch (``MSD_musicnn/tags``,
``MTT_musicnn/tags`` in ``pretrained.embed_parts``). `top_tags` averages them over the song (or
a span), merges synonyms across and within the two vocabularies ("male vocal", "man", "male
vocalists" -> "male vocal"), drops tags that judge rather than describe (decades, "beautiful",
"sad"...), ranks by how much more likely a tag is here than on typical music (its training-set
prior), and keeps the stronger of two opposites ("fast"/"slow", "vocal"/"instrumental").

Measurements (`measure`), each a number a person can check:
  tempo       beats per minute, librosa's tempo estimate (as its beat tracker makes) from an onset
              envelope (its middle 3 minutes), refined between onset frames (`dsp.refine_period`)
  mode        major-minus-minor strength, -1..1: the best Krumhansl-Kessler major key profile's
              correlation with the song's mean chroma minus the best minor one's (and the key:
              the best profile's, or "no key" when the mean chroma is flat, `key_name`)
  loudness    RMS level in dBFS
  brightness  spectral centroid (Hz) of the song's average magnitude spectrum

Contributions. A tiny linear model, valence/arousal = intercept + coef . z, on the standardised
measurements z (`ContributionModel`, fitted by `fit` with ridge on labelled clips; stored as plain
JSON). For one song, ``coef * z`` is how far each measurement moves valence and arousal from a
typical song, in the 0-1 label units. It explains; it does not predict the shown mood (the
networks do that) — its held-out R² is stored with it (``cv_r2``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

SAMPLE_RATE = 22050  # emotionet.io.audio.SAMPLE_RATE (not imported: keeps this module light)
N_FFT, HOP = 2048, 512  # emotionet.features: a caller may pass its magnitude STFT
DEFAULTS_FILE = Path(__file__).with_name("explain_defaults.json")

TEMPO_SECONDS = 180.0  # tempo is read from the middle 3 minutes: an hour costs what 3 minutes do
MEASURES = ("tempo_bpm", "mode", "loudness_dbfs", "brightness_hz")
LABELS = {"tempo_bpm": "tempo", "mode": "mode", "loudness_dbfs": "loudness", "brightness_hz": "brightness"}
# words for a value below / near / above typical (z < -0.5, |z| <= 0.5, z > 0.5)
WORDS = {
    "tempo_bpm": ("slow tempo", "moderate tempo", "fast tempo"),
    "mode": ("minor mode", "ambiguous mode", "major mode"),
    "loudness_dbfs": ("quiet", "moderate loudness", "loud"),
    "brightness_hz": ("dark timbre", "balanced timbre", "bright timbre"),
}
NOTES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# Krumhansl & Kessler (1982) probe-tone profiles, tonic first
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
NO_KEY = "no key"
# a mean chroma whose pitch classes vary by less than this (standard deviation over mean) is flat:
# white noise, clicks and a kick drum measure 0.02-0.07; 33 of the 4Q clips 0.07-0.67, most above 0.1
KEYLESS_SPREAD = 0.08

# --------------------------------------------------------------------------- tags

# musicnn tag -> the plain word shown; tags not listed show as themselves (lower case)
SYNONYMS = {
    "male": "male vocal",
    "man": "male vocal",
    "male voice": "male vocal",
    "male vocalists": "male vocal",
    "female": "female vocal",
    "woman": "female vocal",
    "female voice": "female vocal",
    "female vocalists": "female vocal",
    "female vocalist": "female vocal",
    "vocals": "vocal",
    "voice": "vocal",
    "singing": "vocal",
    "no vocals": "instrumental",
    "no vocal": "instrumental",
    "no voice": "instrumental",
    "classic": "classical",
    "beats": "beat",
    "electronica": "electronic",
    "electro": "electronic",
    "heavy metal": "metal",
    "chillout": "chill",
    "choral": "choir",
    "soft": "quiet",
}
# judgements, eras and moods are not something heard (and mood tags would pre-empt the answer)
NOT_HEARD = {
    "00s",
    "90s",
    "80s",
    "70s",
    "60s",
    "oldies",
    "beautiful",
    "sexy",
    "catchy",
    "party",
    "happy",
    "sad",
    "weird",
    "easy listening",
}
OPPOSITES = [
    ("fast", "slow"),
    ("loud", "quiet"),
    ("vocal", "instrumental"),
    ("male vocal", "instrumental"),
    ("female vocal", "instrumental"),
    ("ambient", "metal"),
]
Z_CLIP = 3.0  # contributions stop growing 3 standard deviations from typical
MIN_PROBABILITY = 0.1  # a tag must be this likely (mean over the span) to be named


def plain_tag(tag: str) -> str:
    tag = tag.lower()
    return SYNONYMS.get(tag, tag)


def tag_probabilities(parts: dict[str, np.ndarray], patch_starts_s=None, span=None) -> dict[str, float]:
    """Mean probability of every musicnn tag of both backbones, keyed "MSD_musicnn/rock", over the
    patches whose centre lies in `span` (start_s, end_s; the nearest patch if none; all patches
    when no span) -- the same rule as `pretrained.window_embeddings`."""
    from ..models.musicnn import HOP, PATCH_FRAMES, SAMPLE_RATE, TAGS

    out = {}
    for backbone, names in TAGS.items():
        probs = np.asarray(parts[f"{backbone}/tags"], float)
        if span is not None and patch_starts_s is not None:
            centres = np.asarray(patch_starts_s, float) + PATCH_FRAMES * HOP / SAMPLE_RATE / 2
            inside = (centres >= span[0]) & (centres < span[1])
            probs = probs[inside] if inside.any() else probs[[int(np.argmin(np.abs(centres - sum(span) / 2)))]]
        out.update({f"{backbone}/{n}": float(p) for n, p in zip(names, probs.mean(axis=0))})
    return out


def top_tags(
    parts: dict[str, np.ndarray], k: int = 5, priors: dict[str, float] | None = None, patch_starts_s=None, span=None
) -> list[dict]:
    """The `k` plainest strongest tags: [{"tag", "probability", "lift"}], best first.

    A merged tag scores its best member; the rank is probability x log2(lift), lift =
    probability / prior (the tag's mean over training music; 1 when no prior is known), so
    a tag every song gets ("rock" at 0.3) does not crowd out one this song stands out on.
    """
    priors = default_tag_priors() if priors is None else priors
    best: dict[str, dict] = {}
    for key, p in tag_probabilities(parts, patch_starts_s, span).items():
        word = plain_tag(key.split("/", 1)[1])
        if word in NOT_HEARD or p < MIN_PROBABILITY:
            continue
        lift = p / max(priors.get(key, p), 1e-3)
        score = p * np.log2(1.0 + lift)
        if word not in best or score > best[word]["score"]:
            best[word] = {"tag": word, "probability": round(p, 3), "lift": round(float(lift), 2), "score": score}
    for a, b in OPPOSITES:
        if a in best and b in best:
            del best[a if best[a]["score"] < best[b]["score"] else b]
    if "vocal" in best and ("male vocal" in best or "female vocal" in best):
        del best["vocal"]  # the specific word says it already
    ranked = sorted(best.values(), key=lambda t: -t["score"])[:k]
    return [{key: value for key, value in t.items() if key != "score"} for t in ranked]


def tag_priors(parts_list: list[dict[str, np.ndarray]]) -> dict[str, float]:
    """Mean tag probabilities over many songs' per-patch parts: the priors `top_tags` ranks against."""
    from ..models.musicnn import TAGS

    return {
        f"{b}/{n}": round(float(np.mean([np.asarray(p[f"{b}/tags"])[:, i].mean() for p in parts_list])), 4)
        for b, names in TAGS.items()
        for i, n in enumerate(names)
    }


# --------------------------------------------------------------------------- measurements


@dataclass
class Measurements:
    tempo_bpm: float
    mode: float  # major minus minor key-profile correlation, -1..1
    loudness_dbfs: float
    brightness_hz: float
    key: str  # the best-fitting key, e.g. "A minor", or NO_KEY

    def vector(self) -> np.ndarray:
        return np.array([getattr(self, name) for name in MEASURES], float)

    def to_dict(self) -> dict:
        return {
            "tempo_bpm": round(self.tempo_bpm, 1),
            "mode": round(self.mode, 3),
            "loudness_dbfs": round(self.loudness_dbfs, 1),
            "brightness_hz": round(self.brightness_hz, 0),
            "key": self.key,
        }


def key_profile_scores(chroma_mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(12,) correlations of a mean chroma vector with the major and the minor profile in each key."""
    c = np.asarray(chroma_mean, float)
    major = np.array([np.corrcoef(c, np.roll(MAJOR_PROFILE, k))[0, 1] for k in range(12)])
    minor = np.array([np.corrcoef(c, np.roll(MINOR_PROFILE, k))[0, 1] for k in range(12)])
    return np.nan_to_num(major), np.nan_to_num(minor)


def key_name(chroma_mean: np.ndarray) -> str:
    """The key whose profile fits a mean chroma vector best ("F# major", "A minor"), or NO_KEY when
    the vector is flat (no pitch class stands out: noise, drums)."""
    c = np.asarray(chroma_mean, float)
    if c.mean() <= 0 or c.std() / c.mean() < KEYLESS_SPREAD:
        return NO_KEY
    major, minor = key_profile_scores(c)
    return (
        f"{NOTES[int(major.argmax())]} major" if major.max() >= minor.max() else f"{NOTES[int(minor.argmax())]} minor"
    )


def pitch_class_and_mode(key: str) -> tuple[int, int | None]:
    """A key name as Spotify numbers it: (pitch class 0-11, C = 0; mode 1 major, 0 minor), or
    (-1, None) for NO_KEY or anything that is not a key name."""
    note, _, mode = str(key).partition(" ")
    if note not in NOTES or mode not in ("major", "minor"):
        return -1, None
    return NOTES.index(note), int(mode == "major")


def measure(y: np.ndarray, *, magnitude: np.ndarray | None = None, chroma: np.ndarray | None = None) -> Measurements:
    """The four measurements of mono audio `y` at the features' SAMPLE_RATE.

    `magnitude` (|STFT|, n_fft 2048, hop 512, as `features.compute_features` computes it) and
    `chroma` (12 x frames, e.g. that function's "chroma") are reused when given, so the song's
    STFT is not computed twice. `measure_sound` does the same from what
    `features.FeatureStream` gathers while it streams (its `sound`), with no audio kept.
    """
    from ..features import dsp, onset_envelope

    y = np.asarray(y, np.float32)
    if magnitude is None:
        magnitude = np.abs(dsp.stft(y, N_FFT, HOP))
    power = magnitude**2
    if chroma is None:
        chroma = dsp.chroma(power)
    mel_db = dsp.power_to_db(dsp.mel_power(power))
    rises = np.maximum(0.0, np.diff(mel_db, axis=1)).mean(axis=0)  # librosa.onset.onset_strength(S=mel_db)
    sound = {
        "onset_envelope": onset_envelope(rises, mel_db.shape[1]),
        "mean_spectrum": magnitude.mean(axis=1),
        "mean_square": float(np.mean(y.astype(np.float64) ** 2)),
    }
    return measure_sound(sound, chroma)


def measure_sound(sound: dict, chroma: np.ndarray, *, sr: int = SAMPLE_RATE) -> Measurements:
    """The four measurements from a song's onset envelope, mean magnitude spectrum and mean
    square sample (`sound`: `features.FeatureStream.sound`) and its chroma (12 x frames)."""
    from ..features import dsp

    onsets = np.asarray(sound["onset_envelope"])
    most = int(TEMPO_SECONDS * sr / HOP)  # the tempogram's work grows with the frames: bound it
    if len(onsets) > most:
        onsets = onsets[(len(onsets) - most) // 2 :][:most]
    # the tempo librosa's beat_track would report (it calls librosa.feature.tempo), in numpy: librosa's
    # imports and uncached numba kernels cost a fresh process over a second (issue 12)
    tempo = dsp.tempo(onsets, sr, HOP, precise=True)
    chroma_mean = np.asarray(chroma).mean(axis=1)
    major, minor = key_profile_scores(chroma_mean)
    key = key_name(chroma_mean)
    spectrum = np.asarray(sound["mean_spectrum"], float)
    freqs = dsp.fft_frequencies(sr, 2 * (len(spectrum) - 1))
    brightness = float((freqs * spectrum).sum() / max(spectrum.sum(), 1e-12))
    loudness = float(10 * np.log10(max(float(sound["mean_square"]), 1e-12)))
    return Measurements(tempo, float(major.max() - minor.max()), loudness, brightness, key)


# --------------------------------------------------------------------------- contributions


@dataclass
class ContributionModel:
    """valence/arousal ~ intercept + coef @ ((x - mean) / std), x in MEASURES order."""

    mean: np.ndarray  # (4,)
    std: np.ndarray  # (4,)
    coef: np.ndarray  # (2, 4): valence row, arousal row; label units per standard deviation
    intercept: np.ndarray  # (2,)
    alpha: float = 1.0
    n: int = 0
    cv_r2: dict = field(default_factory=dict)  # held-out R² per axis, when fitted with folds
    source: str = ""

    def z(self, m: Measurements) -> np.ndarray:
        return (m.vector() - self.mean) / self.std

    def contributions(self, m: Measurements) -> np.ndarray:
        """(2, 4): how far each measurement moves valence (row 0) and arousal (row 1). z is clipped
        to +-Z_CLIP: a linear fit says nothing reliable about values far outside its data."""
        return self.coef * np.clip(self.z(m), -Z_CLIP, Z_CLIP)[None, :]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(n, 4) measurements -> (n, 2) valence/arousal of the linear model."""
        return self.intercept + ((np.atleast_2d(x) - self.mean) / self.std) @ self.coef.T

    def to_dict(self) -> dict:
        return {
            "measures": list(MEASURES),
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "coef": {"valence": self.coef[0].tolist(), "arousal": self.coef[1].tolist()},
            "intercept": self.intercept.tolist(),
            "alpha": self.alpha,
            "n": self.n,
            "cv_r2": self.cv_r2,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "ContributionModel":
        if list(d["measures"]) != list(MEASURES):
            raise ValueError(f"coefficients are for {d['measures']}, this code measures {list(MEASURES)}")
        coef = np.array([d["coef"]["valence"], d["coef"]["arousal"]], float)
        return cls(
            np.array(d["mean"], float),
            np.array(d["std"], float),
            coef,
            np.array(d["intercept"], float),
            float(d.get("alpha", 1.0)),
            int(d.get("n", 0)),
            dict(d.get("cv_r2", {})),
            d.get("source", ""),
        )


def fit(
    x: np.ndarray, targets: np.ndarray, alpha: float = 1.0, groups=None, folds: int = 5, source: str = ""
) -> ContributionModel:
    """Ridge fit of (n, 2) valence/arousal on (n, 4) measurements (standardised); with `groups`
    (e.g. artists) also the held-out R² over group folds, stored as ``cv_r2``."""
    x, targets = np.asarray(x, float), np.asarray(targets, float)

    def solve(xs, ts):
        mean, std = xs.mean(0), np.maximum(xs.std(0), 1e-9)
        z = (xs - mean) / std
        coef = np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ (ts - ts.mean(0))).T
        return ContributionModel(mean, std, coef, ts.mean(0), alpha, len(xs), source=source)

    model = solve(x, targets)
    if groups is not None:
        groups = np.asarray(groups)
        unique = np.unique(groups)
        fold_of = dict(zip(unique, np.random.default_rng(0).permutation(len(unique)) % folds))
        fold = np.array([fold_of[g] for g in groups])
        pred = np.zeros_like(targets)
        for f in range(folds):
            pred[fold == f] = solve(x[fold != f], targets[fold != f]).predict(x[fold == f])
        ss = ((targets - targets.mean(0)) ** 2).sum(0)
        r2 = 1 - ((targets - pred) ** 2).sum(0) / ss
        model.cv_r2 = {"valence": round(float(r2[0]), 3), "arousal": round(float(r2[1]), 3)}
    return model


@lru_cache(maxsize=1)
def _defaults() -> dict:
    return json.loads(DEFAULTS_FILE.read_text(encoding="utf-8"))


def default_model() -> ContributionModel:
    """The shipped coefficients (explain_defaults.json; fitted by tools/fit_explain.py)."""
    return ContributionModel.from_dict(_defaults()["contributions"])


def default_tag_priors() -> dict[str, float]:
    return dict(_defaults().get("tag_priors", {}))


# --------------------------------------------------------------------------- explanation


@dataclass
class Factor:
    name: str  # one of MEASURES
    value: float
    display: str  # "128 BPM"
    words: str  # "fast tempo"
    z: float
    valence: float  # contribution, label units
    arousal: float

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "value": round(self.value, 3),
            "display": self.display,
            "words": self.words,
            "z": round(self.z, 2),
            "valence": round(self.valence, 4),
            "arousal": round(self.arousal, 4),
        }


@dataclass
class Explanation:
    tags: list[dict]  # top_tags output
    measurements: Measurements
    factors: list[Factor]
    valence_text: str  # "major mode and bright timbre push valence up; ..."
    arousal_text: str

    @property
    def hears(self) -> str:
        """The tags as one plain list: "rock, guitar, fast, male vocal"."""
        return ", ".join(t["tag"] for t in self.tags)

    def to_dict(self) -> dict:
        return {
            "hears": self.hears,
            "tags": self.tags,
            "measurements": self.measurements.to_dict(),
            "factors": [f.to_dict() for f in self.factors],
            "valence_text": self.valence_text,
            "arousal_text": self.arousal_text,
        }


MIN_CONTRIBUTION = 0.005  # smaller pulls are "barely matter"


def _display(name: str, m: Measurements) -> str:
    value = getattr(m, name)
    return {
        "tempo_bpm": f"{value:.0f} BPM",
        "mode": f"{m.key}, {value:+.2f}",
        "loudness_dbfs": f"{value:.1f} dBFS",
        "brightness_hz": f"{value:.0f} Hz",
    }[name]


def axis_text(axis: str, factors: list[Factor]) -> str:
    """One sentence: which factors push `axis` ("valence"/"arousal") up and which pull it down."""
    up = sorted((f for f in factors if getattr(f, axis) >= MIN_CONTRIBUTION), key=lambda f: -getattr(f, axis))
    down = sorted((f for f in factors if getattr(f, axis) <= -MIN_CONTRIBUTION), key=lambda f: getattr(f, axis))

    def names(fs):
        items = [f"{f.words} ({getattr(f, axis):+.2f})" for f in fs]
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

    clauses = []
    if up:
        clauses.append(f"{names(up)} push{'es' if len(up) == 1 else ''} {axis} up")
    if down:
        clauses.append(
            f"{names(down)} pull{'s' if len(down) == 1 else ''} it down"
            if up
            else f"{names(down)} pull{'s' if len(down) == 1 else ''} {axis} down"
        )
    if not clauses:
        return f"None of tempo, mode, loudness or brightness moves {axis} much here."
    text = "; ".join(clauses)
    return text[0].upper() + text[1:] + "."


def explain_measurements(m: Measurements, model: ContributionModel | None = None) -> tuple[list[Factor], str, str]:
    model = model or default_model()
    z, contrib = model.z(m), model.contributions(m)
    factors = []
    for i, name in enumerate(MEASURES):
        if name == "mode":  # words from the sign itself: "major" must mean the major profile won
            level = 0 if m.mode < -0.05 else 2 if m.mode > 0.05 else 1
        else:
            level = 0 if z[i] < -0.5 else 2 if z[i] > 0.5 else 1
        factors.append(
            Factor(
                name,
                float(getattr(m, name)),
                _display(name, m),
                WORDS[name][level],
                float(z[i]),
                float(contrib[0, i]),
                float(contrib[1, i]),
            )
        )
    return factors, axis_text("valence", factors), axis_text("arousal", factors)


def explain(
    y: np.ndarray | None,
    parts: dict[str, np.ndarray] | None = None,
    *,
    k_tags: int = 5,
    model: ContributionModel | None = None,
    magnitude: np.ndarray | None = None,
    chroma: np.ndarray | None = None,
    sound: dict | None = None,
) -> Explanation:
    """What the model hears in mono 22.05 kHz audio `y`: top tags (from musicnn `parts`, none
    without them) and the four measurements with their contributions. Instead of `y`, a
    streamed song gives `sound` (`features.FeatureStream.sound`) and its `chroma`."""
    m = measure_sound(sound, chroma) if sound is not None else measure(y, magnitude=magnitude, chroma=chroma)
    factors, valence_text, arousal_text = explain_measurements(m, model)
    tags = top_tags(parts, k_tags) if parts is not None else []
    return Explanation(tags, m, factors, valence_text, arousal_text)


def save_defaults(model: ContributionModel, priors: dict[str, float], path=DEFAULTS_FILE) -> None:
    """Write the shipped defaults (plain JSON, no pickle)."""
    data = {"contributions": model.to_dict(), "tag_priors": priors}
    Path(path).write_text(json.dumps(data, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    _defaults.cache_clear()
