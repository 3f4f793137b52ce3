"""The headline's shown answer: one valence-arousal point that is right on both kinds of truth.

Two heads read the same musicnn embeddings. The listener head (``emotionet.listener.head``)
ranks clips as listeners rate them (valence r 0.65 on the listener set) but names 4Q moods poorly;
the 4Q head (``pretrained.PretrainedMood``, two logistic regressions) decides 4Q's quadrants best
but ranks listener valence poorly (r 0.40). Per axis the shown value blends the two, each
standardised over the 4Q clips (a balanced population of the four moods):

    raw = mean_L + std_L * ((1 - w) * (L - mean_L) / std_L + w * (logit - mean_Q) / std_Q)

so ``w = 0`` is the listener head alone and ``w = 1`` the 4Q head's decision, expressed in the
listener head's units. With ``decide`` (what ships, on valence) the listener head keeps its value,
but the 4Q head has a say in which side of the centre it falls on (``predict_raw``): a close call
is shown as one, next to the centre. The app then maps ``raw`` onto the listener scale (``mood.Calibration``)
and names the mood around the **mood centre**: the shown point of the median 4Q clip, where a
balanced set of moods splits evenly (the report's moods were defined around its data set's
centre). The blend weights and the deciding weight come from artist-grouped CV on both sources
(``bench/shown_mood.py``, ``bench/shown_mood_shapes.py``).
"""

from __future__ import annotations

import numpy as np

from ..listener import ListenerHead
from ..mood import Calibration
from .pretrained import PretrainedMood

DEFAULT_BLEND = (0.1, 0.1)  # valence, arousal: chosen by bench/shown_mood.py (its rule, 3 seeds)
# What train.py ships: valence from the listener head, its side of the centre decided with the 4Q head
# (bench/shown_mood_shapes.py: 4Q accuracy 0.718 -> 0.733 at the same listener r, 3 seeds)
SHIPPED_BLEND, SHIPPED_DECIDE = (0.0, 0.1), 3.0
NUDGE = 0.02  # how far across the centre a decided valence sits (listener-head standard deviations)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


