"""Where every model puts each built-in demo clip, and how far the headline model's point lies from
the quadrant boundaries (its margin), as figures (no pass/fail; tests/test_demo.py asserts).

    .venv/bin/python bench/demo_margins.py [--checkpoints DIR]

Re-run after retraining: a demo whose margin shrinks towards 0 needs a more stereotypical sound.
Prints a table and writes bench/results/demo_margins.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emotionet.demo import DEMO_MOODS, DEMOS, demo_wav  # noqa: E402
from emotionet.models.checkpoints import checkpoint_dir  # noqa: E402
from emotionet.predict import Predictor  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", default=str(checkpoint_dir()))
    args = parser.parse_args()
    predictor = Predictor.load(args.checkpoints)
    rows = []
    for title in DEMOS:
        analysis = predictor.analyze(demo_wav(title), name=title)
        lead = analysis.predictions[analysis.headline]
        rows.append(
            {
                "demo": title,
                "named": DEMO_MOODS[title],
                "headline": analysis.headline,
                "mood": lead.mood,
                "valence": round(lead.valence, 3),
                "arousal": round(lead.arousal, 3),
                "margin_valence": round(abs(lead.valence - predictor.thresholds[0]), 3),
                "margin_arousal": round(abs(lead.arousal - predictor.thresholds[1]), 3),  # from the mood centre
                "windows": [w[analysis.headline]["mood"] for w in analysis.timeline],
                "all_models": {n: p.to_dict() for n, p in analysis.predictions.items()},
            }
        )
        r = rows[-1]
        print(
            f"{title:38s} named {r['named']:10s} {r['headline']}: {r['mood']:10s} v={r['valence']:.2f} "
            f"a={r['arousal']:.2f} margins v {r['margin_valence']:.2f} a {r['margin_arousal']:.2f}"
        )
    out = ROOT / "bench" / "results" / "demo_margins.json"
    folder = Path(args.checkpoints).resolve()
    folder = folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder
    out.write_text(json.dumps({"checkpoints": str(folder), "demos": rows}, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
