"""Analyze: upload, record or pick a demo clip; see its features and every model's mood."""

import hashlib

import streamlit as st
from audio_recorder_streamlit import audio_recorder

from emotionet.app import plots, song_page, webapp
from emotionet.demo import DEMO_MOODS, DEMOS, demo_wav
from emotionet.features import FEATURES
from emotionet.io.audio import AudioError
from emotionet.models import label
from emotionet.mood import EMOJI

UPLOAD_TYPES = ["wav", "mp3", "ogg", "opus", "flac", "m4a", "aac"]  # M4A/AAC through PyAV: no system ffmpeg

st.title("🎧 Analyze a clip")
st.caption(
    "Drop in a song: EmotioNet places it on the valence–arousal plane and names its mood — "
    "happy, aggressive, sad or calm — as heard by the model that scored best on songs by artists it "
    "never trained on (the headline model). The other models are shown for comparison."
)

# Load the models once per server, before the first upload; say up front which could not be loaded
# (the headline model then falls back to the CNN), so no one mistakes the fallback for the headline.
UNAVAILABLE = list(webapp.predictor().unavailable.values())
for reason in UNAVAILABLE:
    st.warning(webapp.plain(reason), icon="⚠️")

LIMIT_MB = st.get_option("server.maxUploadSize")
state = st.session_state


def choose_demo(title: str) -> None:
    state.clip = (f"{title} (demo).wav", demo_wav(title))


upload_col, record_col, demo_col = st.columns([3, 1, 3])
with upload_col:
    uploaded = st.file_uploader("Upload a song (WAV, MP3, OGG, FLAC, M4A/AAC)", type=UPLOAD_TYPES)
    st.caption(
        f"Up to {LIMIT_MB} MB per file (about 19 minutes of CD-quality WAV); a bigger file is refused "
        "with a red ❗ on its name. The whole song is analysed: its sections, how its mood moves, and "
        "what the model hears."
    )
with record_col:
    st.markdown("Record", help="Click the microphone to start, and again to stop.")
    # A long pause threshold: a quiet passage must not end the recording; click again to stop.
    recording = audio_recorder(text="", pause_threshold=600.0, sample_rate=22050, key="recorder")
with demo_col:
    st.write("…or try a built-in demo clip")
    # Every button is drawn on every run (on_click, not `if st.button`), so none vanishes after a click.
    for column, (i, title) in zip(st.columns(2) * 2, enumerate(DEMOS)):
        mood = DEMO_MOODS[title]
        column.button(
            f"{EMOJI[mood]} {mood.capitalize()}",
            key=f"demo_{i}",
            width="stretch",
            help=title,
            on_click=choose_demo,
            args=(title,),
        )
    st.caption("Synthesised by the app to sound like their mood; the models learned from real recordings.")

# The newest input wins; each is remembered by content so reruns don't switch back.
if uploaded is not None and state.get("upload_id") != uploaded.file_id:
    state.upload_id, state.clip = uploaded.file_id, (uploaded.name, uploaded.getvalue())
if recording and state.get("recording_hash") != hashlib.sha1(recording).hexdigest():
    state.recording_hash, state.clip = hashlib.sha1(recording).hexdigest(), ("microphone recording.wav", recording)

if "clip" not in state:
    st.info("Upload a file, record a clip, or click a demo to see its mood.")
    st.stop()

name, data = state.clip
st.subheader(webapp.plain(name), anchor=False)  # a file name is user text, not Markdown
try:
    analysis = song_page.analyze_with_progress(data, name)  # a progress bar for long files
except AudioError as error:
    st.error(f"Could not analyse this clip. {webapp.plain(error)}")  # no player: there is nothing to play
    st.stop()
st.audio(data)
for warning in analysis.warnings:  # what was done to this clip (e.g. scaled float samples)
    if warning not in UNAVAILABLE:  # already shown at the top
        st.warning(webapp.plain(warning), icon="⚠️")

st.caption(
    f"Duration {analysis.duration_s:.1f} s · analysed {analysis.start_s:.1f}–{analysis.end_s:.1f} s"
    + (" (an excerpt)" if analysis.duration_s > analysis.end_s - analysis.start_s + 0.5 else " (the whole song)")
)

headline = analysis.headline
names = webapp.ordered(analysis.predictions, headline)
lead = analysis.predictions[headline]
verdict, others = st.columns([1, 2])
with verdict:
    st.metric(
        f"{label(headline)} ⭐",
        f"{EMOJI[lead.mood]} {lead.mood}",
        help="The headline model: the best on songs by artists unseen in training.",
    )
    st.write(
        f"The headline model's mood: valence **{lead.valence:.2f}** · arousal **{lead.arousal:.2f}** · "
        f"confidence **{lead.confidence:.0%}**"
    )
    st.caption(webapp.scale_note())
    # --- whole song (issue 12): the mood arc
    song_page.show_arc(analysis)
with others:
    st.dataframe(  # four short columns: the whole table fits a 1024 px screen
        [
            {
                "model": label(n) + (" ⭐" if n == headline else ""),
                "mood": f"{EMOJI[p.mood]} {p.mood}",
                "v, a": f"{p.valence:.2f}, {p.arousal:.2f}",
                "confidence": f"{p.confidence:.0%}",
            }
            for n, p in ((n, analysis.predictions[n]) for n in names)
        ],
        hide_index=True,
        width="stretch",
        column_config={"v, a": st.column_config.TextColumn(help="valence, arousal")},
    )
    message = webapp.disagreement(analysis.predictions, headline)
    st.caption(
        message.replace("**", "") + " Trust the headline model first: it scored best on unseen artists."
        if message
        else "All models agree."
    )

# --- whole song (issue 12): the sections first (they are what a listener reads; the charts draw after)
song_page.show_sections(analysis, data)

plane_col, time_col = st.columns(2)
with plane_col:
    st.markdown("**Where each model places it**")
    st.plotly_chart(
        plots.predictions_on_plane(
            {n: analysis.predictions[n] for n in names}, webapp.predictor().thresholds, headline=headline
        ),
        width="stretch",
    )
with time_col:
    st.markdown(
        f"**Mood over time** ({label(headline)}; 10 s windows, 5 s apart; numbered strips: "
        "sections, click one to play it)"
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

with st.expander("What do these numbers mean?"):
    st.markdown(
        "- **Valence** (0–1): how positive or pleasant the music sounds; **arousal** (0–1): how "
        "energetic. The mood is the quadrant around the mood centre (the cross on the plane): happy (more "
        "positive and energetic than typical music), aggressive (less positive, more energetic), sad (less "
        "positive, less energetic), calm (more positive, less energetic). The point and the word always agree.\n"
        f"- **The scale**: {webapp.scale_note()}\n"
        "- **Confidence**: the probability that the mood is right, given how far the point lies from "
        "the quadrant boundaries and the model's typical error on songs by artists it never saw. "
        "25% means a coin flip on both axes; near 100% means far from both boundaries.\n"
        "- The CNN hears 10 s windows and averages them; the SVR (the report's baseline) uses "
        "statistics of the first three MFCCs; the pretrained model reads embeddings of networks "
        "(musicnn) trained on large music collections. The headline model is the one that scored "
        "best on songs by artists none of them trained on (see 📊 Results)."
    )
