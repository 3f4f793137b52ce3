"""emotionet.models.musicnn against musicnn's own TensorFlow outputs (tests/data/musicnn_reference.npz,
written by tools/musicnn_reference.py), plus shapes for short and long clips."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

if importlib.util.find_spec("musicnn") is None:
    pytest.skip(
        "the musicnn package (pretrained weights) is not installed: pip install --no-deps musicnn==0.1.0",
        allow_module_level=True,
    )

from emotionet.models import musicnn as mn  # noqa: E402

REFERENCE = Path(__file__).parent / "data" / "musicnn_reference.npz"
# float32 end to end; measured max |diff| ~3e-6 (tags) and ~2e-5 (penultimate, values up to ~5)
ATOL = 1e-4


@pytest.fixture(scope="module")
def reference():
    return np.load(REFERENCE)


@pytest.fixture(scope="module", params=mn.MODELS)
def model(request):
    return mn.load_musicnn(request.param, precision="float32")


def test_matches_tensorflow(model, reference):
    name = model.name
    for i in range(3):
        audio = reference[f"audio_{i}"].astype(np.float32) / 32768
        out = mn.embed(model, audio, mn.SAMPLE_RATE)
        tags, pen, pool = (reference[f"{name}_{k}_{i}"] for k in ("tags", "penultimate", "pool"))
        assert out["tags"].shape == tags.shape == (2, 50)
        np.testing.assert_allclose(out["tags"], tags, rtol=0, atol=ATOL)
        np.testing.assert_allclose(out["penultimate"], pen, rtol=0, atol=ATOL)
        # the pooled features reach ~80, so compare relative to their size
        np.testing.assert_allclose(out["pool"], pool, rtol=1e-5, atol=1e-3)
        # per-patch embeddings really are per patch (musicnn's extractor repeats patch 0)
        assert not np.allclose(out["penultimate"][0], out["penultimate"][1])
        # and musicnn's own extractor (float16 mel) agrees with our float32 mel closely
        np.testing.assert_allclose(out["tags"], reference[f"{name}_extractor_tags_{i}"], rtol=0, atol=5e-4)


def test_weights_and_tags(model):
    n_params = sum(p.numel() for p in model.parameters())
    n_bn = sum(m.scale.numel() * 4 for m in model.modules() if isinstance(m, mn.Affine))
    assert n_params + n_bn == 792_079
    assert len(model.tags) == 50 and len(set(model.tags)) == 50
    assert ("rock" in model.tags) and (model.tags == mn.TAGS[model.name])
    from musicnn import configuration  # a plain constants module, no TensorFlow import

    labels = configuration.MSD_LABELS if model.name.startswith("MSD") else configuration.MTT_LABELS
    assert model.tags == labels


def test_short_and_long_clips(model):
    rng = np.random.default_rng(0)
    sr = 22050  # the app's rate: embed() resamples
    short = mn.embed(model, 0.1 * rng.standard_normal(int(1.5 * sr)).astype(np.float32), sr)
    assert short["tags"].shape == (1, 50) and short["penultimate"].shape == (1, 200)
    assert short["pool"].shape == (1, 1506)
    long = mn.embed(model, 0.1 * rng.standard_normal(15 * sr).astype(np.float32), sr)  # 5 patches
    assert long["tags"].shape == (5, 50) and long["penultimate"].shape == (5, 200)
    assert long["penultimate_mean"].shape == (200,) and long["tags_mean"].shape == (50,)
    np.testing.assert_allclose(long["penultimate_mean"], long["penultimate"].mean(0), rtol=1e-6)
    np.testing.assert_allclose(long["patch_starts_s"][:2], [0.0, 187 * 256 / 16000])
    assert np.all((long["tags"] > 0) & (long["tags"] < 1))
    with pytest.raises(ValueError, match="too short"):
        mn.embed(model, np.zeros(int(0.5 * sr), np.float32), sr)


def test_batched_equals_per_patch(model, reference):
    import torch

    patches = torch.from_numpy(mn.to_patches(mn.log_mel(reference["audio_1"].astype(np.float32) / 32768)))
    with torch.inference_mode():
        both = model(patches)["penultimate"]
        one = torch.cat([model(patches[i : i + 1])["penultimate"] for i in range(len(patches))])
    np.testing.assert_allclose(both.numpy(), one.numpy(), rtol=0, atol=1e-5)


def test_missing_package_message(monkeypatch):
    monkeypatch.setattr(mn.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(mn.MusicnnNotInstalled, match="pip install --no-deps musicnn==0.1.0"):
        mn.load_musicnn("MSD_musicnn")
    with pytest.raises(ValueError, match="unknown musicnn model"):
        mn.checkpoint_dir("MSD_vgg")


def _patches(reference, i=0):
    import torch

    return torch.from_numpy(mn.to_patches(mn.log_mel(reference[f"audio_{i}"].astype(np.float32) / 32768)))


def test_timbral_products_equal_the_convolution(model, reference):
    """The CPU path's strided-window matrix products (float32) give what conv2d + max gives."""
    import torch
    import torch.nn.functional as F

    x = model.input_bn(_patches(reference).unsqueeze(1))
    for block in model.timbral:
        with torch.inference_mode():
            fast = block._gemm_max(x)
            slow = F.conv2d(F.pad(x, (0, 0, *block.time_pad)), block.weight).amax(-1)
        assert fast.shape == slow.shape == (len(x), 204, mn.PATCH_FRAMES)
        np.testing.assert_allclose(fast.numpy(), slow.numpy(), rtol=0, atol=1e-4 * float(slow.abs().max()))


