"""Learn from the team: refit the headline's light head on the team's mean ratings.

The headline reads musicnn embeddings and twelve valence cues through a linear listener head
(``emotionet.listener.head``); only that head changes. On the team's tracks the shipped model's
shown point is corrected by a ridge regression of the team's residuals (team mean − shown) on
the head's own standardised inputs, shrunk towards no change:

    shown' = shown + z·c + b        (per axis; ``offset`` keeps c = 0)

and the correction is folded into the listener head's listener-only part (its ``delta`` and
intercept, divided by the calibration's and the blend's slopes), so the adapted model is an
ordinary checkpoint folder: the timeline, the sections and every page use it unchanged. The
mood centre stays: a mood means what it meant.

Artist-grouped cross-validation inside the team's set decides: each candidate (the shipped head,
an offset only, ridge at several strengths) predicts every track from a fit on the other
artists' tracks; the candidate with the smallest held-out error is fitted on every track, and
it **helps** only when its held-out errors beat the shipped model's track by track by more than
two standard errors (a paired test: the best of seven candidates often wins a little by luck). The adapted folder is stored
beside the team's data (``<data>/checkpoints/adapted-…``, every file hashed like the shipped
ones) and used only once a person accepts it (``models.checkpoints.accept``).
"""

from __future__ import annotations

import copy
import json
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import audio, files
from ..io.paths import data_dir
from ..listener import judge
from ..metrics import agreement_metrics, regression_metrics
from ..mood import mood_of
from ..models.checkpoints import NOT_MODEL_FILES, model_files, read_config, record_hashes

MIN_TRACKS = 8  # fewer team tracks cannot tell a better head from luck
MIN_GROUPS = 3  # artists (a track without an artist is its own): folds need several
ALPHAS = (30.0, 100.0, 300.0, 1000.0, 3000.0)  # ridge strengths tried, on the head's standardised inputs
FOLDS = 5
HELPS_T = 2.0  # how many standard errors the held-out gain must clear to count as help


class AdaptError(ValueError):
    """Why the head cannot be adapted, in words for the page and the CLI."""


@dataclass
class TeamSet:
    """The team's tracks with the head's inputs: what adapting learns from."""

    ids: list[str]
    titles: list[str]
    artists: list[str]
    truth: np.ndarray  # (n, 2) the team's mean valence/arousal
    x: np.ndarray  # (n, D) mean musicnn embeddings
    cues: np.ndarray  # (n, 12)
    errors: dict[str, str] = field(default_factory=dict)  # id -> why it was left out


@dataclass
class Adaptation:
    n_tracks: int
    n_groups: int
    candidates: dict[str, dict]  # name -> held-out metrics (mae, r/ccc per axis, mood accuracy)
    chosen: str  # the candidate with the least held-out error
    helps: bool  # its held-out error is below the shipped model's
    per_track: pd.DataFrame  # id, title, artist, truth, shipped (before) and adapted (held-out) points
    head: object  # the adapted ListenerHead, fitted on every track
    base: str  # the model folder adapted

    def summary(self) -> dict:
        return {
            "n_tracks": self.n_tracks,
            "n_artists": self.n_groups,
            "chosen": self.chosen,
            "helps": self.helps,
            "candidates": self.candidates,
            "base": self.base,
        }


def collect(predictor, items, on_progress=None) -> TeamSet:
    """The head's inputs for each (id, path, title, artist, valence, arousal) item; unreadable
    files are listed in ``errors`` and left out. `on_progress(done, total)` after each."""
    items = list(items)
    kept, xs, cs, errors = [], [], [], {}
    for i, (ident, path, title, artist, v, a) in enumerate(items, start=1):
        try:
            if path is None:
                raise audio.AudioError("its audio file is missing")
            x, c = predictor.head_inputs(path, name=title)
        except (audio.AudioError, OSError) as error:
            errors[ident] = str(error)
        else:
            kept.append((ident, title, artist or "", float(v), float(a)))
            xs.append(x)
            cs.append(c)
        if on_progress:
            on_progress(i, len(items))
    if not kept:
        return TeamSet([], [], [], np.zeros((0, 2)), np.zeros((0, 0)), np.zeros((0, 0)), errors)
    ids, titles, artists, v, a = map(list, zip(*kept))
    return TeamSet(ids, titles, artists, np.column_stack([v, a]), np.stack(xs), np.stack(cs), errors)


def _slopes(bundle) -> np.ndarray:
    """d(shown)/d(listener head's z-scored output) per axis: calibration x blend x target spread."""
    cal, head = bundle.calibration["pretrained"], bundle.listener
    share = 1 - bundle.joint.blend if bundle.joint is not None else np.ones(2)
    return np.array([cal.scale_valence, cal.scale_arousal]) * share * head.target_std[1]


