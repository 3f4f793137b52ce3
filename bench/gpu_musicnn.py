"""musicnn on a CUDA GPU (what `scan --engine ray --device cuda` runs): agreement with the CPU's
exact float32 outputs, and throughput.

    .venv/bin/python bench/gpu_musicnn.py                     # a machine with a GPU and this environment
    .venv/bin/python bench/gpu_musicnn.py --prepare gpucheck  # here: weights, test patches, CPU outputs
    python3 bench/gpu_musicnn.py --from gpucheck              # there: needs only torch and numpy

The second form is for a GPU machine without librosa or the musicnn wheel (the lent H100 of
bench/results/gpu_musicnn.json): `--prepare` writes both networks' state dicts, the log-mel patches
of the musicnn test clips (tests/data) and the CPU's float32 outputs for them; `--from` runs the
GPU side. For each backbone, with TF32 on (PyTorch's default for cuDNN convolutions) and off: the
largest difference from the CPU outputs, and patches per second at batch 256 (20 passes after 3
warm-ups). Writes bench/results/gpu_musicnn.json (or --out). No figure is asserted; CI has no GPU.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import write_result  # noqa: E402
from emotionet.models import musicnn as mn  # noqa: E402

OUT = ROOT / "bench" / "results" / "gpu_musicnn.json"
PARTS = ("tags", "penultimate", "pool")


def prepare(folder: Path) -> None:
    """State dicts, test patches and the CPU's float32 outputs, for a GPU machine to compare with."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    ref = np.load(ROOT / "tests" / "data" / "musicnn_reference.npz")
    patches = np.concatenate(
        [mn.to_patches(mn.log_mel(ref[f"audio_{i}"].astype(np.float32) / 32768)) for i in range(3)]
    )
    out = {"patches": patches}
    for name in mn.MODELS:
        model = mn.load_musicnn(name, precision="float32")
        torch.save(model.state_dict(), folder / f"{name}.pt")
        with torch.inference_mode():
            cpu = model(torch.from_numpy(patches))
        out.update({f"{name}/{k}": cpu[k].numpy() for k in PARTS})
        out[f"{name}/n_tags"] = np.array(len(model.tags))
    np.savez(folder / "cpu_reference.npz", **out)


def on_gpu(folder: Path) -> dict:
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU here")
    ref = np.load(folder / "cpu_reference.npz")
    x = torch.from_numpy(ref["patches"]).cuda()
    big = torch.rand(256, mn.PATCH_FRAMES, mn.N_MELS, device="cuda") * 4
    result = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__}
    for name in mn.MODELS:
        model = mn.Musicnn(n_tags=int(ref[f"{name}/n_tags"]))
        model.load_state_dict(torch.load(folder / f"{name}.pt", weights_only=True))
        model = model.eval().cuda()
        for tf32 in (True, False):
            torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = tf32
            with torch.inference_mode():
                gpu = model(x)
                for _ in range(3):
                    model(big)
                torch.cuda.synchronize()
                start = time.perf_counter()
                for _ in range(20):
                    model(big)
                torch.cuda.synchronize()
            result[f"{name} tf32={tf32}"] = {
                **{f"max_diff_{k}": float(np.abs(gpu[k].cpu().numpy() - ref[f"{name}/{k}"]).max()) for k in PARTS},
                "patches_per_s_batch256": round(20 * 256 / (time.perf_counter() - start)),
            }
    result["when"] = time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime())
    return result


def main() -> dict | None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prepare", type=Path, help="write the CPU side into this folder and stop")
    parser.add_argument("--from", dest="source", type=Path, help="run the GPU side on a prepared folder")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if args.prepare:
        prepare(args.prepare)
        return None
    folder = args.source
    if folder is None:
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="emotionet-gpu-"))
        prepare(folder)
    return write_result(args.out, on_gpu(folder))


if __name__ == "__main__":
    main()
