"""Analyze: upload, record or pick a demo clip; see its mood first, then every model's, its sections and features.

The title is drawn before anything heavy is imported or loaded, so a first visit shows the page at once.
The clip in use is kept in the server's memory under its content's hash, which goes into the URL (?clip=…):
a reload shows the same analysis again.
"""

import streamlit as st

INTRO = "Drop in a song and EmotioNet names its mood: 😊 happy, 😠 aggressive, 😢 sad or 😌 calm."
st.title("🎧 Analyze a clip")
intro = st.empty()  # what the numbers mean joins it once the package (and the models' scale) is loaded
intro.caption(INTRO)
notes = st.empty()  # the models loading, then any that could not be loaded (song_page.models_note)

# Light imports only until the inputs are drawn (issue 31): the models load in the background and a
# cold server shows the uploader at once; an upload made meanwhile waits in the queue for them.
from audio_recorder_streamlit import audio_recorder  # noqa: E402 (after the title: the first paint comes first)

from emotionet.app import song_page, webapp  # noqa: E402
from emotionet.demo import DEMO_MOODS, DEMOS, demo_wav  # noqa: E402
from emotionet.mood import EMOJI, SURE_SHARE  # noqa: E402

UPLOAD_TYPES = ["wav", "mp3", "ogg", "opus", "flac", "m4a", "aac"]  # M4A/AAC through PyAV: no system ffmpeg

LIMIT_MB = st.get_option("server.maxUploadSize")
state = st.session_state


def use_clip(name: str, data: bytes, source: str) -> None:
    """The clip on screen from now on; its hash goes into the URL so that a reload shows it again."""
    state.clip, state.clip_source = (name, data), source
    st.query_params["clip"] = webapp.remember_clip(name, data)


def forget_clip() -> None:
    for key in ("clip", "clip_source"):
        state.pop(key, None)
    st.query_params.pop("clip", None)


def choose_demo(title: str) -> None:
    use_clip(f"{title} (demo).wav", demo_wav(title), "demo")


def upload_changed() -> None:
    """× on the uploaded file removes its result too (a demo or a recording chosen since stays)."""
    if state.get("uploader") is None and state.get("clip_source") == "upload":
        forget_clip()
        state.pop("upload_id", None)


upload_col, record_col, demo_col = st.columns([3.6, 1.4, 3])
with upload_col:
    uploaded = st.file_uploader(
        "Upload a song (WAV, MP3, OGG, FLAC, M4A/AAC)",
        type=UPLOAD_TYPES,
        key="uploader",
        on_change=upload_changed,
        help=f"Up to {LIMIT_MB} MB per file (about 19 minutes of CD-quality WAV); a bigger file is refused with "
        "a red ❗ on its name. The whole song is analysed: its sections, how its mood moves, and what the model hears.",
    )
with record_col:
    st.markdown("Record", help="Click the microphone to start, and again to stop. The browser asks to use it first.")
    # A long pause threshold: a quiet passage must not end the recording; click again to stop.
    recording = audio_recorder(text="", pause_threshold=600.0, sample_rate=22050, key="recorder")
    song_page.microphone_check()  # a browser without a microphone (or that blocks it) says so here
with demo_col:
    st.markdown(
        "…or try a demo clip",
        help="Synthesised by the app to sound like their mood; the models learned from real recordings.",
    )
    # Every button is drawn on every run (on_click, not `if st.button`), so none vanishes after a click.
    for column, (i, title) in zip(st.columns(2) * 2, enumerate(DEMOS)):
        mood = DEMO_MOODS[title]
        column.button(
            f"{EMOJI[mood]} {mood.capitalize()}",
            key=f"demo_{i}",
            width="stretch",
            wrap=True,
            help=title,
            on_click=choose_demo,
            args=(title,),
        )

from emotionet.app import plots  # noqa: E402 (the inputs first: these load torch and plotly)
from emotionet.features import FEATURES  # noqa: E402
from emotionet.io.audio import AudioError  # noqa: E402
from emotionet.models import label  # noqa: E402

