"""Resources the Streamlit pages share, created once per server process."""

from __future__ import annotations

import os
import time
from pathlib import Path

import streamlit as st

from ..models.checkpoints import checkpoint_dir
from ..models.names import MODEL_ORDER
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
    return predictor_for(checkpoint_dir())


def predictor_for(directory) -> Predictor:
    """The models of one folder (e.g. the shipped ones while an adapted folder is in use). Models
    that fail their checks (a changed file or setting) stop the page with the one-line reason."""
    from ..models.checkpoints import CheckpointError

    try:
        return _predictor(str(directory))
    except CheckpointError as error:
        stop_for_models(error)


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
    """A prediction's, section's or song's mood as one answer in words (`mood.say`): "calm", or
    "calm, close to sad" where the point is a close call with a neighbouring mood."""
    from ..mood import say

    return say(answer.mood, answer.close_to)


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
    /media/<id>, which Streamlit serves to any client that asks (no session, no passcode); here they
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


# --- the team passcode: a lock-out per client address and a rate limit for the whole server ----

PASSCODE_ATTEMPTS = 5  # wrong passcodes from one address (within PASSCODE_LOCKOUT_S) before it is locked out
PASSCODE_LOCKOUT_S = 300.0
PASSCODE_SERVER_TRIES = 20  # wrong passcodes from all addresses together within PASSCODE_SERVER_WINDOW_S ...
PASSCODE_SERVER_WINDOW_S = 600.0  # ... before every address that has not got in must wait
UNKNOWN_ADDRESS = "an address Streamlit does not give"  # loopback clients (and any Streamlit has no address for)


class PasscodeGuard:
    """Wrong passcode tries as the server process counts them: per client address (a reload, another
    browser or a new session from the same address does not reset them) and for all addresses
    together (so that many addresses cannot guess at full speed either). Thread-safe."""

    def __init__(self, clock=time.monotonic):
        import threading
        from collections import deque

        self.clock = clock
        self._lock = threading.Lock()
        self._wrong: dict[str, list[float]] = {}  # address -> times of its recent wrong tries
        self._locked_until: dict[str, float] = {}
        self._recent = deque()  # times of every address's wrong tries within PASSCODE_SERVER_WINDOW_S

    def _forget(self, now: float) -> None:
        while self._recent and self._recent[0] <= now - PASSCODE_SERVER_WINDOW_S:
            self._recent.popleft()
        self._locked_until = {a: t for a, t in self._locked_until.items() if t > now}
        self._wrong = {
            a: kept for a, ts in self._wrong.items() if (kept := [t for t in ts if t > now - PASSCODE_LOCKOUT_S])
        }

    def _wait(self, address: str, now: float) -> tuple[float, str]:
        own = self._locked_until.get(address, now) - now
        server = self._recent[0] + PASSCODE_SERVER_WINDOW_S - now if len(self._recent) >= PASSCODE_SERVER_TRIES else 0.0
        return (own, "from this address") if own >= server else (server, "on this server")

    def wait(self, address: str) -> tuple[float, str]:
        """(seconds `address` must wait before its next try, 0 when it may try now; whose tries caused it)."""
        with self._lock:
            now = self.clock()
            self._forget(now)
            seconds, whose = self._wait(address, now)
            return max(seconds, 0.0), whose

    def attempt(self, address: str, given: str) -> str | None:
        """Check `given` for `address`: None when it is the team passcode, else why not (wrong, or
        not tried at all while the address or the server must wait)."""
        from ..team import labelling

        with self._lock:
            now = self.clock()
            self._forget(now)
            seconds, whose = self._wait(address, now)
            if seconds > 0:
                return _locked_out(seconds, whose)
            if labelling.check_passcode(given):
                self._wrong.pop(address, None)
                return None
            self._recent.append(now)
            tries = self._wrong.setdefault(address, [])
            tries.append(now)
            if len(tries) >= PASSCODE_ATTEMPTS:
                self._locked_until[address] = now + PASSCODE_LOCKOUT_S
                del self._wrong[address]
                return _locked_out(PASSCODE_LOCKOUT_S, "from this address")
            if len(self._recent) >= PASSCODE_SERVER_TRIES:
                return _locked_out(self._recent[0] + PASSCODE_SERVER_WINDOW_S - now, "on this server")
            return f"That passcode is not right ({PASSCODE_ATTEMPTS - len(tries)} tries left)."


