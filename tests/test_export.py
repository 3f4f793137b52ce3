"""Take it away: strict JSON, CSV a spreadsheet cannot run, and the valence-arousal plane as PNG."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest

from emotionet.analysis import export


def analysis(file: str = "song.mp3") -> dict:
    window = lambda s, v, a, m: {
        "start_s": s,
        "end_s": s + 10.0,  # noqa: E731
        "cnn": {"valence": v, "arousal": a, "mood": m},
        "pretrained": {"valence": v + 0.01, "arousal": a, "mood": m},
    }
    return {
        "file": file,
        "duration_s": 40.0,
        "analysed": {"start_s": 0.0, "end_s": 40.0},
        "headline": "pretrained",
        "cnn": {"valence": 0.6, "arousal": 0.4, "mood": "calm", "confidence": 0.5},
        "pretrained": {"valence": 0.45, "arousal": 0.55, "mood": "aggressive", "confidence": 0.4},
        "timeline": [
            window(0.0, 0.7, 0.3, "calm"),
            window(10.0, 0.65, 0.35, "calm"),
            window(20.0, 0.3, 0.8, "aggressive"),
            window(30.0, 0.3, 0.8, "aggressive"),
        ],
        "song": {
            "model": "pretrained",
            "valence": 0.5,
            "arousal": 0.55,
            "mood": "happy",
            "confidence": 0.3,
            "arc": "Calm intro, aggressive from 0:20.",
        },
        "sections": [
            {
                "start_s": 0.0,
                "end_s": 20.0,
                "start": "0:00",
                "valence": 0.7,
                "arousal": 0.3,
                "mood": "calm",
                "confidence": 0.8,
                "hears": "quiet, piano",
                "models": {"cnn": {"valence": 0.6, "arousal": 0.3, "mood": "calm"}},
            },
            {
                "start_s": 20.0,
                "end_s": 40.0,
                "start": "0:20",
                "valence": 0.3,
                "arousal": 0.8,
                "mood": "aggressive",
                "confidence": 0.9,
                "hears": "@metal, loud",
                "models": {"cnn": {"valence": 0.4, "arousal": 0.7, "mood": "aggressive"}},
            },
        ],
    }


def test_json_is_strict():
    d = analysis()
    assert json.loads(export.to_json(d)) == d
    d["cnn"]["valence"] = math.nan
    with pytest.raises(ValueError):
        export.to_json(d)


def rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_timeline_csv_has_every_window_and_model():
    table = rows(export.timeline_csv(analysis()))
    assert len(table) == 4
    assert list(table[0]) == [
        "file",
        "start_s",
        "end_s",
        "cnn_valence",
        "cnn_arousal",
        "cnn_mood",
        "pretrained_valence",
        "pretrained_arousal",
        "pretrained_mood",
    ]
    assert float(table[2]["start_s"]) == 20.0 and table[2]["cnn_mood"] == "aggressive"
    assert float(table[0]["pretrained_valence"]) == pytest.approx(0.71)


def test_sections_csv_has_each_section_with_other_models():
    table = rows(export.sections_csv(analysis()))
    assert [r["section"] for r in table] == ["1", "2"]
    assert table[0]["hears"] == "quiet, piano" and table[0]["mood"] == "calm"
    assert float(table[1]["cnn_arousal"]) == 0.7 and table[1]["start"] == "0:20"


@pytest.mark.parametrize("name", ['=HYPERLINK("http://x")', "+1+1.mp3", "-2.wav", "@SUM(A1).flac", "\tx.mp3"])
def test_csv_text_cells_cannot_run_as_formulas(name):
    for data in (export.timeline_csv(analysis(name)), export.sections_csv(analysis(name))):
        table = rows(data)
        assert all(r["file"] == "'" + name for r in table)
    assert rows(export.sections_csv(analysis()))[1]["hears"] == "'@metal, loud"
    # numbers, negative ones included, stay numbers
    assert export.safe_cell(-0.5) == -0.5 and export.safe_cell(math.inf) == ""


def test_plane_png_draws_without_a_browser():
    import matplotlib.image

    data = export.plane_png(analysis(), dpi=100)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(io.BytesIO(data), format="png")
    assert image.shape[:2] == (550, 550)
    assert np.unique(image.reshape(-1, image.shape[-1]), axis=0).shape[0] > 20  # quadrants, points, text
    plain = export.plane_png({"file": "x.wav", "cnn": {"valence": 0.2, "arousal": 0.9, "mood": "aggressive"}}, dpi=50)
    assert plain[:4] == b"\x89PNG"


def test_a_real_whole_song_analysis_exports(pad_then_riff_dict):
    d = pad_then_riff_dict
    assert d["song"]["model"] == "cnn" and d["hears"] == ""  # no musicnn: no tags, sections from features
    assert [s["start_s"] for s in d["sections"]] == [0.0, pytest.approx(30.0, abs=3.0)]
    assert json.loads(export.to_json(d))["sections"] == d["sections"]
    assert len(rows(export.sections_csv(d))) == len(d["sections"])
    assert len(rows(export.timeline_csv(d))) == len(d["timeline"])
    assert export.plane_png(d, dpi=60)[:4] == b"\x89PNG"


@pytest.fixture(scope="module")
def pad_then_riff_dict(shipped_checkpoints):
    import io

    import soundfile as sf

    from tests import demo_song
    from emotionet.predict import Predictor

    buffer = io.BytesIO()
    sf.write(buffer, demo_song.song([("pad", 30), ("riff", 30)]), 22050, format="WAV")
    predictor = Predictor.load(shipped_checkpoints, pretrained=False)  # the CNN leads without musicnn
    return predictor.analyze(buffer.getvalue(), name="pad_then_riff.wav").to_dict()


def test_plane_png_names_the_models_as_the_pages_do(monkeypatch):
    """The PNG names its points "SVR, all features", "Pretrained", ..., not the internal ids, in a
    legend under the plane (labels beside the points piled up where models agree), and paints each
    mood in the pages' colours."""
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from emotionet.mood import COLOURS

    labels, texts, colours, legends = [], [], [], []
    real_scatter, real_annotate, real_text, real_legend = Axes.scatter, Axes.annotate, Axes.text, Figure.legend
    monkeypatch.setattr(
        Axes, "scatter", lambda self, *a, **k: labels.append(k.get("label")) or real_scatter(self, *a, **k)
    )
    monkeypatch.setattr(
        Axes, "annotate", lambda self, text, *a, **k: texts.append(text) or real_annotate(self, text, *a, **k)
    )
    monkeypatch.setattr(
        Axes,
        "text",
        lambda self, x, y, s, *a, **k: colours.append((s, k.get("color"))) or real_text(self, x, y, s, *a, **k),
    )
    monkeypatch.setattr(Figure, "legend", lambda self, *a, **k: legends.append(k) or real_legend(self, *a, **k))
    export.plane_png(
        {
            "file": "x.wav",
            "svr_all": {"valence": 0.2, "arousal": 0.9, "mood": "aggressive"},
            "pretrained": {"valence": 0.7, "arousal": 0.6, "mood": "happy"},
            "song": {"model": "pretrained", "valence": 0.7, "arousal": 0.6, "mood": "happy", "close_to": "calm"},
        },
        dpi=50,
    )
    assert {"SVR, all features", "Best model (musicnn)"} <= set(labels) and "svr_all" not in labels
    assert "whole song: happy, close to calm" in labels  # one answer, as the page says it
    assert not texts  # no model name written beside its point
    assert len(legends) == 1 and legends[0]["loc"].startswith("outside")  # under the plane, not on it
    assert dict(colours) == COLOURS
