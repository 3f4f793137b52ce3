"""Analyze: upload, record or pick a demo clip; see its features and every model's mood."""

import hashlib

import streamlit as st
from audio_recorder_streamlit import audio_recorder

from emotionet import plots, webapp
from emotionet.audio import AudioError
from emotionet.demo import DEMOS, demo_wav
from emotionet.features import FEATURES
from emotionet.mood import EMOJI

UPLOAD_TYPES = ["wav", "mp3", "ogg", "opus", "flac", "m4a"]

st.title("🎧 Analyze a clip")
st.caption("Drop in a song: EmotioNet places it on the valence–arousal plane and names its mood — "
           "happy, aggressive, sad or calm. The model that scored best on unseen artists leads; the "
           "report's CNN and SVR baseline stand beside it.")  # fmt: skip

webapp.predictor()  # load the models once per server, before the first upload

upload_col, record_col, demo_col = st.columns([3, 1, 2])
with upload_col:
    uploaded = st.file_uploader("Upload a song (WAV, MP3, OGG, FLAC; M4A needs ffmpeg)", type=UPLOAD_TYPES)
with record_col:
    st.write("Record from the microphone")
    # A long pause threshold: a quiet passage must not end the recording; click again to stop.
    recording = audio_recorder(text="", pause_threshold=600.0, sample_rate=22050, key="recorder")
with demo_col:
    st.write("…or try a built-in demo clip")
    demo = next((title for title in DEMOS if st.button(title, width="stretch")), None)
    st.caption("Synthesised by the app. The models learned from real recordings, so these show the "
               "pipeline at work rather than test it.")  # fmt: skip

# The newest input wins; each is remembered by content so reruns don't switch back.
state = st.session_state
if uploaded is not None and state.get("upload_id") != uploaded.file_id:
    state.upload_id, state.clip = uploaded.file_id, (uploaded.name, uploaded.getvalue())
if recording and state.get("recording_hash") != hashlib.sha1(recording).hexdigest():
    state.recording_hash, state.clip = hashlib.sha1(recording).hexdigest(), ("microphone recording.wav", recording)
if demo:
    state.clip = (f"{demo} (demo).wav", demo_wav(demo))

if "clip" not in state:
    st.info("Upload a file, record a clip, or click a demo to see its mood.")
    st.stop()

name, data = state.clip
st.subheader(name)
st.audio(data)
try:
    with st.spinner("Decoding, computing MFCC, contrast and chroma, running the models…"):
        analysis = webapp.analyze_bytes(data, name)
except AudioError as error:
    st.error(f"Could not analyse this clip. {error}")
    st.stop()

st.caption(f"Duration {analysis.duration_s:.1f} s · analysed {analysis.start_s:.1f}–{analysis.end_s:.1f} s"
           + (" (the middle 45 s)" if analysis.duration_s > analysis.end_s - analysis.start_s + 0.5 else " (all of it)"))  # fmt: skip

names = webapp.ordered(analysis.predictions, analysis.headline)
for column, model in zip(st.columns(len(names)), names):
    p = analysis.predictions[model]
    column.metric(plots.label(model) + (" · headline" if model == analysis.headline else ""), f"{EMOJI[p.mood]} {p.mood}")
    column.write(f"valence **{p.valence:.2f}** · arousal **{p.arousal:.2f}** · confidence **{p.confidence:.0%}**")
message = webapp.disagreement(analysis.predictions, analysis.headline)
if message:
    st.warning(message)
else:
    st.success(f"All models agree: **{analysis.predictions[analysis.headline].mood}**.")

plane_col, time_col = st.columns(2)
with plane_col:
    st.plotly_chart(plots.predictions_on_plane({n: analysis.predictions[n] for n in names}), width="stretch")
with time_col:
    st.markdown("**Mood over time** (10 s windows, 5 s apart)")
    st.plotly_chart(plots.timeline_chart(analysis.timeline, names[:3]), width="stretch")

st.markdown("#### Features the models hear")
for column, feature in zip(st.columns(len(FEATURES)), FEATURES):
    with column:
        st.plotly_chart(plots.feature_heatmap(analysis.features[feature], feature, analysis.start_s), width="stretch")

with st.expander("What do these numbers mean?"):
    st.markdown(
        "- **Valence** (0–1): how positive or pleasant the music sounds; **arousal** (0–1): how "
        "energetic. The mood is the quadrant: happy (+v +a), aggressive (−v +a), sad (−v −a), calm (+v −a).\n"
        "- **Confidence**: the probability that the mood is right, given how far the point lies from "
        "the quadrant boundaries and the model's typical error on songs by artists it never saw. "
        "25% means a coin flip on both axes; near 100% means far from both boundaries.\n"
        "- The CNN hears 10 s windows and averages them; the SVR (the report's baseline) uses "
        "statistics of the first three MFCCs; the pretrained model reads embeddings of networks "
        "(musicnn) trained on large music collections. The headline model is the one that scored "
        "best on songs by artists none of them trained on (see 📊 Results)."
    )