def _shown(bundle, head, x, cues) -> np.ndarray:
    """(n, 2) the shown points of the headline with `head` as its listener head."""
    joint = copy.copy(bundle.joint) if bundle.joint is not None else None
    if joint is not None:
        joint.listener = head
        raw = joint.predict_raw(x, cues)
    else:
        raw = head.predict_raw(x, cues)
    return bundle.calibration["pretrained"].apply(raw)


def _corrected(bundle, head, coef: np.ndarray, intercept: np.ndarray):
    """A copy of `head` whose shown points move by z·coef + intercept (per axis)."""
    slopes = _slopes(bundle)
    new = copy.deepcopy(head)
    new.delta = head.delta + coef / slopes[:, None]
    new.intercept = head.intercept.copy()
    new.intercept[1] = head.intercept[1] + intercept / slopes
    return new


def _fit(bundle, candidate: str, x, cues, truth):
    """The listener head adapted by `candidate` ("shipped", "offset", "ridge <alpha>") on these tracks."""
    head = bundle.listener
    if candidate == "shipped":
        return head
    residual = truth - _shown(bundle, head, x, cues)
    if candidate == "offset":
        return _corrected(bundle, head, np.zeros_like(head.delta), residual.mean(0))
    from sklearn.linear_model import Ridge

    ridge = Ridge(alpha=float(candidate.split()[1])).fit(head._z(x, cues), residual)
    return _corrected(bundle, head, ridge.coef_, ridge.intercept_)


