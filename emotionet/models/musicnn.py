"""musicnn (Pons & Serra, 2019) in PyTorch, with the pretrained weights of ``musicnn==0.1.0``.

The weights are the TensorFlow checkpoints shipped in the musicnn wheel, read by our own
``emotionet.models.tf_checkpoint`` (no TensorFlow). Install the wheel without its (unmeetable)
dependencies:  ``pip install --no-deps musicnn==0.1.0``.

Pipeline (as musicnn/extractor.py and musicnn/models.py):
  16 kHz mono -> librosa mel power spectrogram (n_fft 512, hop 256, 96 bands)
  -> log10(1 + 10000 * mel) -> non-overlapping 187-frame (3 s) patches
  -> input batch norm
  -> front-end: timbral convs (204 filters of 7x38 and 7x67, time padded by 3, valid in
     frequency) and temporal convs (51 filters of 128x1, 64x1, 32x1, TF "same" padding);
     each conv -> ReLU -> batch norm -> max over frequency; concatenated: 561 channels
  -> mid-end: three 1-D convs (64 filters, kernel 7), the 2nd and 3rd residual; the
     front-end and the three outputs are concatenated: 753 channels
  -> back-end: max and mean over time, interleaved (max0, mean0, max1, ...): 1506
     -> batch norm -> dense 200 + ReLU -> batch norm (the "penultimate" embedding)
     -> dense 50 -> sigmoid tag probabilities.

Unlike musicnn's extractor we return the true per-patch penultimate embeddings (its
extractor repeats the first patch's), and we keep the mel in float32 (it rounds to float16).

Speed (issue 12): on the CPU the two timbral convolutions (about 90% of the work) run as
matrix products over strided windows of the input, a few time rows at a time so that each
product and its frequency max stay in cache. In ``float32`` this is exact and the two
convolutions run about 1.8x faster than oneDNN's conv2d (the whole pass 1.35x); in
``bfloat16`` (the default where the CPU multiplies bfloat16 in hardware, see ``default_precision``)
those two products alone are rounded to bfloat16: on AMX tiles about 5x (the whole pass 2.8x), on
AVX-512 BF16 (AMD Zen 4) 1.8x for both backbones' pass; everything else stays float32. The two
backbones share those products' input windows (``forward_together``: their input batch norms folded
into the kernels, one product per kernel shape for both), about 4% of a whole analysis. On a GPU, cuDNN's convolutions run instead.
bench/musicnn_precision.py measures the speed and what bfloat16 does to the embeddings and the moods.
"""

from __future__ import annotations

import importlib.util
import json
import os
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .tf_checkpoint import read_checkpoint

SAMPLE_RATE = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187  # 3 s: librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1
PATCH_HOP = PATCH_FRAMES  # musicnn's default: input_overlap=False, patches do not overlap
MIN_SECONDS = 1.0  # shorter clips are refused; 1 s .. 3 s are repeat-padded to one patch
BN_EPSILON = 1e-3  # TensorFlow's batch-norm default
MODELS = ("MSD_musicnn", "MTT_musicnn")
PRECISIONS = ("float32", "bfloat16")
PRECISION_ENV = "EMOTIONET_MUSICNN_PRECISION"  # auto (default), float32 or bfloat16
GEMM_ROWS = 48  # time rows of a timbral convolution per matrix product (fits in L2)
INSTALL_HINT = "pip install --no-deps musicnn==0.1.0"

