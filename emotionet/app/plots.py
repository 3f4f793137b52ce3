"""Plotly figures for the pages: features, the valence-arousal plane, timelines and results."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..features import FRAMES_PER_SECOND, ROW_LABELS
from ..models import label
from ..mood import COLOURS as MOOD_COLOURS
from ..mood import EMOJI, MOODS, QUADRANTS, mood_index, say

MODEL_COLOURS = {"cnn": "#d62728", "crnn": "#9467bd", "svr": "#1f77b4", "svr_all": "#17becf", "pretrained": "#2ca02c"}
QUADRANT_CORNERS = {"happy": (1, 1), "aggressive": (0, 1), "sad": (0, 0), "calm": (1, 0)}
FEATURE_TITLES = {"mfcc": "MFCC", "contrast": "Spectral contrast (dB)", "chroma": "Chroma"}


MOOD_SHADES = {"happy": "#fff3c4", "aggressive": "#ffd6d6", "sad": "#d6e4ff", "calm": "#d9f2dc"}
PLANE_RANGE = [-0.03, 1.03]  # a little beyond 0-1, so a point at 1.00 is not cut in half


def feature_heatmap(
    matrix: np.ndarray,
    name: str,
    start_s: float = 0.0,
    height: int = 300,
    mean: np.ndarray | None = None,
    std: np.ndarray | None = None,
) -> go.Figure:
    """A feature over time. With `mean`/`std` (the training normaliser), each row is standardised
    as the models see it, so MFCC 0 (loudness) no longer swamps the other coefficients."""
    standardised = mean is not None and std is not None
    z = (matrix - mean[:, None]) / std[:, None] if standardised else matrix
    times = start_s + np.arange(matrix.shape[1]) / FRAMES_PER_SECOND
    colours = dict(colorscale="RdBu_r", zmid=0, zmin=-3, zmax=3) if standardised else dict(colorscale="Viridis")
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=times,
            y=ROW_LABELS[name],
            **colours,
            colorbar=dict(title="σ" if standardised else "", thickness=12),
            hovertemplate="%{y} at %{x:.1f} s: %{z:.2f}<extra></extra>",
        )
    )
    title = FEATURE_TITLES[name] + (" — each row in standard deviations from the training mean" if standardised else "")
    fig.update_layout(
        title=title,
        height=height,
        margin=dict(l=10, r=10, t=40, b=30),
        xaxis_title="time (s)",
        yaxis=dict(automargin=True, autorange="reversed"),
    )
    return fig


def va_plane(thresholds=(0.5, 0.5), height: int = 420) -> go.Figure:
    """An empty valence-arousal plane, 0-1 on both axes, with the named quadrants meeting at
    `thresholds` (the mood centre, marked with a cross)."""
    tv, ta = thresholds
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[tv],
            y=[ta],
            mode="markers",
            marker=dict(symbol="cross-thin", size=14, line=dict(width=1.5, color="#777")),
            showlegend=False,
            hovertemplate=f"mood centre (valence {tv:.2f}, arousal {ta:.2f}): the moods meet here<extra></extra>",
        )
    )
    for mood, (cx, cy) in QUADRANT_CORNERS.items():
        x0, x1 = (tv, 1) if cx else (0, tv)
        y0, y1 = (ta, 1) if cy else (0, ta)
        fig.add_shape(type="rect", x0=x0, x1=x1, y0=y0, y1=y1, fillcolor=MOOD_SHADES[mood], line_width=0, layer="below")
        fig.add_annotation(
            x=(x0 + x1) / 2,
            y=y1 - 0.04 if cy else y0 + 0.04,
            text=f"{EMOJI[mood]} {mood}",
            showarrow=False,
            font=dict(size=14, color="#555"),
        )
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=30, b=10),
        xaxis=dict(range=PLANE_RANGE, title="valence (negative → positive)", constrain="domain"),
        yaxis=dict(range=PLANE_RANGE, title="arousal (calm → energetic)", scaleanchor="x"),
        legend=dict(orientation="h", y=-0.15),
    )
    return fig


def predictions_on_plane(predictions: dict, thresholds=(0.5, 0.5), headline: str | None = None) -> go.Figure:
    """One marker per model, named in the legend (labels beside points overlap when models agree);
    `predictions` maps model name -> object with valence/arousal/mood; the headline is a big star."""
    fig = va_plane(thresholds)
    for name, p in predictions.items():
        lead = name == headline
        fig.add_trace(
            go.Scatter(
                x=[p.valence],
                y=[p.arousal],
                mode="markers",
                name=label(name) + (" ⭐ our best" if lead else ""),
                marker=dict(
                    size=22 if lead else 13,
                    symbol="star" if lead else "circle",
                    color=MODEL_COLOURS.get(name),
                    line=dict(width=1.5, color="white"),
                ),
                cliponaxis=False,
                hovertemplate=f"{label(name)}: {p.mood}<br>valence %{{x:.2f}}, arousal %{{y:.2f}}<extra></extra>",
            )
        )
    fig.update_layout(legend=dict(orientation="h", y=-0.18))
    return fig


def points_on_plane(points: list[tuple[str, float, float]], height: int = 320, thresholds=(0.5, 0.5)) -> go.Figure:
    """Named (label, valence, arousal) points on the plane, e.g. a rater's preview."""
    fig = va_plane(thresholds, height=height)
    for name, v, a in points:
        fig.add_trace(
            go.Scatter(
                x=[v],
                y=[a],
                mode="markers+text",
                text=[name],
                textposition="top center",
                marker=dict(size=12),
                name=name,
                showlegend=False,
                cliponaxis=False,
            )
        )
    return fig


