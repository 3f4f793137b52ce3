"""Predictions: a file -> features -> every model -> valence, arousal, mood, confidence, timeline,
and the whole-song view: sections, mood arc and what the model hears.

The whole song is analysed by default (`seconds` picks the middle of it instead, e.g. the report's
45 s snippet). It is decoded once, block by block, and each block goes straight into the
feature computation and the musicnn embedder, so memory stays flat however long the excerpt (a
whole hour-long file included): only the feature matrices and per-patch embeddings are kept. The
CNN sees the excerpt as 10 s windows with a 50% hop (the length it was trained on), in fixed-size
batches; its prediction for the clip is the mean over windows, and the windows themselves are the
timeline. The SVRs see the statistics of the whole excerpt and of each window. The pretrained
model (when shipped) averages the 3 s patch embeddings over the clip and over the same windows.
The sections, their moods and the explanation (`analysis.song.describe`) reuse those features,
embeddings and window outputs: nothing is decoded or run twice. A song of several sections (or of a
minute or more) is answered as a listener would say it: every model's mood is the one its windows
carry most, with each mood's share, "mixed" when none holds half, at the mean of those windows (so
the verdict, the models' table and the song agree); a shorter clip of one section by the model over
the whole excerpt, as validated.

Every model's output is checked finite: a damaged model gives an error naming it, never a NaN
mood. `Analysis.warnings` says what the reader should know (audio that was rescaled or repaired, a
model that could not be loaded, steady noise, whose confidences are capped at chance);
`Predictor.unavailable` names the models that could not be loaded and why.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
from dataclasses import dataclass, field

import numpy as np
import torch

from . import features
from .analysis.sections import clock, song_shares
from .io import audio
from .models.checkpoints import ModelBundle
from .models.names import MODEL_TITLES
from .mood import close_to as close_call
from .mood import CHANCE, mood_of, say_song

CNN_BATCH = 8  # windows per CNN forward pass: memory stays flat for a whole hour-long file
# Scan presets (`scan --preset`): name -> Predictor.analyze options. "overnight" embeds every
# second musicnn patch of the whole song (musicnn is most of the work): bench/library_speed.py
# measures its speed and how often its mood equals the whole song's.
PRESETS: dict[str, dict] = {"whole": {}, "overnight": {"patch_step": 2}}


class ModelOutputError(RuntimeError):
    """A model gave NaN or infinite output: its checkpoint is damaged, never a mood to show."""


@dataclass
class Prediction:
    valence: float
    arousal: float
    mood: str
    confidence: float  # probability the mood is right, given the model's validation error
    close_to: str | None = None  # the mood it is a close call with (mood.close_to), or None
    # a song of several sections (or a long mixed one): mood -> part of its windows; None for one answer
    shares: dict[str, float] | None = None
    mixed: bool = False  # no mood holds half of the song

    def to_dict(self) -> dict:
        return {
            "valence": round(self.valence, 4),
            "arousal": round(self.arousal, 4),
            "mood": self.mood,
            "close_to": self.close_to,
            "confidence": round(self.confidence, 3),
            **song_shares(self.shares, self.mixed),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Prediction":
        """A prediction from its fields as a dict (`dataclasses.asdict`, what the team's database
        keeps; older rows hold only valence, arousal, mood and confidence)."""
        return cls(
            float(data["valence"]),
            float(data["arousal"]),
            data["mood"],
            float(data["confidence"]),
            data.get("close_to"),
            data.get("shares"),
            bool(data.get("mixed", False)),
        )

    @property
    def share(self) -> float | None:
        """The part of the song its mood holds (None: one answer for the whole clip)."""
        return None if self.shares is None else self.shares.get(self.mood)

    @property
    def said(self) -> str:
        """The answer in words: "calm", "calm, close to sad", "sad (62% of the song)" or
        "mixed: aggressive 38%, calm 29%, …"."""
        return say_song(self.mood, self.close_to, self.shares, self.mixed)


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
    warnings: list[str] = field(default_factory=list)  # rescaled audio, a model that is unavailable
    # the whole-song view (analysis.song.describe): sections, mood arc, what the model hears
    song: object = None  # analysis.sections.SongMood of the headline model, or None
    explanation: object = None  # analysis.explain.Explanation, or None
    thresholds: tuple = (0.5, 0.5)  # the mood centre: where valence and arousal are neither up nor down

    @property
    def models_agree(self) -> bool:
        return len({p.mood for p in self.predictions.values()}) == 1

    def to_dict(self) -> dict:
        out = {
            "file": self.file,
            "duration_s": round(self.duration_s, 3),
            "analysed": {"start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3)},
            "headline": self.headline,
            "mood_centre": [round(self.thresholds[0], 4), round(self.thresholds[1], 4)],  # valence, arousal
        }
        out.update({name: p.to_dict() for name, p in self.predictions.items()})
        out["cnn"]["architecture"] = self.cnn_architecture
        out["timeline"] = self.timeline
        out["warnings"] = list(self.warnings)
        if self.song is not None:  # "sections" (each with its mood, hears, other models) and "song"
            song = self.song.to_dict()
            out["sections"] = song.pop("sections")
            out["song"] = {"model": self.headline, **song}
        if self.explanation is not None:
            out["hears"] = self.explanation.hears
            out["explanation"] = self.explanation.to_dict()
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


def cnn_window_outputs(model, stacked: np.ndarray, bounds, batch_size: int = CNN_BATCH) -> np.ndarray:
    """Raw (windows, 2) valence/arousal of one CNN over the windows of a (3, 13, frames) stack."""
    out, device = [], model_device(model)
    with torch.inference_mode():
        for i in range(0, len(bounds), batch_size):
            batch = torch.from_numpy(np.stack([stacked[..., s:e] for s, e in bounds[i : i + batch_size]]))
            values, _ = model(batch.to(device))
            out.append(values.float().cpu().numpy().astype(float))
    return np.concatenate(out)


def check_finite(name: str, *values: np.ndarray) -> None:
    """Raise ModelOutputError naming the model when any of its outputs is NaN or infinite."""
    if not all(np.all(np.isfinite(v)) for v in values):
        raise ModelOutputError(
            f"The {name} model gave an invalid output (NaN or infinity): its checkpoint is damaged. "
            "Restore the checkpoints or re-train."
        )


def noise_warnings(excerpt) -> list[str]:
    """A warning when an excerpt sounds like steady noise (`audio.Excerpt.steady`): hiss, rain,
    static. Nothing in it comes and goes as notes and beats do, so no model can read a
    mood from it; its confidence is capped at chance (`at_most_chance`)."""
    if not excerpt.steady:
        return []
    return [
        f"{excerpt.name} sounds like steady noise: nothing in it changes the way music does (notes, "
        "beats), so the mood shown is a guess, and every confidence is capped at chance "
        f"({CHANCE:.0%})."
    ]


def at_most_chance(analysis: "Analysis") -> None:
    """Cap every confidence an analysis reports (models, song, sections) at CHANCE."""
    for name, p in analysis.predictions.items():
        analysis.predictions[name] = dataclasses.replace(p, confidence=min(p.confidence, CHANCE))
    song = analysis.song
    for part in [song, *song.sections] if song is not None else []:
        if part.confidence is not None:
            part.confidence = min(part.confidence, CHANCE)


def excerpt_seconds(excerpt, seconds: float | None) -> float:
    """How many seconds an opened excerpt will decode (for progress): the file's length, or the
    requested excerpt when shorter."""
    return max(min(excerpt.duration_s, seconds) if seconds else excerpt.duration_s, 1e-3)


def _reporter(progress):
    """progress(fraction, message) made safe to call: fractions clipped to 0..1, never backwards."""
    last = [0.0]

    def report(fraction: float, message: str) -> None:
        if progress is not None:
            last[0] = max(last[0], round(min(max(fraction, 0.0), 1.0), 3))
            progress(last[0], message)

    return report


class Predictor:
    """All shipped models, loaded once; `analyze` is the whole pipeline for one file.

    `device` ("cpu", "cuda", "cuda:1") is where the networks run (the CNN and the musicnn
    backbones); features, SVRs and calibration stay on the CPU. Off the CPU the bundle's CNN is
    moved there and the backbones are copied (the per-process cached ones stay on the CPU).
    """

    def __init__(
        self,
        bundle: ModelBundle,
        thresholds: tuple[float, float] | None = None,
        pretrained: bool = True,
        device: str = "cpu",
    ):
        self.bundle = bundle
        # where the moods meet: the checkpoint's mood centre unless a caller overrides it
        self.thresholds = tuple(thresholds) if thresholds is not None else tuple(bundle.mood_centre)
        self.device = torch.device(device)
        self.backbones = None
        self.unavailable: dict[str, str] = {}  # model -> why it is not used (for pages and the CLI)
        if pretrained and bundle.pretrained is not None:
            from .models import pretrained

            try:
                self.backbones = pretrained.load_backbones()
            except Exception as error:  # not installed, or its checkpoint missing or damaged
                reason = f"{MODEL_TITLES['pretrained'].capitalize()} is unavailable: {error}"
                self.unavailable["pretrained"] = reason
                logging.getLogger(__name__).warning(reason)
        if self.device.type != "cpu":
            bundle.cnns[bundle.default_cnn].to(self.device)
            if self.backbones:
                self.backbones = {name: copy.deepcopy(net).to(self.device) for name, net in self.backbones.items()}

    @classmethod
    def load(cls, directory=None, thresholds=None, pretrained: bool = True, device: str = "cpu") -> "Predictor":
        """The shipped models; `pretrained=False` leaves out the (slowest) pretrained model."""
        return cls(ModelBundle.load(directory), thresholds, pretrained, device)

    @property
    def model_names(self) -> list[str]:
        return ["cnn", *self.bundle.svrs] + (["pretrained"] if self.backbones else [])

    @property
    def headline(self) -> str:
        return self.bundle.headline if self.bundle.headline in self.model_names else "cnn"

    def analyze(
        self,
        source: audio.Source,
        name: str | None = None,
        seconds: float | None = None,
        progress=None,
        describe: bool = True,
        patch_step: int = 1,
    ) -> Analysis:
        """The whole pipeline for one file: decode it (the whole song by default; the middle
        `seconds` when given, e.g. audio.EXCERPT_SECONDS, the report's 45 s snippet) once, block
        by block, into the features and the musicnn embedder; then every model once over it; then
        (with `describe`) the sections, mood arc and what the model hears from the same outputs.
        `patch_step` > 1 embeds only every `patch_step`-th 3 s musicnn patch (see PRESETS).

        `progress(fraction, message)` is called after each decoded block (fraction 0..1) and as
        the later stages finish: a page shows it as a progress bar for long files.
        """
        from threadpoolctl import threadpool_limits

        # numpy's OpenBLAS threads spin for a while after each call and then compete with
        # torch's for the cores: interleaved with musicnn that made the analysis ~2x slower
        # (issue 12). The BLAS calls here are small, so one thread loses nothing.
        with threadpool_limits(limits=1, user_api="blas"):
            return self._analyze(source, name, seconds, progress, describe, patch_step)

    def _analyze(self, source, name, seconds, progress, describe, patch_step: int = 1) -> Analysis:
        excerpt = audio.open_excerpt(source, seconds=seconds, name=name)
        expected = excerpt_seconds(excerpt, seconds)
        report = _reporter(progress)
        feature_stream, feats, embedding = self._listen(
            excerpt,
            lambda: report(
                0.85 * excerpt.seconds / expected, f"listening: {clock(excerpt.seconds)} of {clock(expected)}"
            ),
            patch_step,
        )
        raw, bounds = self.raw_outputs(feats, embedding=embedding)
        predictions, timeline = self.predictions_from_raw(raw, bounds)
        report(0.9, "every model has listened")
        for window in timeline:
            window["start_s"] = round(window["start_s"] + excerpt.start_s, 2)
            window["end_s"] = round(window["end_s"] + excerpt.start_s, 2)
        analysis = Analysis(
            name or audio.describe_source(source),
            excerpt.duration_s,
            excerpt.start_s,
            excerpt.end_s,
            predictions,
            timeline,
            self.headline,
            feats,
            self.bundle.default_cnn,
            [
                *excerpt.warnings,
                *self.unavailable.values(),
                *self.length_warnings(excerpt.seconds),
                *noise_warnings(excerpt),
            ],
            thresholds=self.thresholds,
        )
        if describe:
            from .analysis.song import describe as describe_song

            whole = describe_song(
                feats,
                embedding,
                raw,
                bounds,
                excerpt.seconds,
                feature_stream.sound,
                headline=self.headline,
                calibrations={m: self.calibration(m) for m in raw},
                thresholds=self.thresholds,
                start_s=excerpt.start_s,
            )
            analysis.song, analysis.explanation = whole.song, whole.explanation
            # a song of several sections (or a long mixed one) is answered as a listener would (issue 30):
            # the mood it spends most time in, with each mood's share, at the mean of the windows that carry it
            analysis.predictions = {
                name: self.song_prediction(name, whole.answers[name]) if whole.answers[name].shares else p
                for name, p in analysis.predictions.items()
            }
        if excerpt.steady:  # steady noise: whatever point the models give, the mood is a guess
            at_most_chance(analysis)
        report(1.0, "sections and what the model hears")
        return analysis

    def length_warnings(self, seconds: float) -> list[str]:
        """A warning when the analysed audio is shorter than the models' window: they were trained
        on `window_seconds` of music, so a shorter clip is a guess from less than they need."""
        window = self.bundle.window_seconds
        if seconds >= window - 0.05:
            return []
        return [
            f"This clip is only {seconds:.1f} s long: the models listen to {window:g} s at a time, so this "
            "answer comes from less music than they were trained on. Give at least "
            f"{window:g} s for a surer answer."
        ]

    def raw_outputs(self, feats: dict[str, np.ndarray], samples: np.ndarray | None = None, embedding=None):
        """Per model: (clip raw valence/arousal (2,), per-window raw (windows, 2)); and the window bounds.

        The pretrained model needs the clip's musicnn `embedding` (`pretrained.embed_parts`'s
        (parts, patch starts)) or its `samples` at the analysis rate to compute it from. Raises
        ModelOutputError when a model's output is not finite.
        """
        b = self.bundle
        bounds = window_bounds(features.n_frames(feats), b.window_seconds, b.hop_seconds)
        windows = cnn_window_outputs(b.cnns[b.default_cnn], b.normalizer.stack(feats), bounds)
        out = {"cnn": (windows.mean(axis=0), windows)}
        for name, svr in b.svrs.items():
            stats = np.stack([svr.inputs(feats)] + [svr.inputs(features.slice_frames(feats, s, e)) for s, e in bounds])
            values = svr.predict(stats)
            out[name] = (values[0], values[1:])
        if self.backbones and embedding is None and samples is not None:
            from .models import pretrained

            embedding = pretrained.embed_parts(self.backbones, samples)
        if self.backbones and embedding is not None:
            from .models import pretrained

            parts, starts = embedding
            per_patch = pretrained.select(parts, b.pretrained.part_names)
            seconds = [(s / features.FRAMES_PER_SECOND, e / features.FRAMES_PER_SECOND) for s, e in bounds]
            check_finite("pretrained", per_patch)  # a damaged musicnn checkpoint shows here first
            window_embeddings = pretrained.window_embeddings(per_patch, starts, seconds)
            head = b.joint or b.listener  # embeddings + valence cues, on the listener scale
            if head is not None:
                from .listener.cues import clip_cues

                window_cues = np.stack([clip_cues(features.slice_frames(feats, s, e)) for s, e in bounds])
                out["pretrained"] = (
                    head.predict_raw(per_patch.mean(0), clip_cues(feats))[0],
                    head.predict_raw(window_embeddings, window_cues),
                )
            else:
                out["pretrained"] = (
                    b.pretrained.predict_raw(per_patch.mean(0))[0],
                    b.pretrained.predict_raw(window_embeddings),
                )
        for name, (clip_raw, window_raw) in out.items():
            check_finite(name, clip_raw, window_raw)
        return out, bounds

    def head_inputs(self, source: audio.Source, name: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The headline head's inputs for a whole file, as `analyze` computes them: the mean musicnn
        embedding (the parts the head reads) and the twelve valence cues. `team.adapt` refits the
        head on a team's ratings from these."""
        from threadpoolctl import threadpool_limits

        from .listener.cues import clip_cues
        from .models import pretrained

        if not self.backbones:
            raise RuntimeError(self.unavailable.get("pretrained") or "these checkpoints have no pretrained model")
        with threadpool_limits(limits=1, user_api="blas"):
            _, feats, (embedded, _) = self._listen(audio.open_excerpt(source, seconds=None, name=name))
        return pretrained.select(embedded, self.bundle.pretrained.part_names).mean(0), clip_cues(feats)

    def _listen(self, excerpt, after_block=None, patch_step: int = 1) -> tuple:
        """Decode an opened excerpt once, block by block, into the feature stream and (when musicnn
        is loaded) the embedder: (the finished stream, its features, the embedding or None).
        Raises AudioError for audio too short or silent."""
        stream, embedder = features.FeatureStream(), None
        if self.backbones:
            from .models import pretrained

            embedder = pretrained.PatchEmbedder(
                self.backbones, parts=self.bundle.pretrained.part_names, step=patch_step
            )
        for block in excerpt.blocks():
            stream.push(block)
            if embedder is not None:
                embedder.push(block)
            if after_block is not None:
                after_block()
        excerpt.finish()
        feats = stream.finish()
        return stream, feats, embedder.finish() if embedder is not None else None

    def predictions_from_raw(self, raw: dict, bounds) -> tuple[dict[str, Prediction], list[dict]]:
        """`raw_outputs`' per-model raw values, calibrated: (predictions, timeline from 0 s)."""
        predictions, timeline = (
            {},
            [
                {"start_s": round(s / features.FRAMES_PER_SECOND, 2), "end_s": round(e / features.FRAMES_PER_SECOND, 2)}
                for s, e in bounds
            ],
        )
        for name, (clip_raw, window_raw) in raw.items():
            cal = self.calibration(name)
            p = predictions[name] = self.prediction(name, *cal.apply(clip_raw))
            check_finite(name, np.array([p.valence, p.arousal, p.confidence]))  # e.g. a NaN in the calibration
            for entry, (wv, wa) in zip(timeline, cal.apply(window_raw)):
                entry[name] = {
                    "valence": round(float(wv), 4),
                    "arousal": round(float(wa), 4),
                    "mood": mood_of(wv, wa, self.thresholds),
                }
        return predictions, timeline

    def prediction(self, name: str, valence: float, arousal: float) -> Prediction:
        """Model `name`'s answer at a calibrated point: its mood and the confidence in it."""
        cal = self.calibration(name)
        return Prediction(
            float(valence),
            float(arousal),
            mood_of(valence, arousal, self.thresholds),
            cal.confidence(valence, arousal, self.thresholds),
            close_call(cal, valence, arousal, self.thresholds),
        )

    def song_prediction(self, name: str, answer) -> Prediction:
        """Model `name`'s answer for a song (an `analysis.sections.SongMood` with shares)."""
        return Prediction(
            answer.valence, answer.arousal, answer.mood, answer.confidence, answer.close_to, answer.shares, answer.mixed
        )

    def calibration(self, name: str):
        key = self.bundle.default_cnn if name == "cnn" else name
        return self.bundle.calibration[key]

    def warm_up(self, seconds: float = 12.0) -> None:
        """Analyse a few seconds of synthetic sound, as a 44.1 kHz stereo MP3 (the commonest
        upload), along the same path as an upload: the MP3 decoder, resampling, the feature and
        embedding streams, every model, sections and explanation. Their first calls allocate and
        pick kernels; done here, at load, the first upload does not pay for them (a 4-minute
        MP3's first analysis in a process: 2.25 -> 1.9 s, later ones 1.75 s)."""
        import io

        import soundfile as sf

        rate = 44100
        t = np.arange(int(rate * seconds)) / rate
        noise = np.random.default_rng(0).standard_normal(len(t))
        y = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * noise * (t > seconds / 2)).astype(np.float32)
        encoded = io.BytesIO()
        try:
            sf.write(encoded, np.stack([y, y], 1), rate, format="MP3")
            name = "warm-up.mp3"
        except (sf.LibsndfileError, ValueError):  # a libsndfile without MP3: WAV warms the rest
            encoded = io.BytesIO()
            sf.write(encoded, np.stack([y, y], 1), rate, format="WAV")
            name = "warm-up.wav"
        self.analyze(encoded.getvalue(), name=name)
