"""Mood playlists: add songs to the library, see them on the valence-arousal plane, build a playlist.

Every keyed widget here has options that are stable ids (model names, moods, song hashes) with
labels that depend on the id alone; the "Now playing" box is keyed by the playlist itself, so a
new playlist starts a new box at its first song rather than reusing a stale position.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from emotionet.app import plots, webapp
from emotionet.library import playlists
from emotionet.library import songs as library
from emotionet.models import label
from emotionet.mood import EMOJI, MOODS
from emotionet.team import storage

MOOD_COLOURS = plots.MOOD_COLOURS
MODES = ("By mood", "Near a point", "Mood journey")
POINT = "a point…"

st.title("🎶 Mood playlists")
st.caption("Every song is analysed once and kept in the library; build playlists by the mood you want.")
engine = webapp.engine()


# --- adding songs -----------------------------------------------------------------------------


def add_songs(uploads) -> bool:
    """Analyse and store the uploads with a progress bar; True when the library changed."""
    bar = st.progress(0.0, text=f"Analysing {len(uploads)} file(s)…")

    def progress(done, total, left, _path):
        bar.progress(
            done / total if total else 1.0, text=f"{done}/{total} analysed, about {library.format_eta(left)} left"
        )

    sizes = [f.size for f in uploads]
    if refusal := webapp.upload_refusal(sizes):
        bar.empty()
        st.error(refusal)
        return False
    webapp.count_upload(sizes)
    try:
        result = library.add_uploads([(f.name, f.getvalue()) for f in uploads], engine, progress=progress)
    except FileNotFoundError as error:  # no trained models
        bar.empty()
        st.error(str(error))
        return False
    bar.empty()
    st.success(f"{result.added} song(s) analysed, {result.known} already in the library ({result.seconds:.1f} s).")
    for error in result.failed.values():
        st.warning(f"Skipped: {webapp.plain(error)}")  # names a user's file
    return result.added > 0


all_songs = library.load_songs(engine)
with st.expander("➕ Add songs to the library", expanded=not all_songs):
    suffixes = sorted(s.lstrip(".") for s in storage.AUDIO_SUFFIXES)
    uploads = st.file_uploader("Audio files", type=suffixes, accept_multiple_files=True)
    st.caption(
        "Keep this tab open until the analysis finishes: closing it stops the analysis (songs finished "
        "by then stay in the library; add the rest again and known songs are skipped)."
    )
    if st.button("Analyse and add", type="primary", disabled=not uploads) and add_songs(uploads):
        all_songs = library.load_songs(engine)
    st.caption(
        f"Up to {st.get_option('server.maxUploadSize')} MB per file and "
        f"{webapp.session_upload_limit_mb():.0f} MB per visit. Analysis uses every model and both CPU "
        "cores; known songs are recognised by their content and not analysed again. For a whole "
        "collection, from a terminal: `python -m emotionet scan FOLDER`."
    )

if not all_songs:
    st.info("The library is empty: add some songs above.")
    st.stop()

models = webapp.ordered(library.model_names(all_songs))  # the headline model first, and the default
if len(models) > 1:
    model = st.selectbox(
        "Predictions of",
        models,
        format_func=label,
        key="playlist_model",
        help="The first is the headline model, the one the Analyze page leads with.",
    )
else:
    model = models[0] if models else webapp.headline()
all_songs = [library.with_model(s, model) for s in all_songs]


# --- the library on the plane -----------------------------------------------------------------

st.subheader("Library")
counts = playlists.counts_by_mood(all_songs)
for column, mood in zip(st.columns(len(MOODS)), MOODS):
    column.metric(f"{EMOJI[mood]} {mood}", counts[mood])
shown_moods = st.multiselect(
    "Show moods", MOODS, default=list(MOODS), format_func=lambda m: f"{EMOJI[m]} {m}", key="playlist_shown_moods"
)
songs = [s for s in all_songs if s.mood in shown_moods]
st.caption(f"{len(songs)} of {len(all_songs)} songs shown; playlists are built from the songs shown.")


# --- building a playlist ----------------------------------------------------------------------


def point_input(label: str, default: str, key: str) -> tuple[float, float]:
    choice = st.selectbox(
        label,
        [*MOODS, POINT],
        index=MOODS.index(default),
        key=key,
        format_func=lambda m: m if m == POINT else f"{EMOJI[m]} {m}",
    )
    if choice != POINT:
        return playlists.mood_point(choice, webapp.mood_centre())
    return (
        st.slider("valence", 0.0, 1.0, 0.5, 0.05, key=f"{key}_v"),
        st.slider("arousal", 0.0, 1.0, 0.5, 0.05, key=f"{key}_a"),
    )


st.subheader("Playlist")
mode = st.radio("Build by", MODES, horizontal=True, key="playlist_mode")
left, right = st.columns(2)
with right:
    by_minutes = st.radio("Length in", ("songs", "minutes"), horizontal=True, key="playlist_length_unit") == "minutes"
    if by_minutes:
        count, minutes = None, st.number_input("Minutes", 1.0, 600.0, 30.0, 5.0, key="playlist_minutes")
    else:
        count, minutes = int(st.number_input("Songs", 1, 500, 10, 1, key="playlist_songs")), None
path_line = None
with left:
    if mode == MODES[0]:
        if "playlist_mood" not in st.session_state:  # the commonest mood, once; then the user's choice
            st.session_state["playlist_mood"] = max(MOODS, key=lambda m: sum(s.mood == m for s in songs))
        mood = st.selectbox("Mood", MOODS, format_func=lambda m: f"{EMOJI[m]} {m}", key="playlist_mood")
        chosen = playlists.by_mood(songs, mood, count, minutes)
    elif mode == MODES[1]:
        target = (
            st.slider("Target valence", 0.0, 1.0, 0.7, 0.05, key="near_v"),
            st.slider("Target arousal", 0.0, 1.0, 0.3, 0.05, key="near_a"),
        )
        radius = st.slider("Only songs within (0 = no limit)", 0.0, 1.0, 0.0, 0.05, key="near_radius")
        chosen = playlists.nearest(songs, target, radius or None, count, minutes)
        path_line = [target]
    else:
        start = point_input("From", "sad", "journey_from")
        end = point_input("To", "happy", "journey_to")
        chosen = playlists.journey(songs, start, end, count, minutes)
        path_line = [start, end]

fig = plots.va_plane(webapp.mood_centre(), height=520)
for mood in shown_moods:
    group = [s for s in songs if s.mood == mood]
    fig.add_trace(
        go.Scatter(
            x=[s.valence for s in group],
            y=[s.arousal for s in group],
            mode="markers",
            name=f"{EMOJI[mood]} {mood}",
            marker=dict(size=9, color=MOOD_COLOURS[mood], opacity=0.75, line=dict(width=0.5, color="white")),
            customdata=[
                [webapp.plain_html(s.title), webapp.plain_html(s.artist or "unknown artist"), s.mood] for s in group
            ],
            hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]}<br>%{customdata[2]}"
            " (valence %{x:.2f}, arousal %{y:.2f})<extra></extra>",
        )
    )
if chosen:
    fig.add_trace(
        go.Scatter(
            x=[s.valence for s in chosen],
            y=[s.arousal for s in chosen],
            mode="lines+markers+text",
            name="playlist",
            text=[str(i) for i in range(1, len(chosen) + 1)],
            textposition="top center",
            line=dict(color="#444", width=1, dash="dot"),
            marker=dict(size=13, color="rgba(0,0,0,0)", line=dict(width=2, color="#222")),
            customdata=[[webapp.plain_html(s.title), webapp.plain_html(s.artist or "unknown artist")] for s in chosen],
            hovertemplate="#%{text} %{customdata[0]} (%{customdata[1]})<extra></extra>",
        )
    )
if path_line:
    fig.add_trace(
        go.Scatter(
            x=[p[0] for p in path_line],
            y=[p[1] for p in path_line],
            mode="lines+markers",
            name="target" if len(path_line) == 1 else "journey",
            marker=dict(symbol="x", size=12),
            line=dict(color="#888", width=3),
            hoverinfo="skip",
        )
    )
st.plotly_chart(fig, width="stretch")

if not chosen:
    st.warning("No song matches: widen the radius, show more moods or add songs.")
    st.stop()

st.caption(f"{len(chosen)} songs, {playlists.total_seconds(chosen) / 60:.1f} minutes.")
st.dataframe(
    [
        {
            "#": i,
            "title": s.title,
            "artist": s.artist or "",
            "mood": f"{EMOJI.get(s.mood, '')} {s.mood}",
            "valence": round(s.valence, 2),
            "arousal": round(s.arousal, 2),
            "minutes": round(s.duration_s / 60, 1),
        }
        for i, s in enumerate(chosen, 1)
    ],
    hide_index=True,
    width="stretch",
)


# --- playing and exporting --------------------------------------------------------------------


by_hash = {s.hash: s for s in chosen}
order = list(by_hash)
# A new playlist (another mood, mode, model, length or library) gets a new box, starting at its first song.
now_key = "now_playing_" + hashlib.sha1("|".join(order).encode()).hexdigest()[:16]


def step(delta: int) -> None:
    current = st.session_state.get(now_key, order[0])
    st.session_state[now_key] = order[(order.index(current) + delta) % len(order)]
    st.session_state.autoplay = True


back, now, forward = st.columns([1, 6, 1], vertical_alignment="bottom")
back.button("⏮️", on_click=step, args=(-1,), help="previous song", key="previous_song")
song = by_hash[
    now.selectbox("Now playing", order, key=now_key, format_func=lambda h: f"{order.index(h) + 1}. {by_hash[h].label}")
]
forward.button("⏭️", on_click=step, args=(1,), help="next song", key="next_song")
if Path(song.path).is_file():
    st.audio(song.path, autoplay=st.session_state.pop("autoplay", False))
else:
    st.warning(
        f"{webapp.plain(song.filename)} is no longer at {webapp.plain(song.path)}: scan its folder again to find it."
    )

use_paths = st.checkbox(
    "M3U8 with the server's file paths (otherwise file names, as a player beside the music expects)",
    value=False,
    key="m3u8_paths",
)
slug = {MODES[0]: "mood", MODES[1]: "near", MODES[2]: "journey"}[mode]
one, two = st.columns(2)
one.download_button(
    "⬇️ M3U8 playlist",
    playlists.to_m3u8(chosen, use_paths).encode("utf-8"),
    f"emotionet-{slug}.m3u8",
    "audio/x-mpegurl",
    key="download_m3u8",
)
two.download_button(
    "⬇️ CSV", playlists.to_csv(chosen).encode("utf-8"), f"emotionet-{slug}.csv", "text/csv", key="download_csv"
)