def _locked_out(seconds: float, whose: str) -> str:
    return f"Too many wrong passcodes {whose}: try again in {max(1, round(seconds / 60))} minute(s)."


@st.cache_resource
def passcode_guard() -> PasscodeGuard:
    """The server process's one PasscodeGuard (`passcode_guard.clear()` starts a new one)."""
    return PasscodeGuard()


def client_address() -> str:
    """The address of this session's browser as Streamlit sees the websocket (behind a proxy on this
    machine, its X-Forwarded-For); UNKNOWN_ADDRESS for loopback clients, which then share one count."""
    try:
        address = st.context.ip_address
    except Exception:  # no session (a bare script run)
        address = None
    return address if isinstance(address, str) and address else UNKNOWN_ADDRESS


def _try_passcode() -> None:
    """on_change of the passcode box: each new entry is one attempt, counted once, by the server."""
    state = st.session_state
    given, state["team_passcode_input"] = state.get("team_passcode_input", ""), ""
    if not given:
        return
    refusal = passcode_guard().attempt(client_address(), given)
    if refusal is None:
        state["team_passcode"] = given
    else:
        state["passcode_flash"] = refusal


def require_team_passcode() -> None:
    """When EMOTIONET_TEAM_PASSCODE is set, show nothing of the page until it is given.

    Wrong tries are counted by the server (PasscodeGuard), per client address and for the whole
    server: after PASSCODE_ATTEMPTS wrong tries an address waits PASSCODE_LOCKOUT_S seconds before the
    box comes back, and after PASSCODE_SERVER_TRIES wrong tries from any addresses within
    PASSCODE_SERVER_WINDOW_S everyone who is not in yet waits. A session that got in stays in.
    """
    from ..team import labelling

    state = st.session_state
    if not labelling.passcode_required() or labelling.check_passcode(state.get("team_passcode")):
        return
    seconds, whose = passcode_guard().wait(client_address())
    if seconds > 0:
        state.pop("passcode_flash", None)
        st.error(_locked_out(seconds, whose))
        st.stop()
    st.text_input("Team passcode", type="password", key="team_passcode_input", on_change=_try_passcode)
    if flash := state.pop("passcode_flash", None):
        st.error(flash)
    st.stop()


# --- upload quotas: counted by the server as the bytes arrive, before any page sees them --------


def session_upload_limit_mb() -> float:
    """Megabytes one browser session may upload in all (EMOTIONET_SESSION_UPLOAD_MB, 2000)."""
    return float(os.environ.get("EMOTIONET_SESSION_UPLOAD_MB", 2000))


def upload_memory_limit_mb() -> float:
    """Megabytes of uploads the server holds in memory at once, every session's together, until a page
    stores or drops them (EMOTIONET_UPLOAD_MEMORY_MB, 400)."""
    return float(os.environ.get("EMOTIONET_UPLOAD_MEMORY_MB", 400))


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


