"""Training and judging on two kinds of truth: 4Q's tag-derived labels and listener ratings.

``train_listener`` fits the headline model's listener head (``emotionet.listener.head``) on both
sources and judges it by artist-grouped cross-validation on the listener clips (every fold also
trains on all of 4Q, whose artists are others). ``judge_on_listeners`` puts every model on the
listener scale and scores it there: each model's raw outputs are mapped onto the listener
scale by an affine calibration (``emotionet.mood.Calibration.fit_affine``, which also sets the error
behind its confidences), cross-fitted (fitted on the other folds' clips) so that the reported r, CCC,
MAE, quadrant accuracy and calibration error are all measured on clips the fits never saw. The
shipped calibrations are then fitted on all of them.
"""

from __future__ import annotations

import numpy as np

from ..metrics import agreement_metrics, classification_metrics, regression_metrics, reliability
from ..mood import Calibration, mood_index
from .head import ListenerHead

FOLDS = 5


def listener_folds(tracks, n_splits: int = FOLDS, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Artist-grouped folds of the listener clips, stratified by their (listener) quadrant."""
    from sklearn.model_selection import StratifiedGroupKFold

    labels = [t.quadrant for t in tracks]
    groups = [t.artist for t in tracks]
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return [(tr, te) for tr, te in splitter.split(np.zeros(len(tracks)), labels, groups)]


def train_listener(x4q, c4q, y4q, x_l, c_l, y_l, folds, **params):
    """(head fitted on everything, out-of-fold raw listener predictions (n_l, 2))."""
    oof = np.zeros((len(x_l), 2))
    for tr, te in folds:
        head = ListenerHead(**params).fit(x4q, c4q, y4q, x_l[tr], c_l[tr], y_l[tr])
        oof[te] = head.predict_raw(x_l[te], c_l[te])
    return ListenerHead(**params).fit(x4q, c4q, y4q, x_l, c_l, y_l), oof


def judge_on_listeners(raw: np.ndarray, truth: np.ndarray, folds) -> tuple[Calibration, dict, np.ndarray]:
    """Calibrate one model's held-out raw outputs onto the listener scale and score them.

    Returns (calibration fitted on all clips, metrics, cross-fitted calibrated predictions).
    """
    raw, truth = np.asarray(raw, float), np.asarray(truth, float)
    shown, confidence = np.zeros_like(raw), np.zeros(len(raw))
    for tr, te in folds:
        cal = Calibration.fit_affine(raw[tr], truth[tr])
        shown[te] = cal.apply(raw[te])
        confidence[te] = [cal.confidence(v, a) for v, a in shown[te]]
    predicted, true_class = mood_index(shown[:, 0], shown[:, 1]), mood_index(truth[:, 0], truth[:, 1])
    metrics = {**agreement_metrics(shown, truth), **regression_metrics(shown, truth),
               **classification_metrics(predicted, true_class)}  # fmt: skip
    metrics["reliability"] = reliability(confidence, predicted == true_class, simulations=200)
    metrics["ece"] = metrics["reliability"]["ece"]
    metrics["ece_if_calibrated"] = metrics["reliability"]["ece_if_calibrated"]
    metrics["ece_5_bins"] = reliability(confidence, predicted == true_class, bins=5)["ece"]
    shipped = Calibration.fit_affine(raw, truth)
    return shipped, metrics, shown


def source_facts(tracks) -> dict:
    truth = np.array([[t.valence, t.arousal] for t in tracks])
    counts = np.bincount(mood_index(truth[:, 0], truth[:, 1]), minlength=4)
    return {"n_clips": len(tracks), "n_artists": len({t.artist for t in tracks}),
            "quadrant_counts": counts.tolist(), "negative_valence_share": float((truth[:, 0] < 0.5).mean())}  # fmt: skip
