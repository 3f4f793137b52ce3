"""Speed of the musicnn port on a 45 s clip: mel, forward, total; before/after the speed-ups.

    .venv/bin/python bench/musicnn_speed.py [--threads 2] [--repeats 7] [--model MSD_musicnn]

Prints a table and writes bench/results/musicnn_speed.json. Variants of the forward pass:
  naive_per_patch   the straightforward port run like musicnn's extractor (one patch per call):
                    conv+bias -> ReLU -> batch norm on the full map -> max over frequency,
                    temporal convs via conv2d
  naive_batched     the same, all patches in one call
  optimised         what emotionet.models.musicnn does: one batched call, frequency max taken right
                    after each front-end conv (bias/ReLU/BN on the pooled map, negative-BN
                    channels folded into the kernel sign), temporal k x 1 convs as matrix
                    products over strided views, torch.inference_mode
Timings are wall-clock medians (and minima) over --repeats runs after one warm-up, plus the
median process CPU time (summed over threads), which is the steadier figure on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from emotionet.models import musicnn as mn  # noqa: E402

CLIP_SECONDS = 45.0
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "musicnn_speed.json")


def naive_forward(model: mn.Musicnn, patches: torch.Tensor) -> torch.Tensor:
    """The unoptimised port, layer by layer as musicnn/models.py; returns the penultimate."""
    x = model.input_bn(patches.unsqueeze(1))
    front = []
    for block in (*model.timbral, *model.temporal):
        w = block.weight * block.sign[:, None, None, None]  # undo the sign folding
        z = F.conv2d(F.pad(x, (0, 0, *block.time_pad)), w, block.bias)
        front.append(block.bn(F.relu(z)).amax(-1))
    h = torch.cat(front, 1)
    feats = [h]
    for i, (conv, bn) in enumerate(zip(model.mid_convs, model.mid_bns)):
        y = bn(F.relu(conv(h)))
        h = y if i == 0 else y + h
        feats.append(h)
    feats = torch.cat(feats, 1)
    pool = torch.stack([feats.amax(-1), feats.mean(-1)], -1).flatten(1)
    return model.dense_bn(F.relu(model.dense(model.pool_bn(pool))))


def timeit(fn, repeats: int) -> dict:
    fn()  # warm-up
    times, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {
        "median_s": round(float(np.median(times)), 4),
        "min_s": round(float(np.min(times)), 4),
        # process CPU time (all threads): less inflated than wall time on a shared machine
        "median_cpu_s": round(float(np.median(cpu)), 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--model", default="MSD_musicnn", choices=mn.MODELS)
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    model = mn.load_musicnn(args.model)
    load_s = time.perf_counter() - t0

    rng = np.random.default_rng(0)
    n = int(CLIP_SECONDS * mn.SAMPLE_RATE)
    t = np.arange(n) / mn.SAMPLE_RATE
    y = (0.2 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 2 * t)) + 0.05 * rng.standard_normal(n)).astype(
        np.float32
    )
    patches = torch.from_numpy(mn.to_patches(mn.log_mel(y)))

    results: dict = {
        "clip_seconds": CLIP_SECONDS,
        "patches": int(patches.shape[0]),
        "threads": torch.get_num_threads(),
        "model": args.model,
        "load_s": round(load_s, 4),
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "loadavg_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }
    results["mel"] = timeit(lambda: mn.log_mel(y), args.repeats)

    variants = {}
    with torch.no_grad():
        variants["naive_per_patch"] = timeit(
            lambda: [naive_forward(model, patches[i : i + 1]) for i in range(patches.shape[0])], args.repeats
        )
        variants["naive_batched"] = timeit(lambda: naive_forward(model, patches), args.repeats)
    with torch.inference_mode():
        variants["optimised"] = timeit(lambda: model(patches), args.repeats)
    results["forward"] = variants
    results["total_embed_45s"] = timeit(lambda: mn.embed(model, y, mn.SAMPLE_RATE), args.repeats)
    results["speedup_forward_median"] = round(
        variants["naive_per_patch"]["median_s"] / variants["optimised"]["median_s"], 2
    )

    with torch.inference_mode():
        ref = naive_forward(model, patches)
        opt = model(patches)["penultimate"]
    results["max_abs_diff_naive_vs_optimised"] = float((ref - opt).abs().max())

    print(
        f"musicnn {args.model}, {CLIP_SECONDS:.0f} s clip = {results['patches']} patches, {results['threads']} threads"
    )
    print(f"  load weights        {load_s:.3f} s")
    print(f"  mel                 {results['mel']['median_s']:.3f} s (min {results['mel']['min_s']:.3f})")
    for name, r in variants.items():
        print(f"  forward {name:<16} {r['median_s']:.3f} s (min {r['min_s']:.3f}, cpu {r['median_cpu_s']:.3f})")
    tot = results["total_embed_45s"]
    print(f"  embed() total       {tot['median_s']:.3f} s (min {tot['min_s']:.3f}, cpu {tot['median_cpu_s']:.3f})")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(results, fh, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