MODELS = webapp.models_loading()  # once per server: loading in the background from the first visit on
intro.caption(f"{INTRO} {webapp.scale_sentence()}")

# The newest input wins; each is remembered by content so reruns don't switch back.
if uploaded is not None and state.get("upload_id") != uploaded.file_id:
    state.upload_id = uploaded.file_id
    use_clip(uploaded.name, uploaded.getvalue(), "upload")
if recording and state.get("recording_hash") != song_page.clip_id(recording):
    state.recording_hash = song_page.clip_id(recording)
    use_clip("microphone recording.wav", recording, "recording")
if "clip" not in state and (linked := st.query_params.get("clip")):  # a reload, or a shared link
    if (kept := webapp.recall_clip(linked)) is not None:
        state.clip, state.clip_source = kept, "link"
    else:
        st.query_params.pop("clip", None)
        st.info("The clip of this link is no longer kept on the server: upload it again.")

if "clip" not in state:
    st.info("Upload a file, record a clip, or click a demo to see its mood.")
    song_page.models_note(MODELS, notes)  # say up front which models could not be loaded
    st.stop()

name, data = state.clip
st.query_params["clip"] = webapp.remember_clip(name, data)  # also after a visit to another page
st.subheader(webapp.plain(name), anchor=False)  # a file name is user text, not Markdown
notes.empty()  # a loading note from the last run: the progress bar says it now
try:
    analysis = song_page.analyze_with_progress(data, name)  # a progress bar for long files
except AudioError as error:
    st.error(f"Could not analyse this clip. {webapp.plain(error)}")  # no player: there is nothing to play
    st.stop()
# Which models could not be loaded (the best model then falls back to the CNN), said at the top so that
# no one mistakes the fallback for it.
UNAVAILABLE = song_page.models_note(MODELS, notes)
for warning in analysis.warnings:  # what the reader should know first (a very short clip, scaled samples)
    if warning not in UNAVAILABLE:  # already shown at the top
        st.warning(webapp.plain(warning), icon="⚠️")

headline = analysis.headline
names = webapp.ordered(analysis.predictions, headline)
lead = analysis.predictions[headline]
verdict, others = st.columns([1, 2])
with verdict:
    close, shares = lead.close_to, lead.shares
    if lead.mixed:  # no mood holds half the song: say so, and name its moods with their shares
        value, delta = "🎭 mixed", f"most: {lead.mood} {lead.share:.0%}"
    elif lead.share is not None and lead.share < SURE_SHARE:
        value, delta = f"{EMOJI[lead.mood]} {lead.mood}", f"{lead.share:.0%} of the song"
    else:
        value, delta = f"{EMOJI[lead.mood]} {lead.mood}", (f"close to {close}" if close else None)
    st.metric(
        f"{label(headline)} ⭐",
        value,
        delta=delta,
        delta_color="off",
        delta_arrow="off",
        help=f"The mood heard by {label(headline)}, the model that scored best on songs by artists it never "
        "trained on."
        + (f" The song sits near the border with {close}: it is {lead.mood}, but only just." if close else "")
        + (
            " A song is the mood it spends most time in (its 10 s windows); mixed when no mood holds half of it."
            if shares
            else ""
        ),
    )
    if shares:
        st.markdown(
            " · ".join(f"{EMOJI[m]} {m} **{share:.0%}**" for m, share in shares.items() if share > 0),
            help="How much of the song (its 10 s windows) carries each mood.",
        )
    st.markdown(
        f"Our best model hears **{webapp.said(lead)}**: {webapp.va_text(lead.valence, lead.arousal)} · "
        f"confidence **{lead.confidence:.0%}**",
        help="Valence: how positive (0–1); arousal: how energetic (0–1). "
        + webapp.centre_text()
        + ". Confidence: how likely this mood is right, from the models' typical error on artists they never "
        "heard; 25% is a guess."
        + (" For a song of several moods, the point is the mean of the windows of its main mood." if shares else ""),
    )
    # --- whole song (issue 12): the mood arc
    song_page.show_arc(analysis)
