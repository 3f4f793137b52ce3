"""Resources the Streamlit pages share, created once per server process."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ..models.names import MODEL_ORDER
from ..io import database
from . import queue


# Importing this module loads no torch: a cold server draws its pages first, and the models load in
# the background (issue 31). torch comes with the models (`_load`) and checkpoint_dir's module.


def checkpoint_dir() -> Path:
    """The model folder in use (`models.checkpoints.checkpoint_dir`)."""
    from ..models.checkpoints import checkpoint_dir as folder

    return folder()


def _load(directory: str):
    from ..io import threads
    from ..predict import Predictor

    threads.use(threads.free_cores())
    predictor = Predictor.load(directory)
    predictor.warm_up()
    return predictor


@st.cache_resource(show_spinner=False)
def _predictor(directory: str) -> queue.Loading:
    """The models of one folder, loading (and warming up) in the background from the first call."""
    return queue.Loading(lambda: _load(directory), name="emotionet-models")


def models_loading(directory=None) -> queue.Loading:
    """The models in use (or of `directory`), loading or loaded: start them without waiting."""
    return _predictor(str(directory or checkpoint_dir()))


def predictor():
    """The models in use (the shipped ones, an accepted adapted folder, or EMOTIONET_CHECKPOINTS),
    loaded and warmed once per folder (waiting for them on a server that has just started)."""
    return predictor_for(checkpoint_dir())


def predictor_for(directory):
    """The models of one folder (e.g. the shipped ones while an adapted folder is in use), whose
    `analyze` and `head_inputs` run in the server's queue (queue.Queued). Models that fail their
    checks (a changed file or setting) stop the page with the one-line reason (and are loaded again
    on the next visit)."""
    from ..models.checkpoints import CheckpointError

    loading = models_loading(directory)
    if not loading.ready:
        with st.spinner("Loading the models…"):
            loading.wait()
    try:
        return queue.Queued(loading.result(), analysis_queue())  # their analyses wait in the server's queue
    except CheckpointError as error:
        _predictor.clear()
        stop_for_models(error)
    except Exception:
        _predictor.clear()  # not kept: the next visit tries again
        raise


def stop_for_models(error: Exception):
    """Show why the models cannot be used, in place of the page (not retried until they change)."""
    st.error(plain(error), icon="❗")
    st.stop()


def models_key() -> str:
    """The version of the models in use, under which their answers on team tracks are stored."""
    from ..team import predictions

    return predictions.models_key(checkpoint_dir())


@st.cache_resource
def _engine(url: str):
    return database.make_engine(url)


def engine():
    """The database engine for the current EMOTIONET_DB_URL / data folder."""
    return _engine(database.database_url())


ANALYSIS_CACHE_ENTRIES = 16  # whole songs: an hour-long one keeps ~20 MB of features


@st.cache_resource
def _analyses() -> tuple:
    """(OrderedDict of recent analyses, its lock), shared by the server's sessions."""
    import threading
    from collections import OrderedDict

    return OrderedDict(), threading.Lock()


CLIP_MEMORY_MB = 400  # the clips behind recent analyses, so that a reload (the hash in the URL) shows them again


@st.cache_resource
def _clips() -> tuple:
    """(OrderedDict sha256 -> (name, bytes) of recently analysed clips, its lock), shared by the sessions."""
    import threading
    from collections import OrderedDict

    return OrderedDict(), threading.Lock()


def remember_clip(name: str, data: bytes) -> str:
    """Keep a clip in the server's memory (the newest CLIP_MEMORY_MB of them) and return its key (its
    content's SHA-256), which the Analyze page puts in the URL: a reload then shows the same analysis."""
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    clips, lock = _clips()
    with lock:
        clips[digest] = (name, data)
        clips.move_to_end(digest)
        while len(clips) > 1 and sum(len(d) for _, d in clips.values()) > CLIP_MEMORY_MB * 1e6:
            clips.popitem(last=False)
    return digest