class JointHead:
    """The listener head and the 4Q head, blended per axis (see the module's docstring)."""

    def __init__(self, listener: ListenerHead, four_q: PretrainedMood, blend=DEFAULT_BLEND, stats=None, decide=None):
        self.listener, self.four_q = listener, four_q
        self.blend = np.asarray(blend, float)
        self.decide = None if decide is None else float(decide)  # see `predict_raw`
        self.stats = {k: np.asarray(v, float) for k, v in (stats or {}).items()}  # per axis: *_mean, *_std, *_median

    @classmethod
    def fit(cls, x4q, c4q, y4q, q4q, x_l, c_l, y_l, blend=DEFAULT_BLEND, decide=None, **listener_params) -> "JointHead":
        """Embeddings (n, D), cues (n, 12), valence/arousal (n, 2) of both sources, 4Q's quadrants (n,)."""
        listener = ListenerHead(**listener_params).fit(x4q, c4q, y4q, x_l, c_l, y_l)
        four_q = PretrainedMood("axes").fit(x4q, y4q, q4q)
        head = cls(listener, four_q, blend, decide=decide)
        head.stats = head._standardisation(x4q, c4q)
        return head

    def _standardisation(self, x4q, c4q) -> dict:
        """Each head's mean and spread over the 4Q clips (a balanced set of moods), and the medians
        of their standardised outputs there (where the deciding rule splits the set evenly)."""
        listener, logits = self.listener.predict_raw(x4q, c4q), self.logits(x4q)
        stats = {
            "listener_mean": listener.mean(0),
            "listener_std": np.maximum(listener.std(0), 1e-9),
            "logit_mean": logits.mean(0),
            "logit_std": np.maximum(logits.std(0), 1e-9),
        }
        lz, qz = (
            (listener - stats["listener_mean"]) / stats["listener_std"],
            (logits - stats["logit_mean"]) / stats["logit_std"],
        )
        stats["listener_median"], stats["logit_median"] = np.median(lz, 0), np.median(qz, 0)
        return stats

    def logits(self, x) -> np.ndarray:
        """(n, 2) the 4Q head's log-odds of positive valence and positive arousal."""
        return _logit(self.four_q._axis_scores(self.four_q._z(x)))

    def predict_raw(self, x, cues, blend=None) -> np.ndarray:
        """(n, 2) the blended valence/arousal in the listener head's units (before calibration).

        With ``decide`` (d), valence is the listener head's (its blend weight 0) and its side of the
        centre is decided by the 4Q head's log-odds + d x the listener head's value, both centred on
        their 4Q medians: where the two disagree about the side, the point is moved just across the
        centre (NUDGE), so the word and the point agree and the confidence says it is a close call."""
        w = self.blend if blend is None else np.asarray(blend, float)
        s = self.stats
        listener = (self.listener.predict_raw(x, cues) - s["listener_mean"]) / s["listener_std"]
        quadrant = (self.logits(x) - s["logit_mean"]) / s["logit_std"]
        out = (1 - w) * listener + w * quadrant
        if self.decide is not None:
            lz, pivot = listener[:, 0], s["listener_median"][0]
            side = np.sign(quadrant[:, 0] - s["logit_median"][0] + self.decide * (lz - pivot))
            side = np.where(side == 0, 1.0, side)
            out[:, 0] = np.where(np.sign(lz - pivot) == side, lz, pivot + side * NUDGE)
        return s["listener_mean"] + s["listener_std"] * out

    def calibrate(self, x4q, c4q, x_l, c_l, y_l, blend=None) -> tuple[Calibration, tuple[float, float]]:
        """(the calibration onto the listener scale, the mood centre) from training clips: the
        listeners' mean and spread (``Calibration.fit_affine`` on the listener clips), and the centre
        where the median 4Q clip (a balanced set of moods) lands."""
        pivot = np.median(self.predict_raw(x4q, c4q, blend), axis=0)
        raw_l = self.predict_raw(x_l, c_l, blend)
        centre = Calibration.fit_affine(raw_l, y_l).apply(pivot[None])[0]
        return Calibration.fit_centred(raw_l, y_l, pivot, centre), (float(centre[0]), float(centre[1]))

    def to_config(self) -> dict:
        """The blend, the deciding weight and the standardisation, for config.json (the heads have their own files)."""
        return {"blend": self.blend.tolist(), "decide": self.decide, **{k: v.tolist() for k, v in self.stats.items()}}

    @classmethod
    def from_config(cls, listener: ListenerHead, four_q: PretrainedMood, config: dict) -> "JointHead":
        stats = {k: v for k, v in config.items() if k not in ("blend", "decide")}
        return cls(listener, four_q, config["blend"], stats, config.get("decide"))


def cross_validate(x4q, c4q, y4q, q4q, x_l, c_l, y_l, folds_4q, folds_l, blends=(DEFAULT_BLEND,), decide=None) -> dict:
    """Artist-grouped CV of what the app shows, on both sources at once: fold k of each source is
    predicted by a head fitted (with the deciding weight `decide`), calibrated and centred on the
    other folds of both. Returns, per
    blend: held-out shown points, the centre each was named around, and (listener clips) the
    stated confidence: {blend: {"4q": (shown, centres), "listener": (shown, centres, confidence)}}."""
    out = {}
    for blend in blends:
        out[tuple(blend)] = {
            "4q": (np.zeros_like(y4q, dtype=float), np.zeros_like(y4q, dtype=float)),
            "listener": (np.zeros_like(y_l, dtype=float), np.zeros_like(y_l, dtype=float), np.zeros(len(y_l))),
        }
    for (tra, tea), (trl, tel) in zip(folds_4q, folds_l):
        head = JointHead.fit(x4q[tra], c4q[tra], y4q[tra], q4q[tra], x_l[trl], c_l[trl], y_l[trl], decide=decide)
        for blend in blends:
            cal, centre = head.calibrate(x4q[tra], c4q[tra], x_l[trl], c_l[trl], y_l[trl], blend)
            (shown_a, centres_a), (shown_l, centres_l, confidence) = (
                out[tuple(blend)]["4q"],
                out[tuple(blend)]["listener"],
            )
            shown_a[tea] = cal.apply(head.predict_raw(x4q[tea], c4q[tea], blend))
            shown_l[tel] = cal.apply(head.predict_raw(x_l[tel], c_l[tel], blend))
            centres_a[tea] = centres_l[tel] = centre
            confidence[tel] = [cal.confidence(v, a, centre) for v, a in shown_l[tel]]
    return out


