"""Resources the Streamlit pages share, created once per server process: the models (loading in
the background, their analyses in the server's one queue), the database engine, the recent
analyses and clips, and the checkpoint folder's settings and metrics.

Importing this module loads no torch: a cold server draws its pages first, and the models load in
the background (issue 31). torch comes with the models (`_load`) and checkpoint_dir's module.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ..io import database
from . import queue
from .markdown import plain


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
