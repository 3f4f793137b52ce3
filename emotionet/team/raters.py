"""Who rates how: each rater against the rest of the team.

A team reads from this who rates high or low and who hears the music differently, before it
trusts a mean. Every figure compares a rater with the mean of the *other* raters of the same
tracks (a rater is never compared with a mean that contains their own rating), on tracks that
at least one other person rated:

- offset per axis: the rater's mean of (their rating − the others' mean); + means they rate higher;
- r per axis: the correlation of their ratings with the others' means (how well they rank the
  tracks as the team does, whatever their offset); NaN below three shared tracks;
- MAE: their mean absolute distance from the others' means, over both axes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from . import labelling as lab

COLUMNS = ["rater", "n_tracks", "n_shared", "valence_offset", "arousal_offset", "valence_r", "arousal_r", "mae"]
MIN_FOR_R = 3


def rater_view(ratings: pd.DataFrame) -> pd.DataFrame:
    """One row per rater (COLUMNS) from current ratings (labelling.current_ratings' columns)."""
    rows = []
    if ratings.empty:
        return pd.DataFrame(rows, columns=COLUMNS)
    sums = ratings.groupby("track_hash")[["valence", "arousal"]].transform("sum")
    counts = ratings.groupby("track_hash").rater.transform("size")
    others = ratings.assign(n_others=counts - 1)
    for axis in ("valence", "arousal"):
        others[f"others_{axis}"] = (sums[axis] - ratings[axis]) / (counts - 1).where(counts > 1)
    for rater, mine in others.groupby("rater", sort=True):
        shared = mine[mine.n_others > 0]
        row = {"rater": rater, "n_tracks": len(mine), "n_shared": len(shared)}
        for axis in ("valence", "arousal"):
            difference = shared[axis] - shared[f"others_{axis}"]
            row[f"{axis}_offset"] = float(difference.mean()) if len(shared) else float("nan")
            a, b = shared[axis].to_numpy(float), shared[f"others_{axis}"].to_numpy(float)
            enough = len(shared) >= MIN_FOR_R and a.std() > 0 and b.std() > 0
            row[f"{axis}_r"] = float(np.corrcoef(a, b)[0, 1]) if enough else float("nan")
        distance = shared[["valence", "arousal"]].to_numpy(float) - shared[
            ["others_valence", "others_arousal"]
        ].to_numpy(float)
        row["mae"] = float(np.abs(distance).mean()) if len(shared) else float("nan")
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def team_raters(engine: Engine) -> pd.DataFrame:
    """`rater_view` of the labelling set's current ratings."""
    return rater_view(lab.current_ratings(engine))
