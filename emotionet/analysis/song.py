"""The whole song in one pass: decode once, features once, musicnn once, then every model's
timeline, the sections with their moods, and what the model hears.

    predictor = Predictor.load()
    song = analyze_song(predictor, "track.m4a")          # the whole file (seconds=None)
    song.to_dict()                                       # Analysis.to_dict() + "song", "sections", "hears", ...

`analyze_song` reuses the Predictor's models and calibrations and its CNN/SVR pass
(`Predictor.raw_outputs` without samples); the pretrained model is run here on per-patch parts
computed once (`pretrained.embed_parts`), which also carry the tags and the embedding the
sections are cut on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import audio, features
from ..mood import mood_of
from . import explain as explain_mod
from . import sections as sec

SECTION_PARTS = ("penultimate",)  # the embedding the sections are cut on (both backbones)
PATCH_BATCH = 16  # musicnn patches per forward pass: ~20 MB of activations each (batch 32: +0.64 GB)


def embed_song(backbones: dict, y_22k: np.ndarray, batch: int = PATCH_BATCH, progress=None) -> tuple[dict, np.ndarray]:
    """`pretrained.embed_parts` in batches of `batch` patches: the same outputs, but the network's
    activations (~9 MB per patch and conv branch) no longer grow with the song's length.
    `progress(done_patches, total_patches)` is called after each batch."""
    import soxr
    import torch

    from .. import musicnn as mn
    from .. import pretrained

    y = np.asarray(y_22k, dtype=np.float32)
    if y.size < mn.MIN_SECONDS * audio.SAMPLE_RATE or y.ndim != 1:
        return pretrained.embed_parts(backbones, y)  # its checks and messages
    y16 = soxr.resample(y, audio.SAMPLE_RATE, mn.SAMPLE_RATE, quality="HQ").astype(np.float32, copy=False)
    rep = mn.log_mel(y16)
    patches = mn.to_patches(rep)
    parts: dict[str, list] = {}
    with torch.inference_mode():
        for first in range(0, len(patches), batch):
            chunk = torch.from_numpy(patches[first : first + batch])
            for name in pretrained.BACKBONES:
                out = backbones[name](chunk)
                for part in pretrained.CACHED_PARTS:
                    parts.setdefault(f"{name}/{part}", []).append(out[part].numpy().astype(np.float32))
            if progress is not None:
                progress(min(first + batch, len(patches)), len(patches))
    starts = np.array(mn.patch_starts(max(rep.shape[0], mn.PATCH_FRAMES)), np.float32) * mn.HOP / mn.SAMPLE_RATE
    return {key: np.concatenate(chunks) for key, chunks in parts.items()}, starts


@dataclass
class SongAnalysis:
    """An `emotionet.predict.Analysis` plus the song's sections, mood arc and explanation."""

    analysis: object  # predict.Analysis (the per-model predictions and the timeline)
    song: sec.SongMood  # the headline model's sections and duration-weighted summary
    explanation: explain_mod.Explanation
    novelty: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    grid_step_s: float = 1.0

    def to_dict(self) -> dict:
        """Analysis.to_dict() (keys unchanged) plus "song" (the headline model's duration-weighted
        point, mood and arc), "sections", "hears" and "explanation"."""
        out = self.analysis.to_dict()
        song = self.song.to_dict()
        out["sections"] = song.pop("sections")
        out["song"] = {"model": self.analysis.headline, **song}
        out["hears"] = self.explanation.hears
        out["explanation"] = self.explanation.to_dict()
        return out


def _predictions(predictor, raw: dict, bounds) -> tuple[dict, list[dict]]:
    """Predictor.predict_features' calibration step on raw outputs computed here (same output)."""
    from ..predict import Prediction

    fps = features.FRAMES_PER_SECOND
    timeline = [{"start_s": round(s / fps, 2), "end_s": round(e / fps, 2)} for s, e in bounds]
    predictions = {}
    for name, (clip_raw, window_raw) in raw.items():
        cal = predictor.calibration(name)
        v, a = cal.apply(clip_raw)
        predictions[name] = Prediction(float(v), float(a), mood_of(v, a, predictor.thresholds),
                                       cal.confidence(v, a, predictor.thresholds))  # fmt: skip
        for entry, (wv, wa) in zip(timeline, cal.apply(window_raw)):
            entry[name] = {"valence": round(float(wv), 4), "arousal": round(float(wa), 4),
                           "mood": mood_of(wv, wa, predictor.thresholds)}  # fmt: skip
    return predictions, timeline


