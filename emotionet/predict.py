"""Predictions: a file -> features -> every model -> valence, arousal, mood, confidence, timeline.

The features of the analysed excerpt are computed once. The CNN sees the excerpt as 10 s windows
with a 50% hop (the length it was trained on), all in one batch; its prediction for the clip is the
mean over windows, and the windows themselves are the timeline. The SVRs see the statistics of the
whole excerpt and of each window. The pretrained model (when shipped) embeds the excerpt's 3 s
patches once and averages them over the clip and over the same windows.
"""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass, field

import numpy as np
import torch

from . import audio, features
from .checkpoints import ModelBundle
from .mood import mood_of


@dataclass
class Prediction:
    valence: float
    arousal: float
    mood: str
    confidence: float  # probability the mood is right, given the model's validation error

    def to_dict(self) -> dict:
        return {"valence": round(self.valence, 4), "arousal": round(self.arousal, 4),
                "mood": self.mood, "confidence": round(self.confidence, 3)}  # fmt: skip


@dataclass
class Analysis:
    file: str
    duration_s: float
    start_s: float
    end_s: float
    predictions: dict[str, Prediction]  # model name -> prediction; "cnn" is the shipped CNN
    timeline: list[dict]  # per window: start_s, end_s, and per model valence/arousal/mood
    headline: str = "cnn"  # the model that leads: the best on validation
    features: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    cnn_architecture: str = "cnn"

    @property
    def models_agree(self) -> bool:
        return len({p.mood for p in self.predictions.values()}) == 1

    def to_dict(self) -> dict:
        out = {"file": self.file, "duration_s": round(self.duration_s, 3),
               "analysed": {"start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3)},
               "headline": self.headline}  # fmt: skip
        out.update({name: p.to_dict() for name, p in self.predictions.items()})
        out["cnn"]["architecture"] = self.cnn_architecture
        out["timeline"] = self.timeline
        return out


def window_bounds(n_frames: int, window_s: float, hop_s: float) -> list[tuple[int, int]]:
    """Frame ranges of `window_s` windows about `hop_s` apart, evenly spread from start to end."""
    window = round(window_s * features.FRAMES_PER_SECOND)
    hop = round(hop_s * features.FRAMES_PER_SECOND)
    if n_frames <= window:
        return [(0, n_frames)]
    count = math.ceil((n_frames - window) / hop - 0.05) + 1  # a frame or two over is no new window
    starts = np.linspace(0, n_frames - window, count).round().astype(int)
    return [(int(s), int(s) + window) for s in starts]


def model_device(model: torch.nn.Module) -> torch.device:
    """Where a network's weights are (the CPU for one without any)."""
    return next(iter(model.parameters()), torch.empty(0)).device


def cnn_window_outputs(model, stacked: np.ndarray, bounds) -> np.ndarray:
    """Raw (windows, 2) valence/arousal of one CNN over the windows of a (3, 13, frames) stack."""
    batch = torch.from_numpy(np.stack([stacked[..., s:e] for s, e in bounds])).to(model_device(model))
    with torch.inference_mode():
        values, _ = model(batch)
    return values.float().cpu().numpy().astype(float)


class Predictor:
    """All shipped models, loaded once; `analyze` is the whole pipeline for one file.

    `device` ("cpu", "cuda", "cuda:1") is where the networks run (the CNN and the musicnn
    backbones); features, SVRs and calibration stay on the CPU. Off the CPU the bundle's CNN is
    moved there and the backbones are copied (the per-process cached ones stay on the CPU).
    """

    def __init__(self, bundle: ModelBundle, thresholds: tuple[float, float] = (0.5, 0.5), pretrained: bool = True,
                 device: str = "cpu"):  # fmt: skip
        self.bundle = bundle
        self.thresholds = tuple(thresholds)
        self.device = torch.device(device)
        self.backbones = None
        if pretrained and bundle.pretrained is not None:
            from . import musicnn, pretrained

            try:
                self.backbones = pretrained.load_backbones()
            except musicnn.MusicnnNotInstalled as error:
                logging.getLogger(__name__).warning("pretrained model skipped: %s", error)
        if self.device.type != "cpu":
            bundle.cnns[bundle.default_cnn].to(self.device)
            if self.backbones:
                self.backbones = {name: copy.deepcopy(net).to(self.device) for name, net in self.backbones.items()}

    @classmethod
    def load(cls, directory=None, thresholds=(0.5, 0.5), pretrained: bool = True, device: str = "cpu") -> "Predictor":
        """The shipped models; `pretrained=False` leaves out the (slowest) pretrained model."""
        return cls(ModelBundle.load(directory), thresholds, pretrained, device)

    @property
    def model_names(self) -> list[str]:
        return ["cnn", *self.bundle.svrs] + (["pretrained"] if self.backbones else [])

    @property
    def headline(self) -> str:
        return self.bundle.headline if self.bundle.headline in self.model_names else "cnn"

    def analyze(self, source: audio.Source, name: str | None = None, seconds: float | None = audio.EXCERPT_SECONDS) -> Analysis:
        clip = audio.load_clip(source, seconds=seconds, name=name)
        feats = features.compute_features(clip.samples)
        predictions, timeline = self.predict_features(feats, clip.samples)
        for window in timeline:
            window["start_s"] = round(window["start_s"] + clip.start_s, 2)
            window["end_s"] = round(window["end_s"] + clip.start_s, 2)
        return Analysis(name or audio.describe_source(source), clip.duration_s, clip.start_s, clip.end_s,
                        predictions, timeline, self.headline, feats, self.bundle.default_cnn)  # fmt: skip

    def raw_outputs(self, feats: dict[str, np.ndarray], samples: np.ndarray | None = None):
        """Per model: (clip raw valence/arousal (2,), per-window raw (windows, 2)); and the window bounds.

        `samples` (the clip at the analysis rate) are needed by the pretrained model only.
        """
        b = self.bundle
        bounds = window_bounds(features.n_frames(feats), b.window_seconds, b.hop_seconds)
        windows = cnn_window_outputs(b.cnns[b.default_cnn], b.normalizer.stack(feats), bounds)
        out = {"cnn": (windows.mean(axis=0), windows)}
        for name, svr in b.svrs.items():
            stats = np.stack([svr.inputs(feats)] + [svr.inputs(features.slice_frames(feats, s, e)) for s, e in bounds])
            values = svr.predict(stats)
            out[name] = (values[0], values[1:])
        if self.backbones and samples is not None:
            from . import pretrained

            seconds = [(s / features.FRAMES_PER_SECOND, e / features.FRAMES_PER_SECOND) for s, e in bounds]
            clip_raw, window_raw = pretrained.analyze(b.pretrained, self.backbones, samples, seconds)
            out["pretrained"] = (clip_raw, window_raw)
        return out, bounds

    def predict_features(self, feats: dict[str, np.ndarray], samples: np.ndarray | None = None):
        """(predictions per model, timeline) from a clip's features (and samples, for the pretrained model)."""
        raw, bounds = self.raw_outputs(feats, samples)
        predictions, timeline = {}, [
            {"start_s": round(s / features.FRAMES_PER_SECOND, 2), "end_s": round(e / features.FRAMES_PER_SECOND, 2)}
            for s, e in bounds
        ]
        for name, (clip_raw, window_raw) in raw.items():
            cal = self.calibration(name)
            v, a = cal.apply(clip_raw)
            predictions[name] = Prediction(float(v), float(a), mood_of(v, a, self.thresholds),
                                           cal.confidence(v, a, self.thresholds))  # fmt: skip
            for entry, (wv, wa) in zip(timeline, cal.apply(window_raw)):
                entry[name] = {"valence": round(float(wv), 4), "arousal": round(float(wa), 4),
                               "mood": mood_of(wv, wa, self.thresholds)}  # fmt: skip
        return predictions, timeline

    def calibration(self, name: str):
        key = self.bundle.default_cnn if name == "cnn" else name
        return self.bundle.calibration[key]

    def warm_up(self) -> None:
        """Run the pipeline once on a second of synthetic sound (first calls compile and allocate)."""
        t = np.arange(audio.SAMPLE_RATE * 2) / audio.SAMPLE_RATE
        y = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        self.predict_features(features.compute_features(y), y)
