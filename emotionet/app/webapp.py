"""Resources the Streamlit pages share, created once per server process."""

from __future__ import annotations

import os
import time
from pathlib import Path

import streamlit as st

from ..models.checkpoints import checkpoint_dir
from ..predict import Predictor
from ..team import storage


@st.cache_resource(show_spinner="Loading the models…")
def _predictor(directory: str) -> Predictor:
    predictor = Predictor.load(directory)
    predictor.warm_up()
    return predictor


def predictor() -> Predictor:
    """The models in use (the shipped ones, an accepted adapted folder, or EMOTIONET_CHECKPOINTS),
    loaded and warmed once per folder."""
    return _predictor(str(checkpoint_dir()))


def predictor_for(directory) -> Predictor:
    """The models of one folder (e.g. the shipped ones while an adapted folder is in use)."""
    return _predictor(str(directory))


def models_key() -> str:
    """The version of the models in use, under which their answers on team tracks are stored."""
    from ..team import predictions

    return predictions.models_key(checkpoint_dir())


@st.cache_resource
def _engine(url: str):
    return storage.make_engine(url)


def engine():
    """The database engine for the current EMOTIONET_DB_URL / data folder."""
    return _engine(storage.database_url())


ANALYSIS_CACHE_ENTRIES = 16  # whole songs: an hour-long one keeps ~20 MB of features


@st.cache_resource
def _analyses() -> tuple:
    """(OrderedDict of recent analyses, its lock), shared by the server's sessions."""
    import threading
    from collections import OrderedDict

    return OrderedDict(), threading.Lock()


def analyze_bytes(data: bytes, name: str, progress=None):
    """The analysis of one uploaded clip (the whole song), cached by its content and name (shown
    in results). `progress(fraction, message)` follows a fresh analysis (a cached one is instant);
    st.cache_data cannot take it, since it would replay the progress bar of the first run."""
    import hashlib

    key = (hashlib.sha256(data).hexdigest(), name, str(checkpoint_dir()))
    cache, lock = _analyses()
    with lock:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    analysis = predictor().analyze(data, name=name, progress=progress)
    with lock:
        cache[key] = analysis
        while len(cache) > ANALYSIS_CACHE_ENTRIES:
            cache.popitem(last=False)
    return analysis


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


_MARKDOWN_SPECIAL = set("\\`*_{}[]<>#|~$:&")  # links, images, HTML, emphasis, code, LaTeX, :emoji:, autolinks


def plain(text) -> str:
    """User text (titles, file names, sources, licences, names) made safe inside Markdown: every
    character Markdown or Streamlit could act on is backslash-escaped, so `![p](http://host/x.png)`
    shows as those characters and no rater's browser fetches anything. Use st.text where possible."""
    return "".join("\\" + c if c in _MARKDOWN_SPECIAL else c for c in " ".join(str(text).split()))


def plain_html(text) -> str:
    """User text for Plotly hover labels and annotations, which understand a few HTML tags."""
    import html

    return html.escape(str(text))


MODEL_ORDER = ("pretrained", "cnn", "crnn", "svr", "svr_all")


@st.cache_data(show_spinner=False)
def _config(directory: str, modified: float) -> dict:
    import json

    try:
        return json.loads((Path(directory) / "config.json").read_text())
    except (OSError, ValueError):
        return {}


def checkpoint_config() -> dict:
    """config.json of the current checkpoint folder, read without loading any model (re-read when it
    changes); {} when there is no trained bundle or it cannot be read."""
    path = checkpoint_dir() / "config.json"
    return _config(str(path.parent), path.stat().st_mtime) if path.is_file() else {}


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


PASSCODE_ATTEMPTS = 5  # wrong passcodes in a row before a session is locked out
PASSCODE_LOCKOUT_S = 300.0


def _try_passcode() -> None:
    """on_change of the passcode box: each new entry is one attempt, counted once."""
    from ..team import labelling

    state = st.session_state
    given, state["team_passcode_input"] = state.get("team_passcode_input", ""), ""
    if not given:
        return
    if labelling.check_passcode(given):
        state["team_passcode"], state["passcode_failures"] = given, 0
        return
    state["passcode_failures"] = state.get("passcode_failures", 0) + 1
    if state["passcode_failures"] >= PASSCODE_ATTEMPTS:
        state["passcode_locked_until"], state["passcode_failures"] = time.time() + PASSCODE_LOCKOUT_S, 0
    else:
        state["passcode_flash"] = (
            f"That passcode is not right ({PASSCODE_ATTEMPTS - state['passcode_failures']} tries left)."
        )