# musicnn/configuration.py (config.json in the checkpoint folders holds no tag names)
MTT_LABELS = [
    "guitar",
    "classical",
    "slow",
    "techno",
    "strings",
    "drums",
    "electronic",
    "rock",
    "fast",
    "piano",
    "ambient",
    "beat",
    "violin",
    "vocal",
    "synth",
    "female",
    "indian",
    "opera",
    "male",
    "singing",
    "vocals",
    "no vocals",
    "harpsichord",
    "loud",
    "quiet",
    "flute",
    "woman",
    "male vocal",
    "no vocal",
    "pop",
    "soft",
    "sitar",
    "solo",
    "man",
    "classic",
    "choir",
    "voice",
    "new age",
    "dance",
    "male voice",
    "female vocal",
    "beats",
    "harp",
    "cello",
    "no voice",
    "weird",
    "country",
    "metal",
    "female voice",
    "choral",
]  # noqa: E501
MSD_LABELS = [
    "rock",
    "pop",
    "alternative",
    "indie",
    "electronic",
    "female vocalists",
    "dance",
    "00s",
    "alternative rock",
    "jazz",
    "beautiful",
    "metal",
    "chillout",
    "male vocalists",
    "classic rock",
    "soul",
    "indie rock",
    "Mellow",
    "electronica",
    "80s",
    "folk",
    "90s",
    "chill",
    "instrumental",
    "punk",
    "oldies",
    "blues",
    "hard rock",
    "ambient",
    "acoustic",
    "experimental",
    "female vocalist",
    "guitar",
    "Hip-Hop",
    "70s",
    "party",
    "country",
    "easy listening",
    "sexy",
    "catchy",
    "funk",
    "electro",
    "heavy metal",
    "Progressive rock",
    "60s",
    "rnb",
    "indie pop",
    "sad",
    "House",
    "happy",
]  # noqa: E501
TAGS = {"MSD_musicnn": MSD_LABELS, "MTT_musicnn": MTT_LABELS}


class MusicnnNotInstalled(ImportError):
    """The musicnn wheel (which carries the pretrained checkpoints) is not installed."""


def default_precision() -> str:
    """The timbral convolutions' precision: $EMOTIONET_MUSICNN_PRECISION when set (auto,
    float32 or bfloat16); on auto, bfloat16 where the CPU multiplies bfloat16 in hardware (AMX
    tiles, or AVX-512 BF16 as on AMD's Zen 4: its products 1.8x faster there) and
    float32 elsewhere, where bfloat16 would be emulated and slower."""
    choice = os.environ.get(PRECISION_ENV, "auto").strip().lower() or "auto"
    if choice in PRECISIONS:
        return choice
    if choice != "auto":
        raise ValueError(f"{PRECISION_ENV}={choice!r}: choose auto, float32 or bfloat16")
    return "bfloat16" if bfloat16_in_hardware() else "float32"