MIN_NUMBERED_STRIP = 0.025  # a section strip narrower than this share of the timeline carries no number
MAX_NAMED_WINDOWS = 40  # past this many windows the per-window faces crowd the chart: sections say it


def timeline_chart(
    timeline: list[dict], model: str, sections: list[dict] | None = None, thresholds=(0.5, 0.5)
) -> go.Figure:
    """The mood of each window (a coloured band, named) under `model`'s valence and arousal lines;
    with `sections` (Analysis.to_dict()["sections"]), each section as a numbered strip in its
    mood's colour along the bottom, with a dashed line at each boundary and a (nearly invisible)
    marker in the middle of each strip that a click selects (trace "sections"). A strip shows its number
    only (its mood is in its colour and hover), and only where it is wide enough for it, so that the labels
    of a long song never run into each other. Each line's reference is its middle at the mood centre
    (`thresholds`), where its moods change: valence above its line is positive, whatever the number."""
    fig = go.Figure()
    centres = [(w["start_s"] + w["end_s"]) / 2 for w in timeline]
    hop = (
        (centres[1] - centres[0])
        if len(centres) > 1
        else (timeline[0]["end_s"] - timeline[0]["start_s"] if timeline else 1)
    )
    # shapes and annotations as plain dicts, set once: plotly's add_vrect/add_annotation validate the
    # whole layout on every call (0.5 s for a 4-minute song's 48 windows, seconds for an hour)
    shapes, notes = [], []
    for centre, w in zip(centres, timeline):
        mood = w[model]["mood"]
        shapes.append(
            dict(
                type="rect",
                xref="x",
                yref="paper",
                x0=centre - hop / 2,
                x1=centre + hop / 2,
                y0=0,
                y1=1,
                fillcolor=MOOD_SHADES[mood],
                line_width=0,
                layer="below",
            )
        )
        if len(timeline) > MAX_NAMED_WINDOWS:
            continue
        named = len(timeline) <= 6  # few windows: room to name the mood, not just show its face
        notes.append(
            dict(
                x=centre,
                y=0.97,
                text=f"{EMOJI[mood]}<br>{mood}" if named else EMOJI[mood],
                showarrow=False,
                hovertext=mood,
                font=dict(size=13 if named else 16),
                yanchor="top",
            )
        )
    span = max((timeline[-1]["end_s"] - timeline[0]["start_s"]) if timeline else 0.0, 1e-6)
    for i, section in enumerate(sections or [], start=1):
        colour = MOOD_COLOURS.get(section["mood"], "#777")
        shapes.append(
            dict(
                type="rect",
                x0=section["start_s"],
                x1=section["end_s"],
                y0=0.0,
                y1=0.07,
                fillcolor=colour,
                opacity=0.75,
                line=dict(color="white", width=2),
                layer="above",
            )
        )
        if (section["end_s"] - section["start_s"]) / span >= MIN_NUMBERED_STRIP:
            notes.append(
                dict(
                    x=(section["start_s"] + section["end_s"]) / 2,
                    y=0.035,
                    showarrow=False,
                    text=str(i),
                    font=dict(color="white", size=12),
                )
            )
        # (no hovertext: that would make the label catch the click meant for the section's marker)
        if i > 1:
            shapes.append(
                dict(
                    type="line",
                    xref="x",
                    yref="paper",
                    x0=section["start_s"],
                    x1=section["start_s"],
                    y0=0,
                    y1=1,
                    line=dict(color="#555", width=1.5, dash="dash"),
                )
            )
    for axis, middle, dash in (("valence", thresholds[0], "solid"), ("arousal", thresholds[1], "dot")):
        shapes.append(
            dict(
                type="line",
                xref="paper",
                yref="y",
                x0=0,
                x1=1,
                y0=middle,
                y1=middle,
                line=dict(color="#777", width=1, dash=dash),
                name=f"{axis} middle",
            )
        )
    fig.update_layout(shapes=shapes, annotations=notes)
    if sections:  # one clickable marker per section on its strip: the Analyze page plays the section clicked
        fig.add_trace(
            go.Scatter(
                x=[(s["start_s"] + s["end_s"]) / 2 for s in sections],
                y=[0.035] * len(sections),
                mode="markers",
                name="sections",
                showlegend=False,
                cliponaxis=False,
                marker=dict(size=26, symbol="square", opacity=0.01, color="#000"),
                text=[
                    f"section {i} (from {s.get('start', '')}): {say(s['mood'], s.get('close_to'))}"
                    + (f" ({s['share']:.0%} of it)" if s.get("share") is not None and s["share"] < 1 else "")
                    for i, s in enumerate(sections, start=1)
                ],
                hovertemplate="%{text}: click to play<extra></extra>",
            )
        )
    for axis, middle, dash in (("valence", thresholds[0], "solid"), ("arousal", thresholds[1], "dot")):
        fig.add_trace(
            go.Scatter(
                x=centres,
                y=[w[model][axis] for w in timeline],
                mode="lines+markers",
                name=axis,
                line=dict(color=MODEL_COLOURS.get(model, "#444"), dash=dash),
                cliponaxis=False,
                text=[w[model]["mood"] for w in timeline],
                hovertemplate=f"%{{x:.0f}} s: {axis} %{{y:.2f}} (%{{text}}; its middle: {middle:.2f})<extra></extra>",
            )
        )
    fig.update_layout(
        height=340,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis_title="time (s, window centre)",
        yaxis=dict(range=[0, 1.05], title=f"valence / arousal (middles {thresholds[0]:.2f} / {thresholds[1]:.2f})"),
        legend=dict(orientation="h", x=0, y=1.12),
    )
    return fig


