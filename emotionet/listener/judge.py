"""Training and judging on two kinds of truth: 4Q's tag-derived labels and listener ratings.

``train_listener`` fits the listener head (``emotionet.listener.head``) on both sources and
judges it by artist-grouped cross-validation on the listener clips. ``score_4q`` and
``score_listeners`` score what a user sees — the shown point and the mood named around the app's
mood centre — on each kind of truth. ``judge_on_listeners`` puts one of the report's models on
the listener scale (``emotionet.mood.Calibration.fit_centred``, which also sets the error behind
its confidences), cross-fitted (fitted on the other folds' clips) so that every reported figure
is measured on clips the fits never saw. The shipped calibrations are then fitted on all of them.
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


def said(shown: np.ndarray, centres) -> np.ndarray:
    """0..3 moods of shown (n, 2) points, each named around its centre ((2,) or (n, 2))."""
    centres = np.broadcast_to(np.asarray(centres, float), np.shape(shown))
    return mood_index(shown[:, 0], shown[:, 1], (centres[:, 0], centres[:, 1]))


def score_4q(shown: np.ndarray, quadrants, centres) -> dict:
    """What a user sees of 4Q clips, scored against the editors' quadrants (n, 0..3)."""
    moods = said(shown, centres)
    return {
        **classification_metrics(moods, quadrants),
        "n": len(moods),
        "said": np.bincount(moods, minlength=4).tolist(),
    }


def score_listeners(shown: np.ndarray, truth: np.ndarray, centres, confidence=None) -> dict:
    """What a user sees of listener-rated clips, scored against the listeners' means: r, CCC, MAE,
    and the shown mood against the listeners' mood named around the same centre ("sadder than
    typical music", as the app means it; ``accuracy``) and around the scale's midpoint
    (``accuracy_midpoint``); with `confidence`, its reliability."""
    moods = said(shown, centres)
    true_mood = said(truth, centres)
    metrics = {
        **agreement_metrics(shown, truth),
        **regression_metrics(shown, truth),
        **classification_metrics(moods, true_mood),
        "n": len(moods),
        "said": np.bincount(moods, minlength=4).tolist(),
        "accuracy_midpoint": float((moods == mood_index(truth[:, 0], truth[:, 1])).mean()),
    }
    if confidence is not None:
        metrics["reliability"] = reliability(confidence, moods == true_mood, simulations=200)
        metrics["ece"] = metrics["reliability"]["ece"]
        metrics["ece_if_calibrated"] = metrics["reliability"]["ece_if_calibrated"]
        metrics["ece_5_bins"] = reliability(confidence, moods == true_mood, bins=5)["ece"]
    return metrics


def judge_on_listeners(
    raw: np.ndarray, truth: np.ndarray, folds, pivot, centre
) -> tuple[Calibration, dict, np.ndarray]:
    """Calibrate one model's held-out raw outputs onto the listener scale and score them as shown.

    Each fold's calibration (``Calibration.fit_centred``: the listeners' spread, the model's raw
    `pivot` — its median on a balanced set of moods — on the app's mood `centre`) is fitted on the
    other folds. Returns (calibration fitted on all clips, metrics, cross-fitted shown predictions).
    """
    raw, truth = np.asarray(raw, float), np.asarray(truth, float)
    shown, confidence = np.zeros_like(raw), np.zeros(len(raw))
    for tr, te in folds:
        cal = Calibration.fit_centred(raw[tr], truth[tr], pivot, centre)
        shown[te] = cal.apply(raw[te])
        confidence[te] = [cal.confidence(v, a, centre) for v, a in shown[te]]
    metrics = score_listeners(shown, truth, centre, confidence)
    return Calibration.fit_centred(raw, truth, pivot, centre), metrics, shown


def source_facts(tracks) -> dict:
    truth = np.array([[t.valence, t.arousal] for t in tracks])
    counts = np.bincount(mood_index(truth[:, 0], truth[:, 1]), minlength=4)
    return {
        "n_clips": len(tracks),
        "n_artists": len({t.artist for t in tracks}),
        "quadrant_counts": counts.tolist(),
        "negative_valence_share": float((truth[:, 0] < 0.5).mean()),
    }
