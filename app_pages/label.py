"""Label: rate tracks' valence and arousal as the person signed in (coordinators also add tracks).

The rater is whoever signed in (emotionet.app.signin): no name is picked here and none is read from
the URL. Tracks the models have not heard yet (queued when added; a listening cut short by a
closed tab leaves the rest queued) are heard when the page opens. Blind by default: other raters' ratings and the models' predictions appear only once you have
saved your own rating of the track. The page opens on the track the team needs rated most
(emotionet.team.suggest) and says why; "Suggested next" moves on the same way.

The track box's options are track hashes labelled by the track alone (never by whether it is
rated, which changes on Save); user text (titles, sources, licences) is shown as plain text.
"""

from __future__ import annotations

import streamlit as st

from emotionet.app import plots, signin, webapp
from emotionet.app import uploads as upload_quota
from emotionet.io.audio import AudioError
from emotionet.team import labelling as lab
from emotionet.team import predictions as answers
from emotionet.team import suggest
from emotionet.team.storage import AUDIO_SUFFIXES, AudioStore

MIME = {
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
}


st.header("🏷️ Label")

# Who is rating: the person signed in (emotionet.app.signin), never a name picked here or put in the URL.
member = signin.require_member()  # nothing is shown or written without it
rater = member.name

engine, store = webapp.engine(), AudioStore()


def listen(hashes: list[str], why: str) -> None:
    """Have the models hear queued tracks (their answers steer what to rate next), with a progress bar.
    A track leaves the queue once heard, so closing the tab leaves the rest for the next visit."""
    note = st.empty()
    note.warning(
        f"{why} Keep this tab open until they finish: closing it stops them, and the tracks not heard by "
        "then are heard on the next visit to this page."
    )
    bar = st.progress(0.0, text="The models are listening to the new tracks…")
    try:
        failed = answers.predict_missing(
            engine,
            store,
            webapp.predictor(),
            webapp.models_key(),
            hashes,
            on_progress=lambda done, total: bar.progress(done / total, text=f"The models heard {done} of {total}…"),
        )
    except Exception as error:  # a failure here loses nothing: the tracks stay queued
        st.info(
            f"The models could not listen to the new tracks ({webapp.plain(error)}); "
            "suggestions use the team's ratings alone."
        )
        failed = {}
    bar.empty()
    note.empty()
    for track_hash, message in failed.items():
        st.warning(f"The models could not hear {track_hash[:12]}: {webapp.plain(message)}")


with st.container():  # always drawn, so the tabs below keep their place (and the tab open) across runs
    if waiting := answers.queued(engine):  # an earlier listening was cut short (the browser closed meanwhile)
        listen(waiting, f"{len(waiting)} track(s) added earlier were not heard by the models yet: they listen now.")

if member.coordinator:  # coordinators manage the tracks; raters rate
    rate_tab, add_tab = st.tabs(["🎧 Rate", "➕ Add tracks"])
else:
    rate_tab, add_tab = st.container(), None

# --- Add tracks -------------------------------------------------------------------------------
if add_tab is not None:
    with add_tab:
        with st.form("add_tracks", clear_on_submit=True):  # empty again for the next tracks
            uploads = st.file_uploader(
                "Audio files", type=sorted(s.lstrip(".") for s in AUDIO_SUFFIXES), accept_multiple_files=True
            )
            title = st.text_input("Title", help="Leave empty to use each file's name.")
            artist = st.text_input("Artist")
            source = st.text_input("Source", help="Where the audio comes from (a URL, an album, a recording).")
            licence = st.text_input("Licence", help="e.g. CC-BY 4.0, or 'internal use only'.")
            submitted = st.form_submit_button("Add tracks", type="primary")
        upload_quota.upload_error("label_upload")  # files the server refused as they arrived, and why
        if submitted and uploads and (refusal := upload_quota.upload_refusal(uploads)):
            st.error(refusal)
            upload_quota.free_uploads(uploads)
        elif submitted:
            if not uploads:
                st.error("Choose one or more audio files first.")
            added = []
            for upload in uploads or []:
                try:
                    track, created = lab.add_track(
                        engine,
                        store,
                        upload.getvalue(),
                        upload.name,
                        title if len(uploads) == 1 else "",
                        artist,
                        source,
                        licence,
                        rater,
                    )
                except (AudioError, lab.LabellingError, OSError) as error:  # OSError: a full disk, a read-only store
                    st.error(f"{webapp.plain(upload.name)}: {webapp.plain(error)}")
                    continue
                if created:
                    st.success(f"Added {webapp.plain(track.label)} ({track.duration_s:.0f} s).")
                    added.append(track.hash)
                else:
                    st.info(
                        f"{webapp.plain(upload.name)} is already in the set, as {webapp.plain(track.label)}: "
                        "not added twice."
                    )
            upload_quota.free_uploads(uploads or [])  # stored by now: the server keeps no copy in memory
            if added:  # queued with the tracks themselves: the models' answers steer what to rate next
                listen(answers.queued(engine), f"{len(added)} track(s) added: the models listen to them now.")

