"""Mood playlists: add songs to the library, see them on the valence-arousal plane, build a playlist.

Every keyed widget here has options that are stable ids (model names, moods, song hashes) with
labels that depend on the id alone; the "Now playing" box is keyed by the playlist itself, so a
new playlist starts a new box at its first song rather than reusing a stale position.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from emotionet.app import plots, signin, webapp
from emotionet.app import uploads as upload_quota
from emotionet.library import audio_features, playlists, tags, track
from emotionet.library import songs as library
from emotionet.library.paths import shown_name, shown_path, text_to_path
from emotionet.models import label
from emotionet.mood import EMOJI, MOODS
from emotionet.team import storage

MOOD_COLOURS = plots.MOOD_COLOURS
MODES = ("By mood", "Near a point", "Mood journey")
POINT = "a point…"
UPLOADER = "library_upload"

st.title("🎶 Mood playlists")
st.caption("Every song is analysed once and kept in the library; build playlists by the mood you want.")
engine = webapp.engine()


# --- adding songs -----------------------------------------------------------------------------


def add_songs(uploads) -> None:
    """Analyse and store the uploads with a progress bar, then empty the uploader (the server drops
    the files) and redraw the page with the outcome."""
    bar = st.progress(0.0, text=f"Analysing {len(uploads)} file(s)…")

    def progress(done, total, left, _path):
        bar.progress(
            done / total if total else 1.0, text=f"{done}/{total} analysed, about {library.format_eta(left)} left"
        )

    if refusal := upload_quota.upload_refusal(uploads):  # the store may have filled since they were chosen
        bar.empty()
        st.error(refusal)
        return
    try:
        result = library.add_uploads([(f.name, f.getvalue()) for f in uploads], engine, progress=progress)
    except FileNotFoundError as error:  # no trained models
        bar.empty()
        st.error(str(error))
        return
    flash = [
        ("success", f"{result.added} song(s) analysed, {result.known} already in the library ({result.seconds:.1f} s).")
    ]
    flash += [("warning", f"Skipped: {webapp.plain(error)}") for error in result.failed.values()]  # names a user's file
    st.session_state["library_flash"] = flash
    upload_quota.drop_uploads(UPLOADER)
    st.rerun()


all_songs = library.load_songs(engine)
with st.expander("➕ Add songs to the library", expanded=not all_songs):
    suffixes = sorted(s.lstrip(".") for s in storage.AUDIO_SUFFIXES)
    uploads = st.file_uploader(  # files the session's allowance or the store cannot take leave it at once
        "Audio files",
        type=suffixes,
        accept_multiple_files=True,
        key=upload_quota.uploader_key(UPLOADER),
        on_change=upload_quota.check_uploads,
        args=(UPLOADER,),
    )
    upload_quota.upload_error(UPLOADER)
    st.caption(
        "Keep this tab open until the analysis finishes: closing it stops the analysis (songs finished "
        "by then stay in the library; add the rest again and known songs are skipped)."
    )
    if st.button("Analyse and add", type="primary", disabled=not uploads) and uploads:
        add_songs(uploads)
    for kind, message in st.session_state.pop("library_flash", []):
        getattr(st, kind)(message)
    st.caption(
        f"Up to {st.get_option('server.maxUploadSize')} MB per file and "
        f"{upload_quota.person_upload_limit_mb():.0f} MB a day per person. Analysis uses every model and both CPU "
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
stored_songs = all_songs  # the headline model's answers: what tags and the exported table carry
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


# --- the library in your player: the files' tags and the table --------------------------------

TAG_ACTIONS = {"write": "Write mood, BPM, key, valence and energy", "remove": "Remove what EmotioNet wrote"}


def folder_files(songs) -> dict[str, str | None]:
    """The files of the songs that were scanned from a folder on the server (that still exist), not
    the app's stored copies of uploads: real path -> the scan preset its analysis came from (None:
    the whole song), so that tagging reuses that analysis instead of analysing the song again."""
    store = storage.AudioStore().root.resolve()
    overnight = library.models_fingerprint(preset="overnight")
    rows = library.stored_rows(engine, [s.hash for s in songs])
    files = {}
    for s in songs:
        path = Path(text_to_path(s.path))
        try:
            if path.is_file() and not path.resolve().is_relative_to(store):
                row = rows.get(s.hash)
                files[str(path.resolve())] = "overnight" if row is not None and row.models == overnight else None
        except OSError:
            continue
    return files


def tag_files(files: dict[str, str | None], action: str, overwrite: bool, dry_run: bool) -> list:
    """tags.tag_paths over the files, each group with the preset it was scanned with (a cached scan:
    a known song is not analysed again): the reports."""
    reports = []
    for preset in dict.fromkeys(files.values()):
        group = [f for f, p in files.items() if p == preset]
        run = tags.tag_paths(
            group, engine, overwrite=overwrite, dry_run=dry_run, remove=action == "remove", preset=preset
        )
        reports += run.reports
    return reports


def tag_rows(reports) -> list[dict]:
    """One row per tag that would change (or per file skipped, with why): short enough for a projector.
    Files up to date are counted, not listed; their folders are named under the table."""
    rows = []
    for r in reports:
        name = shown_name(Path(r.path).name)
        if r.error:
            rows.append({"file": name, "change": f"skipped: {r.error}"})
        rows += [{"file": name, "change": c.describe()} for c in r.changes if c.action != tags.SAME]
    return rows


def tag_section(songs) -> None:
    files = folder_files(songs)
    copies = len(songs) - len(files)
    st.markdown("**Tag the files** — for players that read mood, BPM, key, valence and energy from the tags")
    if copies:
        st.caption(
            f"{copies} song(s) are the app's own copies of uploads (or files no longer there): their tags would "
            "reach no player, so only songs scanned from a folder on this server (`python -m emotionet scan "
            "FOLDER`) are tagged here. For your own copy of an upload, run `python -m emotionet tag` on it."
        )
    if not files:
        st.info("No song of the library lives in a folder on this server: scan a folder to tag its files.")
        return
    if (member := signin.member()) is None or not member.coordinator:
        st.info("Tagging changes files on the server: a team coordinator signs in (on the 🏷️ Label page) first.")
        return
    action = st.selectbox("Tags", list(TAG_ACTIONS), format_func=TAG_ACTIONS.get, key="tag_action")
    overwrite = action == "write" and st.checkbox(
        "Also replace values EmotioNet did not write (e.g. a mood set by hand)", value=False, key="tag_overwrite"
    )
    wanted = (action, overwrite, tuple(files.items()))
    if st.button(f"🔍 Preview the changes to {len(files)} file(s)", key="tag_preview"):
        with st.spinner("Reading the files' tags…"):
            reports = tag_files(files, action, overwrite, dry_run=True)
        st.session_state["tag_plan"] = {"key": wanted, "reports": reports}
        st.session_state.pop("tag_done", None)
    if done := st.session_state.get("tag_done"):
        st.success(done["message"])
        for line in done["skipped"]:
            st.warning(line)
    plan = st.session_state.get("tag_plan")
    if not plan or plan["key"] != wanted:
        st.caption("Nothing is written before you have seen what would change and confirmed it.")
        return
    reports = plan["reports"]
    changing = [r for r in reports if r.changed and not r.error]
    skipped = [r for r in reports if r.error]
    st.write(
        f"{len(changing)} file(s) would change, {len(reports) - len(changing) - len(skipped)} are up to date"
        + (f", {len(skipped)} would be skipped." if skipped else ".")
    )
    if rows := tag_rows(reports):
        st.dataframe(rows, hide_index=True, width="stretch")
        folders = sorted({shown_path(Path(r.path).parent) for r in reports if r.error or r.changed})
        st.caption("In " + ", ".join(webapp.plain(f) for f in folders))
    if not changing:
        return
    verb = "Write the tags into" if action == "write" else "Remove EmotioNet's tags from"
    st.button(
        f"✅ {verb} {len(changing)} file(s)",
        type="primary",
        key="tag_confirm",
        on_click=write_tags,  # before the page is drawn again: it shows the result, not the old preview
        args=({r.path: files.get(r.path) for r in changing}, action, overwrite),
    )


def measure_files(songs) -> None:
    """Store each song's own length, loudness and key (`track.ensure`), before the page is drawn again."""
    failed = track.ensure(webapp.engine(), songs, workers=1)
    st.session_state["measure_failed"] = [
        webapp.plain(f"{shown_name(Path(path).name)}: {why}") for path, why in failed.items()
    ]