# --------------------------------------------------------------------------- over many fold seeds

FOLD_SEEDS = (0, 1, 2, 3, 4)  # what train.py reports the shown rule over (metrics.json "shown_rule")
HELD_OUT_SET = 150  # the size of set a user's own check is likely to have: intervals are stated for it


def seed_scores(x4q, c4q, y4q, q4q, x_l, c_l, y_l, folds_4q, folds_l, blend=SHIPPED_BLEND, decide=SHIPPED_DECIDE):
    """One fold seed's artist-grouped CV of what the app shows, scored on both truths: the shown
    mood against 4Q's editors (``accuracy_4q``, ``macro_f1_4q``) and against the listeners' mood
    around the same centre (``accuracy_listener``), listener r per axis, and how honest the close
    calls are. The close calls use the app's rule (`mood.close_to`) with the per-axis error of the
    held-out listener points, as the shipped calibration does (`Calibration.error_from`):
    ``close_share_*`` is how often a mood is said as "X, close to Y", ``accuracy_close_*`` /
    ``accuracy_sure_*`` the shown mood's accuracy on those and on the others, ``either_close_*``
    how often the truth is X or Y on those."""
    from ..listener import judge
    from ..mood import MOODS, Calibration, close_to

    cv = cross_validate(x4q, c4q, y4q, q4q, x_l, c_l, y_l, folds_4q, folds_l, [blend], decide)[tuple(blend)]
    (shown_a, centres_a), (shown_l, centres_l, _) = cv["4q"], cv["listener"]
    four, listener = judge.score_4q(shown_a, q4q, centres_a), judge.score_listeners(shown_l, y_l, centres_l)
    out = {
        "accuracy_4q": four["accuracy"],
        "macro_f1_4q": four["macro_f1"],
        "accuracy_listener": listener["accuracy"],
        "r_valence": listener["r_valence"],
        "r_arousal": listener["r_arousal"],
    }
    error = Calibration().error_from(shown_l, y_l)  # the app's confidence: held-out listener error
    for key, shown, centres, truth in (
        ("4q", shown_a, centres_a, np.asarray(q4q)),
        ("listener", shown_l, centres_l, judge.said(y_l, centres_l)),
    ):
        said = judge.said(shown, centres)
        close = np.array(
            [MOODS.index(m) if (m := close_to(error, v, a, tuple(c))) else -1 for (v, a), c in zip(shown, centres)]
        )
        flagged = close >= 0
        right = said == truth
        out[f"close_share_{key}"] = float(flagged.mean())
        out[f"accuracy_close_{key}"] = float(right[flagged].mean()) if flagged.any() else float("nan")
        out[f"accuracy_sure_{key}"] = float(right[~flagged].mean()) if (~flagged).any() else float("nan")
        out[f"either_close_{key}"] = (
            float((right | (close == truth))[flagged].mean()) if flagged.any() else float("nan")
        )
    return out


def interval_150(mean: float, key: str, n: int = HELD_OUT_SET) -> list[float]:
    """The 95% range a figure of `mean` may read on a held-out set of `n` clips: Wilson's interval
    for an accuracy or share, Fisher's z interval for a correlation (``r_*``)."""
    if key.startswith("r_"):
        z, half = np.arctanh(np.clip(mean, -0.999999, 0.999999)), 1.96 / np.sqrt(n - 3)
        return [round(float(np.tanh(z - half)), 3), round(float(np.tanh(z + half)), 3)]
    p, z = float(mean), 1.96
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(centre - half, 3), round(centre + half, 3)]


def summarise_seeds(runs: list[dict], n: int = HELD_OUT_SET) -> dict:
    """{metric: {"mean", "sd" (over the seeds), "per_seed", "ci95_<n>"}} from per-seed `seed_scores`."""
    out = {}
    for key in runs[0]:
        values = np.array([r[key] for r in runs], float)
        mean = float(np.nanmean(values))
        out[key] = {
            "mean": round(mean, 4),
            "sd": round(float(np.nanstd(values)), 4),
            "per_seed": [round(float(v), 4) for v in values],
        }
        if not key.startswith("close_share"):
            out[key][f"ci95_{n}"] = interval_150(mean, key, n)
    return out
