"""The Analyze and Results pages, driven headless with Streamlit's AppTest."""

from __future__ import annotations

import io
import json

import pytest
import soundfile as sf
from streamlit.testing.v1 import AppTest

from emotionet.app import plots, webapp
from emotionet.demo import DEMO_MOODS, DEMOS
from tests.conftest import REPO, synth

PAGES = REPO / "app_pages"

# .streamlit/config.toml hides error details from visitors; a failing test should show them.
from streamlit import config as _streamlit_config  # noqa: E402

_streamlit_config.set_option("client.showErrorDetails", "full")


def _wav_bytes(seconds=12.0, kind="chord") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, synth(seconds, kind=kind), 22050, format="WAV")
    return buffer.getvalue()


def _page(name: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=120)
    return at.run()


def _text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [f"{m.label}: {m.value}" for m in at.metric]
    parts += [e.value for e in (*at.error, *at.warning, *at.success, *at.info)]
    return "\n".join(str(p) for p in parts)


def test_analyze_page_invites_input_first(shipped_checkpoints):
    at = _page("analyze.py")
    assert not at.exception
    assert "Upload a file" in _text(at)


def test_a_wav_upload_shows_both_predictions_and_the_mood(shipped_checkpoints):
    at = _page("analyze.py")
    at.file_uploader[0].set_value(("song.wav", _wav_bytes(), "audio/wav"))
    at.run()
    assert not at.exception and not at.error
    headline = json.loads((shipped_checkpoints / "config.json").read_text())["headline"]
    assert [m.label for m in at.metric] == [f"{plots.label(headline)} ⭐"]
    assert "Our best model hears" in _text(at)
    assert any(mood in at.metric[0].value for mood in ("happy", "aggressive", "sad", "calm"))
    models = at.table[0].value["model"].tolist()  # every model, the headline first, by its friendly name
    assert models[0] == f"{plots.label(headline)} ⭐"
    assert {"Report's CNN", "Report's SVR"} <= set(models) and not any("_" in m for m in models)
    assert "confidence" in _text(at)
    assert len(at.get("plotly_chart")) >= 5  # plane, timeline, three feature maps
    config = json.loads((shipped_checkpoints / "config.json").read_text())
    v, a = config["mood_centre"]
    assert webapp.SCALE_NOTES[config["scale"]].format(v=v, a=a) in _text(at)  # what the numbers and the word mean


def test_an_m4a_upload_is_analysed_without_a_system_ffmpeg(shipped_checkpoints):
    from tests.test_av_decode import encode  # AAC in MP4 by PyAV's own encoder

    at = _page("analyze.py")
    assert "M4A" in at.file_uploader[0].label and "ffmpeg" not in at.file_uploader[0].label
    at.file_uploader[0].set_value(("phone.m4a", encode(synth(12.0), 22050), "audio/mp4"))
    at.run()
    assert not at.exception and not at.error and not at.warning
    assert any(mood in at.metric[0].value for mood in ("happy", "aggressive", "sad", "calm"))


def test_a_corrupt_upload_shows_an_error_and_the_page_keeps_working(shipped_checkpoints):
    at = _page("analyze.py")
    at.file_uploader[0].set_value(("broken.mp3", b"ID3" + bytes(range(256)) * 20, "audio/mpeg"))
    at.run()
    assert not at.exception
    assert at.error and "Could not analyse" in at.error[0].value
    assert "Traceback" not in _text(at)
    assert not at.get("audio")  # no dead player above the error
    at.file_uploader[0].set_value(("good.wav", _wav_bytes(), "audio/wav"))  # the next upload still works
    at.run()
    assert not at.exception and not at.error and at.metric


def test_a_float_upload_far_outside_plus_minus_one_is_analysed_and_says_it_was_scaled(shipped_checkpoints):
    y = synth(12.0)
    buffer = io.BytesIO()
    sf.write(buffer, y * 1e6 / abs(y).max(), 22050, format="WAV", subtype="FLOAT")
    at = _page("analyze.py")
    assert not at.warning  # nothing to warn about before a clip
    at.file_uploader[0].set_value(("loud float.wav", buffer.getvalue(), "audio/wav"))
    at.run()
    assert not at.exception and not at.error and at.metric
    assert len(at.warning) == 1 and "scaled to ±1" in at.warning[0].value and "loud float.wav" in at.warning[0].value
    at.file_uploader[0].set_value(("song.wav", _wav_bytes(), "audio/wav"))  # an ordinary clip: no warning
    at.run()
    assert not at.exception and not at.error and not at.warning


@pytest.fixture
def no_pretrained_backbones(shipped_checkpoints, monkeypatch):
    """The musicnn backbones fail to load (a damaged checkpoint); the page's cached predictor and
    analyses are dropped before and after, so no other test sees this one's models."""
    from emotionet.models import pretrained

    def broken():
        raise RuntimeError("MSD_musicnn checkpoint is damaged (SHA-256 mismatch)")

    monkeypatch.setattr(pretrained, "load_backbones", broken)
    webapp._predictor.clear(), webapp._analyses.clear()
    yield
    webapp._predictor.clear(), webapp._analyses.clear()