def write_tags(files: dict[str, str | None], action: str, overwrite: bool) -> None:
    reports = tag_files(files, action, overwrite, dry_run=False)
    written = sum(r.written for r in reports)
    st.session_state["tag_done"] = {
        "message": f"Done: {written} file(s) changed; the audio itself is untouched.",
        "skipped": [webapp.plain(f"{shown_name(Path(r.path).name)}: skipped: {r.error}") for r in reports if r.error],
    }
    st.session_state.pop("tag_plan", None)


with st.expander("🏷️ Your player: tag the files, export the table"):
    st.markdown("**Export the table** — one row per song with Spotify's audio-feature names and ranges")
    unmeasured = [s for s in stored_songs if track.stored(s) is None and os.path.isfile(s.path)]
    if unmeasured:  # the file's own length, loudness and key, as `export` and `tag` write them (issue 33)
        st.caption(
            f"{len(unmeasured)} song(s) still show the analysis's own key, loudness and length: measure them "
            "from the files for the same table `python -m emotionet export` writes."
        )
        st.button("📏 Measure the files", key="measure_tracks", on_click=measure_files, args=(unmeasured,))
    for line in st.session_state.pop("measure_failed", []):
        st.warning(line)
    table = audio_features.rows(stored_songs)
    one, two = st.columns(2)
    one.download_button(
        "⬇️ Table as CSV",
        audio_features.to_csv(table).encode("utf-8"),
        "emotionet-library.csv",
        "text/csv",
        key="download_table_csv",
    )
    two.download_button(
        "⬇️ Table as JSON",
        audio_features.to_json(table).encode("utf-8"),
        "emotionet-library.json",
        "application/json",
        key="download_table_json",
    )
    st.caption(
        "valence, energy (the arousal), tempo, key, mode, loudness, duration_ms, plus mood, confidence and "
        "the path: the headline model's answers, as `python -m emotionet export` writes them (what each "
        "column means, and how it differs from Spotify's, is in docs/reference.md)."
    )
    tag_section(stored_songs)


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
                [webapp.plain_html(s.title), webapp.plain_html(s.artist or "unknown artist"), s.said] for s in group
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
            "mood": f"{EMOJI.get(s.mood, '')} {s.said}",
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
        f"{webapp.plain(song.filename)} is no longer at {webapp.plain(shown_path(song.path))}: "
        "scan its folder again to find it."
    )

use_paths = st.checkbox(
    "M3U8 with the server's files as file:// URIs (otherwise file names, as a player beside the music expects; "
    "an uploaded song is named by its stored copy, its own name is its title)",
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
