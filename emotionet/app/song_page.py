"""The whole-song parts of the Analyze page (issue 12), kept out of the page script so that it
stays thin: the analysis with a progress bar, the mood arc, one row per section with a player
for it, what the model hears, and the downloads. Each `show_*` function draws one block."""

from __future__ import annotations

import hashlib
import re

import streamlit as st

from ..analysis import export
from ..analysis.sections import clock
from ..mood import EMOJI
from . import queue, webapp

SECTION_PLAY = "section_play"  # session key: (clip digest, section index) of the section playing
PROGRESS_EVERY_S = 0.3


def analyze_with_progress(data: bytes, name: str):
    """`webapp.analyze_bytes` under a progress bar that follows the decode, the models and the
    sections (a long file takes a while; a cached one is instant). AudioError propagates."""
    import time

    bar = st.progress(0.0, text="Listening to the song…")
    last = [0.0]

    def progress(fraction: float, message: str) -> None:
        # at most ~3 updates a second: each one re-renders the page in the browser, which shares
        # the cores with the analysis on a small machine
        now = time.monotonic()
        if fraction >= 0.85 or now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            bar.progress(fraction, text=message)

    try:
        return webapp.analyze_bytes(data, name, progress=progress)
    except queue.QueueFull as error:  # a one-line reason; the page and the session go on
        bar.empty()
        st.error(str(error))
        st.stop()
    finally:
        bar.empty()


def models_note(loading: queue.Loading, notes) -> list[str]:
    """While the models load (a server that has just started), a note in the placeholder `notes` that
    says so and that the page can be used meanwhile, redrawn twice a second (a click on the page can
    interrupt it); then, there, a warning for each model that could not be loaded. Returns those
    reasons (the page does not repeat them under an analysis)."""
    import time

    if not loading.ready:
        while not loading.wait(0.5):
            notes.info(
                f"Loading the models ({time.monotonic() - loading.started:.0f} s; once per server start): "
                "you can already upload a song or pick a demo: it waits in the queue and starts as soon as "
                "they are ready.",
                icon="⏳",
            )
    reasons = list(webapp.predictor().unavailable.values())
    with notes.container():
        for reason in reasons:
            st.warning(webapp.plain(reason), icon="⚠️")
    return reasons


MICROPHONE_CHECK = """<body style="margin:0"><div id="mic" style="font:13px/1.35 sans-serif;color:#b3261e"></div>
<script>
(async () => {
  const say = (text) => { document.getElementById("mic").textContent = text; };
  try {
    const permission = await navigator.permissions.query({name: "microphone"});
    if (permission.state === "denied") { say("🎙️ This browser blocks the microphone here: allow it (the icon in the address bar), or upload a file."); return; }
  } catch (e) {}
  try {
    const devices = await navigator.mediaDevices.enumerateDevices();
    if (!devices.some((d) => d.kind === "audioinput")) { say("🎙️ No microphone found: plug one in and reload, or upload a file."); }
  } catch (e) {
    say("🎙️ Recording needs a secure page (https or localhost) and a microphone: upload a file instead.");
  }
})();
</script></body>"""


def microphone_check() -> None:
    """A line under the recorder, in the browser itself, when it cannot record: no microphone, access
    blocked, or an insecure page (the recorder component would only turn red and say nothing)."""
    st.iframe(MICROPHONE_CHECK, height=76)  # room for its four lines in a narrow column


def show_arc(analysis) -> None:
    """The mood arc sentence ("Calm intro, aggressive from 1:12.") and the song-level summary."""
    if analysis.song is None:
        return
    song = analysis.song
    st.markdown(f"**How the mood moves:** {song.arc}")
    if song.shares:
        st.caption(
            "Each section is named by the mood most of its 10 s windows carry; the song by the mood it "
            "spends most time in" + (", and mixed when no mood holds half of it." if song.mixed else ".")
        )


def show_hears(analysis) -> None:
    """The tags the pretrained networks hear, and which measurements push valence and arousal."""
    explanation = analysis.explanation
    if explanation is None:
        return
    st.markdown("#### What the model hears")
    if explanation.hears:
        st.markdown(f"**Hears:** {webapp.plain(explanation.hears)}")
    st.markdown(f"**Valence:** {explanation.valence_text}  \n**Arousal:** {explanation.arousal_text}")
    st.dataframe(
        [
            {
                "measurement": f.name.split("_")[0],
                "value": f.display,
                "reads as": f.words,
                "pushes valence": f"{f.valence:+.3f}",
                "pushes arousal": f"{f.arousal:+.3f}",
            }
            for f in explanation.factors
        ],
        hide_index=True,
        width="stretch",
    )
    st.caption(
        "Tags: the pretrained musicnn networks' strongest tags for this song (rarer-than-usual ones first). "
        "The pushes come from a small linear model of the four measurements, to explain rather than to "
        "predict: the mood itself comes from the networks above."
    )