def test_bfloat16_stays_close_to_float32(reference):
    """bfloat16 timbral products (the default on AMX CPUs) move the outputs a little, not the
    ranking of the tags: bench/musicnn_precision.py measures what that does to the moods."""
    import torch

    for name in mn.MODELS:
        exact, fast = (mn.load_musicnn(name, precision=p) for p in ("float32", "bfloat16"))
        assert (exact.precision, fast.precision) == ("float32", "bfloat16")
        with torch.inference_mode():
            a, b = exact(_patches(reference, 1)), fast(_patches(reference, 1))
        np.testing.assert_allclose(b["tags"].numpy(), a["tags"].numpy(), rtol=0, atol=0.03)
        pen_a, pen_b = a["penultimate"].numpy(), b["penultimate"].numpy()
        assert np.linalg.norm(pen_b - pen_a) < 0.05 * np.linalg.norm(pen_a)
        assert not np.array_equal(pen_a, pen_b)  # really a different path
        top = lambda t: set(np.argsort(-t.numpy().mean(0))[:5])  # noqa: E731
        assert len(top(a["tags"]) & top(b["tags"])) >= 4


def test_precision_choice(monkeypatch):
    monkeypatch.setenv(mn.PRECISION_ENV, "float32")
    assert mn.default_precision() == "float32"
    monkeypatch.setenv(mn.PRECISION_ENV, "BFloat16")
    assert mn.default_precision() == "bfloat16"
    monkeypatch.setenv(mn.PRECISION_ENV, "auto")
    for amx, avx512_bf16, chosen in [
        (False, False, "float32"),  # bfloat16 would be emulated, and slower
        (True, False, "bfloat16"),  # Intel's AMX tiles
        (False, True, "bfloat16"),  # AVX-512 BF16 (AMD's Zen 4): musicnn 1.6x faster than float32
    ]:
        monkeypatch.setattr(mn.torch.cpu, "_is_amx_tile_supported", lambda amx=amx: amx, raising=False)
        monkeypatch.setattr(mn.torch.cpu, "_is_avx512_bf16_supported", lambda on=avx512_bf16: on, raising=False)
        assert mn.default_precision() == chosen, (amx, avx512_bf16)
    monkeypatch.setenv(mn.PRECISION_ENV, "int4")
    with pytest.raises(ValueError, match="EMOTIONET_MUSICNN_PRECISION='int4'"):
        mn.default_precision()
    with pytest.raises(ValueError, match="unknown precision"):
        mn.Musicnn().set_precision("float16")


def test_weights_loaded_after_a_forward_pass_are_the_ones_used(reference):
    """The kernel matrix of the timbral products is cached: loading other weights (a state dict,
    as the Ray actors and the GPU check do) must not leave the old matrix in use."""
    import torch

    msd, mtt = (mn.load_musicnn(n, precision="float32") for n in mn.MODELS)
    x = _patches(reference)
    with torch.inference_mode():
        msd(x)  # fills the cache with MSD's kernels
    msd.load_state_dict(mtt.state_dict())
    with torch.inference_mode():
        np.testing.assert_allclose(msd(x)["penultimate"].numpy(), mtt(x)["penultimate"].numpy(), rtol=0, atol=1e-5)


def test_both_backbones_together_equal_each_alone(reference):
    """forward_together shares the timbral products' windows between the backbones (the input
    batch norm folded into the kernels and the padded edges): in float32 each model's outputs
    are its own forward pass's, also for an input scale below zero and a large shift."""
    import copy

    import torch

    models = [mn.load_musicnn(n, precision="float32") for n in mn.MODELS]
    odd = copy.deepcopy(models[1])
    with torch.no_grad():
        odd.input_bn.scale.mul_(-1.7)  # the max over frequency becomes a min: the sign path
        odd.input_bn.shift.add_(2.5)  # a constant on the input: the padded rows' edge sums
    x = _patches(reference, 1)
    for group in (models, [models[0], odd]):
        with torch.inference_mode():
            alone, together = [m(x) for m in group], mn.forward_together(group, x)
        for a, b in zip(alone, together):
            for part in ("tags", "penultimate", "pool"):
                scale = float(a[part].abs().max())
                np.testing.assert_allclose(b[part].numpy(), a[part].numpy(), rtol=0, atol=ATOL * max(scale, 1.0))


def test_both_backbones_together_in_bfloat16_stay_close_to_float32(reference):
    import torch

    exact = [mn.load_musicnn(n, precision="float32") for n in mn.MODELS]
    fast = [mn.load_musicnn(n, precision="bfloat16") for n in mn.MODELS]
    x = _patches(reference, 1)
    with torch.inference_mode():
        pairs = zip((m(x) for m in exact), mn.forward_together(fast, x))
        for a, b in pairs:
            pen_a, pen_b = a["penultimate"].numpy(), b["penultimate"].numpy()
            assert np.linalg.norm(pen_b - pen_a) < 0.05 * np.linalg.norm(pen_a)
            np.testing.assert_allclose(b["tags"].numpy(), a["tags"].numpy(), rtol=0, atol=0.03)
        mixed = [exact[0], fast[1]]  # different precisions: each model runs alone, unchanged
        for a, b in zip((m(x) for m in mixed), mn.forward_together(mixed, x)):
            assert torch.equal(a["penultimate"], b["penultimate"])