def recall_clip(digest: str) -> tuple[str, bytes] | None:
    """(name, bytes) of a clip `remember_clip` kept, or None (never seen, forgotten, or a server restart)."""
    clips, lock = _clips()
    with lock:
        return clips.get(str(digest))


@st.cache_resource
def analysis_queue() -> queue.AnalysisQueue:
    """The server's one queue of analyses, every session's (issue 31): as many run at once as cores
    are free, the rest wait their turn."""
    return queue.AnalysisQueue()


def analyze_bytes(data: bytes, name: str, progress=None):
    """The analysis of one uploaded clip (the whole song), cached by its content and name (shown
    in results), computed in the server's queue. `progress(fraction, message)` follows it: the
    place in the queue while it waits (for the models too, on a server that has just started),
    then the analysis (a cached one is instant); st.cache_data cannot take it, since it would
    replay the progress bar of the first run. Raises queue.QueueFull when the queue is full."""
    import hashlib

    from ..models.checkpoints import CheckpointError

    directory = str(checkpoint_dir())
    key = (hashlib.sha256(data).hexdigest(), name, directory)
    cache, lock = _analyses()
    with lock:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    loading = models_loading(directory)

    def run(report):
        if not loading.ready:
            report(0.0, "Loading the models (the server has just started)…")
        analysis = loading.result().analyze(data, name=name, progress=report)
        with lock:  # kept even when its session has gone: a reload shows it at once
            cache[key] = analysis
            while len(cache) > ANALYSIS_CACHE_ENTRIES:
                cache.popitem(last=False)
        return analysis

    queued = analysis_queue()
    try:
        return queued.wait(queued.submit(key, run), lambda s: progress and progress(s.fraction, s.text()))
    except CheckpointError as error:
        _predictor.clear()
        stop_for_models(error)


@st.cache_data(show_spinner=False)
def _metrics(directory: str, modified: float) -> dict:
    from ..models.checkpoints import load_metrics

    return load_metrics(directory)


def metrics() -> dict:
    """metrics.json of the current checkpoint folder; re-read when the file changes."""
    path = checkpoint_dir() / "metrics.json"
    if not path.is_file():
        raise FileNotFoundError(f"No metrics.json in {path.parent}: run `python train.py`.")
    return _metrics(str(path.parent), path.stat().st_mtime)


_MARKDOWN_SPECIAL = set("\\`*_{}[]<>#|~$:&")  # links, images, HTML, emphasis, code, LaTeX, :emoji:
NO_LINK = "\u2060"  # WORD JOINER, invisible: before a ':' or '@' and inside "www." it stops Streamlit's autolinks


def plain(text) -> str:
    """User text (titles, file names, sources, licences, names) made safe inside Markdown: every
    character Markdown or Streamlit could act on is backslash-escaped, so `![p](http://host/x.png)`
    shows as those characters and no rater's browser fetches anything; and nothing in it becomes a
    link: Streamlit links bare URLs, www. addresses and e-mail addresses even when escaped, so an
    invisible NO_LINK goes before every ':' and '@' and inside "www.". Use st.text where possible."""
    words = " ".join(str(text).split())
    out = []
    for i, c in enumerate(words):
        if c in ":@" or (c == "." and words[max(0, i - 3) : i].lower() == "www"):
            out.append(NO_LINK)
        out.append("\\" + c if c in _MARKDOWN_SPECIAL else c)
    return "".join(out)


def plain_html(text) -> str:
    """User text for Plotly hover labels and annotations, which understand a few HTML tags."""
    import html

    return html.escape(str(text))


@st.cache_data(show_spinner=False)
def _config(directory: str, modified: float) -> dict:
    import json

    try:
        return json.loads((Path(directory) / "config.json").read_text())
    except (OSError, ValueError):
        return {}


