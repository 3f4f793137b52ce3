"""Other shapes of the shown answer than the shipped linear blend (issue 20), on the same folds.

    .venv/bin/python bench/shown_mood_shapes.py [--seeds 0 1 2]

bench/shown_mood.py measures the linear blend of the headline's two heads per axis (in standardised
units, ``(1 - w) * listener + w * 4Q log-odds``): the more of the 4Q head, the better the shown mood
on 4Q and the worse the listener valence r. Two shapes might trade better:

- ``snap s k``: ``listener + s * tanh(k * 4Q log-odds)``: the 4Q head pushes a clip away from the
  centre by at most ``s`` listener standard deviations, mostly where the listener head is unsure
  (near the centre), and leaves the order of clearly positive or negative clips alone;
- ``decide a``: the side of the centre per axis is decided by ``4Q log-odds + a * listener`` (both
  centred on the balanced 4Q training clips' medians), and a shown point on the other side is moved
  just across the centre; elsewhere the listener head's value stands.

Valence takes each shape; arousal keeps the shipped linear blend (w = 0.1). Every fit, calibration
and mood centre comes from the training folds, as in bench/shown_mood.py, whose scoring this uses.
Writes bench/results/shown_mood_shapes.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import artist_folds, write_result  # noqa: E402
from bench.shown_mood import FLOOR, load_sources, scores, summarise  # noqa: E402
from emotionet.models.joint import JointHead  # noqa: E402
from emotionet.mood import Calibration, mood_index  # noqa: E402

OUT = ROOT / "bench" / "results" / "shown_mood_shapes.json"
AROUSAL_W = 0.1
SHAPES = (
    [("linear", w) for w in (0.0, 0.1, 0.2, 0.3)]
    + [("snap", s, k) for s in (0.25, 0.5, 0.75, 1.0) for k in (0.5, 1.0, 2.0)]
    + [("decide", a) for a in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)]
    + [("decide both", a, b) for a in (1.5, 2.0, 3.0) for b in (2.0, 4.0, 8.0)]
)


def name(shape) -> str:
    return " ".join(f"{p:g}" if isinstance(p, float) else str(p) for p in shape)


class Shaped:
    """Valence and arousal in the listener head's units, before calibration, for one fitted head."""

    def __init__(self, head: JointHead, shape, x4q, c4q):
        self.head, self.shape = head, shape
        s = head.stats
        self.lm, self.ls, self.qm, self.qs = s["listener_mean"], s["listener_std"], s["logit_mean"], s["logit_std"]
        lz, qz = self.z(x4q, c4q)
        self.l_median, self.q_median = np.median(lz, axis=0), np.median(qz, axis=0)
        self.moved = [0.0, 0.0]  # share of the last call's clips moved across the centre, per axis

    def z(self, x, c):
        return (self.head.listener.predict_raw(x, c) - self.lm) / self.ls, (self.head.logits(x) - self.qm) / self.qs

    def raw(self, x, c) -> np.ndarray:
        lz, qz = self.z(x, c)
        out = (1 - AROUSAL_W) * lz + AROUSAL_W * qz  # arousal as shipped; valence replaced below
        kind = self.shape[0]
        if kind == "linear":
            out[:, 0] = (1 - self.shape[1]) * lz[:, 0] + self.shape[1] * qz[:, 0]
        elif kind == "snap":
            _, s, k = self.shape
            out[:, 0] = lz[:, 0] + s * np.tanh(k * (qz[:, 0] - self.q_median[0]))
        else:  # decide: valence only, or (decide both) each axis with its own weight
            weights = self.shape[1:] if kind == "decide both" else self.shape[1:2]
            if kind == "decide":
                out[:, 0] = lz[:, 0]
            else:
                out = lz.copy()
            for axis, a in enumerate(weights):
                side = np.sign((qz[:, axis] - self.q_median[axis]) + a * (lz[:, axis] - self.l_median[axis]))
                wrong = np.sign(out[:, axis] - self.l_median[axis]) != side
                out[:, axis] = np.where(wrong, self.l_median[axis] + side * 0.02, out[:, axis])
                self.moved[axis] = float(wrong.mean())
        return self.lm + self.ls * out


def run_seed(seed, a, listener) -> dict:
    (xa, ca, ya, qa, a_artists), (xl, cl, yl, l_artists) = a, listener
    folds_4q = artist_folds(qa, a_artists, seed=seed)
    folds_l = artist_folds(mood_index(yl[:, 0], yl[:, 1]), l_artists, seed=seed)
    shown = {name(s): (np.zeros_like(ya), np.zeros_like(ya), np.zeros_like(yl), np.zeros_like(yl)) for s in SHAPES}
    for (tra, tea), (trl, tel) in zip(folds_4q, folds_l):
        head = JointHead.fit(xa[tra], ca[tra], ya[tra], qa[tra], xl[trl], cl[trl], yl[trl])
        for shape in SHAPES:
            f = Shaped(head, shape, xa[tra], ca[tra])
            pivot = np.median(f.raw(xa[tra], ca[tra]), axis=0)
            raw_l = f.raw(xl[trl], cl[trl])
            centre = Calibration.fit_affine(raw_l, yl[trl]).apply(pivot[None])[0]
            cal = Calibration.fit_centred(raw_l, yl[trl], pivot, centre)
            s4, c4, sl, clc = shown[name(shape)]
            s4[tea], sl[tel] = cal.apply(f.raw(xa[tea], ca[tea])), cal.apply(f.raw(xl[tel], cl[tel]))
            c4[tea], clc[tel] = centre, centre
    return {n: scores(s4, qa, c4, sl, yl, clc) for n, (s4, c4, sl, clc) in shown.items()}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache")
    args = parser.parse_args()
    started = time.time()
    a, listener = load_sources(args.cache)
    summary = summarise([run_seed(seed, a, listener) for seed in args.seeds])
    for n, s in summary.items():
        ok = all(s[k]["mean"] >= floor for k, floor in FLOOR.items())
        print(
            f"{n:16s} 4Q acc {s['accuracy_4q']['mean']:.3f}±{s['accuracy_4q']['sd']:.3f} "
            f"said {np.round(s['said_4q']).astype(int).tolist()} | listener r v {s['r_valence']['mean']:.3f} "
            f"a {s['r_arousal']['mean']:.3f} mood acc {s['accuracy_listener']['mean']:.3f}{'' if ok else '  (below floor)'}"
        )
    result = {"seeds": args.seeds, "arousal_w": AROUSAL_W, "floor": FLOOR, "summary": summary}
    result["seconds"] = round(time.time() - started, 1)
    return write_result(OUT, result)


if __name__ == "__main__":
    main()
