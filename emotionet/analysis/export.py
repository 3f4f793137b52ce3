"""Take it away: an analysis as JSON, as CSV (timeline and sections), and its valence-arousal plane as PNG.

All three take the plain dict of an analysis (`SongAnalysis.to_dict()`, or `Analysis.to_dict()`
for the excerpt analysis) and return bytes, ready for a download button or a file:

    to_json(d)            strict JSON (NaN or infinity is an error, not invalid JSON)
    timeline_csv(d)       one row per window: start, end, and each model's valence/arousal/mood
    sections_csv(d)       one row per section: start, end, valence, arousal, mood, share, confidence, hears
    plane_png(d)          the plane: quadrants, every model's song-level point (named in the legend
                          below the plane, never beside the points, where they pile up), the sections
                          in order (numbered, joined by lines); matplotlib, no browser
Text cells that a spreadsheet would run as a formula (leading = + - @, tab, CR) are neutralised.
"""

from __future__ import annotations

import csv
import io
import json
import math

from ..mood import COLOURS, say

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MODEL_MARKERS = (("D", "#222222"), ("s", "#6a3d9a"), ("^", "#1f4e79"), ("v", "#7f4f24"), ("P", "#555555"))


def to_json(analysis: dict, indent: int | None = 1) -> bytes:
    """UTF-8 JSON; raises ValueError on NaN or infinity anywhere (strict JSON has neither)."""
    return json.dumps(analysis, indent=indent, allow_nan=False, ensure_ascii=False).encode("utf-8")


def safe_cell(value):
    """A CSV cell a spreadsheet shows as text: strings starting like a formula get a leading
    apostrophe; numbers stay numbers (a negative number is not a formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return value


def _csv(header: list[str], rows: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows([[safe_cell(v) for v in row] for row in rows])
    return buffer.getvalue().encode("utf-8")


def _models(entries: list[dict]) -> list[str]:
    names: list[str] = []
    for entry in entries:
        names += [k for k, v in entry.items() if isinstance(v, dict) and "valence" in v and k not in names]
    return names


def timeline_csv(analysis: dict) -> bytes:
    """file, start_s, end_s, then <model>_valence, <model>_arousal, <model>_mood for every model."""
    timeline = analysis.get("timeline", [])
    models = _models(timeline)
    header = ["file", "start_s", "end_s"] + [f"{m}_{k}" for m in models for k in ("valence", "arousal", "mood")]
    rows = [
        [analysis.get("file", ""), w["start_s"], w["end_s"]]
        + [w.get(m, {}).get(k, "") for m in models for k in ("valence", "arousal", "mood")]
        for w in timeline
    ]
    return _csv(header, rows)


def sections_csv(analysis: dict) -> bytes:
    """file, section, start_s, end_s, start (m:ss), valence, arousal, mood, share (of its windows that
    carry its mood; empty for a clip of one section), confidence, hears, and the other models'
    per-section valence/arousal/mood."""
    sections = analysis.get("sections", [])
    others = _models([s.get("models", {}) for s in sections])
    own = ["start_s", "end_s", "start", "valence", "arousal", "mood", "share", "confidence", "hears"]
    header = ["file", "section", *own] + [f"{m}_{k}" for m in others for k in ("valence", "arousal", "mood")]
    rows = []
    for i, s in enumerate(sections, start=1):
        row = [analysis.get("file", ""), i] + [s.get(k, "") for k in own]
        row += [s.get("models", {}).get(m, {}).get(k, "") for m in others for k in ("valence", "arousal", "mood")]
        rows.append(row)
    return _csv(header, rows)


def plane_png(analysis: dict, thresholds=(0.5, 0.5), dpi: int = 150) -> bytes:
    """The valence-arousal plane as PNG bytes (matplotlib's Agg backend: no display, no browser)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from ..models import label  # the names the pages use ("svr_all" -> "SVR, all features")

    import textwrap

    fig = Figure(figsize=(5.5, 5.5), dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    tv, ta = thresholds
    for (x0, x1, y0, y1), mood in zip(
        [(tv, 1, ta, 1), (0, tv, ta, 1), (0, tv, 0, ta), (tv, 1, 0, ta)], ("happy", "aggressive", "sad", "calm")
    ):
        ax.fill_between([x0, x1], y0, y1, color=COLOURS[mood], alpha=0.12, linewidth=0)
        ax.text((x0 + x1) / 2, y1 - 0.03, mood, ha="center", va="top", color=COLOURS[mood], fontsize=11)
    ax.axvline(tv, color="grey", lw=0.8)
    ax.axhline(ta, color="grey", lw=0.8)

    sections = analysis.get("sections", [])
    if len(sections) > 1:
        xs, ys = [s["valence"] for s in sections], [s["arousal"] for s in sections]
        ax.plot(xs, ys, color="#555555", lw=1, alpha=0.7, zorder=2)
        for i, s in enumerate(sections, start=1):
            ax.scatter(
                s["valence"],
                s["arousal"],
                s=140,
                color=COLOURS.get(s["mood"], "grey"),
                edgecolor="white",
                zorder=3,
                label="sections, numbered in order" if i == 1 else None,
            )
            ax.annotate(
                str(i),
                (s["valence"], s["arousal"]),
                ha="center",
                va="center",
                fontsize=8,
                color="white",
                zorder=4,
                weight="bold",
            )
    models = [
        (k, v)
        for k, v in analysis.items()
        if isinstance(v, dict) and {"valence", "arousal", "mood"} <= set(v) and k != "song"
    ]
    for (name, p), (marker, colour) in zip(models, MODEL_MARKERS * (len(models) // len(MODEL_MARKERS) + 1)):
        ax.scatter(
            p["valence"],
            p["arousal"],
            marker=marker,
            s=55,
            color=colour,
            edgecolor="white",
            zorder=5,
            label=label(name),
        )
    song = analysis.get("song")
    if song:
        ax.scatter(
            song["valence"],
            song["arousal"],
            marker="*",
            s=320,
            color=COLOURS.get(song["mood"], "grey"),
            edgecolor="black",
            zorder=6,
            label=f"whole song: {song.get('said') or say(song['mood'], song.get('close_to'))}",
        )
    if models or song:  # under the plane, where no entry can pass for a point on it
        fig.legend(loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("valence (negative → positive)")
    ax.set_ylabel("arousal (calm → energetic)")
    title = str(analysis.get("file", ""))
    title = title if len(title) <= 50 else title[:47] + "..."
    if song and song.get("arc"):
        title += "\n" + textwrap.shorten(song["arc"], 90, placeholder="…")
    ax.set_title(title, fontsize=9)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
