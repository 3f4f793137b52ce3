"""Sections: where a song changes, each part's mood, the song's summary and its mood arc.

Boundaries come from the song's own structure (Foote's novelty): the time series it is given
(musicnn per-patch embeddings, librosa feature frames, or both) are each standardised, put on
one time grid and weighted equally; a self-similarity matrix (cosine) of the grid is scanned
along its diagonal with a Gaussian-tapered checkerboard kernel; peaks of that novelty curve
are the candidate boundaries. The strongest peaks win, no two closer than ``min_section_s``
and none that close to either end, at most ``max_sections - 1`` of them, and only peaks above
``threshold`` (a uniform song stays one section).

Sections are named by what they hold (issue 30). The model's 10 s windows each have a mood; where
that mood changes for good (`mood_changes`: runs shorter than MIN_MOOD_S merged into a neighbour) is
a boundary too, moved to the nearest novelty peak (`snap`). A section's mood is the mood most of its
windows carry, at the mean point of those windows (never a mean that falls between two moods); the
song's mood is the one it spends most windows in, with each mood's share, and "mixed" when none
holds half (`summarise`). A song of one section keeps the model's answer for the whole clip.
`mood_arc` says how the mood moves, in words.

Everything here is a pure function on arrays; times are seconds from the start of the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..mood import MOODS as MOODS_ORDER
from ..mood import SURE_SHARE, close_to, mood_of, say_song

MIN_SECTION_S = 10.0
MAX_SECTIONS = 8
# novelty (-1..1) a boundary needs. On real music (bench/section_quality.py: 4Q clips, features +
# musicnn embeddings) two songs of different quadrants joined score 0.35 / 0.44 / 0.55 at the
# join (10th / 50th / 90th percentile; all 16 joins found), the strongest point inside one 30 s
# clip 0.27 / 0.32 / 0.40 (a quarter of the clips split); synthetic uniform music stays under
# 0.16, the pad-to-riff change scores 0.7.
THRESHOLD = 0.3
MAX_GRID = 1200  # grid cells: the similarity matrix stays under ~6 MB for a 1-hour file


# --------------------------------------------------------------------------- inputs


@dataclass
class Series:
    """One time series the segmentation listens to: `values` (n, d), time along axis 0, and
    the time (s) of each row's centre."""

    values: np.ndarray
    times_s: np.ndarray

    def __post_init__(self):
        self.values = np.asarray(self.values, float).reshape(len(self.values), -1)
        self.times_s = np.asarray(self.times_s, float)
        if len(self.values) != len(self.times_s):
            raise ValueError(f"{len(self.values)} rows but {len(self.times_s)} times")


def feature_series(feats: dict[str, np.ndarray], frames_per_second: float = 22050 / 512) -> Series:
    """`features.compute_features` output (rows x frames per feature) as one Series."""
    matrix = np.concatenate([np.asarray(m, float) for m in feats.values()], axis=0).T
    return Series(matrix, np.arange(len(matrix)) / frames_per_second)


def patch_series(per_patch: np.ndarray, patch_starts_s: np.ndarray, patch_seconds: float = 3.0) -> Series:
    """musicnn per-patch embeddings (P, D) as a Series timed at each patch's centre."""
    return Series(per_patch, np.asarray(patch_starts_s, float) + patch_seconds / 2)


def grid_step(duration_s: float) -> float:
    """1 s cells, coarser for songs over MAX_GRID seconds."""
    return max(1.0, duration_s / MAX_GRID)