with others:
    st.audio(data)
    st.caption(
        f"Duration {analysis.duration_s:.1f} s · analysed {analysis.start_s:.1f}–{analysis.end_s:.1f} s"
        + (" (an excerpt)" if analysis.duration_s > analysis.end_s - analysis.start_s + 0.5 else " (the whole song)")
    )
    # a plain table wraps its words: a close call's "calm, close to sad" never pushes it past a projector's column
    st.table(webapp.model_rows(analysis.predictions, headline), hide_index=True)
    message = webapp.disagreement(analysis.predictions, headline)
    st.caption(
        (
            message.replace("**", "") + " Trust ⭐ first: it scored best on artists it never trained on."
            if message
            else "All models agree."
        )
        + f" Valence, arousal: how positive, how energetic (0–1); {webapp.centre_text()}."
        " Confidence: how likely the mood is right; 25% is a guess."
    )

# --- whole song (issue 12): the sections first (they are what a listener reads; the charts draw after)
song_page.show_sections(analysis, data)

plane_col, time_col = st.columns(2)
with plane_col:
    st.markdown(
        "**Where each model places it**",
        help="Across: valence (how positive); up: arousal (how energetic). The shaded quarters are the moods; "
        "they meet at the cross, where typical music sits. ⭐ is our best model.",
    )
    st.plotly_chart(
        plots.predictions_on_plane(
            {n: analysis.predictions[n] for n in names}, webapp.predictor().thresholds, headline=headline
        ),
        width="stretch",
    )
with time_col:
    st.markdown(
        "**Mood over time**",
        help=f"{label(headline)}'s valence and arousal in 10 s windows, 5 s apart; the background is each "
        "window's mood. The numbered strips along the bottom are the song's sections: hover for their mood, "
        "click one to play it.",
    )
    song_page.show_timeline(analysis, data, headline)

# --- whole song (issue 12): what the model hears, downloads
song_page.show_hears(analysis)
song_page.show_downloads(analysis, webapp.predictor().thresholds)

st.markdown("#### Features the models hear")
normaliser = webapp.predictor().bundle.normalizer
st.caption(
    "Each row is standardised as the models see it (the training mean and spread of that coefficient or "
    "band), so quiet rows are as visible as MFCC 0, which mostly tracks loudness. Red: above the "
    "training average; blue: below."
)
for tab, feature in zip(st.tabs([plots.FEATURE_TITLES[f] for f in FEATURES]), FEATURES):
    with tab:
        st.plotly_chart(
            plots.feature_heatmap(
                analysis.features[feature],
                feature,
                analysis.start_s,
                mean=normaliser.mean[feature],
                std=normaliser.std[feature],
            ),
            width="stretch",
        )

with st.expander("About these numbers", icon=":material/info:"):
    st.markdown(
        "- **Valence** (0–1): how positive or pleasant the music sounds; **arousal** (0–1): how "
        "energetic. The mood is the quarter of the plane the point falls in, split where typical music sits "
        "(the cross on the plane, the *mood centre*): happy (more positive and energetic than typical music), "
        "aggressive (less positive, more energetic), sad (less positive, less energetic), calm (more positive, "
        "less energetic). The point and the word always agree.\n"
        "- **Close to**: “calm, close to sad” means the point sits near the border with sad: the answer is "
        "calm, but sad is almost as likely.\n"
        f"- **The scale**: {webapp.scale_note()}\n"
        "- **Confidence**: the probability that the mood is right, given how far the point lies from "
        "the borders and the model's typical error on songs by artists it never saw. "
        "25% means a guess on both axes; near 100% means far from both borders.\n"
        "- **The models**: ⭐ marks the *headline* model, the one that scored best on songs by artists none of "
        "them trained on (see 📊 Results); the others are shown for comparison. The CNN hears 10 s windows and "
        "averages them; the SVR (the report's baseline) uses statistics of the first three MFCCs (a summary of "
        "the sound's timbre); the pretrained model reads what networks (musicnn) trained on large music "
        "collections hear."
    )
