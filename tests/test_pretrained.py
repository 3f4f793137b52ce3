"""emotionet.models.pretrained on synthesised audio: embedding shapes, timeline windows, fitting,
storage without pickle."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

if importlib.util.find_spec("musicnn") is None:
    pytest.skip(
        "the musicnn package (pretrained weights) is not installed: pip install --no-deps musicnn==0.1.0",
        allow_module_level=True,
    )

import torch  # noqa: E402

from emotionet.models import musicnn as mn  # noqa: E402
from emotionet.models import pretrained as pt  # noqa: E402
from tests.conftest import synth  # noqa: E402

SR = 22050
DIM = sum(pt.PART_DIMS[p] for p in pt.PARTS) * len(pt.BACKBONES)


@pytest.fixture(scope="module")
def backbones():
    return pt.load_backbones()


@pytest.mark.parametrize("seconds, patches", [(1.5, 1), (12.0, 4), (22.0, 7)])  # 7: a batch of EMBED_BATCH and a part
def test_embedding_shapes(backbones, seconds, patches):
    per_patch, starts = pt.embed_clip(backbones, synth(seconds, SR))
    assert per_patch.shape == (patches, DIM)
    assert starts.shape == (patches,)
    assert np.isfinite(per_patch).all()
    np.testing.assert_allclose(starts, np.arange(patches) * mn.PATCH_FRAMES * mn.HOP / mn.SAMPLE_RATE, atol=1e-5)


def test_too_short_is_refused(backbones):
    with pytest.raises(ValueError):
        pt.embed_clip(backbones, synth(0.5, SR))


def _random_model(scheme="axes", dim=DIM, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((40, dim))
    classes = np.arange(40) % 4
    x[:, 0] += np.isin(classes, pt.POSITIVE_VALENCE) * 2
    x[:, 1] += np.isin(classes, pt.POSITIVE_AROUSAL) * 2
    targets = np.clip(0.5 + 0.1 * x[:, :2], 0, 1)
    return pt.PretrainedMood(scheme).fit(x, targets, classes), x


def test_window_averaging_matches_direct_embedding(backbones):
    y = synth(20.0, SR, kind="dark")  # 6 patches at 0, 3, ..., 15 s
    per_patch, starts = pt.embed_clip(backbones, y)
    bounds = [(0.0, 10.0), (5.0, 15.0), (10.0, 20.0)]
    windows = pt.window_embeddings(per_patch, starts, bounds)

    # the same windows from the network run directly on the subsets of mel patches
    import soxr

    patches = mn.to_patches(mn.log_mel(soxr.resample(y, SR, mn.SAMPLE_RATE, quality="HQ").astype(np.float32)))
    centres = starts + 187 * 256 / 16000 / 2
    for (start, end), row in zip(bounds, windows):
        idx = np.flatnonzero((centres >= start) & (centres < end))
        with torch.inference_mode():  # both backbones together, as the embedder runs them
            outputs = mn.forward_together([backbones[b] for b in pt.BACKBONES], torch.from_numpy(patches[idx]))
            direct = np.concatenate([out[p].numpy() for out in outputs for p in pt.PARTS], 1)
        np.testing.assert_allclose(row, direct.mean(0), atol=1e-4)

    model, _ = _random_model()
    clip_raw, window_raw = pt.analyze(model, backbones, y, bounds)
    np.testing.assert_allclose(clip_raw, model.predict_raw(per_patch.mean(0))[0], atol=1e-6)
    np.testing.assert_allclose(window_raw, model.predict_raw(windows), atol=1e-6)


def test_fit_separates_tones_from_dark_music(backbones):
    def clips(kind, seeds):
        return np.stack([pt.embed_clip(backbones, synth(3.0, SR, kind=kind, seed=s))[0].mean(0) for s in seeds])

    x = np.concatenate([clips("chord", range(6)), clips("dark", range(6))])
    classes = np.array([0] * 6 + [2] * 6)  # happy vs sad
    targets = np.where(classes[:, None] == 0, 0.7, 0.3) * np.ones((1, 2))
    for scheme in ("axes", "ridge"):
        model = pt.PretrainedMood(scheme).fit(x[::2], targets[::2], classes[::2])
        raw = model.predict_raw(x[1::2])
        assert ((raw[:, 0] > 0.5) == (classes[1::2] == 0)).all(), scheme
        assert ((raw[:, 1] > 0.5) == (classes[1::2] == 0)).all(), scheme


@pytest.mark.parametrize("scheme", pt.SCHEMES)
def test_round_trip_and_range(tmp_path, scheme):
    model, x = _random_model(scheme)
    raw = model.predict_raw(x * 10)  # far outside the training range
    assert raw.shape == (40, 2) and (raw >= 0).all() and (raw <= 1).all()
    path = tmp_path / "pretrained.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as data:  # plain arrays only
        assert all(data[k].dtype != object for k in data.files)
    loaded = pt.PretrainedMood.load(path)
    assert loaded.scheme == scheme and loaded.part_names == model.part_names
    np.testing.assert_array_equal(loaded.predict_raw(x), model.predict_raw(x))
    for key, value in model.to_arrays().items():
        np.testing.assert_array_equal(loaded.to_arrays()[key], value)
    if scheme != "ridge":
        p = loaded.predict_proba(x)
        np.testing.assert_allclose(p.sum(1), 1.0)


def test_axes_point_agrees_with_most_probable_mood():
    from emotionet.mood import mood_index

    model, x = _random_model("axes")
    raw = model.predict_raw(x)
    np.testing.assert_array_equal(mood_index(*raw.T), model.predict_proba(x).argmax(1))


@pytest.mark.parametrize("block", [SR * 10, 12345])
def test_embedding_audio_in_blocks_equals_one_pass_over_the_whole_clip(backbones, block):
    """The streamed embedder (fixed batches of patches, blocked resampling and log-mel) gives the
    embeddings of one resampling, one log-mel and one forward pass over all patches."""
    import soxr

    y = synth(22.0, SR, kind="dark")  # 7 patches: a full batch of EMBED_BATCH and a partial one; blocks end mid-patch
    embedder = pt.PatchEmbedder(backbones)
    for i in range(0, len(y), block):
        embedder.push(y[i : i + block])
    parts, starts = embedder.finish()
    patches = mn.to_patches(mn.log_mel(soxr.resample(y, SR, mn.SAMPLE_RATE, quality="HQ").astype(np.float32)))
    assert len(patches) == 7 and 7 % pt.EMBED_BATCH and starts.shape == (7,)
    with torch.inference_mode():  # one pass of both backbones together, as the embedder runs them
        passes = mn.forward_together([backbones[name] for name in pt.BACKBONES], torch.from_numpy(patches))
        for name, whole in zip(pt.BACKBONES, passes):
            for part in pt.CACHED_PARTS:
                np.testing.assert_allclose(parts[f"{name}/{part}"], whole[part].numpy(), rtol=1e-3, atol=1e-3)