def require_team_passcode() -> None:
    """When EMOTIONET_TEAM_PASSCODE is set, show nothing of the page until it is given.

    After PASSCODE_ATTEMPTS wrong tries in a row the browser session must wait PASSCODE_LOCKOUT_S
    seconds before the box comes back, so the passcode cannot be guessed by clicking on and on.
    """
    from ..team import labelling

    state = st.session_state
    if not labelling.passcode_required() or labelling.check_passcode(state.get("team_passcode")):
        return
    locked_for = state.get("passcode_locked_until", 0.0) - time.time()
    if locked_for > 0:
        st.error(f"Too many wrong passcodes: try again in {max(1, round(locked_for / 60))} minute(s).")
        st.stop()
    st.text_input("Team passcode", type="password", key="team_passcode_input", on_change=_try_passcode)
    if flash := state.pop("passcode_flash", None):
        st.error(flash)
    st.stop()


# --- upload quotas: the ungated pages must not fill the disk ----------------------------------


def session_upload_limit_mb() -> float:
    """Megabytes one browser session may upload to the library (EMOTIONET_SESSION_UPLOAD_MB, 2000)."""
    return float(os.environ.get("EMOTIONET_SESSION_UPLOAD_MB", 2000))


def store_limit_mb() -> float:
    """Megabytes the app's audio store may hold in all (EMOTIONET_STORE_LIMIT_MB, 20000)."""
    return float(os.environ.get("EMOTIONET_STORE_LIMIT_MB", 20000))


def _folder_mb(root: Path) -> float:
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            try:
                total += os.stat(os.path.join(folder, name)).st_size
            except OSError:  # removed meanwhile
                pass
    return total / 1e6


def _mb(x: float) -> str:
    return f"{x:.1f} MB" if x < 10 else f"{x:.0f} MB"


def upload_refusal(sizes: list[int]) -> str | None:
    """Why uploads of these sizes (bytes) may not be stored now, or None when they fit both the
    session's allowance and the store's cap."""
    new_mb = sum(sizes) / 1e6
    used_mb = st.session_state.get("uploaded_mb", 0.0)
    if used_mb + new_mb > session_upload_limit_mb():
        return (
            f"This session has uploaded {_mb(used_mb)}; {_mb(new_mb)} more would pass its limit of "
            f"{_mb(session_upload_limit_mb())} (EMOTIONET_SESSION_UPLOAD_MB). Add large collections from a terminal instead: "
            "`python -m emotionet scan FOLDER` (it reads files in place, without copying them)."
        )
    stored_mb = _folder_mb(storage.AudioStore().root)
    if stored_mb + new_mb > store_limit_mb():
        return (
            f"The app's audio store holds {_mb(stored_mb)}; {_mb(new_mb)} more would pass its limit of "
            f"{_mb(store_limit_mb())} (EMOTIONET_STORE_LIMIT_MB). Ask whoever runs the server, or scan "
            "folders in place with `python -m emotionet scan FOLDER`."
        )
    return None


def count_upload(sizes: list[int]) -> None:
    """Charge uploads (bytes) to this session's allowance."""
    st.session_state["uploaded_mb"] = st.session_state.get("uploaded_mb", 0.0) + sum(sizes) / 1e6


SCALE_NOTES = {
    "listener": "Listener scale: valence and arousal are what listeners would rate (the mean of many listeners' "
    "1–5 ratings of the valence and the energy the music expresses, mapped to 0–1; 0.5 is neutral). "
    "The mood is named relative to typical music: the four moods meet at the mood centre (valence "
    "{v:.2f}, arousal {a:.2f}; the cross on the plane), where a balanced set of happy, aggressive, sad "
    "and calm songs splits evenly. Most music sounds mildly positive to listeners, so “sad” means "
    "sadder and calmer than most songs, not below neutral.",
    "4q": "4Q scale: mood tags placed on valence and arousal, shifted so the four moods come out about equally often.",
}


def scale_note() -> str:
    """What the numbers on every page mean: the scale the shipped models report (config.json's "scale")."""
    v, a = mood_centre()
    return SCALE_NOTES.get(checkpoint_config().get("scale", "4q"), SCALE_NOTES["4q"]).format(v=v, a=a)