# --- Rate -------------------------------------------------------------------------------------
with rate_tab:
    tracks = lab.list_tracks(engine)
    if not tracks:
        st.info(
            "No tracks yet: add some in the ➕ Add tracks tab."
            if member.coordinator
            else "No tracks yet: a coordinator adds them."
        )
        st.stop()
    by_hash = {t.hash: t for t in tracks}
    done = lab.rated_by(engine, rater)
    st.progress(len(done) / len(tracks), text=f"{len(done)} of {len(tracks)} rated")

    key = webapp.models_key()
    centre = webapp.mood_centre()
    states = suggest.track_states(engine, key)  # the team's ratings and the models' stored answers
    order = suggest.rank(states, done, centre=centre, blind=True)  # what the team needs rated most, in blind words
    why = {s.track_hash: s.why for s in order}
    if st.session_state.get("label_track") not in by_hash:
        st.session_state["label_track"] = order[0].track_hash if order else tracks[0].hash

    def go_to_suggested():
        """The best track to rate next other than the one on screen (the list as it stands now)."""
        current = st.session_state.get("label_track")
        following = next(
            (s for s in suggest.suggest(engine, rater, key, centre=centre, blind=True) if s.track_hash != current),
            None,
        )
        if following is None:
            st.session_state["label_message"] = "You have rated every track. 🎉"
        else:
            st.session_state["label_track"] = following.track_hash

    def save_rating(track_hash: str, keys: dict[str, str]):
        """Runs before the page is redrawn, so progress and the team's view include this save."""
        v, a = st.session_state[keys["valence"]], st.session_state[keys["arousal"]]
        try:
            lab.save_rating(engine, track_hash, rater, v, a, st.session_state.get(keys["note"]))
        except lab.LabellingError as error:
            st.session_state["label_flash"] = ("error", str(error))
        else:
            st.session_state["label_flash"] = (
                "success",
                f"Saved: valence {v:.2f}, arousal {a:.2f} ({lab.mood_of(v, a, webapp.mood_centre())}).",
            )

    labels = [t.label for t in tracks]
    # The label depends on the track alone; twins (same title and artist) get their hash's start.
    names = {t.hash: t.label + (f" · {t.hash[:8]}" if labels.count(t.label) > 1 else "") for t in tracks}
    st.selectbox("Track", list(by_hash), key="label_track", format_func=names.__getitem__)
    if message := st.session_state.pop("label_message", None):
        st.info(message)
    track = by_hash[st.session_state["label_track"]]
    st.caption("✅ You have rated this track." if track.hash in done else "⬜ You have not rated this track yet.")
    if track.hash in why:
        st.caption(f"💡 Why this track: {why[track.hash]}.")
    path = store.find(track.hash)
    if path is None:
        st.error("The audio of this track is missing from the store.")
    else:
        webapp.private_audio(path, MIME.get(path.suffix, "audio/wav"))  # no /media URL: team audio needs a sign-in
    details = [
        f"{track.duration_s:.0f} s" if track.duration_s else "",
        track.source and f"Source: {track.source}",
        track.licence and f"Licence: {track.licence}",
    ]
    st.text(" · ".join(d for d in details if d))  # plain text: a source is whatever a teammate typed

    mine = lab.rating_history(engine, track.hash, rater)
    centre = webapp.mood_centre()  # the one scale (issue 30): sliders start at the middle and read against it
    v0, a0 = (mine.valence.iloc[-1], mine.arousal.iloc[-1]) if len(mine) else (round(centre[0], 2), round(centre[1], 2))
    keys = {axis: f"{axis}_{track.hash}_{rater}" for axis in ("valence", "arousal", "note")}
    sliders, preview = st.columns([3, 2])
    with sliders:
        valence = st.slider(
            f"Valence (the middle, {centre[0]:.2f}, is as positive as typical music)",
            0.0,
            1.0,
            float(v0),
            0.01,
            key=keys["valence"],
        )
        left, right = st.columns(2)
        left.caption(f"← less positive than typical (below {centre[0]:.2f})")
        right.caption(f"more positive (above {centre[0]:.2f}) →", text_alignment="right")
        arousal = st.slider(
            f"Arousal (the middle, {centre[1]:.2f}, is as energetic as typical music)",
            0.0,
            1.0,
            float(a0),
            0.01,
            key=keys["arousal"],
        )
        left, right = st.columns(2)
        left.caption(f"← calmer than typical (below {centre[1]:.2f})")
        right.caption(f"more energetic (above {centre[1]:.2f}) →", text_alignment="right")
        st.markdown(webapp.rating_mood_line(valence, arousal))
        st.text_input("Note (optional)", key=keys["note"])
        save, skip = st.columns(2)
        save.button("💾 Save", type="primary", width="stretch", on_click=save_rating, args=(track.hash, keys))
        skip.button(
            "⏭️ Suggested next",
            on_click=go_to_suggested,
            width="stretch",
            help="The track the team needs rated most: too few ratings, a scarce mood, or unclear truth.",
        )
        if flash := st.session_state.pop("label_flash", None):
            (st.success if flash[0] == "success" else st.error)(flash[1])
    with preview:
        st.plotly_chart(
            plots.points_on_plane([("you", valence, arousal)], height=300, thresholds=webapp.mood_centre()),
            key=f"preview_{track.hash}",
        )

    # --- Revealed only after saving: the team's ratings and the models' predictions ----------
    if len(mine):
        with st.expander("👥 Other raters and the models"):
            others = lab.current_ratings(engine)
            others = others[(others.track_hash == track.hash) & (others.rater != rater)]
            if others.empty:
                st.write("No one else has rated this track yet.")
            else:
                st.dataframe(others[["rater", "valence", "arousal", "note"]].fillna({"note": ""}), hide_index=True)
            if path is not None and st.checkbox("Show the models' predictions", key=f"models_{track.hash}"):
                try:
                    with st.spinner("Running the models…"):
                        known = answers.predict_track(engine, store, webapp.predictor(), key, track.hash)
                    from emotionet.predict import Prediction  # loaded with the predictor above

                    # Analyze's table of this track: the same words, numbers and confidence
                    said = {name: Prediction.from_dict(answer) for name, answer in known["models"].items()}
                    st.table(webapp.model_rows(said, known["headline"]), hide_index=True)
                except Exception as error:  # the models are optional here: the page keeps working
                    st.info(f"Model predictions are not available: {webapp.plain(error)}")
        with st.expander("🕓 Your rating history for this track"):
            st.dataframe(mine[["created_at", "valence", "arousal", "note"]].fillna({"note": ""}), hide_index=True)

    with st.expander("💡 What to rate next"):
        st.caption(
            f"For you, best first: tracks with fewer than {suggest.TARGET_RATINGS} ratings (scarce moods and "
            "tracks others started first), then those whose truth is least clear."
        )
        st.dataframe(
            [{"track": names[s.track_hash], "why": s.why} for s in order[:8]],
            hide_index=True,
            column_config={
                "track": st.column_config.TextColumn(width="small"),
                "why": st.column_config.TextColumn(width="large"),
            },
        )
        missing = [s.hash for s in states if not s.models]
        for message in st.session_state.pop("listen_failed", []):
            st.warning(message)
        if missing and st.button(
            f"🎧 Let the models listen to {len(missing)} track(s)",
            help="Their answers tell which tracks the models are unsure about.",
        ):
            bar = st.progress(0.0)
            try:
                failed = answers.predict_missing(
                    engine,
                    store,
                    webapp.predictor(),
                    key,
                    missing,
                    on_progress=lambda done, total: bar.progress(done / total),
                )
            except Exception as error:
                st.error(f"The models could not be run: {webapp.plain(error)}")
            else:  # redraw, so that the list above and its reasons use the answers just stored
                st.session_state["listen_failed"] = [webapp.plain(f"{names[h]}: {m}") for h, m in failed.items()]
                st.rerun()
