"""Training on a tiny synthetic manifest writes checkpoints the app can load, reproducibly."""

from __future__ import annotations

import csv
import importlib.util
import json
import os

import numpy as np
import pytest
import torch

from emotionet.models.checkpoints import ModelBundle
from emotionet.predict import Predictor
from emotionet.training import TrainConfig, dataset, run_training
from tests.conftest import synth, write_audio

HAS_MUSICNN = importlib.util.find_spec("musicnn") is not None
KINDS = {"Q1": ("chord", 0.8, 0.7), "Q2": ("noise", 0.2, 0.7), "Q3": ("dark", 0.2, 0.3), "Q4": ("chord", 0.7, 0.3)}


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    (root / "audio").mkdir()
    rows = []
    for i in range(24):
        quadrant = f"Q{i % 4 + 1}"
        kind, v, a = KINDS[quadrant]
        y = synth(4.0, kind=kind, seed=i) * (1.0 if a > 0.5 else 0.3)
        write_audio(root / "audio" / f"s{i}.wav", y)
        rows.append(
            {"path": f"audio/s{i}.wav", "valence": v, "arousal": a, "quadrant": quadrant, "artist": f"artist{i // 2}"}
        )
    path = root / "labels.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


CFG = TrainConfig(epochs=2, patience=2, batch_size=8, crop_seconds=2.0, hop_seconds=1.0, workers=1)


@pytest.fixture(scope="module")
def trained(manifest, tmp_path_factory):
    out = tmp_path_factory.mktemp("ckpt")
    metrics = run_training(dataset.read_manifest(manifest), out, out / "cache", CFG, "tiny")
    return out, metrics


def test_training_writes_loadable_checkpoints(trained):
    out, metrics = trained
    for name in ("cnn", "crnn"):
        state = torch.load(out / f"{name}.pt", weights_only=True)
        assert all(isinstance(v, torch.Tensor) for v in state.values())
    for name in ("svr", "svr_all"):
        with np.load(out / f"{name}.npz", allow_pickle=False) as arrays:
            assert "valence_support_vectors" in arrays
    bundle = ModelBundle.load(out)
    assert set(bundle.cnns) == {"cnn", "crnn"} and bundle.default_cnn in bundle.cnns
    expected = {"cnn", "crnn", "svr", "svr_all"} | ({"pretrained"} if HAS_MUSICNN else set())
    assert set(bundle.calibration) == expected
    assert (out / "pretrained.npz").exists() == HAS_MUSICNN
    assert bundle.headline in {"cnn", "svr", "svr_all", "pretrained"}


def test_metrics_hold_history_validation_and_per_clip_predictions(trained):
    out, _ = trained
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["history"]["cnn"]) == 2
    assert {"train_loss", "val_loss", "train_mae", "val_mae"} <= set(metrics["history"]["cnn"][0])
    for name in metrics["validation"]:
        m = metrics["validation"][name]
        assert {"mse", "mae", "r2_valence", "r2_arousal", "accuracy", "macro_f1", "confusion"} <= set(m)
        assert sum(map(sum, m["confusion"])) == metrics["trained_on"]["n_validation"]
    assert len(metrics["predictions"]) == metrics["trained_on"]["n_validation"]
    train_artists = metrics["trained_on"]["n_artists"]
    val_artists = {p["artist"] for p in metrics["predictions"]}
    assert 0 < len(val_artists) < train_artists


def test_validation_artists_never_appear_in_training(manifest):
    tracks = dataset.read_manifest(manifest)
    train, val = dataset.artist_split(tracks, 0.2, seed=0)
    assert not {tracks[i].artist for i in train} & {tracks[i].artist for i in val}
    assert len(train) + len(val) == len(tracks)


def test_trained_models_analyse_a_file(trained, tmp_path):
    out, _ = trained
    path = write_audio(tmp_path / "x.wav", synth(6.0))
    analysis = Predictor.load(out).analyze(path)
    assert set(analysis.predictions) == {"cnn", "svr", "svr_all"} | ({"pretrained"} if HAS_MUSICNN else set())
    assert analysis.headline in analysis.predictions


def test_same_seed_same_model(manifest, trained, tmp_path):
    out, _ = trained
    run_training(dataset.read_manifest(manifest), tmp_path, out / "cache", CFG, "tiny")
    first, second = torch.load(out / "cnn.pt"), torch.load(tmp_path / "cnn.pt")
    for key in first:
        torch.testing.assert_close(first[key], second[key])


def test_feature_cache_is_used_on_a_second_run(manifest, trained, monkeypatch):
    out, _ = trained

    def fail(*args, **kwargs):
        raise AssertionError("decoded again despite the cache")

    monkeypatch.setattr(dataset.audio, "load_clip", fail)
    tracks, feats, problems = dataset.load_features(
        dataset.read_manifest(manifest), out / "cache" / "features", workers=1
    )
    assert len(feats) == 24 and not problems