def test_an_unavailable_headline_model_is_named_before_and_after_an_upload(
    no_pretrained_backbones, shipped_checkpoints
):
    at = _page("analyze.py")
    assert not at.exception
    assert len(at.warning) == 1  # said up front, before anyone uploads
    reason = at.warning[0].value
    assert "headline model" in reason and "unavailable" in reason and "SHA-256 mismatch" in reason
    at.file_uploader[0].set_value(("song.wav", _wav_bytes(), "audio/wav"))
    at.run()
    assert not at.exception and not at.error
    assert [w.value for w in at.warning] == [reason]  # once, not repeated from the analysis' warnings
    headline = json.loads((shipped_checkpoints / "config.json").read_text())["headline"]
    expected = "cnn" if headline == "pretrained" else headline  # the CNN leads in its place
    assert at.metric[0].label == f"{plots.label(expected)} ⭐"
    assert plots.label("pretrained") not in " ".join(at.table[0].value["model"])


def test_every_demo_button_stays_and_each_gives_its_named_mood(shipped_checkpoints):
    at = _page("analyze.py")

    def demo_buttons():
        return [b.label for b in at.button if (b.key or "").startswith("demo_")]

    titles = demo_buttons()
    assert len(titles) == len(DEMOS)
    for i, title in enumerate(DEMOS):
        at.button(key=f"demo_{i}").click().run()
        assert not at.exception and not at.error
        assert demo_buttons() == titles  # all four still drawn (they used to vanish)
        assert at.subheader[0].value == webapp.plain(f"{title} (demo).wav")
        assert DEMO_MOODS[title] in at.metric[0].value


def test_results_page_leads_with_the_headline_model_and_renders_the_metrics(shipped_checkpoints):
    metrics = json.loads((shipped_checkpoints / "metrics.json").read_text())
    headline = metrics["headline"]
    listener = metrics["listener"]["models"]
    at = _page("results.py")
    assert not at.exception and not at.error
    text = _text(at)
    config = json.loads((shipped_checkpoints / "config.json").read_text())
    scale, (v, a) = config.get("scale", "4q"), config["mood_centre"]
    assert at.info[0].value == webapp.SCALE_NOTES[scale].format(v=v, a=a)  # the scale the app reports is said first
    assert scale == "listener" and "what listeners would rate" in at.info[0].value
    # tabs: the headline's story first, then every model, then the experts' figures and the model card (issue 30)
    assert [t.label for t in at.tabs] == ["⭐ The headline", "All models", "Details for experts", "Model card"]
    story = at.tabs[0]
    assert story.subheader[0].value.startswith(f"{plots.label(headline)} ⭐, on music by artists it never heard")
    rule = metrics["shown_rule"]
    shown = {m.label: m.value for m in story.metric}
    # one figure per truth, named in words, and the same as the sentence above them (the mean over splits)
    assert shown["Mood right: editors' moods"] == f"{rule['accuracy_4q']['mean']:.0%}"
    assert shown["Mood right: listeners' moods"] == f"{rule['accuracy_listener']['mean']:.0%}"
    assert shown["Follows listeners: valence"] == f"{rule['r_valence']['mean']:.2f}"
    assert shown["Follows listeners: arousal"] == f"{rule['r_arousal']['mean']:.2f}"
    # every model, one row each, the headline first, the report's models by names a newcomer reads
    table = at.tabs[1].table[0].value
    assert list(table.index)[0] == f"{plots.label(headline)} ⭐"
    assert {"Report's CNN", "Report's SVR"} <= set(table.index)
    assert list(table.columns) == [
        "mood right: editors",
        "mood right: listeners",
        "follows: valence",
        "follows: arousal",
        "confidence off by",
    ]
    assert table.loc["Report's CNN", "mood right: editors"] == f"{metrics['shown_4q']['cnn']['accuracy']:.0%}"
    assert table.loc["Report's CNN", "follows: arousal"] == f"{listener['cnn']['r_arousal']:.2f}"
    # the experts' figures say why they differ from the first tabs' (each model's own calibration, 150 clips)
    experts = at.tabs[2]
    assert "Expected calibration error (ECE)" in text
    assert any(h.value.startswith(f"{plots.label(headline)}: how the headline was chosen") for h in experts.subheader)
    assert "so they differ" in text
    figures = {m.label.replace(" ⭐", ""): m.value for m in experts.metric}
    assert figures["Report's CNN"] == f"{metrics['validation']['cnn']['accuracy']:.1%}"
    assert figures["Report's SVR"] == f"{metrics['validation']['svr']['accuracy']:.1%}"
    assert not any("_" in str(name) for t in at.table for name in t.value.index)
    assert "4Q audio emotion dataset" in text  # what "source: 4q" means
    assert at.selectbox(key="results_model").value == headline
    assert at.selectbox(key="listener_model").value == headline
    assert len(at.get("plotly_chart")) >= 2 * len(metrics["history"]) + len(metrics["validation"]) + 4
    assert f"**Trained on** {metrics['trained_on']['n_tracks']} clips" in text
    assert "listener-rated clips" in text  # the model card names both sources


