"""The `overnight` scan preset (issue 27): musicnn on every second patch of the whole song, recorded
in the library's fingerprint so that a whole-song scan analyses those rows again."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from emotionet.library import songs as library
from emotionet.team import storage
from tests.conftest import synth, write_audio

SR = 22050
needs_musicnn = pytest.mark.skipif(
    importlib.util.find_spec("musicnn") is None, reason="the musicnn package (pretrained weights) is not installed"
)


@needs_musicnn
def test_a_patch_step_embeds_every_nth_patch_with_the_whole_passs_values():
    from emotionet.models import musicnn as mn
    from emotionet.models import pretrained as pt

    backbones = pt.load_backbones()
    y = synth(27.0, SR, kind="dark")  # 9 patches, 5 with step 2: more than one batch of EMBED_BATCH either way

    def embed(step):
        embedder = pt.PatchEmbedder(backbones, step=step)
        for i in range(0, len(y), 12345):
            embedder.push(y[i : i + 12345])
        return embedder.finish()

    (every, starts), (half, half_starts) = embed(1), embed(2)
    patch_s = mn.PATCH_FRAMES * mn.HOP / mn.SAMPLE_RATE
    assert len(starts) == 9 and len(half_starts) == 5
    np.testing.assert_allclose(half_starts, np.arange(0, 9, 2) * patch_s, atol=1e-5)  # which ones, where
    for key in every:
        np.testing.assert_allclose(half[key], every[key][::2], rtol=1e-3, atol=1e-3)
    short = pt.PatchEmbedder(backbones, step=3)
    short.push(y[: 2 * SR])
    parts, short_starts = short.finish()
    assert len(short_starts) == 1 and all(len(v) == 1 for v in parts.values())  # under 3 s: one padded patch
    with pytest.raises(ValueError):
        pt.PatchEmbedder(backbones, step=0)


def test_the_preset_is_part_of_the_fingerprint(shipped_checkpoints):
    whole = library.models_fingerprint(shipped_checkpoints)
    assert library.models_fingerprint(shipped_checkpoints, preset="whole") == whole  # existing libraries stay valid
    overnight = library.models_fingerprint(shipped_checkpoints, preset="overnight")
    assert overnight != whole
    assert overnight != library.models_fingerprint(shipped_checkpoints, seconds=45, preset="overnight")


def test_an_unknown_preset_is_refused_before_any_work(tmp_path):
    from emotionet.batch import analyze_files

    with pytest.raises(ValueError, match="Unknown preset 'quick'"):
        list(analyze_files([tmp_path / "x.wav"], preset="quick"))


@needs_musicnn
def test_a_preset_scan_listens_to_half_the_patches_and_a_whole_scan_redoes_its_rows(
    tmp_path, monkeypatch, shipped_checkpoints
):
    from emotionet.models import pretrained as pt

    monkeypatch.setenv("EMOTIONET_DATA_DIR", str(tmp_path / "data"))
    engine = storage.make_engine()
    song = write_audio(tmp_path / "song.wav", np.concatenate([synth(20.0, SR, "dark"), synth(20.0, SR, "chord")]))
    embedded, run = [], pt.PatchEmbedder._run
    monkeypatch.setattr(pt.PatchEmbedder, "_run", lambda self, p: embedded.append(len(p)) or run(self, p))

    quick = library.scan_files([song], engine, checkpoints=shipped_checkpoints, workers=1, preset="overnight")
    assert quick.added == 1 and sum(embedded) == 7  # 13 patches of 3 s, every second one
    again = library.scan_files([song], engine, checkpoints=shipped_checkpoints, workers=1, preset="overnight")
    assert again.added == 0 and again.known == 1  # cached with the same preset
    embedded.clear()
    whole = library.scan_files([song], engine, checkpoints=shipped_checkpoints, workers=1)
    assert whole.added == 1 and sum(embedded) == 13  # the preset's row is analysed again, every patch
    row = library.stored_rows(engine, [whole.songs[0].hash])[whole.songs[0].hash]
    assert row.models == library.models_fingerprint(shipped_checkpoints)
    stored = json.loads(row.analysis)["pretrained"]
    q = quick.songs[0]
    assert abs(stored["valence"] - q.valence) < 0.1 and abs(stored["arousal"] - q.arousal) < 0.1


def test_the_command_lines_presets_are_the_predictors():
    from emotionet import predict
    from emotionet.cli import options

    assert set(options.PRESETS) == set(predict.PRESETS)


@needs_musicnn
def test_scan_preset_overnight_on_the_command_line_records_the_preset(
    tmp_path, monkeypatch, capsys, shipped_checkpoints
):
    from emotionet.cli import main

    monkeypatch.setenv("EMOTIONET_DATA_DIR", str(tmp_path / "data"))
    music = tmp_path / "music"
    music.mkdir()
    write_audio(music / "song.wav", synth(8.0, SR))
    assert main(["scan", str(music), "--preset", "overnight", "--workers", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["added"] == 1
    engine = storage.make_engine()
    [song] = library.load_songs(engine)
    row = library.stored_rows(engine, [song.hash])[song.hash]
    assert row.models == library.models_fingerprint(shipped_checkpoints, preset="overnight")
    assert main(["scan", str(music), "--preset", "overnight", "--engine", "ray"]) == 2
    assert "local engine only" in capsys.readouterr().err
