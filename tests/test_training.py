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


def test_distillation_teaches_the_cnn_what_the_teacher_says_of_each_crop():
    """Every label is 0.3, but the teacher says 0.8 of crops centred in a clip's first half and
    0.3 of the rest (whose sound differs): taught, the CNN rates first-half crops higher; trained
    on the labels alone it cannot tell them apart."""
    import numpy as np
    import torch

    from bench.train_recipes import Experimental
    from emotionet.models import CNNConfig
    from emotionet.training import train_cnn

    rng = np.random.default_rng(0)
    frames, crop = 4 * 87, 86  # about 8 s of feature frames; 2 s crops
    shape = np.r_[np.ones(frames // 2), -np.ones(frames // 2)].astype(np.float32)  # the halves sound different
    stacks = [rng.standard_normal((3, 13, frames)).astype(np.float32) + shape for _ in range(16)]
    classes = np.arange(16) % 4
    seen = []

    def teacher(idx, starts):
        seen.append((np.asarray(idx).copy(), np.asarray(starts).copy()))
        return np.where(np.asarray(starts)[:, None] + crop / 2 < frames / 2, 0.8, 0.3) * np.ones((len(idx), 2))

    cfg = TrainConfig(epochs=25, patience=25, batch_size=8, crop_seconds=2.0, hop_seconds=1.0, lr=3e-3)
    train = (stacks, np.full((16, 2), 0.3), classes)
    val = (stacks, np.full((16, 2), 0.55), classes)  # what the teacher says of whole clips, on average
    models = {
        w: train_cnn(CNNConfig(), train, val, cfg, recipe=Experimental(teacher=teacher, teacher_weight=w))[0]
        for w in (0.0, 1.0)
    }
    with torch.no_grad():
        first = torch.from_numpy(np.stack([s[..., :crop] for s in stacks]))
        last = torch.from_numpy(np.stack([s[..., -crop:] for s in stacks]))
        gap = {w: float((m(first)[0] - m(last)[0]).mean()) for w, m in models.items()}
    assert gap[1.0] > 0.06 and gap[1.0] - gap[0.0] > 0.06, gap  # measured: 0.11 taught, -0.02 plain
    assert abs(gap[0.0]) < 0.04, gap
    assert seen and all(len(i) == len(s) and (s >= 0).all() and (s <= frames - crop).all() for i, s in seen)


def test_masking_hides_one_time_span_and_one_row_per_crop_and_leaves_the_batch_alone():
    import numpy as np

    from bench.train_recipes import MASK_SHARE, _mask

    x = torch.ones(6, 3, 13, 200)
    masked = _mask(x, np.random.default_rng(0))
    assert torch.equal(x, torch.ones(6, 3, 13, 200))  # a copy: the crops themselves are not changed
    for crop in masked:
        rows = (crop == 0).all(dim=(0, 2))  # (13,) rows zero over all time in every feature
        assert int(rows.sum()) == 1
        span = (crop[:, ~rows] == 0).all(dim=(0, 1))  # the frames zero in every other row
        assert int(span.sum()) <= MASK_SHARE * 200 + 1
        if span.any():  # one contiguous span
            where = torch.nonzero(span).flatten()
            assert int(where[-1] - where[0]) + 1 == len(where)


def test_transposing_rolls_each_crops_chroma_rows_and_nothing_else():
    from bench.train_recipes import _transpose

    x = torch.randn(32, 3, 13, 50)
    moved = _transpose(x, np.random.default_rng(0))
    assert torch.equal(moved[:, :2], x[:, :2]) and torch.equal(moved[:, 2, 12], x[:, 2, 12])  # MFCC, contrast, pad row
    shifts = [
        [k for k in range(12) if torch.equal(moved[i, 2, :12], torch.roll(x[i, 2, :12], k, 0))] for i in range(32)
    ]
    assert all(len(k) == 1 for k in shifts)  # each crop's chroma is one rotation of its own
    assert len({k[0] for k in shifts}) > 4  # and the keys differ from crop to crop


def test_mixup_blends_crops_and_targets_with_the_same_share():
    from bench.train_recipes import _mixup

    x, y = torch.randn(16, 3, 13, 20), torch.rand(16, 2)
    mixed, targets, partner, share = _mixup(x, y, 0.2, np.random.default_rng(0))
    assert ((share >= 0) & (share <= 1)).all() and sorted(partner.tolist()) == list(range(16))
    s = share[:, None, None, None]
    torch.testing.assert_close(mixed, s * x + (1 - s) * x[partner])
    torch.testing.assert_close(targets, share[:, None] * y + (1 - share[:, None]) * y[partner])


def test_weight_averaging_validates_and_keeps_the_moving_average_not_the_last_weights():
    """With the bench recipe's weight_average the kept model is the exponential moving average of the
    weights after each step: with a decay of almost 1 it stays where the first step left it (the
    average starts there), however many steps follow."""
    from dataclasses import replace

    from bench.train_recipes import Experimental
    from emotionet.models import CNNConfig, EmotionCNN
    from emotionet.training import train_cnn

    rng = np.random.default_rng(0)
    stacks = [rng.standard_normal((3, 13, 200)).astype(np.float32) for _ in range(12)]
    data = (stacks, rng.uniform(0, 1, (12, 2)), np.arange(12) % 4)
    cfg = TrainConfig(
        epochs=1, patience=10, batch_size=12, crop_seconds=2.0, hop_seconds=1.0, lr=3e-3
    )  # a step an epoch
    torch.manual_seed(cfg.seed)  # train_cnn starts from these weights
    start = EmotionCNN(CNNConfig()).state_dict()
    one_step = train_cnn(CNNConfig(), data, data, cfg)[0].state_dict()
    averaged = train_cnn(CNNConfig(), data, data, replace(cfg, epochs=6), recipe=Experimental(weight_average=0.99999))[
        0
    ].state_dict()

    def distance(a, b):
        return sum(float((a[k] - b[k]).abs().sum()) for k in a if a[k].is_floating_point())

    assert distance(averaged, one_step) < 1e-3 * distance(one_step, start), (
        distance(averaged, one_step),
        distance(one_step, start),
    )


def test_the_bench_recipe_with_every_option_off_trains_as_the_shipped_one():
    """bench/train_recipes.Experimental() draws what training.Recipe draws: the same weights."""
    from bench.train_recipes import Experimental
    from emotionet.models import CNNConfig
    from emotionet.training import train_cnn

    rng = np.random.default_rng(1)
    stacks = [rng.standard_normal((3, 13, 200)).astype(np.float32) for _ in range(12)]
    data = (stacks, rng.uniform(0, 1, (12, 2)), np.arange(12) % 4)
    cfg = TrainConfig(epochs=2, patience=10, batch_size=6, crop_seconds=2.0, hop_seconds=1.0)
    plain = train_cnn(CNNConfig(), data, data, cfg)[0].state_dict()
    bench = train_cnn(CNNConfig(), data, data, cfg, recipe=Experimental())[0].state_dict()
    assert all(torch.equal(plain[k], bench[k]) for k in plain)


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