def training_curves(history: list[dict], metric: str = "loss", title: str = "") -> go.Figure:
    epochs = [h["epoch"] for h in history]
    fig = go.Figure()
    for split, dash in (("train", "solid"), ("val", "dash")):
        fig.add_trace(
            go.Scatter(
                x=epochs,
                y=[h[f"{split}_{metric}"] for h in history],
                mode="lines",
                name=f"{'validation' if split == 'val' else 'train'} {metric}",
                line=dict(dash=dash),
            )
        )
    fig.update_layout(
        title=title,
        height=300,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis_title="epoch",
        yaxis_title="MSE" if metric == "loss" else metric.upper(),
    )
    return fig


def confusion_heatmap(confusion: list[list[int]], title: str = "") -> go.Figure:
    z = np.asarray(confusion)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(MOODS),
            y=list(MOODS),
            colorscale="Blues",
            showscale=False,
            text=z,
            texttemplate="%{text}",
            hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        height=420,
        margin=dict(l=10, r=10, t=50, b=10),
        font=dict(size=15),
        xaxis_title="predicted",
        yaxis=dict(title="true", autorange="reversed", automargin=True),
    )
    return fig


def predictions_vs_truth(rows: list[dict], model: str, thresholds=(0.5, 0.5)) -> go.Figure:
    """Each clip's prediction joined by a line to its truth, coloured by its true quadrant."""
    fig = va_plane(thresholds, height=520)
    xs, ys = [], []
    for r in rows:
        xs += [r["valence"], r[model]["valence"], None]
        ys += [r["arousal"], r[model]["arousal"], None]
    fig.add_trace(
        go.Scatter(
            x=xs, y=ys, mode="lines", line=dict(color="rgba(80,80,80,0.3)", width=1), name="error", hoverinfo="skip"
        )
    )
    colours = {quadrant: MOOD_COLOURS[mood] for quadrant, mood in zip(QUADRANTS, MOODS)}
    for quadrant, mood in zip(QUADRANTS, MOODS):
        chosen = [r for r in rows if r["quadrant"] == quadrant]
        fig.add_trace(
            go.Scatter(
                x=[r["valence"] for r in chosen],
                y=[r["arousal"] for r in chosen],
                mode="markers",
                marker=dict(size=6, color=colours[quadrant], symbol="circle-open"),
                name=f"truth: {mood}",
                text=[r.get("song_id", "") for r in chosen],
            )
        )
        fig.add_trace(
            go.Scatter(
                x=[r[model]["valence"] for r in chosen],
                y=[r[model]["arousal"] for r in chosen],
                mode="markers",
                marker=dict(size=6, color=colours[quadrant]),
                name=f"{label(model)} on {mood}",
                text=[r.get("song_id", "") for r in chosen],
            )
        )
    return fig