def on_grid(series: Series, duration_s: float, step_s: float) -> np.ndarray:
    """(cells, d) standardised mean of the rows whose time falls in each `step_s` cell; empty
    cells take the nearest row. Each row of the result has unit mean square (one vote per series)."""
    n = max(1, int(np.ceil(duration_s / step_s)))
    v = series.values
    v = (v - v.mean(0)) / np.maximum(v.std(0), 1e-9)
    cell = np.clip((series.times_s // step_s).astype(int), 0, n - 1)
    sums = np.zeros((n, v.shape[1]))
    np.add.at(sums, cell, v)
    counts = np.bincount(cell, minlength=n)
    out = sums / np.maximum(counts, 1)[:, None]
    empty = counts == 0
    if empty.any():
        centres = (np.arange(n) + 0.5) * step_s
        nearest = np.abs(series.times_s[None, :] - centres[empty][:, None]).argmin(axis=1)
        out[empty] = v[nearest]
    return out / np.sqrt(v.shape[1])


# --------------------------------------------------------------------------- boundaries


def similarity(grid: np.ndarray) -> np.ndarray:
    """(n, n) cosine similarity of the grid's rows, -1..1 (what librosa.segment.recurrence_matrix
    gives with metric="cosine", dense, but without its k-NN search: ~100x faster here)."""
    norms = np.linalg.norm(grid, axis=1, keepdims=True)
    unit = np.divide(grid, norms, out=np.zeros_like(grid), where=norms > 1e-12)
    sim = unit @ unit.T
    np.fill_diagonal(sim, 1.0)
    return sim


def checkerboard(half: int) -> np.ndarray:
    """(2 half, 2 half) Gaussian-tapered checkerboard: +1 within the past and the future, -1 across."""
    ramp = np.arange(-half, half) + 0.5
    taper = np.exp(-0.5 * (ramp / (0.5 * half)) ** 2)
    return np.outer(np.sign(ramp), np.sign(ramp)) * np.outer(taper, taper)


def novelty(sim: np.ndarray, half: int) -> np.ndarray:
    """(n,) novelty at each cell boundary i (between cell i-1 and i), -1..1; the kernel is cut
    (and renormalised) where it would reach past either end of the song."""
    n = len(sim)
    kernel = checkerboard(half)
    out = np.zeros(n)
    for i in range(1, n):
        lo, hi = max(0, i - half), min(n, i + half)
        k = kernel[half - (i - lo) : half + (hi - i), half - (i - lo) : half + (hi - i)]
        out[i] = (k * sim[lo:hi, lo:hi]).sum() / max(np.abs(k).sum(), 1e-12)
    return out


def pick_boundaries(
    curve: np.ndarray,
    step_s: float,
    duration_s: float,
    min_section_s: float = MIN_SECTION_S,
    max_sections: int = MAX_SECTIONS,
    threshold: float = THRESHOLD,
) -> list[float]:
    """Boundary times (s, ascending): the strongest novelty peaks above `threshold`, at least
    `min_section_s` apart and from either end, at most `max_sections - 1`."""
    times = np.arange(len(curve)) * step_s
    chosen: list[float] = []
    for i in np.argsort(-curve, kind="stable"):
        if curve[i] < threshold or len(chosen) >= max_sections - 1:
            break
        t = times[i]
        if t < min_section_s or duration_s - t < min_section_s:
            continue
        if all(abs(t - c) >= min_section_s for c in chosen):
            chosen.append(float(t))
    return sorted(chosen)


def segment(
    series: list[Series],
    duration_s: float,
    *,
    min_section_s: float = MIN_SECTION_S,
    max_sections: int = MAX_SECTIONS,
    threshold: float = THRESHOLD,
    step_s: float | None = None,
) -> tuple[list[tuple[float, float]], np.ndarray]:
    """Sections [(start_s, end_s), ...] covering 0..duration_s, and the novelty curve (one value
    per grid cell, for plotting)."""
    if duration_s < 2 * min_section_s or not series:
        return [(0.0, float(duration_s))], np.zeros(1)
    step = step_s or grid_step(duration_s)
    grid = np.concatenate([on_grid(s, duration_s, step) for s in series], axis=1)
    half = max(2, int(round(min_section_s / step)))
    curve = novelty(similarity(grid), half)
    bounds = pick_boundaries(curve, step, duration_s, min_section_s, max_sections, threshold)
    edges = [0.0, *bounds, float(duration_s)]
    return list(zip(edges[:-1], edges[1:])), curve


# --------------------------------------------------------------------------- mood per section


def overlap_means(spans, window_starts, window_ends, values) -> np.ndarray:
    """(len(spans), k) mean of per-window `values` (W, k) in each span, each window weighted by
    how many seconds of it fall inside the span (the nearest window when none overlaps)."""
    ws, we = np.asarray(window_starts, float), np.asarray(window_ends, float)
    values = np.asarray(values, float).reshape(len(ws), -1)
    out = []
    for start, end in spans:
        weight = np.clip(np.minimum(we, end) - np.maximum(ws, start), 0, None)
        if weight.sum() <= 0:
            weight = np.abs((ws + we) / 2 - (start + end) / 2) == np.abs((ws + we) / 2 - (start + end) / 2).min()
        out.append((weight[:, None] * values).sum(0) / weight.sum())
    return np.array(out)


@dataclass
class Section:
    start_s: float
    end_s: float
    valence: float
    arousal: float
    mood: str
    confidence: float | None = None
    extra: dict = field(default_factory=dict)  # e.g. "hears": the section's top tags
    close_to: str | None = None  # the mood it is a close call with (mood.close_to)
    share: float | None = None  # the part of its windows that carry its mood (several sections only)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_dict(self) -> dict:
        out = {
            "start_s": round(self.start_s, 2),
            "end_s": round(self.end_s, 2),
            "start": clock(self.start_s),
            "valence": round(self.valence, 4),
            "arousal": round(self.arousal, 4),
            "mood": self.mood,
        }
        if self.share is not None:
            out["share"] = round(self.share, 3)
        if self.confidence is not None:
            out["close_to"], out["confidence"] = self.close_to, round(self.confidence, 3)
        return {**out, **self.extra}


@dataclass
class SongMood:
    """The sections, the song's mood (the one it spends most time in, `share` of its windows; `mixed`
    when none holds half), its point (the mean of the windows that carry it) and the arc sentence."""

    sections: list[Section]
    valence: float
    arousal: float
    mood: str
    arc: str
    confidence: float | None = None
    close_to: str | None = None
    shares: dict[str, float] | None = None  # mood -> part of the song's windows (None: one answer for the clip)
    mixed: bool = False  # no mood holds half of the song

    @property
    def share(self) -> float | None:
        return None if self.shares is None else self.shares[self.mood]

    def to_dict(self) -> dict:
        out = {"valence": round(self.valence, 4), "arousal": round(self.arousal, 4), "mood": self.mood}
        if self.confidence is not None:
            out["close_to"], out["confidence"] = self.close_to, round(self.confidence, 3)
        out.update(song_shares(self.shares, self.mixed))
        out["said"] = say_song(self.mood, self.close_to, self.shares, self.mixed)
        return {**out, "arc": self.arc, "sections": [s.to_dict() for s in self.sections]}


def song_shares(shares: dict[str, float] | None, mixed: bool) -> dict:
    """The JSON fields of a song's shares: {"share", "shares", "mixed"} (nothing for a one-answer clip)."""
    if shares is None:
        return {}
    top = max(shares, key=shares.get)
    return {"share": round(shares[top], 3), "shares": {m: round(v, 3) for m, v in shares.items()}, "mixed": mixed}


# --------------------------------------------------------------------------- moods of windows

MIN_MOOD_S = 20.0  # a change of the windows' mood is a boundary when the moods on both sides last this long
SNAP_S = 5.0  # a mood change moves to the strongest novelty peak this close (the windows are 10 s wide)
MIXED_BELOW = 0.5  # a song in which no mood holds this part of its windows is "mixed"
MIXED_MIN_S = 60.0  # a clip of one section shorter than this keeps the model's answer for the whole clip


def centres(win_s) -> np.ndarray:
    return np.array([(s + e) / 2 for s, e in win_s], float)


def window_indices(spans, win_s) -> list[np.ndarray]:
    """The windows of each span: those whose centre falls in it (the nearest one when none does)."""
    mid = centres(win_s)
    out = []
    for i, (start, end) in enumerate(spans):
        last = i == len(spans) - 1
        inside = np.flatnonzero((mid >= start) & ((mid <= end) if last else (mid < end)))
        if not len(inside):
            inside = np.array([int(np.abs(mid - (start + end) / 2).argmin())])
        out.append(inside)
    return out


def majority(moods: list[str], values: np.ndarray, thresholds) -> str:
    """The mood most of the windows carry; a tie goes to the mood whose windows sit farther from the
    centre on average (the surer one)."""
    counts = {m: moods.count(m) for m in dict.fromkeys(moods)}
    top = max(counts.values())
    tied = [m for m, c in counts.items() if c == top]
    if len(tied) == 1:
        return tied[0]
    centre = np.asarray(thresholds, float)
    values = np.asarray(values, float).reshape(len(moods), 2)

    def distance(mood):
        rows = values[[i for i, m in enumerate(moods) if m == mood]]
        return float(np.abs(rows - centre).sum(1).mean())

    return max(tied, key=distance)


def mood_point(values: np.ndarray, moods: list[str], mood: str) -> tuple[float, float]:
    """The mean of the windows that carry `mood`: a point inside that mood's quadrant."""
    rows = np.asarray(values, float).reshape(len(moods), 2)[[i for i, m in enumerate(moods) if m == mood]]
    return float(rows[:, 0].mean()), float(rows[:, 1].mean())


def mood_changes(win_s, moods: list[str], duration_s: float, min_s: float = MIN_MOOD_S) -> list[float]:
    """Where the windows' mood changes for good: runs of one mood (cut halfway between the centres of
    the last window of one mood and the first of the next) shorter than `min_s` are merged into their
    longer neighbour, the merged run taking the mood most of its windows carry, until every run lasts
    `min_s` (or the song is one run). Returns the boundaries between the runs (s)."""
    mid = centres(win_s)
    if len(mid) < 2:
        return []
    runs = [[moods[0], [0]]]
    for i in range(1, len(moods)):
        if moods[i] == runs[-1][0]:
            runs[-1][1].append(i)
        else:
            runs.append([moods[i], [i]])

    def edges(k):
        lo = 0.0 if k == 0 else (mid[runs[k - 1][1][-1]] + mid[runs[k][1][0]]) / 2
        hi = duration_s if k == len(runs) - 1 else (mid[runs[k][1][-1]] + mid[runs[k + 1][1][0]]) / 2
        return lo, hi

    while len(runs) > 1:
        lengths = [edges(k)[1] - edges(k)[0] for k in range(len(runs))]
        k = int(np.argmin(lengths))
        if lengths[k] >= min_s:
            break
        if k == 0:
            j = 1
        elif k == len(runs) - 1:
            j = k - 1
        else:
            j = k - 1 if lengths[k - 1] >= lengths[k + 1] else k + 1
        lo, hi = min(j, k), max(j, k)
        members = runs[lo][1] + runs[hi][1]
        merged_moods = [moods[i] for i in members]
        counts = {m: merged_moods.count(m) for m in dict.fromkeys(merged_moods)}
        # the longer neighbour's mood wins a tie: the short run is what is absorbed
        mood = max(counts, key=lambda m: (counts[m], m == runs[j][0]))
        runs[lo : hi + 1] = [[mood, members]]
        # neighbours that now share a mood are one run
        merged = [runs[0]]
        for run in runs[1:]:
            if run[0] == merged[-1][0]:
                merged[-1][1].extend(run[1])
            else:
                merged.append(run)
        runs = merged
    return [edges(k)[1] for k in range(len(runs) - 1)]


def snap(changes: list[float], curve: np.ndarray, step_s: float, within: float = SNAP_S) -> list[float]:
    """Each mood change moved to the highest point of the novelty curve within `within` seconds (where
    the music itself changes), or kept where it is when the curve is flat there."""
    if len(curve) < 2:
        return list(changes)
    times = np.arange(len(curve)) * step_s
    out = []
    for t in changes:
        near = np.flatnonzero(np.abs(times - t) <= within)
        if len(near) and curve[near].max() > 0:
            out.append(float(times[near[int(curve[near].argmax())]]))
        else:
            out.append(float(t))
    return out


def mood_spans(
    structure: list[tuple[float, float]],
    curve: np.ndarray,
    step_s: float,
    win_s,
    moods: list[str],
    duration_s: float,
    min_section_s: float = MIN_SECTION_S,
    max_sections: int = MAX_SECTIONS,
) -> list[tuple[float, float]]:
    """Sections whose boundaries fall where the windows' mood changes (snapped to where the music
    changes), plus the song's structural boundaries (`structure`, from `segment`) that are at least
    `min_section_s` from every mood change; none closer than `min_section_s` to another or an end."""
    changes = snap(mood_changes(win_s, moods, duration_s), curve, step_s)
    bounds = [b for b in changes if min_section_s <= b <= duration_s - min_section_s]
    for _, end in structure[:-1]:
        if all(abs(end - b) >= min_section_s for b in bounds) and len(bounds) < max_sections - 1:
            bounds.append(float(end))
    kept: list[float] = []
    for b in sorted(bounds):
        if not kept or b - kept[-1] >= min_section_s:
            kept.append(b)
    edges = [0.0, *kept, float(duration_s)]
    return list(zip(edges[:-1], edges[1:]))


# --------------------------------------------------------------------------- a section's and a song's mood


def summarise(
    spans,
    values,
    thresholds=(0.5, 0.5),
    calibration=None,
    win_s=None,
    window_values=None,
    duration_s: float | None = None,
) -> SongMood:
    """Sections from spans [(start_s, end_s)] and the song's mood.

    With the windows (`win_s` [(start_s, end_s)] and their calibrated `window_values` (W, 2)), a
    song of several sections is named by what its windows carry: each section by the mood most of
    its windows carry (at the mean point of those windows), the song by the mood it spends most
    windows in, with every mood's share; `mixed` when none holds half (a song of `MIXED_MIN_S` or
    more, even of one section). Otherwise (one section, or no windows) the song and its one section
    are `values`' points: the model's answer for the whole clip.

    `calibration` (a mood.Calibration) adds confidences and the mood a point is a close call with.
    """
    values = np.asarray(values, float).reshape(len(spans), 2)
    duration = float(duration_s if duration_s is not None else (spans[-1][1] - spans[0][0]))
    windows = win_s is not None and window_values is not None and len(win_s) > 0
    if windows:
        wv = np.asarray(window_values, float).reshape(len(win_s), 2)
        moods = [mood_of(v, a, thresholds) for v, a in wv]
        top = majority(moods, wv, thresholds)
        shares = {m: moods.count(m) / len(moods) for m in MOODS_ORDER if m in moods}
        shares = dict(sorted(shares.items(), key=lambda kv: (-kv[1], kv[0] != top)))  # the song's mood first
        mixed = duration >= MIXED_MIN_S and shares[top] < MIXED_BELOW
    if not windows or (len(spans) == 1 and duration < MIXED_MIN_S):
        sections = []
        for (start, end), (v, a) in zip(spans, values):
            v, a, mood, conf, close = _named(v, a, thresholds, calibration)
            sections.append(Section(float(start), float(end), v, a, mood, conf, close_to=close))
        v, a = weighted_mean(spans, values)
        mood, conf, close = _named(v, a, thresholds, calibration)[2:]
        return SongMood(sections, float(v), float(a), mood, mood_arc(sections), conf, close)
    sections = []
    for (start, end), idx in zip(spans, window_indices(spans, win_s)):
        part = [moods[i] for i in idx]
        mood = majority(part, wv[idx], thresholds)
        v, a = mood_point(wv[idx], part, mood)
        conf, close = _named(v, a, thresholds, calibration)[3:]
        sections.append(
            Section(float(start), float(end), v, a, mood, conf, close_to=close, share=part.count(mood) / len(part))
        )
    v, a = mood_point(wv, moods, top)
    conf, close = _named(v, a, thresholds, calibration)[3:]
    if shares[top] < SURE_SHARE:
        close = None  # "sad (62% of the song)" already says what else it holds
    return SongMood(sections, v, a, top, mood_arc(sections), conf, close, shares, mixed)


def weighted_mean(spans, values) -> tuple[float, float]:
    """The duration-weighted mean valence/arousal of per-span values (k, 2)."""
    weights = np.array([end - start for start, end in spans], float)
    mean = (weights[:, None] * np.asarray(values, float).reshape(len(spans), 2)).sum(0) / max(weights.sum(), 1e-12)
    return float(mean[0]), float(mean[1])


def _named(v, a, thresholds, calibration) -> tuple:
    """(valence, arousal, mood, confidence, close_to) of a point; no confidence without a calibration."""
    if calibration is None:
        return float(v), float(a), mood_of(v, a, thresholds), None, None
    return (
        float(v),
        float(a),
        mood_of(v, a, thresholds),
        calibration.confidence(v, a, thresholds),
        close_to(calibration, v, a, thresholds),
    )


# --------------------------------------------------------------------------- words


def clock(seconds: float) -> str:
    """1:12 for 72 s; 1:02:03 past an hour."""
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def mood_runs(sections: list[Section]) -> list[tuple[str, float, float]]:
    """Consecutive sections of one mood merged: [(mood, start_s, end_s), ...]."""
    runs: list[list] = []
    for s in sections:
        if runs and runs[-1][0] == s.mood:
            runs[-1][2] = s.end_s
        else:
            runs.append([s.mood, s.start_s, s.end_s])
    return [tuple(r) for r in runs]


def mood_arc(sections: list[Section]) -> str:
    """How the mood moves, in words: "Calm throughout.", "Calm intro, aggressive from 1:12.",
    "Happy at first, sad from 2:05, back to happy from 3:10."."""
    runs = mood_runs(sections)
    if not runs:
        return ""
    if len(runs) == 1:
        return f"{runs[0][0].capitalize()} throughout."
    total = runs[-1][2] - runs[0][1]
    first, start, end = runs[0]
    phrases = [f"{first} intro" if end - start <= total / 3 else f"{first} at first"]
    seen = {first}
    for i, (mood, start, end) in enumerate(runs[1:], start=1):
        back = "back to " if mood in seen else ""
        if i == len(runs) - 1 and end - start <= total / 6 and not back:
            phrases.append(f"{mood} ending from {clock(start)}")
        else:
            phrases.append(f"{back}{mood} from {clock(start)}")
        seen.add(mood)
    text = ", ".join(phrases)
    return text[0].upper() + text[1:] + "."
