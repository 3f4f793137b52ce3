"""Distillation: the headline model teaches the report's CNN what each training crop sounds like.

The CNN keeps the report's architecture and recipe (`training.train_cnn`); only its regression
target changes, to (1 - w) x the clip's label + w x what the teacher says of that 10 s crop
(`bench.train_recipes.Experimental(teacher=..., teacher_weight=w)`). Measured, not shipped: it
lives beside the benches, not in the emotionet package.

The teacher is the headline's 4Q head (`pretrained.PretrainedMood` on musicnn embeddings).
What it says of a training clip comes from an inner 5-fold split of the training clips by
artist, so it is what the teacher says of music it has not seen, not an echo of the label; a
per-axis least-squares line maps it onto the label scale. Per crop, the teacher reads the mean
embedding of the musicnn patches inside the crop (crop starts on a 1 s grid), so the student
learns how the mood moves inside a clip, which the clip's one label cannot tell it.
bench/cnn_distill.py measures it (artist-grouped CV).
"""

from __future__ import annotations

import numpy as np

from emotionet import features
from emotionet.models import pretrained

GRID_S = 1.0  # crop starts the teacher is asked about
INNER_FOLDS = 5


def crop_teacher(per_patch, starts, targets, classes, artists, train, crop_s: float, seed: int = 0):
    """teacher(rows, start frames) -> (n, 2) on the label scale, for the clips `train[rows]`.

    per_patch/starts: each clip's (patches, D) embedding and patch start times (s); targets (n, 2),
    classes (n,), artists (n,) for every clip; `train` the indices the teacher may learn from.
    """
    from sklearn.model_selection import GroupKFold

    train = np.asarray(train)
    x_clip = np.stack([per_patch[i].mean(0) for i in train])
    per_clip, clip_raw = {}, np.zeros((len(train), 2))
    inner = GroupKFold(INNER_FOLDS, shuffle=True, random_state=seed)
    for fit_rows, out_rows in inner.split(train, groups=np.asarray(artists)[train]):
        fit_idx = train[fit_rows]
        model = pretrained.PretrainedMood().fit(x_clip[fit_rows], targets[fit_idx], classes[fit_idx])
        clip_raw[out_rows] = model.predict_raw(x_clip[out_rows])
        for row in out_rows:
            i = train[row]
            length = float(starts[i][-1]) + 3.0 if len(starts[i]) else crop_s
            grid = np.arange(0.0, max(length - crop_s, 0.0) + 1e-9, GRID_S)
            windows = pretrained.window_embeddings(per_patch[i], starts[i], [(g, g + crop_s) for g in grid])
            per_clip[row] = model.predict_raw(windows)
    lines = [np.polyfit(clip_raw[:, k], targets[train, k], 1) for k in range(2)]  # raw -> label scale

    def teacher(rows, start_frames) -> np.ndarray:
        out = np.zeros((len(rows), 2))
        for n, (row, frame) in enumerate(zip(rows, start_frames)):
            values = per_clip[int(row)]
            raw = values[min(int(round(frame / features.FRAMES_PER_SECOND / GRID_S)), len(values) - 1)]
            out[n] = [np.polyval(lines[k], raw[k]) for k in range(2)]
        return np.clip(out, 0.0, 1.0)

    return teacher
