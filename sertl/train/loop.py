"""The task-neutral loop of frame-level cross-entropy training on per-frame targets.

:class:`Trainer` is the loop; a subclass supplies its data (``_load_data``:
``self.train``, ``self.valid``, ``self.valid_spk`` and, for a weighted loss,
``self.class_weights``), its network (``_build_model``) and its final output
(``_save_final``): ASR pretraining on alignment targets (:mod:`sertl.asr.train`) and SER
fine-tuning (:mod:`sertl.ser.train`).

One process, or several under ``torchrun`` (DDP: NCCL on GPUs, gloo on CPU). Every
process builds the same global batch of ``batch_size`` chunks and trains on its share
(chunks rank, rank + world, ...); the loss is normalised by the scored frames of the
global batch and batch norm can use global-batch statistics, so N processes compute
the same update as one process on the whole batch.

The experiment dir gets:

- ``config.yaml``: the config, model section with every default filled in
- ``valid_spk``: the speakers held out for validation
- ``checkpoint.pt``: model, optimiser, LR schedule, sampler position, early-stopping
  state, metric accumulators and every process's RNG state, written atomically after
  each epoch (and every ``checkpoint_every_steps``); a restarted run resumes from it and
  repeats the uninterrupted run's batches and losses
- ``best_model.pt``: the parameters of the epoch with the best validation frame error
  rate (or loss, per ``training.model_selection``)
- ``final.pt``: the subclass's saved model, written last, so it marks a finished run
- ``final_metrics.json``, ``metrics.jsonl``, ``tensorboard/``: metrics (a resumed run
  first drops the records written after its checkpoint, so each step is logged once)

Every file is written under a temporary name and renamed when complete.
"""
from __future__ import annotations

import json
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Protocol

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from sertl.config import save_config, to_dict
from sertl.io import atomic_open
from sertl.models import ModelConfig, load_file, save_file
from sertl.models.base import AcousticModel
from sertl.models.layers import set_batchnorm_sync, set_dropout
from sertl.progress import Progress
from sertl.train.config import AsrConfig, TrainOptions
from sertl.train.data import IGNORE, ChunkSampler, fixed_batches, num_scored
from sertl.train.metrics import MetricsWriter
from sertl.train.schedule import LrSchedule, dropout_at, parse_dropout_schedule


class TrainingError(ValueError):
    """Inputs that cannot be trained on (dimension mismatch, too little data ...)."""


@dataclass
class Workers:
    """This process's place in the (possibly single-process) data-parallel group."""
    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0

    def all_sum(self, values: list[float]) -> list[float]:
        """Sum numbers over the processes."""
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        if self.world > 1:
            dist.all_reduce(t)
        return t.tolist()

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()


