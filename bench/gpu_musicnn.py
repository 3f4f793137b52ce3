"""musicnn on a CUDA GPU (what `scan --engine ray --device cuda` runs): agreement with the CPU's
exact float32 outputs, and throughput.

    .venv/bin/python bench/gpu_musicnn.py            # needs torch with CUDA and a GPU

For each backbone, with TF32 on (PyTorch's default for cuDNN convolutions) and off: the largest
difference from the CPU float32 outputs on the musicnn test clips (tests/data), and patches per
second at batch 256 (median-free: 20 passes after 3 warm-ups). Writes bench/results/gpu_musicnn.json.
No figure is asserted; CI has no GPU.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import write_result  # noqa: E402

from emotionet import musicnn as mn  # noqa: E402

OUT = ROOT / "bench" / "results" / "gpu_musicnn.json"


def main() -> dict:
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU here")
    ref = np.load(ROOT / "tests" / "data" / "musicnn_reference.npz")
    patches = np.concatenate([mn.to_patches(mn.log_mel(ref[f"audio_{i}"].astype(np.float32) / 32768)) for i in range(3)])
    x = torch.from_numpy(patches)
    result = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__}
    for name in mn.MODELS:
        model = mn.load_musicnn(name, precision="float32")
        with torch.inference_mode():
            cpu = {k: v.numpy() for k, v in model(x).items()}
        model = model.cuda()
        big = torch.rand(256, mn.PATCH_FRAMES, mn.N_MELS, device="cuda") * 4
        for tf32 in (True, False):
            torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = tf32
            with torch.inference_mode():
                gpu = model(x.cuda())
                for _ in range(3):
                    model(big)
                torch.cuda.synchronize()
                start = time.perf_counter()
                for _ in range(20):
                    model(big)
                torch.cuda.synchronize()
            result[f"{name} tf32={tf32}"] = {
                **{f"max_diff_{k}": float(np.abs(gpu[k].cpu().numpy() - cpu[k]).max()) for k in ("tags", "penultimate", "pool")},
                "patches_per_s_batch256": round(20 * 256 / (time.perf_counter() - start)),
            }  # fmt: skip
    return write_result(OUT, result)


if __name__ == "__main__":
    main()