def test_results_page_says_how_often_the_shown_mood_is_right_with_its_spread(
    shipped_checkpoints, tmp_path, monkeypatch
):
    """Issue 25: the training run measures the shipped rule over several fold seeds (metrics.json's
    shown_rule); Results says first, in words, how often the mood shown is right and how much that varies."""
    metrics = json.loads((shipped_checkpoints / "metrics.json").read_text())
    rule = metrics["shown_rule"]  # what train.py wrote
    assert len(rule["fold_seeds"]) >= 5
    at = _page("results.py")
    assert not at.exception and not at.error
    said = at.success[0].value
    four_q = rule["accuracy_4q"]
    low, high = four_q["ci95_150"]
    assert said.startswith(
        f"On music from artists it never heard, the mood shown agrees with editors' moods **{four_q['mean']:.0%}**"
    )
    assert (
        f"±{four_q['sd'] * 100:.0f} over {len(rule['fold_seeds'])} splits by artist; "
        f"on a set of 150 clips expect {low:.0%}".rstrip("%")
        + f"–{high:.0%}"
    ) in said
    assert f"listeners' moods **{rule['accuracy_listener']['mean']:.0%}**" in said
    assert f"how energetic **{rule['r_arousal']['mean']:.2f}**" in said
    assert (
        f"said as a close call (“calm, close to sad”): those are right {rule['accuracy_close_4q']['mean']:.0%}" in said
    )
    del rule["accuracy_4q"]["sd"]  # a partial block (another checkpoint folder): the page still works, no sentence
    for name in ("config.json",):
        (tmp_path / name).write_bytes((shipped_checkpoints / name).read_bytes())
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    monkeypatch.setenv("EMOTIONET_CHECKPOINTS", str(tmp_path))
    at = _page("results.py")
    assert not at.exception and not at.error and not at.success


def test_results_page_without_metrics_says_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTIONET_CHECKPOINTS", str(tmp_path))
    at = _page("results.py")
    assert not at.exception
    assert at.error and "train.py" in at.error[0].value


def test_a_two_part_song_shows_its_sections_arc_tags_and_downloads(shipped_checkpoints):
    """A quiet pad then a loud riff: the page names both sections (clock, mood, a play button
    each), the arc sentence, what the model hears, shades the sections on the timeline and
    offers the four downloads; clicking a section's play button plays from its start."""
    from tests import demo_song

    buffer = io.BytesIO()
    sf.write(buffer, demo_song.song([("pad", 30), ("riff", 30)]), 22050, format="WAV")
    at = _page("analyze.py")
    at.file_uploader[0].set_value(("pad then riff.wav", buffer.getvalue(), "audio/wav"))
    at.run()
    assert not at.exception and not at.error
    text = _text(at)
    assert "Sections (2)" in text and "How the mood moves:" in text and "from 0:30" in text
    assert "0:00–0:30" in text and "0:30–1:00" in text
    plays = [b for b in at.button if b.key and b.key.startswith("play_section_")]
    assert [b.key for b in plays] == ["play_section_0", "play_section_1"]
    assert "What the model hears" in text and "**Hears:**" in text  # the musicnn tags
    assert "Valence:" in text and "Arousal:" in text
    factors = at.dataframe[-1].value
    assert factors["measurement"].tolist() == ["tempo", "mode", "loudness", "brightness"]
    downloads = at.get("download_button")
    assert len(downloads) == 4
    timeline = [c for c in at.get("plotly_chart") if "section 2" in c.proto.spec]  # the numbered strips
    assert timeline
    assert len(at.get("audio")) == 1  # the whole song's player only, until a section is chosen
    at.button(key="play_section_1").click().run()
    assert not at.exception
    players = at.get("audio")
    assert len(players) == 2 and players[1].proto.start_time == 30


def test_the_uploader_takes_aac_and_a_raw_aac_phone_memo_gets_its_sections(shipped_checkpoints):
    """AAC is an upload type now (PyAV decodes it, no system ffmpeg): a raw .aac of the two-part
    song is analysed whole, with both sections."""
    from tests import demo_song
    from tests.test_av_decode import encode

    at = _page("analyze.py")
    assert {".m4a", ".aac"} <= set(at.file_uploader[0].proto.type)
    data = encode(demo_song.song([("pad", 30), ("riff", 30)]), 22050, fmt="adts", channels=1)
    at.file_uploader[0].set_value(("memo.aac", data, "audio/aac"))
    at.run()
    assert not at.exception and not at.error
    assert "Sections (2)" in _text(at)


def test_a_click_on_the_timeline_finds_the_section_under_it():
    from emotionet.analysis.sections import Section
    from emotionet.app.song_page import section_at

    sections = [Section(0.0, 30.0, 0.6, 0.2, "calm"), Section(30.0, 60.0, 0.6, 0.7, "happy")]
    assert [section_at(sections, x) for x in (0.0, 15.0, 29.9, 30.0, 45.0, 60.0, 62.5)] == [0, 0, 0, 1, 1, 1, 1]
    assert section_at(sections, -1.0) is None and section_at([], 10.0) is None