def init_workers(device: str | None) -> Workers:
    """Join the process group that torchrun describes in the environment, if any."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    kind = device or ("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(kind)
    if kind == "cuda":
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return Workers(rank, world, dev)


class RunPaths(Protocol):
    """What the loop needs of a run's inputs (a subclass's paths hold more)."""
    data: Path
    exp: Path
    ivectors: Path | None


class Trainer:
    """Training state and the loop; see the module docstring."""

    class_weights: torch.Tensor | None = None   # per-target cross-entropy weights

    def __init__(self, config: AsrConfig, model_config: ModelConfig, paths: RunPaths,
                 workers: Workers):
        self.config, self.model_config, self.paths, self.w = config, model_config, paths, workers
        self.o = config.training
        torch.manual_seed(self.o.seed)
        self._load_data()
        if config.data.features_on_gpu and workers.device.type == "cuda":
            for store in (self.train, self.valid):
                if store is not None:
                    store.to(workers.device)
        self.model = self._build_model().to(workers.device)
        self._check_dims()
        set_batchnorm_sync(self.model, self.o.sync_batchnorm)
        torch.manual_seed(self.o.seed + 1000 * workers.rank)  # dropout masks per process
        if self.o.batch_size % workers.world:
            raise TrainingError(f"batch_size {self.o.batch_size} does not split evenly "
                                f"over {workers.world} processes")
        self.sampler = ChunkSampler(self.train.lengths, config.data.chunk_width,
                                    self.model.subsampling, self.o.batch_size, self.o.seed)
        self.total_steps = self.o.num_epochs * self.sampler.num_batches()
        self.schedule = LrSchedule(self.o, self.total_steps)
        self.optimizer = _optimizer(self.model, self.o)
        self.amp_dtype = (torch.bfloat16 if torch.cuda.is_available()
                          and torch.cuda.is_bf16_supported() else torch.float16)
        self.use_amp = self.o.amp and workers.device.type == "cuda"
        self.scaler = torch.amp.GradScaler(workers.device.type,
                                           enabled=self.use_amp and self.amp_dtype == torch.float16)
        self.dropout = parse_dropout_schedule(self.o.dropout_schedule) \
            if self.o.dropout_schedule else None
        self.state = {"epoch": 0, "batch": 0, "step": 0, "best_score": float("inf"),
                      "best_epoch": 0, "bad_epochs": 0, "epoch_sums": [0.0, 0.0, 0.0],
                      "stopped": False, "train_seconds": 0.0, "train_frames": 0,
                      "metrics_records": 0}
        self.writer: MetricsWriter | None = None  # the main process's, while training
        self.ddp = (DistributedDataParallel(self.model) if workers.world > 1 else self.model)

    def _load_data(self) -> None:
        """Set ``self.train``, ``self.valid`` (None without validation speakers) and
        ``self.valid_spk``."""
        raise NotImplementedError

    def _build_model(self) -> AcousticModel:
        """A fresh network for the targets of ``self.train``."""
        raise NotImplementedError

    def _check_dims(self) -> None:
        feat_dim = self.train.feats.shape[1]
        iv_dim = self.train.dim - feat_dim
        if self.train.dim != self.model.input_dim:
            raise TrainingError(
                f"{self.paths.data}: {feat_dim}-dim features"
                + (f" + {iv_dim}-dim i-vectors from {self.paths.ivectors}" if iv_dim else "")
                + f", but the model takes {self.model.input_dim} input dims (model.feat_dim"
                + (" + model.ivector_dim" if hasattr(self.model_config, "ivector_dim") else "")
                + " in the config; i-vectors come with --ivector-dir)")

    # -- checkpoints -------------------------------------------------------------------

    def checkpoint_path(self) -> Path:
        return self.paths.exp / "checkpoint.pt"

    def save_checkpoint(self) -> None:
        """All processes call this; the main one writes (atomically)."""
        rng = {"cpu": torch.get_rng_state(),
               "cuda": torch.cuda.get_rng_state() if self.w.device.type == "cuda" else None}
        rngs = [None] * self.w.world
        if self.w.world > 1:
            dist.all_gather_object(rngs, rng)
        else:
            rngs = [rng]
        if self.w.main:
            self.state["metrics_records"] = self.writer.records
            save_file(self.checkpoint_path(), {
                "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "schedule": self.schedule.state_dict(), "scaler": self.scaler.state_dict(),
                "state": dict(self.state), "rng": rngs, "world": self.w.world})
        self.w.barrier()

    def resume(self) -> bool:
        """Continue from checkpoint.pt if there is one; True if so."""
        path = self.checkpoint_path()
        if not path.exists():
            return False
        ckpt = load_file(path, self.w.device)
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.schedule.load_state_dict(ckpt["schedule"])
        self.scaler.load_state_dict(ckpt["scaler"])
        self.state = ckpt["state"]
        if ckpt["world"] == self.w.world:
            rng = ckpt["rng"][self.w.rank]
            torch.set_rng_state(rng["cpu"].cpu())
            if rng["cuda"] is not None and self.w.device.type == "cuda":
                torch.cuda.set_rng_state(rng["cuda"].cpu())
        elif self.w.main:
            print(f"resuming a {ckpt['world']}-process run with {self.w.world} processes: "
                  f"dropout masks will differ from an uninterrupted run", flush=True)
        if self.w.main:
            print(f"resumed from {path} at epoch {self.state['epoch'] + 1}, batch "
                  f"{self.state['batch']}, step {self.state['step']}", flush=True)
        return True

    # -- training ----------------------------------------------------------------------

    def run(self, on_step: Callable[[int], None] | None = None) -> dict:
        """Train to the end (or early stop) and write the final model; returns the final
        metrics. ``on_step(step)`` is called after every step (for tests and tools)."""
        exp = self.paths.exp
        if self.w.main:
            exp.mkdir(parents=True, exist_ok=True)
            full = replace(self.config, model=to_dict(self.model_config))
            save_config(exp / "config.yaml", full)
            (exp / "valid_spk").write_text("".join(f"{s}\n" for s in self.valid_spk))
        self.resume()
        if self.w.main:  # the metrics written after the checkpoint go: they are replayed
            self.writer = MetricsWriter(exp, step=self.state["step"],
                                        records=self.state.get("metrics_records"))
        try:
            while self.state["epoch"] < self.o.num_epochs and not self.state["stopped"]:
                self._train_epoch(on_step)
                self._end_epoch()
        finally:
            if self.writer:
                self.writer.close()
                self.writer = None
        return self._finish()

    def _train_epoch(self, on_step: Callable[[int], None] | None) -> None:
        epoch = self.state["epoch"]
        width = self.config.data.chunk_width
        frames_per_batch = self.o.batch_size * width
        progress = (Progress(f"epoch {epoch + 1}/{self.o.num_epochs} (frames)",
                             self.sampler.num_batches() * frames_per_batch)
                    if self.w.main else None)
        self.ddp.train()
        # loss sum, errors, scored frames (this process), steps since the last log line
        interval = torch.zeros(4, dtype=torch.float64, device=self.w.device)
        tic = time.monotonic()
        last = self.sampler.num_batches()
        for batch, chunks in self.sampler.batches(epoch, self.state["batch"]):
            count = num_scored(self.train.lengths, chunks, width, self.model.subsampling)
            interval += self._step(chunks[self.w.rank::self.w.world], count)
            self.state["step"] += 1
            self.state["batch"] = batch + 1
            step = self.state["step"]
            if progress:
                progress.update(frames_per_batch)
            checkpoint = bool(self.o.checkpoint_every_steps
                              and step % self.o.checkpoint_every_steps == 0)
            if step % self.o.log_every_steps == 0 or batch + 1 == last or checkpoint:
                self._log_interval(interval.tolist(), time.monotonic() - tic)
                interval.zero_()
                if checkpoint:
                    self.save_checkpoint()
                tic = time.monotonic()
            if on_step:
                on_step(step)
        if progress:
            progress.finish()

    def _step(self, chunks: np.ndarray, global_count: int) -> torch.Tensor:
        """One optimiser step on this process's chunks (the global batch has
        ``global_count`` scored frames); returns this process's (loss sum, errors, scored
        frames, 1) for the log."""
        step = self.state["step"]
        for group in self.optimizer.param_groups:
            group["lr"] = self.schedule.lr(step)
        if self.dropout:
            set_dropout(self.model, dropout_at(self.dropout, step / self.total_steps))
        width, f = self.config.data.chunk_width, self.model.subsampling
        x = self.train.inputs(chunks, width, self.model.left_context, self.model.right_context)
        y = self.train.chunk_targets(chunks, width, f).to(self.w.device, non_blocking=True)
        x = x.to(self.w.device, non_blocking=True)
        amp = (torch.autocast(self.w.device.type, dtype=self.amp_dtype)
               if self.use_amp else nullcontext())
        with amp:
            logits = self.ddp(x)
        loss_sum = F.cross_entropy(logits.float().flatten(0, 1), y.flatten(),
                                   weight=self.class_weights, ignore_index=IGNORE,
                                   reduction="sum")
        self.scaler.scale(loss_sum * (self.w.world / max(global_count, 1))).backward()
        if self.o.grad_clip:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.o.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.model.after_optimizer_step(step + 1)
        scored = y != IGNORE
        errors = ((logits.argmax(-1) != y) & scored).sum()
        one = torch.ones((), device=y.device)
        return torch.stack([loss_sum.detach(), errors.float(), scored.sum().float(), one]).double()

    def _log_interval(self, sums: list[float], seconds: float) -> None:
        """Sum a log interval over processes, add it to the epoch, write the log line.
        Frames per second count every frame of every chunk (batch_size x chunk_width
        per step), the input frames the network is trained on."""
        loss, errors, frames, _ = self.w.all_sum(sums)
        steps = sums[3]
        self.state["epoch_sums"] = [a + b for a, b in zip(self.state["epoch_sums"],
                                                           [loss, errors, frames])]
        chunk_frames = steps * self.o.batch_size * self.config.data.chunk_width
        self.state["train_seconds"] += seconds
        self.state["train_frames"] += chunk_frames
        if self.writer:
            self.writer.write(self.state["step"], {
                "train/loss": loss / max(frames, 1), "train/fer": errors / max(frames, 1),
                "train/lr": self.schedule.lr(self.state["step"] - 1),
                "train/frames_per_second": chunk_frames / max(seconds, 1e-9)},
                epoch=self.state["epoch"] + 1)

    def _end_epoch(self) -> None:
        s = self.state
        loss, errors, frames = s["epoch_sums"]
        metrics = {"train/epoch_loss": loss / max(frames, 1),
                   "train/epoch_fer": errors / max(frames, 1)}
        if self.valid is not None:
            metrics.update(self.validate())
        current = metrics[self.selection_metric()]
        improved = current < s["best_score"]
        if improved:
            s["best_score"], s["best_epoch"], s["bad_epochs"] = current, s["epoch"] + 1, 0
            if self.w.main:
                save_file(self.paths.exp / "best_model.pt", self.model.state_dict())
        else:
            s["bad_epochs"] += 1
        self.schedule.end_epoch(improved)
        patience = self.o.early_stopping_patience
        s["stopped"] = bool(patience and s["bad_epochs"] >= patience)
        if self.writer:
            self.writer.write(s["step"], metrics, epoch=s["epoch"] + 1)
            print(f"epoch {s['epoch'] + 1}: " + ", ".join(f"{k} {v:.4f}" for k, v in
                                                           metrics.items())
                  + (" (best)" if improved else "")
                  + (", stopping early" if s["stopped"] else ""), flush=True)
        s["epoch"] += 1
        s["batch"] = 0
        s["epoch_sums"] = [0.0, 0.0, 0.0]
        self.save_checkpoint()

    def selection_metric(self) -> str:
        """The epoch metric that picks the best model, drives early stopping and the
        plateau schedule: the configured one on the validation speakers, or on the
        training epoch when there are none."""
        name = self.o.model_selection
        return f"valid/{name}" if self.valid is not None else f"train/epoch_{name}"

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Cross-entropy and frame error rate on the validation speakers' chunks."""
        width, f = self.config.data.chunk_width, self.model.subsampling
        batches = fixed_batches(self.valid.lengths, width, self.o.batch_size)
        self.model.eval()
        sums = torch.zeros(3, dtype=torch.float64)
        for chunks in batches[self.w.rank::self.w.world]:
            x = self.valid.inputs(chunks, width, self.model.left_context,
                                  self.model.right_context).to(self.w.device)
            y = self.valid.chunk_targets(chunks, width, f).to(self.w.device)
            logits = self.model(x).float()
            scored = y != IGNORE
            sums += torch.stack([
                F.cross_entropy(logits.flatten(0, 1), y.flatten(), weight=self.class_weights,
                                ignore_index=IGNORE, reduction="sum"),
                ((logits.argmax(-1) != y) & scored).sum().float(),
                scored.sum().float()]).double().cpu()
        self.model.train()
        loss, errors, frames = self.w.all_sum(sums.tolist())
        return {"valid/loss": loss / max(frames, 1), "valid/fer": errors / max(frames, 1)}

    def _finish(self) -> dict:
        """Write final_metrics.json and then final.pt (best epoch's parameters), each
        atomically: final.pt marks a finished run, so it comes last."""
        exp = self.paths.exp
        metrics = {"epochs": self.state["epoch"], "steps": self.state["step"],
                   "best_epoch": self.state["best_epoch"],
                   "best_score": self.state["best_score"],
                   "best_score_on": self.selection_metric(),
                   "train_frames_per_second": self.state["train_frames"]
                   / max(self.state["train_seconds"], 1e-9),
                   "processes": self.w.world, "device": self.w.device.type}
        self.model.load_state_dict(load_file(exp / "best_model.pt", self.w.device))
        if self.valid is not None:
            metrics.update(self.validate())
        if self.w.main:
            with atomic_open(exp / "final_metrics.json", encoding="utf-8") as f:
                json.dump(metrics, f, indent=1)
            self._save_final()
            print(f"wrote {exp}/final.pt; " + json.dumps(metrics), flush=True)
        self.w.barrier()
        return metrics

    def _save_final(self) -> None:
        """Write ``final.pt`` (main process)."""
        raise NotImplementedError

    def input_description(self) -> dict:
        d = self.config.data
        feat_dim = int(self.train.feats.shape[1])
        return {"feature_type": d.feature_type, "feat_dim": feat_dim,
                "ivector_dim": self.train.dim - feat_dim, "ivector_period": self.train.period,
                "apply_cmvn": d.apply_cmvn, "norm_vars": d.norm_vars,
                "left_context": self.model.left_context,
                "right_context": self.model.right_context,
                "subsampling": self.model.subsampling}


def _optimizer(model: AcousticModel, o: TrainOptions) -> torch.optim.Optimizer:
    groups = model.weight_decay_groups()
    if o.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=o.lr, momentum=o.momentum)
    if o.optimizer == "rmsprop":
        return torch.optim.RMSprop(groups, lr=o.lr, momentum=o.momentum)
    return torch.optim.Adam(groups, lr=o.lr)
