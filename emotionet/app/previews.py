"""Team audio played inside the page, never at a URL (st.audio would serve it to anyone who asks)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st


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