def test_the_caches_follow_a_files_content_not_its_name_or_time(tmp_path):
    # a data set unpacked again (new times) or moved keeps its cache; an edited file does not
    write_audio(tmp_path / "a.wav", synth(2.0))
    calls = []

    def compute(path):
        calls.append(path.name)
        return {"size": np.array(path.stat().st_size)}

    def run(path):
        track = dataset.Track(path, 0.5, 0.5, 0, "x", path.stem)
        kept, values, problems = dataset.map_tracks([track], compute, tmp_path / "cache", "v1", workers=1)
        assert len(kept) == 1 and not problems
        return values[0]

    run(tmp_path / "a.wav")
    (tmp_path / "moved").mkdir()
    copy = tmp_path / "moved" / "b.wav"
    copy.write_bytes((tmp_path / "a.wav").read_bytes())
    os.utime(copy, ns=(1, 1))
    run(copy)
    assert calls == ["a.wav"]
    with copy.open("ab") as f:
        f.write(b"\0")
    assert int(run(copy)["size"]) == (tmp_path / "a.wav").stat().st_size + 1
    assert calls == ["a.wav", "b.wav"]
    track = dataset.Track(copy, 0.5, 0.5, 0, "x", "b")
    dataset.map_tracks([track], compute, tmp_path / "cache", "v2", workers=1)  # another version: computed again
    assert calls == ["a.wav", "b.wav", "b.wav"]


def test_deam_layout_converts_the_nine_point_scale(tmp_path):
    (tmp_path / "audio").mkdir()
    for song in (2, 3):
        write_audio(tmp_path / "audio" / f"{song}.mp3", synth(2.0), format="MP3")
    (tmp_path / "static.csv").write_text("song_id, valence_mean, arousal_mean\n2,1,9\n3,5,3\n4,5,5\n")
    tracks = dataset.read_deam(tmp_path / "static.csv", tmp_path / "audio")
    assert [(t.song_id, t.valence, t.arousal) for t in tracks] == [("2", 0.0, 1.0), ("3", 0.5, 0.25)]
    assert [t.quadrant for t in tracks] == [1, 3]


def test_a_manifest_with_out_of_range_labels_names_the_line(tmp_path):
    (tmp_path / "m.csv").write_text("path,valence,arousal\na.wav,0.5,0.5\nb.wav,1.5,0.5\n")
    with pytest.raises(ValueError, match="line 3"):
        dataset.read_manifest(tmp_path / "m.csv")


def test_the_loop_trains_through_its_recipe_and_keeps_what_the_recipe_judges():
    """train_cnn's steps are a Recipe's (the hook the measured, unshipped recipes used): every batch of
    crops passes through `batch` with the clips and crop starts drawn, `step` follows each optimiser
    step, and the weights validated and kept are those `judged` gives, not the last ones."""
    import copy

    from emotionet import features
    from emotionet.models import CNNConfig
    from emotionet.training import Recipe, train_cnn

    class KeepTheStart(Recipe):
        def start(self, model):
            self.first, self.batches, self.steps = copy.deepcopy(model), [], 0

        def batch(self, x, y, labels, idx, starts, rng):
            self.batches.append((x.shape[-1], idx.copy(), starts.copy()))
            return super().batch(x, y, labels, idx, starts, rng)

        def step(self, model):
            self.steps += 1

        def judged(self, model):
            return self.first

    rng = np.random.default_rng(0)
    stacks = [rng.standard_normal((3, 13, 200)).astype(np.float32) for _ in range(12)]
    data = (stacks, rng.uniform(0, 1, (12, 2)), np.arange(12) % 4)
    cfg = TrainConfig(epochs=3, patience=10, batch_size=6, crop_seconds=2.0, hop_seconds=1.0, lr=3e-3)
    recipe = KeepTheStart()
    kept = train_cnn(CNNConfig(), data, data, cfg, recipe=recipe)[0].state_dict()
    trained = train_cnn(CNNConfig(), data, data, cfg)[0].state_dict()
    start = recipe.first.state_dict()
    assert all(torch.equal(kept[k], start[k]) for k in start)
    assert not all(torch.equal(trained[k], start[k]) for k in start)  # the plain recipe moves the weights
    crop = round(cfg.crop_seconds * features.FRAMES_PER_SECOND)
    assert recipe.steps == len(recipe.batches) == 3 * 2
    assert all(width == crop and ((s >= 0) & (s <= 200 - crop)).all() for width, _, s in recipe.batches)
    assert all(len(i) == 6 and set(i) <= set(range(12)) for _, i, _ in recipe.batches)


def test_train_py_passes_every_train_config_option_through(manifest, monkeypatch, tmp_path):
    """Each TrainConfig field is a train.py flag."""
    from tests.conftest import REPO

    spec = importlib.util.spec_from_file_location("train_script", REPO / "train.py")
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    seen = []
    stub = {"validation": {}, "default_cnn": "cnn", "headline": "cnn", "train_seconds": 0.0}  # no training here
    monkeypatch.setattr(train, "run_training", lambda tracks, out, cache, cfg, *rest: seen.append(cfg) or stub)
    base = ["--manifest", str(manifest), "--listener-manifest", "", "--out", str(tmp_path)]
    train.main(base + ["--epochs", "3", "--lr", "0.002", "--seed", "4", "--threads", "1"])
    train.main(base)
    assert (seen[0].epochs, seen[0].lr, seen[0].seed, seen[0].threads) == (3, 0.002, 4, 1)
    assert seen[1] == TrainConfig()