class UploadGuard:
    """The bytes each browser session has uploaded, charged as each file arrives (file ids make a
    charge count once), and why a new file may not arrive: past the session's allowance, or past what
    the server holds in memory for all sessions. Thread-safe."""

    def __init__(self):
        import threading

        self._lock = threading.RLock()
        self._arrived: dict[str, dict[str, int]] = {}  # session id -> {file id: bytes}
        self._held: dict[tuple[str, str], int] = {}  # (session id, file id) -> bytes the server keeps
        self._refused: dict[str, list[tuple[str, str]]] = {}  # session id -> [(file name, why)] not yet shown

    def used(self, session_id: str, excluding=()) -> int:
        with self._lock:
            files = self._arrived.get(session_id, {})
            return sum(size for file_id, size in files.items() if file_id not in excluding)

    def refusal(self, session_id: str, new_bytes: int, held_bytes: int | None = None, excluding=()) -> str | None:
        """Why `new_bytes` more may not arrive for the session (its files `excluding` not counted as
        before them); with `held_bytes`, also past the server's upload memory. None when they fit."""
        used_mb, new_mb = self.used(session_id, excluding) / 1e6, new_bytes / 1e6
        if used_mb + new_mb > session_upload_limit_mb():
            return (
                f"This session has uploaded {_mb(used_mb)}; {_mb(new_mb)} more would pass its limit of "
                f"{_mb(session_upload_limit_mb())} (EMOTIONET_SESSION_UPLOAD_MB). Add large collections from a "
                "terminal instead: `python -m emotionet scan FOLDER` (it reads files in place, without copying them)."
            )
        if held_bytes is not None and (held_bytes + new_bytes) / 1e6 > upload_memory_limit_mb():
            return (
                f"The server holds {_mb(held_bytes / 1e6)} of uploads not yet added; {_mb(new_mb)} more would pass "
                f"its limit of {_mb(upload_memory_limit_mb())} (EMOTIONET_UPLOAD_MEMORY_MB). Add or remove the "
                "files already chosen first, or try again in a while."
            )
        return None

    def charge(self, session_id: str, file_id: str, size: int) -> None:
        with self._lock:
            self._arrived.setdefault(session_id, {})[file_id] = size

    def admit(self, session_id: str, file_id: str, size: int) -> str | None:
        """Refuse a file that does not fit (see `refusal`), or charge it to the session and count it
        as held by the server (until `release`); one step."""
        with self._lock:
            held = sum(b for key, b in self._held.items() if key != (session_id, file_id))
            refusal = self.refusal(session_id, size, held, excluding={file_id})
            if refusal is None:
                self.charge(session_id, file_id, size)
                self._held[session_id, file_id] = size
            return refusal

    def note_refusal(self, session_id: str, name: str, why: str) -> None:
        with self._lock:
            self._refused.setdefault(session_id, []).append((name, why))

    def refusals(self, session_id: str) -> list[tuple[str, str]]:
        """[(file name, why)] of the session's files refused as they arrived, since the last call."""
        with self._lock:
            return self._refused.pop(session_id, [])

    def held(self) -> int:
        """Bytes of admitted files the server still keeps."""
        with self._lock:
            return sum(self._held.values())

    def release(self, session_id: str, file_id: str) -> None:
        """The server dropped one of the session's files."""
        with self._lock:
            self._held.pop((session_id, file_id), None)

    def forget(self, session_id: str) -> None:
        """The session has ended (its uploads are dropped with it)."""
        with self._lock:
            self._arrived.pop(session_id, None)
            self._refused.pop(session_id, None)
            self._held = {key: b for key, b in self._held.items() if key[0] != session_id}


@st.cache_resource
def upload_guard() -> UploadGuard:
    """The server process's UploadGuard, watching Streamlit's upload endpoint (see _watch_uploads)."""
    return _watch_uploads()


def _watch_uploads() -> UploadGuard:
    """Put an UploadGuard in front of Streamlit's in-memory upload store, once per server process.

    Streamlit 1.67's upload endpoint (streamlit/web/server/starlette/starlette_routes.py) first asks
    `runtime.is_active_session(session_id)`, before it reads any byte: a session with no room left
    (its allowance used up, or the server's upload memory full) is refused there. Otherwise Starlette
    spools the body to a temporary file (1 MB in memory, the rest on disk, capped by
    server.maxUploadSize), reads it into memory and calls `add_file`: a file past either limit is
    refused there (HTTP 413) and dropped at once, never kept. So a refused file costs at most one
    file's bytes (<= server.maxUploadSize) for a moment, and kept uploads at most
    EMOTIONET_UPLOAD_MEMORY_MB for all sessions together.
    """
    from streamlit import runtime
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager

    if not runtime.exists():
        return UploadGuard()
    server = runtime.get_instance()
    manager = server.uploaded_file_mgr
    if not isinstance(manager, MemoryUploadedFileManager):  # e.g. AppTest's stand-in runtime
        return UploadGuard()
    if isinstance(guard := getattr(manager, "emotionet_guard", None), UploadGuard):
        return guard  # already watched (a cleared cache must not wrap the endpoint twice)
    guard = manager.emotionet_guard = UploadGuard()
    add_file, remove_file, remove_session_files = manager.add_file, manager.remove_file, manager.remove_session_files
    is_active_session = server.is_active_session

    def guarded_add_file(session_id, file) -> None:
        if refusal := guard.admit(session_id, file.file_id, len(file.data)):
            from starlette.exceptions import HTTPException

            guard.note_refusal(session_id, file.name, refusal)
            try:  # redraw the session's page, which then says why (Streamlit would not rerun for a failed upload)
                if (info := server._session_mgr.get_active_session_info(session_id)) is not None:
                    info.session.request_rerun(info.session._client_state)  # as runOnSave does: same page
            except Exception:  # best effort: the uploader marks the file as failed anyway
                pass

            raise HTTPException(status_code=413, detail=refusal)
        add_file(session_id, file)

    def guarded_remove_file(session_id, file_id) -> None:
        guard.release(session_id, file_id)
        remove_file(session_id, file_id)

    def guarded_remove_session_files(session_id) -> None:
        guard.forget(session_id)
        remove_session_files(session_id)

    def room_to_upload(session_id) -> bool:  # only the upload endpoint asks this
        return is_active_session(session_id) and guard.refusal(session_id, 1, guard.held()) is None

    manager.add_file, manager.remove_file = guarded_add_file, guarded_remove_file
    manager.remove_session_files = guarded_remove_session_files
    server.is_active_session = room_to_upload
    return guard


