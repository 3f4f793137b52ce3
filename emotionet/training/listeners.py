"""The listener-rated clips in training (issue 20): the joint head fitted on both sources, every
model mapped onto the listener scale and judged there, and the shown rule over several fold seeds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..mood import QUADRANTS
from . import dataset
from .loop import TrainConfig, window_predictions


def clip_cues(feats) -> np.ndarray:
    from ..listener.cues import clip_cues as one

    return np.stack([one(f) for f in feats])


def train_on_listeners(
    tracks,
    feats,
    embeddings,
    listener_tracks,
    cache_dir,
    cfg: TrainConfig,
    normalizer,
    cnns,
    svrs,
    raw_4q: dict,
    val_idx,
) -> tuple:
    """What the app shows, fitted on both sources and judged on both (issue 20).

    The headline is the joint head (``emotionet.models.joint``: the listener and 4Q heads blended)
    fitted on all clips of both sources, judged by artist-grouped CV on both at once. Its mood
    centre (the shown point of the median 4Q clip) is where every model's moods meet. The report's
    models learned from 4Q only: each is mapped onto the listener scale with its median on the 4Q
    validation clips (`raw_4q`, a balanced set they never trained on) on that centre, and judged on
    those clips and on the listener clips, which they never saw.

    Returns (joint head, mood centre, metrics["listener"], metrics["shown_4q"], the app's calibrations,
    every model's shown points on the 4Q validation clips (the headline's held out by the CV)).
    """
    from ..listener import judge
    from ..models.joint import SHIPPED_BLEND, SHIPPED_DECIDE, JointHead, cross_validate

    cache = cache_dir and Path(cache_dir)
    l_tracks, l_feats, problems = dataset.load_features(listener_tracks, cache and cache / "features", cfg.workers)
    kept, x_l, more = dataset.extract_embeddings(l_tracks, cache and cache / "embeddings", cfg.workers)
    if problems or more or len(kept) != len(l_tracks):
        raise RuntimeError(f"unreadable listener clips: { ({**problems, **more}) }")
    y_l = np.array([[t.valence, t.arousal] for t in l_tracks])
    y_4q = np.array([[t.valence, t.arousal] for t in tracks])
    q_4q = np.array([t.quadrant for t in tracks])
    c_4q, c_l = clip_cues(feats), clip_cues(l_feats)
    folds_l, folds_4q = judge.listener_folds(l_tracks, seed=cfg.seed), judge.listener_folds(tracks, seed=cfg.seed)

    head = JointHead.fit(embeddings, c_4q, y_4q, q_4q, x_l, c_l, y_l, SHIPPED_BLEND, SHIPPED_DECIDE)
    headline_cal, centre = head.calibrate(embeddings, c_4q, x_l, c_l, y_l)
    cv = cross_validate(embeddings, c_4q, y_4q, q_4q, x_l, c_l, y_l, folds_4q, folds_l, [head.blend], head.decide)[
        tuple(head.blend)
    ]
    (shown_4q, centres_4q), (shown_l, centres_l, confidence) = cv["4q"], cv["listener"]
    headline_cal.error_from(shown_l, y_l)  # confidence from the held-out error, not the fit's own
    calibration = {"pretrained": headline_cal}
    scores = {"pretrained": judge.score_listeners(shown_l, y_l, centres_l, confidence)}
    scores_4q = {
        "pretrained": {
            **judge.score_4q(shown_4q, q_4q, centres_4q),
            "judged_on": f"artist-grouped {len(folds_4q)}-fold CV, all {len(tracks)} clips",
        }
    }
    shown = {"pretrained": shown_l}
    points = {"pretrained": shown_4q[val_idx]}

    stacks = [normalizer.stack(f) for f in l_feats]
    raw_l = {name: window_predictions(model, stacks, cfg) for name, model in cnns.items()}
    for name, svr in svrs.items():
        raw_l[name] = svr.predict(np.stack([svr.inputs(f) for f in l_feats]))
    for name, values in raw_l.items():
        pivot = np.median(raw_4q[name], axis=0)
        calibration[name], scores[name], shown[name] = judge.judge_on_listeners(values, y_l, folds_l, pivot, centre)
        scores_4q[name] = {
            **judge.score_4q(calibration[name].apply(raw_4q[name]), q_4q[val_idx], centre),
            "judged_on": f"the {len(val_idx)} validation clips (artist-disjoint split)",
        }
        points[name] = calibration[name].apply(raw_4q[name])
    per_clip = []
    for row, t in enumerate(l_tracks):
        entry = {
            "song_id": t.song_id,
            "artist": t.artist,
            "valence": t.valence,
            "arousal": t.arousal,
            "quadrant": QUADRANTS[t.quadrant],
        }
        for name in shown:
            entry[name] = {
                "valence": round(float(shown[name][row, 0]), 4),
                "arousal": round(float(shown[name][row, 1]), 4),
            }
        per_clip.append(entry)
    metrics = {**judge.source_facts(l_tracks), "folds": len(folds_l), "models": scores, "predictions": per_clip}
    metrics["shown_rule"] = shown_rule_over_seeds(embeddings, c_4q, y_4q, q_4q, x_l, c_l, y_l, tracks, l_tracks, head)
    return head, centre, metrics, scores_4q, calibration, points


def shown_rule_over_seeds(x4q, c4q, y4q, q4q, x_l, c_l, y_l, tracks, l_tracks, head, seeds=None) -> dict:
    """What the app shows, judged by artist-grouped CV for each of several fold seeds on both truths
    (`models.joint.seed_scores`): every figure as its mean, its spread over the seeds and the 95%
    range it may read on a held-out set of 150 clips (issue 25: a user's own check)."""
    from ..listener import judge
    from ..models.joint import FOLD_SEEDS, HELD_OUT_SET, seed_scores, summarise_seeds

    seeds = list(FOLD_SEEDS if seeds is None else seeds)
    runs = [
        seed_scores(
            x4q,
            c4q,
            y4q,
            q4q,
            x_l,
            c_l,
            y_l,
            judge.listener_folds(tracks, seed=seed),
            judge.listener_folds(l_tracks, seed=seed),
            tuple(head.blend),
            head.decide,
        )
        for seed in seeds
    ]
    return {
        "fold_seeds": seeds,
        "blend": head.blend.tolist(),
        "decide": head.decide,
        "interval_for": HELD_OUT_SET,
        "chosen_by": "bench/shown_rule.py",
        **summarise_seeds(runs),
    }