def bfloat16_in_hardware() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware: AMX tiles or AVX-512 BF16."""
    checks = (getattr(torch.cpu, name, None) for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"))
    return any(check is not None and check() for check in checks)


# --------------------------------------------------------------------------- features


@lru_cache(maxsize=1)
def _mel_basis() -> np.ndarray:
    from ..features import dsp

    return dsp.filterbank(f"mel_{SAMPLE_RATE}_{N_FFT}_{N_MELS}")


def log_mel(y_16k: np.ndarray) -> np.ndarray:
    """(frames, 96) float32 log-compressed mel spectrogram of 16 kHz mono audio, as
    musicnn's extractor computes it (librosa defaults: centred frames, Hann window,
    Slaney mel bands, power 2), but without its float16 rounding."""
    from ..features import dsp

    y = np.ascontiguousarray(y_16k, dtype=np.float32)
    spec = np.abs(dsp.stft(y, N_FFT, HOP)) ** 2
    mel = _mel_basis() @ spec
    return np.log10(1.0 + 10000.0 * mel).T.astype(np.float32, copy=False)


def patch_starts(n_frames: int) -> list[int]:
    """Start frames of the 187-frame patches (musicnn's: non-overlapping, tail dropped)."""
    return list(range(0, n_frames - PATCH_FRAMES + 1, PATCH_HOP))


def to_patches(rep: np.ndarray) -> np.ndarray:
    """(frames, 96) -> (patches, 187, 96). Spectrograms shorter than one patch are
    repeat-padded (musicnn's training config: "pad_short": "repeat-pad")."""
    if rep.shape[0] < PATCH_FRAMES:
        rep = np.tile(rep, (-(-PATCH_FRAMES // rep.shape[0]), 1))[:PATCH_FRAMES]
    return np.stack([rep[s : s + PATCH_FRAMES] for s in patch_starts(rep.shape[0])])


# --------------------------------------------------------------------------- network


def windows_gemm_max(xp: torch.Tensor, w: torch.Tensor, kernel: tuple[int, int]) -> torch.Tensor:
    """max over frequency of the (kt x kf) convolution of time-padded input xp (B, T + kt - 1, F)
    with kernel matrix w (kt * kf, C), as (B, C, T) float32: for GEMM_ROWS time rows at a time,
    the (rows x F', kt * kf) windows of the input (copied from a strided view) times w, then the
    max over F' while the product is in cache. w's dtype (float32 or bfloat16) sets the products'."""
    kt, kf = kernel
    xp = xp.to(w.dtype).contiguous()
    n_b, n_tp, n_f = xp.shape
    n_t, n_fv = n_tp - kt + 1, n_f - kf + 1
    windows = xp.as_strided((n_b, n_t, n_fv, kt, kf), (n_tp * n_f, n_f, 1, n_f, 1))
    out = torch.empty(n_b, n_t, w.shape[1], dtype=w.dtype)
    for b in range(n_b):
        for t in range(0, n_t, GEMM_ROWS):
            rows = windows[b, t : t + GEMM_ROWS]
            product = rows.reshape(-1, kt * kf) @ w  # (rows x F', C)
            out[b, t : t + GEMM_ROWS] = product.view(len(rows), n_fv, -1).amax(1)
    return out.transpose(1, 2).float()  # (B, C, T)


class Affine(nn.Module):
    """Inference-mode batch norm as a per-channel scale and shift on dimension ``dim``."""

    def __init__(self, channels: int, dim: int = 1):
        super().__init__()
        self.dim = dim
        self.register_buffer("scale", torch.ones(channels))
        self.register_buffer("shift", torch.zeros(channels))

    def load_tf(self, ck: dict, name: str) -> None:
        g, b = ck[f"{name}/gamma"], ck[f"{name}/beta"]
        m, v = ck[f"{name}/moving_mean"], ck[f"{name}/moving_variance"]
        scale = g / np.sqrt(v + BN_EPSILON)
        self.scale.copy_(torch.from_numpy(scale))
        self.shift.copy_(torch.from_numpy(b - m * scale))

    def _view(self, t: torch.Tensor, ndim: int) -> torch.Tensor:
        shape = [1] * ndim
        shape[self.dim] = -1
        return t.view(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self._view(self.scale, x.dim()) + self._view(self.shift, x.dim())


class FreqPooledConv(nn.Module):
    """conv2d over (time, mel) -> ReLU -> batch norm -> max over frequency: (B, C, T).

    The frequency max is taken straight after the convolution, which is exact and much
    cheaper than musicnn's order: max_f relu(z + b) = relu(max_f z + b), and for a channel
    whose batch-norm scale is negative the max becomes a min, min_f z = -max_f(-z), so
    those channels' kernels are stored negated (``sign``) and one max serves all channels.
    Temporal (k x 1) kernels run as a matrix product over strided views of the input
    (time-major, frequency contiguous), which avoids oneDNN's poor single-channel path.
    """

    def __init__(self, out_ch: int, kernel: tuple[int, int], time_pad: tuple[int, int]):
        super().__init__()
        self.time_pad = time_pad
        self.kernel = kernel
        self.weight = nn.Parameter(torch.zeros(out_ch, 1, *kernel), requires_grad=False)  # sign folded in
        self.bias = nn.Parameter(torch.zeros(out_ch), requires_grad=False)
        self.bn = Affine(out_ch)
        self.register_buffer("sign", torch.ones(out_ch))
        self.precision = "float32"  # of the timbral products on the CPU (see the module's doc)
        self._gemm_weight: tuple | None = None  # (key, the kernel as a (kt * kf, C) matrix)

    def load_tf(self, ck: dict, conv: str, bn: str) -> None:
        self.bn.load_tf(ck, bn)
        self.sign.copy_(torch.where(self.bn.scale < 0, -1.0, 1.0))
        kernel = torch.from_numpy(ck[f"{conv}/kernel"]).permute(3, 2, 0, 1)  # (out, in, h, w)
        self.weight.copy_(kernel * self.sign[:, None, None, None])
        self.bias.copy_(torch.from_numpy(ck[f"{conv}/bias"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, 1, T, F)
        if x.device.type != "cpu":  # cuDNN's convolution is the fast path on a GPU, for both kinds
            pooled = F.conv2d(F.pad(x, (0, 0, *self.time_pad)), self.weight).amax(-1)  # (B, C, T)
        elif self.kernel[1] == 1:  # temporal block
            pooled = self._temporal_max(x)
        else:
            pooled = self._gemm_max(x)
        return self.finish(pooled)

    def finish(self, pooled: torch.Tensor) -> torch.Tensor:
        """The block's output from max_f of its convolution with the stored (sign-folded) weight,
        (B, C, T): the sign back, bias, ReLU, batch norm."""
        pooled = pooled * self.sign[:, None]  # (B, C, T)
        return self.bn(F.relu(pooled + self.bias[:, None]))

    def _gemm_max(self, x: torch.Tensor) -> torch.Tensor:
        """max_f of the (kt x kf) convolution as matrix products (`windows_gemm_max`)."""
        dtype = torch.bfloat16 if self.precision == "bfloat16" else torch.float32
        kt, kf = self.kernel
        key = (dtype, self.weight._version, self.weight.data_ptr())  # weights reloaded: a new matrix
        if self._gemm_weight is None or self._gemm_weight[0] != key:
            self._gemm_weight = key, self.weight.reshape(len(self.weight), kt * kf).T.contiguous().to(dtype)
        return windows_gemm_max(F.pad(x[:, 0], (0, 0, *self.time_pad)), self._gemm_weight[1], self.kernel)

    def edge_sums(self, n_t: int) -> torch.Tensor:
        """(C, n_t): per output row, the sum of the kernel taps that fall on real (not padded)
        input rows: what a constant added to the input adds to the convolution there."""
        kt = self.kernel[0]
        rows = torch.arange(n_t)[:, None] + torch.arange(kt)[None, :] - self.time_pad[0]  # (n_t, kt) input rows
        real = ((rows >= 0) & (rows < n_t)).to(self.weight.dtype)
        return self.weight[:, 0].sum(-1) @ real.T

    def _temporal_max(self, x: torch.Tensor) -> torch.Tensor:
        """max_f of a (k x 1) convolution as, per patch, one batched product over time:
        out[t] (C, F) = W (C, k) @ x[t : t + k] (k, F), x[t : t + k] a strided view."""
        k = self.kernel[0]
        xp = F.pad(x[:, 0], (0, 0, *self.time_pad)).contiguous()  # (B, T + k - 1, F)
        n_t, n_f = x.shape[2], x.shape[3]
        w = self.weight[:, 0, :, 0]  # (C, k)
        out = []
        for patch in xp:
            windows = patch.as_strided((n_t, k, n_f), (n_f, n_f, 1))
            out.append(torch.matmul(w, windows).amax(-1))  # (T, C, F) -> (T, C)
        return torch.stack(out).transpose(1, 2)


class Musicnn(nn.Module):
    """musicnn's "7774timbraltemporal" front-end, dense mid-end and global-pool back-end."""

    def __init__(self, n_tags: int = 50, midend_filters: int = 64, dense_units: int = 200):
        super().__init__()
        self.input_bn = Affine(1)
        t, s = 204, 51  # int(1.6 * 128), int(1.6 * 32)
        self.timbral = nn.ModuleList(
            [FreqPooledConv(t, (7, int(0.4 * N_MELS)), (3, 3)), FreqPooledConv(t, (7, int(0.7 * N_MELS)), (3, 3))]
        )
        # TF "same" padding: (k - 1) // 2 before, the rest (one more for even k) after
        self.temporal = nn.ModuleList([FreqPooledConv(s, (k, 1), ((k - 1) // 2, k // 2)) for k in (128, 64, 32)])
        front = 2 * t + 3 * s  # 561
        self.mid_convs = nn.ModuleList(
            [nn.Conv1d(front, midend_filters, 7, padding=3)]
            + [nn.Conv1d(midend_filters, midend_filters, 7, padding=3) for _ in range(2)]
        )
        self.mid_bns = nn.ModuleList([Affine(midend_filters) for _ in range(3)])
        self.n_features = front + 3 * midend_filters  # 753
        self.pool_bn = Affine(2 * self.n_features)
        self.dense = nn.Linear(2 * self.n_features, dense_units)
        self.dense_bn = Affine(dense_units)
        self.out = nn.Linear(dense_units, n_tags)
        self.requires_grad_(False)

    @property
    def precision(self) -> str:
        return self.timbral[0].precision

    def set_precision(self, precision: str) -> "Musicnn":
        """float32 (exact) or bfloat16 for the timbral products on the CPU (module doc)."""
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r}; choose one of {PRECISIONS}")
        for block in self.timbral:
            block.precision = precision
        return self

    def load_tf(self, ck: dict) -> None:
        """Load musicnn's TF variables (names follow tf.compat.v1.layers' creation order)."""
        self.input_bn.load_tf(ck, "batch_normalization")
        convs = self.timbral[0], self.timbral[1], *self.temporal
        for i, block in enumerate(convs):  # conv2d .. conv2d_4 / batch_normalization_1 .. _5
            block.load_tf(ck, f"conv2d_{i}" if i else "conv2d", f"batch_normalization_{i + 1}")
        for i, (conv, bn) in enumerate(zip(self.mid_convs, self.mid_bns)):  # conv2d_5 .. _7
            kernel = ck[f"conv2d_{5 + i}/kernel"]  # (7, C_in, 1, C_out)
            conv.weight.copy_(torch.from_numpy(kernel[:, :, 0, :]).permute(2, 1, 0))
            conv.bias.copy_(torch.from_numpy(ck[f"conv2d_{5 + i}/bias"]))
            bn.load_tf(ck, f"batch_normalization_{6 + i}")
        self.pool_bn.load_tf(ck, "batch_normalization_9")
        self.dense.weight.copy_(torch.from_numpy(ck["dense/kernel"]).T)
        self.dense.bias.copy_(torch.from_numpy(ck["dense/bias"]))
        self.dense_bn.load_tf(ck, "batch_normalization_10")
        self.out.weight.copy_(torch.from_numpy(ck["dense_1/kernel"]).T)
        self.out.bias.copy_(torch.from_numpy(ck["dense_1/bias"]))

    def forward(self, patches: torch.Tensor) -> dict[str, torch.Tensor]:
        """patches: (B, 187, 96) log-mel. Returns a dict of per-patch tensors:
        tags (B, 50) sigmoid probabilities, penultimate (B, 200), pool (B, 1506, the
        interleaved max/mean vector fed to the back-end), max_pool and mean_pool (B, 753)."""
        x = self.input_bn(patches.unsqueeze(1))  # (B, 1, T, 96)
        return self.head(torch.cat([block(x) for block in (*self.timbral, *self.temporal)], 1))

    def head(self, front: torch.Tensor) -> dict[str, torch.Tensor]:
        """The mid-end and back-end on the front-end's (B, 561, T) output (see forward)."""
        feats = [front]
        h = front
        for i, (conv, bn) in enumerate(zip(self.mid_convs, self.mid_bns)):
            y = bn(F.relu(conv(h)))
            h = y if i == 0 else y + h
            feats.append(h)
        feats = torch.cat(feats, 1)  # (B, 753, T)
        max_pool, mean_pool = feats.amax(-1), feats.mean(-1)
        pool = torch.stack([max_pool, mean_pool], -1).flatten(1)  # (B, 1506)
        penultimate = self.dense_bn(F.relu(self.dense(self.pool_bn(pool))))
        tags = torch.sigmoid(self.out(penultimate))
        return {"tags": tags, "penultimate": penultimate, "pool": pool, "max_pool": max_pool, "mean_pool": mean_pool}


def forward_together(models: list[Musicnn], patches: torch.Tensor) -> list[dict[str, torch.Tensor]]:
    """[model(patches) for model in models], with the work the models share done once.

    Both backbones read the same log-mel patches and differ before their timbral convolutions
    only by their input batch norm, a scalar scale a and shift c: conv(a x + c, W) is
    a conv(x, W) + c (the taps of W on real rows), with the zero time padding handled by
    `edge_sums`. So on the CPU the windows of the (centred) patches are built once per kernel
    shape and multiplied by all models' kernels side by side in one product (sign(a) folded into
    them, so one max over frequency serves every channel); each model then goes on alone: 13%
    faster for both backbones (bench/musicnn_precision.py). Elsewhere (a GPU, different
    precisions) it is the plain loop."""
    if len(models) < 2 or patches.device.type != "cpu" or len({m.precision for m in models}) > 1:
        return [model(patches) for model in models]
    dtype = torch.bfloat16 if models[0].precision == "bfloat16" else torch.float32
    scales = [m.input_bn.scale[0] for m in models]
    shifts = [m.input_bn.shift[0] for m in models]
    # The products run on (patches - centre), centre being the input level the models' batch norms
    # map to 0, averaged: inputs centred like each model's own keep bfloat16's rounding as small as
    # in the plain path (on raw, all-positive log-mels it moved the embeddings 2.5x more).
    centre = torch.stack([-c / a for a, c in zip(scales, shifts)]).mean()
    shifts = [a * centre + c for a, c in zip(scales, shifts)]  # a x + c = a (x - centre) + (a centre + c)
    pooled = [[] for _ in models]  # per model, per timbral block: max_f conv(bn(x), weight), (B, C, T)
    for i, first in enumerate(models[0].timbral):
        blocks = [m.timbral[i] for m in models]
        kt, kf = first.kernel
        key = (dtype, *((b.weight._version, b.weight.data_ptr()) for b in blocks), *(float(a) for a in scales))
        cached = getattr(first, "_joint_weight", None)
        if cached is None or cached[0] != key:
            w = (
                torch.cat(
                    [
                        torch.where(a < 0, -1.0, 1.0) * b.weight.reshape(len(b.weight), kt * kf)
                        for a, b in zip(scales, blocks)
                    ]
                )
                .T.contiguous()
                .to(dtype)
            )
            first._joint_weight = cached = key, w
        joint = windows_gemm_max(F.pad(patches - centre, (0, 0, *first.time_pad)), cached[1], first.kernel)
        for j, (part, block, a, c) in enumerate(
            zip(joint.split([len(b.weight) for b in blocks], 1), blocks, scales, shifts)
        ):
            pooled[j].append(a.abs() * part + c * block.edge_sums(patches.shape[1]))
    outputs = []
    for model, timbral in zip(models, pooled):
        x = model.input_bn(patches.unsqueeze(1))
        front = [block.finish(p) for block, p in zip(model.timbral, timbral)] + [block(x) for block in model.temporal]
        outputs.append(model.head(torch.cat(front, 1)))
    return outputs


# --------------------------------------------------------------------------- loading


def checkpoint_dir(name: str = "MSD_musicnn") -> str:
    """Folder of the installed musicnn wheel's checkpoint ``name``."""
    if name not in MODELS:
        raise ValueError(f"unknown musicnn model {name!r}; choose one of {MODELS}")
    spec = importlib.util.find_spec("musicnn")
    if spec is None or not spec.submodule_search_locations:
        raise MusicnnNotInstalled(
            f"the pretrained musicnn weights come from the musicnn package, which is not installed: "
            f"run `{INSTALL_HINT}`"
        )
    folder = os.path.join(list(spec.submodule_search_locations)[0], name)
    if not os.path.exists(os.path.join(folder, ".index")):
        raise MusicnnNotInstalled(f"no checkpoint in {folder}; reinstall with `{INSTALL_HINT}`")
    return folder


def load_config(name: str = "MSD_musicnn") -> dict:
    """The checkpoint's training config.json (patch length, sample rate, mel settings)."""
    with open(os.path.join(checkpoint_dir(name), "config.json")) as fh:
        return json.load(fh)


def load_musicnn(name: str = "MSD_musicnn", verify: bool = True, precision: str | None = None) -> Musicnn:
    """The pretrained network ``name`` (MSD_musicnn or MTT_musicnn), in eval mode, its timbral
    products in `precision` (``default_precision()`` when None)."""
    folder = checkpoint_dir(name)
    cfg = load_config(name)
    audio = cfg["audio_rep"]
    expected = (PATCH_FRAMES, SAMPLE_RATE, HOP, N_FFT, N_MELS)
    if (cfg["n_frames"], audio["resample_sr"], audio["hop"], audio["n_fft"], audio["n_mels"]) != expected:
        raise ValueError(f"{name}: unexpected checkpoint config {cfg}")
    ck = read_checkpoint(folder + os.sep, names=lambda n: "Adam" not in n and not n.endswith("_power"), verify=verify)
    model = Musicnn(n_tags=cfg["num_classes_dataset"])
    model.load_tf(ck)
    model.name = name
    model.tags = list(TAGS[name])
    return model.set_precision(precision or default_precision()).eval()


# --------------------------------------------------------------------------- embedding


def embed(model: Musicnn, y: np.ndarray, sr: int) -> dict:
    """Embed mono audio ``y`` at rate ``sr`` (resampled to 16 kHz if needed).

    Returns numpy arrays: per patch ``tags`` (P, 50), ``penultimate`` (P, 200), ``pool``
    (P, 1506) and their means over patches ``tags_mean``, ``penultimate_mean``,
    ``pool_mean``; plus ``patch_starts_s`` (P,) and ``tag_names``. Clips of 1-3 s give
    one repeat-padded patch; the tail after the last whole patch is dropped, as musicnn does.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"expected mono audio (1-D), got shape {y.shape}")
    if sr != SAMPLE_RATE:
        import soxr

        y = soxr.resample(y, sr, SAMPLE_RATE, quality="HQ").astype(np.float32, copy=False)
    if y.size < MIN_SECONDS * SAMPLE_RATE:
        raise ValueError(f"audio too short for musicnn: {y.size / SAMPLE_RATE:.2f} s < {MIN_SECONDS} s")
    rep = log_mel(y)
    patches = to_patches(rep)
    with torch.inference_mode():
        out = model(torch.from_numpy(patches))
    res = {k: out[k].numpy() for k in ("tags", "penultimate", "pool")}
    for k in ("tags", "penultimate", "pool"):
        res[f"{k}_mean"] = res[k].mean(0)
    res["patch_starts_s"] = (
        np.array(patch_starts(max(rep.shape[0], PATCH_FRAMES)), dtype=np.float32) * HOP / SAMPLE_RATE
    )
    res["tag_names"] = list(getattr(model, "tags", []))
    return res
