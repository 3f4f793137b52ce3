"""The headline model's listener head: valence and arousal as listeners rate them.

Two sources teach it. The 4Q set (748 clips) has valence/arousal derived from editors' mood
tags; the MUSIFEAST set (176 clips, 17 genres) has the mean ratings of many listeners. They
disagree in scale and meaning, so each source gets its own head on a shared linear map
(feature augmentation, Daumé III 2007): for inputs z (standardised musicnn embedding + valence
cues) the 4Q head is ``z·w`` and the listener head ``z·(w + d)``, both fitted at once by ridge
regression on targets z-scored per source. ``w`` is what both kinds of truth agree on; ``d`` is
what listeners hear differently, learned from the listener clips alone and shrunk towards zero
by the same penalty. Listener clips weigh ``listener_weight`` of the 4Q set in total.

The app reports the listener head, on the listener scale: 0 = "very negative" / "very low
energy", 1 = "very positive" / "very high energy", 0.5 the scale's neutral midpoint (the 1-5
Likert mean mapped by (x - 1) / 4). Artist-grouped CV: ``bench/listener_cv.py``.
"""

from __future__ import annotations

import json

import numpy as np

from .cues import NAMES as CUE_NAMES

DEFAULT_ALPHA = 1000.0  # ridge strength on standardised inputs (300-3000 within 0.01 r in CV)
DEFAULT_LISTENER_WEIGHT = 0.3  # listener clips' total weight relative to the 4Q set's
DEFAULT_CUE_WEIGHT = 3.0  # the 12 cues, standardised, scaled up so the penalty does not drown them
LISTENER_BIAS = 10.0  # the listener-only intercept column (large: little penalised)


class ListenerHead:
    def __init__(
        self,
        alpha: float = DEFAULT_ALPHA,
        listener_weight: float = DEFAULT_LISTENER_WEIGHT,
        cue_weight: float = DEFAULT_CUE_WEIGHT,
        part_names=("penultimate", "tags"),
    ):
        self.alpha, self.listener_weight, self.cue_weight = float(alpha), float(listener_weight), float(cue_weight)
        self.part_names = tuple(part_names)
        self.mean = self.std = None  # input standardisation
        self.shared = self.delta = None  # (2, D) each
        self.intercept = None  # (2, 2): row 0 the 4Q head's, row 1 the listener head's (z-scored targets)
        self.target_mean = self.target_std = None  # (2, 2): per source (4Q, listener) and axis

    def _inputs(self, x, cues) -> np.ndarray:
        return np.hstack([np.atleast_2d(np.asarray(x, np.float64)), np.atleast_2d(np.asarray(cues, np.float64))])

    def _z(self, x, cues) -> np.ndarray:
        z = (self._inputs(x, cues) - self.mean) / self.std
        z[:, -len(CUE_NAMES) :] *= self.cue_weight
        return z

    def fit(self, x4q, cues4q, y4q, x_listener, cues_listener, y_listener) -> "ListenerHead":
        """Embeddings (n, D), cues (n, 12) and valence/arousal targets (n, 2) of each source."""
        from sklearn.linear_model import Ridge

        a, b = self._inputs(x4q, cues4q), self._inputs(x_listener, cues_listener)
        both = np.vstack([a, b])
        self.mean, self.std = both.mean(0), np.maximum(both.std(0), 1e-6)
        za, zb = self._z(x4q, cues4q), self._z(x_listener, cues_listener)
        y4q, y_listener = np.asarray(y4q, float), np.asarray(y_listener, float)
        self.target_mean = np.stack([y4q.mean(0), y_listener.mean(0)])
        self.target_std = np.stack([y4q.std(0), y_listener.std(0)])
        targets = np.vstack(
            [(y4q - self.target_mean[0]) / self.target_std[0], (y_listener - self.target_mean[1]) / self.target_std[1]]
        )
        augmented = np.vstack(
            [
                np.hstack([za, np.zeros_like(za), np.zeros((len(za), 1))]),
                np.hstack([zb, zb, np.full((len(zb), 1), LISTENER_BIAS)]),
            ]
        )
        weights = np.concatenate([np.ones(len(za)), np.full(len(zb), self.listener_weight * len(za) / len(zb))])
        reg = Ridge(alpha=self.alpha).fit(augmented, targets, sample_weight=weights)
        d = za.shape[1]
        self.shared, self.delta = reg.coef_[:, :d], reg.coef_[:, d : 2 * d]
        self.intercept = np.stack([reg.intercept_, reg.intercept_ + LISTENER_BIAS * reg.coef_[:, -1]])
        return self

    def predict_raw(self, x, cues) -> np.ndarray:
        """(n, 2) listener-scale valence/arousal (before the shipped calibration)."""
        z = self._z(x, cues)
        return (z @ (self.shared + self.delta).T + self.intercept[1]) * self.target_std[1] + self.target_mean[1]

    def predict_4q(self, x, cues) -> np.ndarray:
        """(n, 2) the 4Q head: tag-derived valence/arousal (for evaluation on the 4Q source)."""
        z = self._z(x, cues)
        return (z @ self.shared.T + self.intercept[0]) * self.target_std[0] + self.target_mean[0]

    # -- storage: plain arrays, no pickle
    def to_arrays(self) -> dict[str, np.ndarray]:
        params = {
            "alpha": self.alpha,
            "listener_weight": self.listener_weight,
            "cue_weight": self.cue_weight,
            "parts": list(self.part_names),
            "cues": list(CUE_NAMES),
        }
        return {
            "params": np.array(json.dumps(params)),
            "mean": self.mean,
            "std": self.std,
            "shared": self.shared,
            "delta": self.delta,
            "intercept": self.intercept,
            "target_mean": self.target_mean,
            "target_std": self.target_std,
        }

    @classmethod
    def from_arrays(cls, arrays) -> "ListenerHead":
        params = json.loads(str(arrays["params"]))
        if params["cues"] != list(CUE_NAMES):
            raise ValueError("the listener head was trained on other valence cues than this code computes")
        head = cls(params["alpha"], params["listener_weight"], params["cue_weight"], params["parts"])
        for name in ("mean", "std", "shared", "delta", "intercept", "target_mean", "target_std"):
            setattr(head, name, np.asarray(arrays[name], np.float64))
        return head
