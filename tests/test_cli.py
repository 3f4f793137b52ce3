"""The command-line contract other tools rely on: `python -m emotionet analyze|evaluate --json`."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, synth, write_audio

MODEL_KEYS = {"valence", "arousal", "mood", "confidence"}


def test_analyze_json_prints_one_object_per_file_and_goes_on_after_a_bad_one(tmp_path, shipped_checkpoints, cli_run):
    good = write_audio(tmp_path / "good.wav", synth(12.0))
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"not an mp3 at all" * 100)
    other = write_audio(tmp_path / "other.flac", synth(3.0, kind="dark"), format="FLAC")
    result = cli_run("analyze", str(good), str(bad), str(other), "--json")
    assert result.returncode == 1  # one file failed
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(good), str(bad), str(other)]
    first, error, third = lines
    assert {"file", "duration_s", "cnn", "svr", "timeline"} <= set(first)
    assert MODEL_KEYS <= set(first["cnn"]) and MODEL_KEYS <= set(first["svr"])
    assert first["cnn"]["mood"] in ("happy", "aggressive", "sad", "calm")
    assert 0 <= first["cnn"]["valence"] <= 1 and 0.25 <= first["cnn"]["confidence"] <= 1
    assert first["duration_s"] == pytest.approx(12.0, abs=0.05)
    windows = [(w["start_s"], w["end_s"]) for w in first["timeline"]]  # 10 s, the last ends at the end
    assert windows == [(0.0, pytest.approx(10.0, abs=0.02)), (pytest.approx(2.0, abs=0.02), 12.0)]
    assert set(error) == {"file", "error"} and "Traceback" not in result.stderr
    assert "not audio" in error["error"]
    assert third["duration_s"] == pytest.approx(3.0, abs=0.05)


def test_analyze_exits_zero_when_every_file_succeeds(tmp_path, shipped_checkpoints, cli_run):
    path = write_audio(tmp_path / "a.wav", synth(4.0))
    result = cli_run("analyze", str(path), "--json", "--workers", "1")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["file"] == str(path)


def test_analyze_json_covers_the_whole_song_with_sections_and_tags_and_keeps_the_old_keys(
    tmp_path, shipped_checkpoints, cli_run
):
    """The JSON schema: every old key, plus the sections (file times, each with its mood and what
    it hears), the song's arc and the tags; `--seconds 45` still gives the report's middle snippet."""
    from tests import demo_song

    path = write_audio(tmp_path / "pad_then_riff.wav", demo_song.song([("pad", 40), ("riff", 40)]))
    result = cli_run("analyze", str(path), "--json", "--workers", "1")
    assert result.returncode == 0, result.stderr
    d = json.loads(result.stdout)  # strict JSON: json.loads refuses no NaN, so check the text too
    assert "NaN" not in result.stdout and "Infinity" not in result.stdout
    assert {"file", "duration_s", "analysed", "headline", "cnn", "svr", "svr_all", "timeline", "warnings"} <= set(d)
    assert MODEL_KEYS | {"architecture"} <= set(d["cnn"]) and d["headline"] in d
    assert d["analysed"] == {"start_s": 0.0, "end_s": pytest.approx(80.0, abs=0.05)}  # the whole song
    assert d["timeline"][-1]["end_s"] == pytest.approx(80.0, abs=0.05)
    sections = d["sections"]
    assert len(sections) == 2 and sections[1]["start_s"] == pytest.approx(40.0, abs=3.0)
    for section in sections:
        assert {"start_s", "end_s", "start", "valence", "arousal", "mood", "confidence", "models"} <= set(section)
        assert section["mood"] in ("happy", "aggressive", "sad", "calm")
    assert sections[0]["arousal"] < sections[1]["arousal"]
    assert {"model", "valence", "arousal", "mood", "arc"} <= set(d["song"]) and "from 0:4" in d["song"]["arc"]
    if "pretrained" in d:  # musicnn installed: the tags it hears
        assert d["hears"] and d["explanation"]["tags"] and all(s["hears"] for s in sections)
    assert [f["name"] for f in d["explanation"]["factors"]] == ["tempo_bpm", "mode", "loudness_dbfs", "brightness_hz"]
    assert d["explanation"]["valence_text"] and d["explanation"]["arousal_text"]

    snippet = json.loads(cli_run("analyze", str(path), "--json", "--workers", "1", "--seconds", "45").stdout)
    assert snippet["analysed"] == {"start_s": pytest.approx(17.5, abs=0.05), "end_s": pytest.approx(62.5, abs=0.05)}
    assert set(d) <= set(snippet)  # the same schema
    assert all(17.4 <= s["start_s"] and s["end_s"] <= 62.6 for s in snippet["sections"])


def test_evaluate_json_scores_every_model_on_a_manifest(tmp_path, shipped_checkpoints, cli_run):
    rows = []
    for i, (kind, v, a, q) in enumerate(
        [("chord", 0.8, 0.8, "Q1"), ("noise", 0.2, 0.8, "Q2"), ("dark", 0.2, 0.2, "Q3"), ("chord", 0.8, 0.2, "Q4")]
    ):
        write_audio(tmp_path / f"t{i}.wav", synth(5.0, kind=kind, seed=i))
        rows.append({"path": f"t{i}.wav", "valence": v, "arousal": a, "quadrant": q})
    with open(tmp_path / "m.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = cli_run("evaluate", str(tmp_path / "m.csv"), "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["n"] == 4
    for model in ("cnn", "svr"):
        assert {"accuracy", "macro_f1", "mse", "mae", "r2_valence", "r2_arousal", "confusion"} <= set(out[model])
        assert sum(map(sum, out[model]["confusion"])) == 4
        assert 0 <= out[model]["accuracy"] <= 1
    # evaluate scores the mood analyze shows: its confusion's columns are the moods analyze said
    shown = [
        json.loads(line)
        for line in cli_run("analyze", *[str(tmp_path / f"t{i}.wav") for i in range(4)], "--json").stdout.splitlines()
    ]
    for model in ("pretrained", "cnn"):
        said = [sum(1 for s in shown if s[model]["mood"] == mood) for mood in ("happy", "aggressive", "sad", "calm")]
        assert out[model]["said"] == said == [sum(column) for column in zip(*out[model]["confusion"])]


def test_a_missing_manifest_is_a_clear_error(tmp_path, capsys):
    from emotionet.cli import main

    assert main(["evaluate", str(tmp_path / "nope.csv")]) == 1  # a runtime failure; 2 is a bad command line
    err = capsys.readouterr().err
    assert err.startswith("error: No such file or directory: ") and "nope.csv" in err and "Traceback" not in err


@pytest.mark.parametrize("seconds", ["-5", "nan", "inf", "0.5", "ten"])
def test_an_excerpt_length_that_cannot_be_analysed_is_refused_up_front(seconds, capsys):
    from emotionet.cli import build_parser

    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["analyze", "song.wav", "--seconds", seconds])
    assert exit_info.value.code == 2
    assert "--seconds" in capsys.readouterr().err


@pytest.mark.parametrize("seconds, expected", [("0", 0.0), ("1", 1.0), ("30.5", 30.5)])
def test_whole_file_and_real_lengths_are_accepted(seconds, expected):
    from emotionet.cli import build_parser

    assert build_parser().parse_args(["analyze", "song.wav", "--seconds", seconds]).seconds == expected


def test_a_folder_given_as_a_file_is_called_a_folder(tmp_path, shipped_checkpoints, cli_run):
    folder = tmp_path / "album.wav"
    folder.mkdir()
    result = cli_run("analyze", str(folder), "--json", "--workers", "1")
    assert result.returncode == 1
    assert "is a folder" in json.loads(result.stdout)["error"]


def test_the_library_layer_never_imports_the_command_line():
    """cli depends on library, never the reverse: the library loads neither the command line nor
    the scale layer, and building every command's parser loads neither the library nor the models."""
    code = (
        "import sys; from emotionet.library import songs, playlists;"
        "print(sorted(m for m in ('emotionet.cli', 'emotionet.scale') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "[]", result.stderr
    code = (
        "import sys; from emotionet.cli import build_parser; build_parser();"
        "print(sorted(m for m in ('emotionet.library.store', 'emotionet.predict', 'sqlalchemy', 'torch')"
        " if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "[]", result.stderr


def test_a_one_file_analyze_starts_without_the_database_layer(tmp_path, shipped_checkpoints):
    """Scripts call `analyze` one file at a time: it must not pay for SQLAlchemy (the library's
    database layer), which only scan and playlist need."""
    path = write_audio(tmp_path / "a.wav", synth(3.0))
    code = (
        "import sys; from emotionet import cli;"
        f"code = cli.main(['analyze', {str(path)!r}, '--json', '--workers', '1']);"
        "print('database loaded:', 'sqlalchemy' in sys.modules, 'code', code, file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert "database loaded: False code 0" in result.stderr, result.stderr[-2000:]
    assert json.loads(result.stdout)["file"] == str(path)


def test_plain_analyze_leads_with_the_songs_mood_in_words_then_the_other_models_by_name(
    tmp_path, shipped_checkpoints, capsys
):
    """Issue 30: it began "cnn sad, close to aggressive …" and named the headline last, as `pretrained`."""
    from emotionet.cli import main
    from tests import demo_song

    path = write_audio(tmp_path / "mix.wav", demo_song.song([("pad", 60), ("riff", 60)]), demo_song.SAMPLE_RATE)
    assert main(["analyze", str(path), "--workers", "1"]) == 0
    first, *rest = capsys.readouterr().out.splitlines()
    assert first.startswith(f"{path} (2:00): mixed: ") and "sad" in first and "aggressive" in first
    assert "(the middle: " in first and "confidence" in first
    others = next(line for line in rest if line.strip().startswith("Other models:"))
    assert "Report's CNN: " in others and "Report's SVR: " in others
    assert not any(key in " ".join([first, *rest]) for key in ("pretrained", "cnn ", "svr_all"))