def _folds(artists: list[str], ids: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import GroupKFold

    groups = [a.strip().casefold() or f"track {i}" for a, i in zip(artists, ids)]
    n = min(FOLDS, len(set(groups)))
    return list(GroupKFold(n_splits=n).split(np.zeros(len(groups)), groups=groups))


def _score(shown: np.ndarray, truth: np.ndarray, centre) -> dict:
    """MAE (both axes and each), r and CCC per axis, and how often the mood matches the team's."""
    m = regression_metrics(shown, truth)
    return {
        "mae": m["mae"],
        "mae_valence": m["mae_valence"],
        "mae_arousal": m["mae_arousal"],
        **agreement_metrics(shown, truth),
        "mood_accuracy": float(np.mean(judge.said(shown, centre) == judge.said(truth, centre))),
    }


def adapt(bundle, team: TeamSet, base: str = "") -> Adaptation:
    """Cross-validate every candidate on the team's tracks, fit the best on all of them."""
    if bundle.listener is None or "pretrained" not in bundle.calibration:
        raise AdaptError("These models have no listener head to adapt (train them with the listener set).")
    n = len(team.ids)
    groups = len({a.strip().casefold() or f"track {i}" for a, i in zip(team.artists, team.ids)})
    if n < MIN_TRACKS or groups < MIN_GROUPS:
        raise AdaptError(
            f"Adapting needs at least {MIN_TRACKS} rated tracks by {MIN_GROUPS} or more artists "
            f"(tracks without an artist count as their own); the team's set has {n} by {groups}."
        )
    centre = bundle.mood_centre
    candidates = ["shipped", "offset", *(f"ridge {a:g}" for a in ALPHAS)]
    held_out = {c: np.zeros_like(team.truth) for c in candidates}
    for train, test in _folds(team.artists, team.ids):
        for c in candidates:
            head = _fit(bundle, c, team.x[train], team.cues[train], team.truth[train])
            held_out[c][test] = _shown(bundle, head, team.x[test], team.cues[test])
    scores = {c: _score(held_out[c], team.truth, centre) for c in candidates}
    chosen = min(candidates, key=lambda c: (round(scores[c]["mae"], 6), candidates.index(c)))
    before, after = held_out["shipped"], held_out[chosen]
    per_track = pd.DataFrame(
        {
            "id": team.ids,
            "title": team.titles,
            "artist": team.artists,
            "valence": team.truth[:, 0],
            "arousal": team.truth[:, 1],
            "mood": [mood_of(v, a, centre) for v, a in team.truth],
            "before_valence": before[:, 0],
            "before_arousal": before[:, 1],
            "before_mood": [mood_of(v, a, centre) for v, a in before],
            "after_valence": after[:, 0],
            "after_arousal": after[:, 1],
            "after_mood": [mood_of(v, a, centre) for v, a in after],
        }
    )
    head = _fit(bundle, chosen, team.x, team.cues, team.truth)
    return Adaptation(n, groups, scores, chosen, _clearly_better(before, after, team.truth), per_track, head, base)


def _clearly_better(before: np.ndarray, after: np.ndarray, truth: np.ndarray, t_min: float = HELPS_T) -> bool:
    """The adapted held-out errors beat the shipped ones track by track, beyond chance: the mean
    gain in absolute error is more than `t_min` standard errors (a paired test; picking the best of
    several candidates on the same folds would otherwise often 'help' by luck)."""
    gain = np.abs(before - truth).mean(1) - np.abs(after - truth).mean(1)
    if not np.any(gain):
        return False
    return bool(gain.mean() > t_min * gain.std(ddof=1) / np.sqrt(len(gain)))


def run(predictor, items, base_dir, out_dir=None, made_by: str = "", on_progress=None) -> tuple:
    """The whole loop for the Test set page and `python -m emotionet adapt`: listen to the team's
    tracks (`collect`), cross-validate and fit (`adapt`), save the folder (`save`). Returns
    (Adaptation, its folder, {id: why} for tracks left out); raises AdaptError when it cannot adapt."""
    team = collect(predictor, items, on_progress)
    result = adapt(predictor.bundle, team, str(base_dir))
    return result, save(result, base_dir, out_dir, made_by), team.errors


def save(adaptation: Adaptation, base_dir, out_dir=None, made_by: str = "") -> Path:
    """The adapted model as its own checkpoint folder: the base folder's files, the adapted
    listener head, "adapted" in config.json and metrics.json, every model file's SHA-256 recorded.
    Default place: <data>/checkpoints/adapted-<UTC time>. The folder is written as a hidden
    temporary one beside it and renamed into place once whole: a write that fails (a full disk)
    leaves nothing behind and raises a one-line `io.files.WriteError`."""
    base_dir = Path(base_dir)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    out = Path(out_dir) if out_dir else data_dir() / "checkpoints" / f"adapted-{stamp}"
    if out.exists() and any(out.iterdir()):
        raise AdaptError(f"{out} already holds files: choose an empty folder.")
    with files.replacing_folder(out, "save the adapted models in") as work:
        _write_folder(adaptation, base_dir, work, made_by)
    return out


def _write_folder(adaptation: Adaptation, base_dir: Path, out: Path, made_by: str) -> None:
    config = read_config(base_dir)
    for name in [*model_files(config), *(n for n in NOT_MODEL_FILES if (base_dir / n).is_file())]:
        shutil.copyfile(base_dir / name, out / name)
    np.savez(out / "listener.npz", **adaptation.head.to_arrays())
    facts = {
        **adaptation.summary(),
        "base": str(base_dir),
        "made_by": made_by,
        "made_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    config["adapted"] = facts
    (out / "config.json").write_text(json.dumps(config, indent=2, allow_nan=False))
    if (out / "metrics.json").is_file():
        metrics = json.loads((out / "metrics.json").read_text())
        metrics["adapted"] = facts
        (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    if (out / "MODEL_CARD.md").is_file():
        with open(out / "MODEL_CARD.md", "a", encoding="utf-8") as card:
            card.write(card_section(facts))
    record_hashes(out)


def card_section(facts: dict) -> str:
    shipped, chosen = facts["candidates"]["shipped"], facts["candidates"][facts["chosen"]]
    return f"""

## Adapted to the team's ratings

The headline's listener head was refitted on {facts["n_tracks"]} tracks the team rated ({facts["n_artists"]}
artists), from {facts["base"]}, on {facts["made_at"]}: correction "{facts["chosen"]}" (emotionet/team/adapt.py).
Artist-grouped cross-validation on the team's tracks: mean absolute error {shipped["mae"]:.3f} shipped →
{chosen["mae"]:.3f} adapted; valence r {shipped["r_valence"]:.2f} → {chosen["r_valence"]:.2f}; arousal r
{shipped["r_arousal"]:.2f} → {chosen["r_arousal"]:.2f}; mood accuracy {shipped["mood_accuracy"]:.0%} →
{chosen["mood_accuracy"]:.0%}. The figures above are the shipped model's, before adapting.
"""


def items_from_manifest(manifest) -> list[tuple]:
    """(id, path, title, artist, valence, arousal) of a manifest CSV (the Test set page's export)."""
    from ..training import dataset

    return [
        (
            t.song_id,
            t.path,
            Path(t.path).stem,
            "" if t.artist.startswith("unknown:") else t.artist,
            t.valence,
            t.arousal,
        )
        for t in dataset.read_manifest(manifest)
    ]


def items_from_team(engine, store, min_raters: int = 2) -> list[tuple]:
    """(id, path, title, artist, valence, arousal) of the labelling set's tracks with `min_raters`+ raters."""
    from . import labelling

    rows = labelling.aggregate(engine, min_raters)
    return [
        (r.track_hash, store.find(r.track_hash), r.title, r.artist, r.valence_mean, r.arousal_mean)
        for r in rows.itertuples(index=False)
    ]
