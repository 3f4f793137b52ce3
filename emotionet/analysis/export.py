"""Take it away: an analysis as JSON, as CSV (timeline and sections), and its valence-arousal plane as PNG.

All three take the plain dict of an analysis (`SongAnalysis.to_dict()`, or `Analysis.to_dict()`
for the excerpt analysis) and return bytes, ready for a download button or a file:

    to_json(d)            strict JSON (NaN or infinity is an error, not invalid JSON)
    timeline_csv(d)       one row per window: start, end, and each model's valence/arousal/mood
    sections_csv(d)       one row per section: start, end, valence, arousal, mood, confidence, hears
    plane_png(d)          the plane: quadrants, every model's song-level point, the sections in
                          order (numbered, joined by arrows); matplotlib, no browser
Text cells that a spreadsheet would run as a formula (leading = + - @, tab, CR) are neutralised.
"""

from __future__ import annotations

import csv
import io
import json
import math

from ..mood import COLOURS

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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
    """file, section, start_s, end_s, start (m:ss), valence, arousal, mood, confidence, hears, and
    the other models' per-section valence/arousal/mood."""
    sections = analysis.get("sections", [])
    others = _models([s.get("models", {}) for s in sections])
    header = ["file", "section", "start_s", "end_s", "start", "valence", "arousal", "mood", "confidence", "hears"]
    header += [f"{m}_{k}" for m in others for k in ("valence", "arousal", "mood")]
    rows = []
    for i, s in enumerate(sections, start=1):
        row = [analysis.get("file", ""), i] + [s.get(k, "") for k in header[2:10]]
        row += [s.get("models", {}).get(m, {}).get(k, "") for m in others for k in ("valence", "arousal", "mood")]
        rows.append(row)
    return _csv(header, rows)


def plane_png(analysis: dict, thresholds=(0.5, 0.5), dpi: int = 150) -> bytes:
    """The valence-arousal plane as PNG bytes (matplotlib's Agg backend: no display, no browser)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from ..models import label  # the names the pages use ("svr_all" -> "SVR (all features)")

    fig = Figure(figsize=(5.5, 5.5), dpi=dpi)
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
                s["valence"], s["arousal"], s=140, color=COLOURS.get(s["mood"], "grey"), edgecolor="white", zorder=3
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
    for name, p in models:
        ax.scatter(p["valence"], p["arousal"], marker="D", s=36, color="black", zorder=5)
        ax.annotate(label(name), (p["valence"], p["arousal"]), xytext=(5, 4), textcoords="offset points", fontsize=8)
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
            label=f"song ({label(song.get('model', ''))}): {song['mood']}",
        )
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("valence")
    ax.set_ylabel("arousal")
    title = str(analysis.get("file", ""))
    ax.set_title(title if len(title) <= 50 else title[:47] + "...", fontsize=10)
    if song and song.get("arc"):
        fig.text(0.5, 0.01, song["arc"], ha="center", fontsize=8, wrap=True)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