def _session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else ""


def upload_refusal(files) -> str | None:
    """Why these uploads (Streamlit UploadedFiles) may not be stored now: past the session's allowance
    (what it uploaded before them) or the store's cap; None when they fit (they are then charged to
    the session, once: on a server they were charged as they arrived)."""
    files = [f for f in (files if isinstance(files, list) else [files]) if f is not None]
    guard, session = upload_guard(), _session_id()
    new = sum(f.size for f in files)
    if refusal := guard.refusal(session, new, excluding={f.file_id for f in files}):
        return refusal
    stored_mb = _folder_mb(storage.AudioStore().root)
    if stored_mb + new / 1e6 > store_limit_mb():
        return (
            f"The app's audio store holds {_mb(stored_mb)}; {_mb(new / 1e6)} more would pass its limit of "
            f"{_mb(store_limit_mb())} (EMOTIONET_STORE_LIMIT_MB). Ask whoever runs the server, or scan "
            "folders in place with `python -m emotionet scan FOLDER`."
        )
    for f in files:
        guard.charge(session, f.file_id, f.size)
    return None


def uploader_key(name: str) -> str:
    """The key of the uploader `name` now: dropping its files gives it a new one (a fresh, empty box)."""
    return f"{name}_{st.session_state.get(f'{name}_round', 0)}"


def free_uploads(files) -> None:
    """Drop these uploads (UploadedFiles) from the server's memory now, once stored or refused."""
    from streamlit import runtime

    if runtime.exists() and (manager := getattr(runtime.get_instance(), "uploaded_file_mgr", None)) is not None:
        for f in files if isinstance(files, list) else [files]:
            manager.remove_file(_session_id(), f.file_id)


def drop_uploads(name: str) -> None:
    """Empty the uploader `name` (a new key) and drop its files from the server's memory now."""
    files = st.session_state.get(uploader_key(name)) or []
    st.session_state[f"{name}_round"] = st.session_state.get(f"{name}_round", 0) + 1
    free_uploads(files)


def check_uploads(name: str) -> None:
    """on_change of the uploader `name`: files that may not be stored (upload_refusal) leave it at
    once, with the reason kept for `upload_error` to show."""
    st.session_state.pop(f"{name}_refusal", None)
    if refusal := upload_refusal(st.session_state.get(uploader_key(name)) or []):
        drop_uploads(name)
        st.session_state[f"{name}_refusal"] = refusal


def upload_error(name: str) -> None:
    """Show why the uploader `name` last refused files (until other files are chosen), and which files
    the server refused as they arrived (once; the uploader marks them too)."""
    if refusal := st.session_state.get(f"{name}_refusal"):
        st.error(refusal)
    for file, why in upload_guard().refusals(_session_id()):
        st.error(f"{plain(file)} was not taken: {why}")


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
