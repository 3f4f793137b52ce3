"""Upload allowances, counted by the server as the bytes arrive, before any page sees them.

Who is charged: a signed-in team member (`assign`, from the entry script on every run) has their
own allowance, whatever browser sessions they upload from; visitors who are not signed in share
one allowance between them (a stranger can use it up, never a member's). An allowance is
EMOTIONET_PERSON_UPLOAD_MB within a rolling day. What the server holds in memory (files chosen and
not yet added) is capped for everyone together (EMOTIONET_UPLOAD_MEMORY_MB), and a file chosen and
left is dropped after HOLD_S (or when it is removed from its box, or its session ends), so an
abandoned choice does not hold memory against everyone else. Files longer than the server's limit
(`emotionet.io.audio.check_length`, read from the header) are refused when chosen, before any work.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import streamlit as st

from ..team import storage

VISITORS = "visitors"  # the allowance every session without a sign-in shares
WINDOW_S = 86400.0  # an allowance is per rolling day
HOLD_S = 600.0  # a chosen file not added within this long is dropped from the server's memory


def person_upload_limit_mb() -> float:
    """Megabytes one person (or all visitors together) may upload per day (EMOTIONET_PERSON_UPLOAD_MB, 2000)."""
    return float(os.environ.get("EMOTIONET_PERSON_UPLOAD_MB", 2000))


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
    """The bytes each person (or the visitors together) uploaded within WINDOW_S, charged as each file
    arrives (a file counts once), the files the server holds, and why a new file may not arrive: past
    the person's allowance, or past what the server holds for everyone. Thread-safe; `clock` injectable."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._lock = threading.RLock()
        self._who: dict[str, str] = {}  # session id -> who it uploads as ("person:<id>" or VISITORS)
        self._arrived: dict[
            str, dict[tuple[str, str], tuple[float, int]]
        ] = {}  # who -> {(session, file): (when, bytes)}
        self._held: dict[tuple[str, str], tuple[float, int]] = {}  # (session, file) -> (since, bytes) the server keeps
        self._refused: dict[str, list[tuple[str, str]]] = {}  # session id -> [(file name, why)] not yet shown

    def assign(self, session_id: str, who: str | None) -> None:
        """From now on the session uploads as `who` (None: a visitor without a sign-in)."""
        with self._lock:
            self._who[session_id] = who or VISITORS

    def who(self, session_id: str) -> str:
        with self._lock:
            return self._who.get(session_id, VISITORS)

    def used(self, session_id: str, excluding=()) -> int:
        """Bytes the session's person uploaded within the window (files `excluding` of this session not counted)."""
        with self._lock:
            since = self.clock() - WINDOW_S
            charges = self._arrived.get(self.who(session_id), {})
            return sum(
                size
                for (session, file_id), (when, size) in charges.items()
                if when > since and not (session == session_id and file_id in excluding)
            )

    def refusal(self, session_id: str, new_bytes: int, held_bytes: int | None = None, excluding=()) -> str | None:
        """Why `new_bytes` more may not arrive for the session's person (its files `excluding` not counted
        as before them); with `held_bytes`, also past the server's upload memory. None when they fit."""
        used_mb, new_mb, limit = self.used(session_id, excluding) / 1e6, new_bytes / 1e6, person_upload_limit_mb()
        if used_mb + new_mb > limit:
            whose = (
                "Visitors who are not signed in have uploaded"
                if self.who(session_id) == VISITORS
                else "You have uploaded"
            )
            return (
                f"{whose} {_mb(used_mb)} today; {_mb(new_mb)} more would pass the allowance of {_mb(limit)} a "
                "day (EMOTIONET_PERSON_UPLOAD_MB). Add large collections from a terminal instead: `python -m "
                "emotionet scan FOLDER` (it reads files in place, without copying them)."
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
            now = self.clock()
            charges = self._arrived.setdefault(self.who(session_id), {})
            when, _ = charges.get((session_id, file_id), (now, 0))
            charges[session_id, file_id] = (when, size)
            for key in [k for k, (t, _) in charges.items() if t <= now - WINDOW_S]:
                del charges[key]

    def admit(self, session_id: str, file_id: str, size: int) -> str | None:
        """Refuse a file that does not fit (see `refusal`), or charge it to the session's person and
        count it as held by the server (until `release`); one step."""
        with self._lock:
            held = sum(b for key, (_, b) in self._held.items() if key != (session_id, file_id))
            refusal = self.refusal(session_id, size, held, excluding={file_id})
            if refusal is None:
                self.charge(session_id, file_id, size)
                self._held[session_id, file_id] = (self.clock(), size)
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
            return sum(b for _, b in self._held.values())

    def abandoned(self) -> list[tuple[str, str]]:
        """(session, file) of files held longer than HOLD_S: chosen, never added."""
        with self._lock:
            now = self.clock()
            return [key for key, (since, _) in self._held.items() if now - since > HOLD_S]

    def release(self, session_id: str, file_id: str) -> None:
        """The server dropped one of the session's files (the person's charge for it stays)."""
        with self._lock:
            self._held.pop((session_id, file_id), None)

    def forget(self, session_id: str) -> None:
        """The session has ended (its uploads are dropped with it; its person's charges stay)."""
        with self._lock:
            self._refused.pop(session_id, None)
            self._who.pop(session_id, None)
            self._held = {key: v for key, v in self._held.items() if key[0] != session_id}


@st.cache_resource
def upload_guard() -> UploadGuard:
    """The server process's UploadGuard, watching Streamlit's upload endpoint (see _watch_uploads)."""
    return _watch_uploads()


def _watch_uploads() -> UploadGuard:
    """Put an UploadGuard in front of Streamlit's in-memory upload store, once per server process.

    Streamlit 1.67's upload endpoint (streamlit/web/server/starlette/starlette_routes.py) first asks
    `runtime.is_active_session(session_id)`, before it reads any byte: a session whose person has no
    allowance left, or with the server's upload memory full, is refused there. Otherwise Starlette
    spools the body to a temporary file (1 MB in memory, the rest on disk, capped by
    server.maxUploadSize), reads it into memory and calls `add_file`: a file past either limit is
    refused there (HTTP 413) and dropped at once, never kept. So a refused file costs at most one
    file's bytes (<= server.maxUploadSize) for a moment, and kept uploads at most
    EMOTIONET_UPLOAD_MEMORY_MB for all sessions together. Each new upload first drops the files held
    past HOLD_S.
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

    def drop_abandoned() -> None:
        for session_id, file_id in guard.abandoned():
            guarded_remove_file(session_id, file_id)

    def guarded_add_file(session_id, file) -> None:
        drop_abandoned()
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
        drop_abandoned()
        return is_active_session(session_id) and guard.refusal(session_id, 1, guard.held()) is None

    manager.add_file, manager.remove_file = guarded_add_file, guarded_remove_file
    manager.remove_session_files = guarded_remove_session_files
    server.is_active_session = room_to_upload
    return guard


def session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else ""


def length_refusal(files) -> str | None:
    """Why one of these uploads is too long to analyse: its header's length past the server's limit
    (`io.audio.check_length`, EMOTIONET_MAX_MINUTES), found before any decoding; None when all fit.
    A file whose header cannot be read is left for the decoder to report with the others."""
    from ..io import audio
    from .webapp import plain

    if (check_length := getattr(audio, "check_length", None)) is None:  # comes with issue 33's io.audio
        return None
    for f in files if isinstance(files, list) else [files]:
        try:
            check_length(f.getvalue(), name=f.name)
        except audio.AudioError as error:
            try:
                check_length(f.getvalue(), max_minutes=0, name=f.name)  # no limit: is it only too long?
            except audio.AudioError:
                continue  # unreadable: the decoder says so, file by file
            return plain(error)
    return None


def upload_refusal(files) -> str | None:
    """Why these uploads (Streamlit UploadedFiles) may not be stored now: past the person's allowance
    (what they uploaded before them), the store's cap, or the server's length limit; None when they
    fit (they are then charged to the person, once: on a server they were charged as they arrived)."""
    files = [f for f in (files if isinstance(files, list) else [files]) if f is not None]
    guard, session = upload_guard(), session_id()
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
    if refusal := length_refusal(files):
        return refusal
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
            manager.remove_file(session_id(), f.file_id)


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
    from .webapp import plain

    if refusal := st.session_state.get(f"{name}_refusal"):
        st.error(refusal)
    for file, why in upload_guard().refusals(session_id()):
        st.error(f"{plain(file)} was not taken: {why}")