def mood_distribution(rows: list[dict], model: str, thresholds=(0.5, 0.5)) -> go.Figure:
    truth = np.bincount([QUADRANTS.index(r["quadrant"]) for r in rows], minlength=4)
    predicted = np.bincount(
        mood_index([r[model]["valence"] for r in rows], [r[model]["arousal"] for r in rows], thresholds), minlength=4
    )
    fig = go.Figure(
        [
            go.Bar(x=list(MOODS), y=truth, name="true"),
            go.Bar(x=list(MOODS), y=predicted, name=f"predicted by {label(model)}"),
        ]
    )
    fig.update_layout(
        barmode="group",
        height=300,
        margin=dict(l=10, r=10, t=30, b=10),
        yaxis_title="clips",
        xaxis=dict(tickangle=0, automargin=True),  # mood names level and whole on a narrow (projector) column
        legend=dict(orientation="h", x=0, y=1.15),
    )
    return fig


def reliability_curve(curves: dict[str, list[dict]], height: int = 420) -> go.Figure:
    """Stated confidence (x) against how often the mood was right (y), per model; the diagonal is honest.

    `curves`: model -> metrics.reliability()'s bins (confidence, accuracy, count)."""
    fig = go.Figure(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            line=dict(color="#999", dash="dash"),
            name="honest (stated = observed)",
            hoverinfo="skip",
        )
    )
    for model, bins in curves.items():
        fig.add_trace(
            go.Scatter(
                x=[b["confidence"] for b in bins],
                y=[b["accuracy"] for b in bins],
                mode="lines+markers",
                marker=dict(size=[6 + 2 * np.sqrt(b["count"]) for b in bins], color=MODEL_COLOURS.get(model)),
                line=dict(color=MODEL_COLOURS.get(model)),
                name=label(model),
                text=[f"{b['count']} clips" for b in bins],
                hovertemplate="stated %{x:.2f}, right %{y:.2f} (%{text})<extra>" + label(model) + "</extra>",
            )
        )
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=30, b=10),
        xaxis=dict(title="stated confidence", range=[0, 1.02]),
        yaxis=dict(title="share of moods right", range=[0, 1.02]),
        legend=dict(orientation="h", y=-0.2),
    )
    return fig