def analyze_samples(predictor, clip: audio.Clip, name: str, *, min_section_s: float = sec.MIN_SECTION_S,
                    max_sections: int = sec.MAX_SECTIONS, k_tags: int = 5, progress=None) -> SongAnalysis:  # fmt: skip
    """Everything for a decoded clip (times in the result are seconds in the file).

    `progress(fraction, message)`, when given, is called as the stages finish (fraction 0..1;
    the musicnn pass, most of the time, reports after every batch of patches): a page can show
    a progress bar for long files.
    """
    from .. import pretrained
    from ..predict import Analysis

    def report(fraction: float, message: str) -> None:
        if progress is not None:
            progress(round(min(max(fraction, 0.0), 1.0), 3), message)

    y = clip.samples
    feats = features.compute_features(y)
    report(0.1, "features")
    raw, bounds = predictor.raw_outputs(feats, None)  # CNN and SVRs; the pretrained model below
    report(0.15, "CNN and SVR timeline")
    fps = features.FRAMES_PER_SECOND
    window_s = [(s / fps, e / fps) for s, e in bounds]
    parts = starts = None
    series = [sec.feature_series(feats, fps)]
    if predictor.backbones:
        parts, starts = embed_song(predictor.backbones, y,
                                   progress=lambda done, total: report(0.15 + 0.75 * done / total,
                                                                       f"musicnn: {done}/{total} patches"))  # fmt: skip
        model = predictor.bundle.pretrained
        per_patch = pretrained.select(parts, model.part_names)
        raw["pretrained"] = (model.predict_raw(per_patch.mean(0))[0],
                             model.predict_raw(pretrained.window_embeddings(per_patch, starts, window_s)))  # fmt: skip
        series.append(sec.patch_series(pretrained.select(parts, SECTION_PARTS), starts))
    predictions, timeline = _predictions(predictor, raw, bounds)

    spans, curve = sec.segment(series, clip.seconds, min_section_s=min_section_s, max_sections=max_sections)
    report(0.92, "sections")
    headline = predictor.headline
    values = _section_values(predictor, headline, raw, parts, starts, spans, window_s)
    song = sec.summarise(spans, values, predictor.thresholds, predictor.calibration(headline))
    for section, span in zip(song.sections, spans):
        others = {}
        for model_name in raw:
            if model_name != headline:
                v, a = _section_values(predictor, model_name, raw, parts, starts, [span], window_s)[0]
                others[model_name] = {"valence": round(float(v), 4), "arousal": round(float(a), 4),
                                      "mood": mood_of(v, a, predictor.thresholds)}  # fmt: skip
        section.extra["models"] = others
        if parts is not None:
            section.extra["hears"] = ", ".join(t["tag"] for t in explain_mod.top_tags(parts, 3, None, starts, span))
    explanation = explain_mod.explain(y, parts, k_tags=k_tags, chroma=feats["chroma"])
    report(1.0, "what the model hears")

    shift = clip.start_s  # file time
    for window in timeline:
        window["start_s"], window["end_s"] = round(window["start_s"] + shift, 2), round(window["end_s"] + shift, 2)
    for section in song.sections:
        section.start_s += shift
        section.end_s += shift
    song.arc = sec.mood_arc(song.sections)
    analysis = Analysis(name, clip.duration_s, clip.start_s, clip.end_s, predictions, timeline, headline, feats,
                        predictor.bundle.default_cnn)  # fmt: skip
    return SongAnalysis(analysis, song, explanation, curve, sec.grid_step(clip.seconds))


def _section_values(predictor, model_name, raw, parts, starts, spans, window_s) -> np.ndarray:
    """(len(spans), 2) calibrated valence/arousal of one model in each span: the pretrained model
    on the mean embedding of the span's patches; the others as overlap-weighted window means."""
    cal = predictor.calibration(model_name)
    if model_name == "pretrained" and parts is not None:
        from .. import pretrained

        model = predictor.bundle.pretrained
        emb = pretrained.window_embeddings(pretrained.select(parts, model.part_names), starts, spans)
        return cal.apply(model.predict_raw(emb))
    window_raw = raw[model_name][1]
    return cal.apply(sec.overlap_means(spans, [w[0] for w in window_s], [w[1] for w in window_s], window_raw))


def analyze_song(predictor, source: audio.Source, name: str | None = None, seconds: float | None = None,
                 **options) -> SongAnalysis:  # fmt: skip
    """Decode `source` (the whole file by default; the middle `seconds` when given) and analyse it."""
    clip = audio.load_clip(source, seconds=seconds, name=name)
    return analyze_samples(predictor, clip, name or audio.describe_source(source), **options)
