"""The song's sections, mood arc and what the model hears, from what `Predictor.analyze` has
already computed in its one pass (one decode, one feature pass, one musicnn pass):

    analysis = Predictor.load().analyze("track.m4a")   # the whole file by default
    analysis.song.arc                                  # "Calm intro, aggressive from 1:12."
    analysis.explanation.hears                         # "quiet, ambient, flute"
    analysis.to_dict()                                 # the old keys + "song", "sections", "hears", "explanation"

`describe` is called by the predictor with plain values (its raw outputs, each model's
calibration, the headline model's name and the mood thresholds): nothing here calls back into
the predictor. The music's own boundaries are found on the feature frames and the musicnn
penultimate embeddings; the headline model's window moods add a boundary where they change for good
(`sections.mood_spans`). Each model then names the sections and the song from its own calibrated
window outputs (`sections.summarise`: a section is the mood most of its windows carry, the song the
mood it spends most windows in, with shares, or mixed), so the listener head, the SVRs and the CNN
are all treated alike, and `Predictor.analyze` shows each model's song answer as its answer: the
verdict, the song and its sections never name two moods. A clip under a minute of one section is the
model's answer for the whole clip, section and song alike. No audio is re-read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import features
from ..mood import Calibration, mood_of
from . import explain as explain_mod
from . import sections as sec

SECTION_PARTS = ("penultimate",)  # the embedding the sections are cut on (both backbones)
SECTION_TAGS = 3  # tags named per section


@dataclass
class SongDescription:
    song: sec.SongMood  # the headline model's sections and the song's mood
    explanation: explain_mod.Explanation
    novelty: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    grid_step_s: float = 1.0
    answers: dict = field(default_factory=dict)  # model -> its own SongMood over the same sections


def describe(
    feats: dict,
    embedding,
    raw: dict,
    bounds,
    duration_s: float,
    sound: dict,
    *,
    headline: str,
    calibrations: dict[str, Calibration],
    thresholds: tuple[float, float],
    start_s: float = 0.0,
    min_section_s: float = sec.MIN_SECTION_S,
    max_sections: int = sec.MAX_SECTIONS,
    k_tags: int = 5,
) -> SongDescription:
    """Sections, arc and explanation of an analysed excerpt of `duration_s` seconds that starts
    at `start_s` in its file (times in the result are file times).

    `raw`/`bounds` are `Predictor.raw_outputs`' per-model raw outputs and window frame ranges,
    `embedding` the musicnn (parts, patch starts) or None, `sound` the `features.FeatureStream.sound`
    measures (onset envelope, mean spectrum, mean square) for the explanation. `calibrations` maps
    each model of `raw` to its calibration (raw -> the 0-1 scale), `headline` names the model
    whose sections are the song's, `thresholds` are the mood boundaries.
    """
    fps = features.FRAMES_PER_SECOND
    win_s = [(s / fps, e / fps) for s, e in bounds]
    parts = starts = None
    series = [sec.feature_series(feats, fps)]
    if embedding is not None:
        from ..models import pretrained

        parts, starts = embedding
        if all(f"{b}/{p}" in parts for b in pretrained.BACKBONES for p in SECTION_PARTS):
            series.append(sec.patch_series(pretrained.select(parts, SECTION_PARTS), starts))
    structure, curve = sec.segment(series, duration_s, min_section_s=min_section_s, max_sections=max_sections)
    windows = {name: np.asarray(calibrations[name].apply(np.asarray(w, float)), float) for name, (_, w) in raw.items()}
    head_moods = [mood_of(v, a, thresholds) for v, a in windows[headline]]
    spans = sec.mood_spans(
        structure, curve, sec.grid_step(duration_s), win_s, head_moods, duration_s, min_section_s, max_sections
    )
    answers = {
        name: sec.summarise(
            spans,
            section_values(calibrations[name], clip_raw, window_raw, spans, win_s),
            thresholds,
            calibrations[name],
            win_s,
            windows[name],
            duration_s,
        )
        for name, (clip_raw, window_raw) in raw.items()
    }
    song = answers[headline]
    others = {name: a for name, a in answers.items() if name != headline}
    has_tags = parts is not None and all(f"{b}/tags" in parts for b in _backbones())
    for i, (section, span) in enumerate(zip(song.sections, spans)):
        section.extra["models"] = {
            name: {
                "valence": round(a.sections[i].valence, 4),
                "arousal": round(a.sections[i].arousal, 4),
                "mood": a.sections[i].mood,
            }
            for name, a in others.items()
        }
        if has_tags:
            section.extra["hears"] = ", ".join(
                t["tag"] for t in explain_mod.top_tags(parts, SECTION_TAGS, None, starts, span)
            )
        section.start_s += start_s
        section.end_s += start_s
    song.arc = sec.mood_arc(song.sections)
    explanation = explain_mod.explain(
        None, parts if has_tags else None, k_tags=k_tags, chroma=feats["chroma"], sound=sound
    )
    return SongDescription(song, explanation, curve, sec.grid_step(duration_s), answers)


def section_values(calibration: Calibration, clip_raw, window_raw: np.ndarray, spans, win_s) -> np.ndarray:
    """(len(spans), 2) calibrated valence/arousal of one model in each span. One span is the whole
    excerpt: its value is the model's answer for the whole clip (`clip_raw`), so a one-section
    song, its section and the headline are one answer. Several spans: the overlap-weighted mean of
    the model's raw window outputs (windows, 2) in each, then its calibration."""
    if len(spans) == 1:
        return np.asarray(calibration.apply(np.asarray(clip_raw, float)[None]), float).reshape(1, 2)
    means = sec.overlap_means(spans, [w[0] for w in win_s], [w[1] for w in win_s], window_raw)
    return np.asarray(calibration.apply(means), float).reshape(len(spans), 2)


def _backbones():
    from ..models.pretrained import BACKBONES

    return BACKBONES