def checkpoint_config() -> dict:
    """config.json of the current checkpoint folder, read without loading any model (re-read when it
    changes); {} when there is no trained bundle or it cannot be read. Settings that fail their hash
    (edited by hand) stop the page with the one-line reason."""
    from ..models.checkpoints import CheckpointError, verify_settings

    path = checkpoint_dir() / "config.json"
    config = _config(str(path.parent), path.stat().st_mtime) if path.is_file() else {}
    try:
        verify_settings(path.parent, config)
    except CheckpointError as error:
        stop_for_models(error)
    return config


def mood_centre() -> tuple[float, float]:
    """Where the moods meet on the shown scale (config.json's "mood_centre"; the midpoint for older
    checkpoints): every plane on every page is split there, so a point and its mood word agree."""
    centre = checkpoint_config().get("mood_centre", (0.5, 0.5))
    return float(centre[0]), float(centre[1])


def headline() -> str:
    """The headline model of the current checkpoint folder (the best on validation); "cnn" without one."""
    config = checkpoint_config()
    return config.get("headline") or config.get("default_cnn") or "cnn"


def ordered(predictions, headline: str | None = None) -> list[str]:
    """Model names in display order: the headline model first (the checkpoint's by default), then
    the others in MODEL_ORDER. `predictions` is anything iterable over model names."""
    headline = headline or globals()["headline"]()
    rank = {name: i for i, name in enumerate(MODEL_ORDER)}
    return sorted(predictions, key=lambda n: (n != headline, rank.get(n, len(rank)), n))


def model_name(name: str, headline_model: str | None = None) -> str:
    """A model as every table names it: its friendly name, "⭐ headline" after the headline model."""
    from ..models import label

    return label(name) + (" ⭐ headline" if name == (headline_model or headline()) else "")


def model_rows(models: dict[str, dict]) -> list[dict]:
    """Rows of a models' table (headline first) from {model: {valence, arousal, mood, ...}}."""
    return [
        {
            "model": model_name(n),
            "valence": round(models[n]["valence"], 2),
            "arousal": round(models[n]["arousal"], 2),
            "mood": models[n]["mood"],
        }
        for n in ordered(models)
    ]


def said(answer) -> str:
    """A prediction's, section's or song's mood as one answer in words (`mood.say_song`): "calm",
    "calm, close to sad" where the point is a close call with a neighbouring mood, "sad (62% of the
    song)" or "mixed: aggressive 38%, calm 29%, …" for a song of several moods."""
    from ..mood import say_song

    return say_song(answer.mood, answer.close_to, getattr(answer, "shares", None), getattr(answer, "mixed", False))


def said_short(answer) -> str:
    """`said` for a table cell: "sad (62%)", "mixed (aggressive 38%)"."""
    from ..mood import SURE_SHARE, say

    shares = getattr(answer, "shares", None)
    if not shares or (not answer.mixed and shares[answer.mood] >= SURE_SHARE):
        return say(answer.mood, answer.close_to)
    share = f"{answer.mood} {shares[answer.mood]:.0%}"
    return f"mixed ({share})" if answer.mixed else f"{answer.mood} ({shares[answer.mood]:.0%})"


def arrow(value: float, middle: float) -> str:
    """↑ above the mood centre's value, ↓ below: how a number reads against the one scale (issue 30)."""
    return "↑" if value >= middle else "↓"


def va_text(valence: float, arousal: float, bold: bool = True) -> str:
    """ "valence 0.54 ↓ · arousal 0.70 ↑": each number with which side of the mood centre it is on, so
    that no number reads against its mood word (0.54 is below the middle when the middle is 0.60)."""
    v, a = mood_centre()
    b = "**" if bold else ""
    return f"valence {b}{valence:.2f}{b} {arrow(valence, v)} · arousal {b}{arousal:.2f}{b} {arrow(arousal, a)}"


def centre_text() -> str:
    v, a = mood_centre()
    return f"↑/↓: above/below the middle (valence {v:.2f}, arousal {a:.2f}), where the moods meet"


