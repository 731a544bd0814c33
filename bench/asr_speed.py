"""Training speed of the ASR acoustic models, against the network's bare speed and the
machine's dense matmul rate.

Usage: python bench/asr_speed.py [--threads N] [--device cpu|cuda] [--steps S]
           [--num-targets K] [<config.yaml> ...]   (default: conf/asr/tdnn_small.yaml
                                                    conf/asr/convnet_small.yaml)

For each experiment config (its model, batch_size and chunk_width), on random data:
- matmul: GFLOP/s of torch.matmul at the size of the network's largest layer
  (rows = frames that layer sees per batch, its input and output widths);
- bare: forward+backward of one fixed batch repeated (no data loading, no optimiser);
  frames per second (frames = batch_size x chunk_width target frames) and GFLOP/s
  from the convolution and linear layers' multiply-adds (backward = 2 x forward);
- loop: the real training loop (sertl.asr.train.AsrTrainer on sertl.train.loop: chunk gathering, optimiser,
  constraints, logging) for one epoch of S batches on a random data dir, frames per
  second as the trainer measures it;
- loop/bare: the goal is at least 0.8.
Run on an idle machine where possible; print the load average next to the figures.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sertl.asr.train import AsrTrainer, Paths
from sertl.config import from_dict, to_dict
from sertl.io import write_ark_scp, write_table
from sertl.models import build_model
from sertl.train.config import AsrConfig, load_asr_config
from sertl.train.loop import init_workers

REPO = Path(__file__).resolve().parents[1]


def layer_macs(model: nn.Module, x: torch.Tensor) -> list[tuple[int, int, int, int]]:
    """(multiply-adds, rows, in width, out width) of every conv/linear layer on ``x``."""
    found = []

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if isinstance(module, nn.Linear):
            k, n = module.in_features, module.out_features
            rows = output.numel() // n
        else:
            k = module.weight[0].numel()
            n = module.out_channels
            rows = output.numel() // n
        found.append((rows * k * n, rows, k, n))

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d))]
    with torch.no_grad():
        model.eval()(x)
    for h in handles:
        h.remove()
    return found


def timed(fn, device: torch.device, repeats: int) -> float:
    """Seconds per call of ``fn`` after two warm-up calls."""
    for _ in range(2):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeats


def matmul_gflops(rows: int, k: int, n: int, device: torch.device) -> float:
    a = torch.randn(rows, k, device=device)
    b = torch.randn(k, n, device=device)
    seconds = timed(lambda: a @ b, device, 20)
    return 2 * rows * k * n / seconds / 1e9


def random_data(root: Path, config: AsrConfig, input_dim: int, ivector_dim: int,
                num_targets: int, num_batches: int) -> Paths:
    """A data dir, alignment dir (and i-vectors) of random utterances of 300 frames."""
    rng = np.random.default_rng(0)
    frames = 300
    chunks_per_utt = -(-frames // config.data.chunk_width)
    num_utts = -(-num_batches * config.training.batch_size // chunks_per_utt)
    utts = [f"spk{i % 10}-u{i:05d}" for i in range(num_utts)]
    data, ali, ivec = root / "data", root / "ali", root / "ivec"
    for d in (data, ali, ivec):
        d.mkdir(parents=True)
    feat_dim = input_dim - ivector_dim
    write_ark_scp(data / "feats.ark", data / "feats.scp",
                  ((u, rng.standard_normal((frames, feat_dim), dtype=np.float32))
                   for u in utts))
    write_table(data / "utt2spk", {u: u.split("-")[0] for u in utts})
    write_ark_scp(ali / "ali.ark", ali / "ali.scp",
                  ((u, rng.integers(0, num_targets, frames).astype(np.int32)) for u in utts))
    (ali / "num_targets").write_text(f"{num_targets}\n")
    write_table(ali / "targets.txt", {f"p{i}": i for i in range(num_targets)})
    write_table(ali / "phones.txt", {"<eps>": 0, **{f"p{i}": i + 1 for i in range(num_targets)}})
    if not ivector_dim:
        return Paths(data, ali, root / "exp")
    write_ark_scp(ivec / "iv.ark", ivec / "ivector_online.scp",
                  ((u, rng.standard_normal((frames // 10, ivector_dim), dtype=np.float32))
                   for u in utts))
    (ivec / "ivector_period").write_text("10\n")
    return Paths(data, ali, root / "exp", ivec)


def bench(path: Path, device: torch.device, steps: int, num_targets: int) -> None:
    config, model_config = load_asr_config(path)
    model = build_model(model_config, num_targets).to(device)
    batch, width = config.training.batch_size, config.data.chunk_width
    x = torch.randn(batch, model.left_context + width + model.right_context, model.input_dim,
                    device=device)
    y = torch.randint(0, num_targets, (batch, -(-width // model.subsampling)), device=device)
    layers = layer_macs(model, x)
    macs = sum(m for m, *_ in layers)
    _, rows, k, n = max(layers)
    model.train()

    def fwd_bwd() -> None:
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        loss.backward()

    bare = timed(fwd_bwd, device, max(3, steps // 4))
    flops = 3 * 2 * macs  # forward + backward (input and weight gradients)
    peak = matmul_gflops(rows, k, n, device)
    frames = batch * width
    with tempfile.TemporaryDirectory() as tmp:
        values = to_dict(config)
        values["model"] = to_dict(model_config)
        values["data"].update(num_valid_speakers=0, apply_cmvn=False)  # CMVN: load time only
        values["training"].update(num_epochs=1, log_every_steps=10 ** 6,
                                  checkpoint_every_steps=0)
        loop_config = from_dict(AsrConfig, values)
        ivector_dim = getattr(model_config, "ivector_dim", 0)
        paths = random_data(Path(tmp), loop_config, model.input_dim, ivector_dim,
                            num_targets, steps)
        metrics = AsrTrainer(loop_config, model_config, paths, init_workers(device.type)).run()
    loop_fps = metrics["train_frames_per_second"]
    print(f"== {path}: {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters, "
          f"{macs / frames / 1e6:.2f} M multiply-adds per frame (forward), "
          f"batch {batch} x {width} frames")
    print(f"matmul {rows}x{k} @ {k}x{n}: {peak:.1f} GFLOP/s")
    print(f"bare forward+backward: {frames / bare:.0f} frames/s, "
          f"{flops / bare / 1e9:.1f} GFLOP/s = {flops / bare / 1e9 / peak:.2f} of matmul")
    print(f"training loop: {loop_fps:.0f} frames/s = {loop_fps * bare / frames:.2f} of bare "
          f"forward+backward")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--steps", type=int, default=40, help="batches of the loop run")
    parser.add_argument("--num-targets", type=int, default=120)
    parser.add_argument("configs", nargs="*", type=Path,
                        default=[REPO / "conf/asr/tdnn_small.yaml",
                                 REPO / "conf/asr/convnet_small.yaml"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), device {args.device}, "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for path in args.configs:
        bench(path, torch.device(args.device), args.steps, args.num_targets)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