def clip_id(data: bytes) -> str:
    """The clip's identity for the section player and the chart's key (its content's SHA-1)."""
    return hashlib.sha1(data).hexdigest()


def _play(digest: str, index: int) -> None:
    st.session_state[SECTION_PLAY] = (digest, index)


def section_at(sections, seconds: float) -> int | None:
    """Index of the section (Analysis.song.sections) that holds the file time `seconds`."""
    for i, section in enumerate(sections):
        if section.start_s <= seconds < section.end_s or (i == len(sections) - 1 and seconds >= section.start_s):
            return i
    return None


def show_timeline(analysis, data: bytes, headline: str) -> None:
    """The mood-over-time chart; a click on a section's strip (or on any point of the lines)
    plays that section, as its ▶ button does."""
    from . import plots

    sections = analysis.song.sections if analysis.song is not None else []
    digest = clip_id(data)
    key = f"timeline_{digest[:16]}"

    def clicked() -> None:  # called once per change of selection, before the rerun
        points = st.session_state[key].selection.get("points", [])
        index = section_at(sections, points[0]["x"]) if points else None  # a strip's marker sits mid-section
        if index is not None:
            _play(digest, index)

    chart = plots.timeline_chart(
        analysis.timeline, headline, [s.to_dict() for s in sections], thresholds=webapp.mood_centre()
    )
    st.plotly_chart(
        chart, width="stretch", key=key, on_select=clicked if sections else "ignore", selection_mode="points"
    )


def show_sections(analysis, data: bytes) -> None:
    """One row per section: its clock range, mood, what it hears, and a button that plays it."""
    if analysis.song is None or not analysis.song.sections:
        return
    sections = analysis.song.sections
    digest = clip_id(data)
    st.markdown(
        f"#### Sections ({len(sections)})",
        help="Parts of the song that sound alike (a quiet intro, a loud chorus…), each named by the mood most "
        "of its 10 s windows carry (and how much of it that is); v: valence (how positive), a: arousal (how "
        "energetic), 0–1; " + webapp.centre_text() + ".",
    )
    centre = webapp.mood_centre()
    for i, section in enumerate(sections):
        play, when, mood, hears = st.columns([1.2, 1.5, 2.8, 3.5], vertical_alignment="center")
        play.button(
            "▶ Play",
            key=f"play_section_{i}",
            on_click=_play,
            args=(digest, i),
            wrap=True,
            help=f"Play section {i + 1} ({clock(section.start_s)}–{clock(section.end_s)})",
        )
        when.markdown(f"**{i + 1}** · {clock(section.start_s)}–{clock(section.end_s)}")
        held = f" ({section.share:.0%} of it)" if section.share is not None and section.share < 1 else ""
        mood.markdown(
            f"{EMOJI[section.mood]} **{webapp.said(section)}**{held} · "
            f"v {section.valence:.2f} {webapp.arrow(section.valence, centre[0])} · "
            f"a {section.arousal:.2f} {webapp.arrow(section.arousal, centre[1])}"
        )
        hears.markdown(webapp.plain(section.extra.get("hears", "")) or "—")
    chosen = st.session_state.get(SECTION_PLAY)
    if chosen and chosen[0] == digest and chosen[1] < len(sections):
        section = sections[chosen[1]]
        st.caption(f"Section {chosen[1] + 1}: {clock(section.start_s)}–{clock(section.end_s)}")
        st.audio(data, start_time=int(section.start_s), end_time=int(section.end_s + 0.999), autoplay=True)


def _stem(name: str) -> str:
    stem = re.sub(r"[^\w.-]+", "_", name.rsplit(".", 1)[0]).strip("._") or "analysis"
    return stem[:60]


@st.cache_data(show_spinner=False, max_entries=32)
def _plane_png(json_text: str, thresholds: tuple) -> bytes:
    import json

    return export.plane_png(json.loads(json_text), thresholds)


def show_downloads(analysis, thresholds) -> None:
    """Download buttons: the analysis as JSON, the timeline and the sections as CSV, the plane as PNG."""
    d = analysis.to_dict()
    text = export.to_json(d)
    stem = _stem(analysis.file)
    st.markdown("#### Take it away")
    row = st.container(horizontal=True)  # content-wide buttons that wrap onto a second line on a small screen
    row.download_button("Analysis (JSON)", text, f"{stem}.json", "application/json", key="download_json")
    row.download_button(
        "Timeline (CSV)", export.timeline_csv(d), f"{stem}-timeline.csv", "text/csv", key="download_timeline"
    )
    row.download_button(
        "Sections (CSV)",
        export.sections_csv(d),
        f"{stem}-sections.csv",
        "text/csv",
        key="download_sections",
        disabled=not d.get("sections"),
    )
    row.download_button(
        "Valence–arousal plane (PNG)",
        _plane_png(text.decode("utf-8"), tuple(thresholds)),
        f"{stem}-plane.png",
        "image/png",
        key="download_png",
    )
