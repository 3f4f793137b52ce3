"""One clip, one answer, on real music (issue 25): analyse real clips as `analyze --json` does and
count every file whose song mood, section mood (one-section clips) or headline mood differ.

    .venv/bin/python bench/one_answer.py [--per-source 150]

Takes an even sample of the 4Q clips and of the listener-rated clips (../shared/data; not in the
repository). Before this issue, 9 of 152 held-out 4Q clips and 10 of 180 listener clips had a song
mood other than the headline's. Also counts how often the headline says a close call. Writes
bench/results/one_answer.json.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import write_result  # noqa: E402
from emotionet.predict import Predictor  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "results" / "one_answer.json"


def sample(source: str, count: int) -> list[Path]:
    with open(DATA / source / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    step = max(1, len(rows) // count)
    return [DATA / source / r["path"] for r in rows[::step][:count]]


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-source", type=int, default=150)
    args = parser.parse_args()
    predictor, started, result = Predictor.load(), time.time(), {}
    for source in ("4q", "musifeast"):
        counts = {"clips": 0, "song_differs": 0, "one_section": 0, "section_differs": 0, "close_calls": 0}
        for path in sample(source, args.per_source):
            d = predictor.analyze(path).to_dict()
            head = d[d["headline"]]
            counts["clips"] += 1
            counts["song_differs"] += d["song"]["mood"] != head["mood"]
            counts["close_calls"] += head["close_to"] is not None
            if len(d["sections"]) == 1:
                counts["one_section"] += 1
                counts["section_differs"] += d["sections"][0]["mood"] != head["mood"]
        result[source] = counts
        print(source, counts, flush=True)
    result["seconds"] = round(time.time() - started, 1)
    return write_result(OUT, result)


if __name__ == "__main__":
    main()