def disagreement(predictions: dict, headline: str | None = None) -> str | None:
    """A sentence naming which models hear which mood, or None when they all agree."""
    moods = {}
    for name in ordered(predictions, headline):
        moods.setdefault(predictions[name].mood, []).append(name)
    if len(moods) == 1:
        return None
    from ..models import label

    parts = [
        f"{' and '.join(label(n) for n in names)} {'hear' if len(names) > 1 else 'hears'} **{mood}**"
        for mood, names in moods.items()
    ]
    return "The models disagree: " + "; ".join(parts) + "."


# --- team audio: played inside the page, never at a URL ----------------------------------------

AUDIO_EMBED_MB = 16  # team audio up to this size is embedded as it is; a larger file as an MP3 preview


@st.cache_data(max_entries=4, show_spinner="Preparing the track to play…")
def _preview_mp3(path: str, modified: float) -> bytes:
    """A mono MP3 at the analysis rate of a large track (a 6-minute WAV of 63 MB gives about 2 MB)."""
    import io

    import soundfile as sf

    from ..io.audio import SAMPLE_RATE, load_clip

    buffer = io.BytesIO()
    sf.write(buffer, load_clip(path, seconds=None).samples, SAMPLE_RATE, format="MP3")
    return buffer.getvalue()


def private_audio(path: Path, mime: str) -> None:
    """A player for a team track that gives it no URL. st.audio would put the bytes at
    /media/<id>, which Streamlit serves to any client that asks (no session, no sign-in); here they
    travel inside the page, over this session's own websocket, as a data: URI of an <audio> element
    (the browser keeps unchanged page elements across reruns, so playing goes on). A file over
    AUDIO_EMBED_MB is sent as a smaller MP3 preview."""
    import base64

    path = Path(path)
    if path.stat().st_size > AUDIO_EMBED_MB * 1e6:
        data, mime = _preview_mp3(str(path), path.stat().st_mtime), "audio/mpeg"
    else:
        data = path.read_bytes()
    uri = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    st.html(f'<audio controls preload="metadata" src="{uri}" style="width:100%"></audio>')


SCALE_NOTES = {
    "listener": "Listener scale: valence and arousal are what listeners would rate (the mean of many listeners' "
    "1–5 ratings of the valence and the energy the music expresses, mapped to 0–1; 0.5 is neutral). "
    "The mood is named relative to typical music: the four moods meet at the mood centre (valence "
    "{v:.2f}, arousal {a:.2f}; the cross on the plane), where a balanced set of happy, aggressive, sad "
    "and calm songs splits evenly. Most music sounds mildly positive to listeners, so “sad” means "
    "sadder and calmer than most songs, not below neutral.",
    "4q": "4Q scale: mood tags placed on valence and arousal, shifted so the four moods come out about equally often.",
}


def scale_sentence() -> str:
    """What the numbers mean, in one sentence for a first screen (scale_note says it in full)."""
    rated = ", as listeners would rate it" if checkpoint_config().get("scale") == "listener" else ""
    return (
        f"Valence is how positive the music sounds and arousal how energetic, each from 0 to 1{rated}; "
        "the mood is the quarter of that plane the song falls in."
    )


def scale_note() -> str:
    """What the numbers on every page mean: the scale the shipped models report (config.json's "scale")."""
    v, a = mood_centre()
    return SCALE_NOTES.get(checkpoint_config().get("scale", "4q"), SCALE_NOTES["4q"]).format(v=v, a=a)


def rating_mood_line(valence: float, arousal: float) -> str:
    """Which mood a rating falls in, as the Label sliders move (issue 30): the same rule and centre as
    every model's answer, so the word saved is the word shown."""
    from ..mood import EMOJI, mood_of

    centre = mood_centre()
    mood = mood_of(valence, arousal, centre)
    if abs(valence - centre[0]) < 0.01 and abs(arousal - centre[1]) < 0.01:
        return f"Your rating reads as **{EMOJI[mood]} {mood}**, but it sits at the middle: move the sliders to say its mood."
    return f"Your rating reads as **{EMOJI[mood]} {mood}**: {va_text(valence, arousal)}."