def truth_scatter(frame, model: str) -> go.Figure:
    """Per axis, each track's prediction by `model` against its truth (the team's mean rating);
    `frame` has columns title, valence, arousal, <model>_valence, <model>_arousal."""
    from plotly.subplots import make_subplots

    from html import escape as plain_html  # typed by people: never markup in a hover label

    fig = make_subplots(rows=1, cols=2, subplot_titles=("valence", "arousal"))
    titles = [plain_html(t) for t in frame.title]  # typed by people: never markup
    for col, axis in enumerate(("valence", "arousal"), start=1):
        fig.add_trace(
            go.Scatter(x=frame[axis], y=frame[f"{model}_{axis}"], mode="markers", text=titles, showlegend=False),
            row=1,
            col=col,
        )
        fig.add_trace(
            go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "gray"}, showlegend=False),
            row=1,
            col=col,
        )
        fig.update_xaxes(title="truth (mean rating)", range=[0, 1], row=1, col=col)
        fig.update_yaxes(title="predicted", range=[0, 1], row=1, col=col)
    fig.update_layout(height=380, margin={"t": 40})
    return fig


def before_after(frame, thresholds=(0.5, 0.5), height: int = 460) -> go.Figure:
    """Each team track: the shipped model's point (open), the adapted one's (filled, held out) and
    the team's mean (a star), joined; `frame` as team.adapt's per_track."""
    from html import escape as plain_html  # typed by people: never markup in a hover label

    fig = va_plane(thresholds, height=height)
    titles = [plain_html(t) for t in frame.title]
    xs, ys = [], []
    for row in frame.itertuples(index=False):
        xs += [row.before_valence, row.after_valence, row.valence, None]
        ys += [row.before_arousal, row.after_arousal, row.arousal, None]
    fig.add_trace(
        go.Scatter(
            x=xs, y=ys, mode="lines", line=dict(color="rgba(80,80,80,0.3)", width=1), hoverinfo="skip", showlegend=False
        )
    )
    for name, prefix, marker in (
        ("shipped", "before_", dict(symbol="circle-open", size=9, color="#777")),
        ("adapted (held out)", "after_", dict(size=8, color=MODEL_COLOURS["pretrained"])),
        ("team's mean", "", dict(symbol="star", size=11, color="#333")),
    ):
        fig.add_trace(
            go.Scatter(
                x=frame[f"{prefix}valence"],
                y=frame[f"{prefix}arousal"],
                mode="markers",
                marker=marker,
                name=name,
                text=titles,
            )
        )
    return fig


def rater_offsets(view, height: int = 360) -> go.Figure:
    """Each rater's mean offset from the others' mean, valence across and arousal up (0, 0: the team)."""
    from html import escape as plain_html  # typed by people: never markup in a hover label

    fig = go.Figure()
    fig.add_shape(type="line", x0=0, x1=0, y0=-0.5, y1=0.5, line=dict(color="#bbb", width=1))
    fig.add_shape(type="line", x0=-0.5, x1=0.5, y0=0, y1=0, line=dict(color="#bbb", width=1))
    shown = view.dropna(subset=["valence_offset", "arousal_offset"])
    fig.add_trace(
        go.Scatter(
            x=shown.valence_offset,
            y=shown.arousal_offset,
            mode="markers+text",
            text=[plain_html(r) for r in shown.rater],
            textposition="top center",
            marker=dict(size=11),
            showlegend=False,
            cliponaxis=False,
            hovertemplate="%{text}: valence %{x:+.2f}, arousal %{y:+.2f}<extra></extra>",
        )
    )
    reach = max(0.1, float(np.abs(shown[["valence_offset", "arousal_offset"]].to_numpy(float)).max(initial=0.0)) * 1.3)
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis=dict(title="valence offset (rates more positive →)", range=[-reach, reach], zeroline=False),
        yaxis=dict(title="arousal offset (rates more energetic ↑)", range=[-reach, reach], zeroline=False),
    )
    return fig
