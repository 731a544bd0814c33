"""The training loop shared by the utterance-image SER systems (``resnet34``, ``vgg16``):
a schedule of phases, each with its epochs, learning rate, batch size and early
stopping on the validation speakers, training either the new ``head`` (the body frozen:
weights and batch-norm statistics) or ``all`` of the network.

Training is utterance-level cross-entropy with Adam (against hard labels, or the mixed
labels of CutMix). Epoch e of phase p visits the training utterances in an order drawn
from (seed, p, e) alone, and batch b of it gets the random key (seed, p, e, b) for
whatever a system draws per batch (augmentation, CutMix), so nothing random but
torch's RNG (dropout) needs saving. After each epoch the exp dir gets checkpoint.pt
(model, optimiser, phase, epoch, early-stopping state, torch RNG), so a killed run
resumes at its last epoch and repeats the uninterrupted run's losses; at the end of a
phase the network goes back to that phase's best epoch (by validation UA or loss)
before the next phase starts.

The exp dir gets config.yaml, valid_spk, checkpoint.pt, best_model.pt, metrics.jsonl,
tensorboard/, final_metrics.json and, written last, final.pt (the system's own format).
A system subclasses :class:`ImageTrainer` with its data, network, batches and final
model; its network has ``freeze_body(bool)`` and ``forward(images, lengths)``.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
import torch
import torch.nn.functional as F

from sertl.config import save_config
from sertl.io import atomic_open, read_table
from sertl.models import load_file, save_file
from sertl.ser.svm import unweighted_recall
from sertl.train.data import split_by_speaker
from sertl.train.metrics import MetricsWriter


@dataclass
class Phase:
    """One phase of the training schedule."""
    train: Literal["head", "all"]          # head: the body frozen
    epochs: int
    lr: float
    batch_size: int = 25
    early_stopping_patience: int = 0       # epochs without improvement (0: off)
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.lr <= 0 or self.batch_size < 1:
            raise ValueError("epochs, lr and batch_size must be positive")


@dataclass
class LabelledSplit:
    """A data dir's labelled utterances: training part, validation speakers, classes."""
    classes: list[str]
    train: list[str]
    train_labels: list[int]
    valid: list[str]
    valid_labels: list[int]
    valid_spk: list[str]


def split_labelled(data: Path, num_valid_speakers: int, seed: int,
                   say: Callable[[str], None]) -> LabelledSplit:
    """Hold out validation speakers; classes are the training part's sorted labels (as
    the other systems order them), and a validation utterance of another class is left
    out, with a note."""
    utt2emo = read_table(data / "utt2emo")
    utt2spk = read_table(data / "utt2spk")
    labelled = {u: s for u, s in utt2spk.items() if u in utt2emo}
    train, valid, valid_spk = split_by_speaker(labelled, num_valid_speakers, seed)
    classes = sorted({utt2emo[u] for u in train})
    unknown = [u for u in valid if utt2emo[u] not in classes]
    if unknown:
        say(f"{data}: skipping {len(unknown)} validation utterance(s) whose class no "
            f"training speaker has: {' '.join(unknown)}")
        valid = [u for u in valid if u not in set(unknown)]
    index = {c: k for k, c in enumerate(classes)}
    split = LabelledSplit(classes, train, [index[utt2emo[u]] for u in train], valid,
                          [index[utt2emo[u]] for u in valid], valid_spk)
    counts = np.bincount(split.train_labels, minlength=len(classes))
    say(f"{len(train)} training utterances ({', '.join(f'{c} {n}' for c, n in zip(classes, counts))}), "
        f"{len(valid)} validation utterances of speakers {' '.join(valid_spk)}")
    return split


class ImageTrainer:
    """Trains the phases of a conf (module docstring). ``config`` has ``phases``,
    ``model_selection`` and ``seed``; a subclass sets ``self.split`` (a LabelledSplit)
    and ``self.model`` in its ``__init__`` before training, and provides the hooks
    below."""

    def __init__(self, config: Any, exp: Path, device: torch.device,
                 say: Callable[[str], None] = lambda line: print(line, file=sys.stderr)):
        self.config, self.exp, self.device, self.say = config, exp, device, say
        torch.manual_seed(config.seed)
        self.state = {"phase": 0, "epoch": 0, "step": 0, "best_score": float("inf"),
                      "best_epoch": 0, "bad_epochs": 0, "metrics_records": 0,
                      "phases": []}
        self.optimizer: torch.optim.Optimizer | None = None
        self.split: LabelledSplit
        self.model: torch.nn.Module

    # -- what a system provides ----------------------------------------------------------

    def training_batch(self, index: np.ndarray, key: list[int]
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Inputs, lengths and targets (class indices or class distributions) of the
        training utterances ``index``; ``key`` seeds what the batch draws."""
        raise NotImplementedError

    def valid_posteriors(self) -> np.ndarray:
        """(validation utterances, classes) posteriors in eval mode."""
        raise NotImplementedError

    def save_final(self, path: Path) -> None:
        """Write the final model (the system's format)."""
        raise NotImplementedError

    def epoch_metrics(self) -> dict[str, float]:
        """What else an epoch records (e.g. the seconds spent on features)."""
        return {}

    # -- checkpoints ---------------------------------------------------------------------

    def _start_phase(self, phase: Phase) -> None:
        """Freeze or unfreeze the body and make the phase's optimiser."""
        self.model.freeze_body(phase.train == "head")
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(params, lr=phase.lr, weight_decay=phase.weight_decay)

    def save_checkpoint(self) -> None:
        save_file(self.exp / "checkpoint.pt", {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict() if self.state["epoch"] else None,
            "state": dict(self.state), "rng": torch.get_rng_state()})

    def resume(self) -> bool:
        """Continue from checkpoint.pt if there is one; True if so."""
        path = self.exp / "checkpoint.pt"
        if not path.exists():
            return False
        ckpt = load_file(path, self.device)
        self.model.load_state_dict(ckpt["model"])
        self.state = ckpt["state"]
        if self.state["phase"] < len(self.config.phases):
            self._start_phase(self.config.phases[self.state["phase"]])
            if ckpt["optimizer"] is not None:  # None at a phase's start: a fresh one
                self.optimizer.load_state_dict(ckpt["optimizer"])
        torch.set_rng_state(ckpt["rng"].cpu())
        self.say(f"resumed from {path} at phase {self.state['phase'] + 1}, epoch "
                 f"{self.state['epoch'] + 1}")
        return True

    # -- training ------------------------------------------------------------------------

    def run(self, on_epoch: Callable[[int, int], None] | None = None) -> dict:
        """Train every phase and write the final model; returns the final metrics.
        ``on_epoch(phase, epoch)`` (1-based) is called after each epoch's checkpoint."""
        self.exp.mkdir(parents=True, exist_ok=True)
        save_config(self.exp / "config.yaml", self.config)
        (self.exp / "valid_spk").write_text("".join(f"{s}\n" for s in self.split.valid_spk))
        resumed = self.resume()
        writer = MetricsWriter(self.exp, step=self.state["step"],
                               records=self.state["metrics_records"] if resumed else None)
        try:
            while self.state["phase"] < len(self.config.phases):
                phase = self.config.phases[self.state["phase"]]
                if self.optimizer is None:
                    self._start_phase(phase)
                while self.state["epoch"] < phase.epochs and not self._stopped(phase):
                    self._train_epoch(phase, writer)
                    if on_epoch:
                        on_epoch(self.state["phase"] + 1, self.state["epoch"])
                self._end_phase(writer)
        finally:
            writer.close()
        return self._finish()

    def _stopped(self, phase: Phase) -> bool:
        patience = phase.early_stopping_patience
        return bool(patience and self.state["bad_epochs"] >= patience)

    def _train_epoch(self, phase: Phase, writer: MetricsWriter) -> None:
        s, seed = self.state, self.config.seed
        count = len(self.split.train)
        order = np.random.default_rng([seed, s["phase"], s["epoch"]]).permutation(count)
        self.model.train()
        tic = time.monotonic()
        loss_sum = correct = 0.0
        batches = -(-count // phase.batch_size)
        for b, start in enumerate(range(0, count, phase.batch_size)):
            index = order[start:start + phase.batch_size]
            x, lengths, y = self.training_batch(index, [seed, s["phase"], s["epoch"], b])
            y = y.to(self.device)
            logits = self.model(x.to(self.device), lengths)
            loss = F.cross_entropy(logits, y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            loss_sum += float(loss.detach()) * len(index)
            hard = y if y.dim() == 1 else y.argmax(-1)
            correct += float((logits.argmax(-1) == hard).sum())
            s["step"] += 1
            elapsed = time.monotonic() - tic
            if elapsed > 60 and (b + 1) % 10 == 0:  # long epochs: a rate and an ETA
                self.say(f"  batch {b + 1}/{batches}: {(b + 1) / elapsed:.2f} batches/s, "
                         f"epoch ETA {(batches - b - 1) * elapsed / (b + 1):.0f} s")
        metrics = {"train/loss": loss_sum / count, "train/accuracy": correct / count,
                   "train/seconds": time.monotonic() - tic, **self.epoch_metrics()}
        if self.split.valid:
            metrics.update(self.validate())
        score = (-metrics["valid/ua"] if self.config.model_selection == "ua"
                 else metrics["valid/loss"]) if self.split.valid else metrics["train/loss"]
        improved = score < s["best_score"]
        if improved:
            s["best_score"], s["best_epoch"], s["bad_epochs"] = score, s["epoch"] + 1, 0
            save_file(self.exp / "best_model.pt", self.model.state_dict())
        else:
            s["bad_epochs"] += 1
        s["epoch"] += 1
        writer.write(s["step"], metrics, phase=s["phase"] + 1, epoch=s["epoch"])
        self.say(f"phase {s['phase'] + 1} ({phase.train}) epoch {s['epoch']}/{phase.epochs}: "
                 + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
                 + (" (best)" if improved else ""))
        s["metrics_records"] = writer.records
        self.save_checkpoint()

    def validate(self) -> dict[str, float]:
        """Cross-entropy and UA on the validation speakers."""
        post = self.valid_posteriors()
        refs = np.asarray(self.split.valid_labels)
        loss = float(-np.log(np.maximum(post[np.arange(len(refs)), refs], 1e-12)).mean())
        classes = self.split.classes
        ua = unweighted_recall([classes[i] for i in refs],
                               [classes[i] for i in post.argmax(axis=1)])
        return {"valid/loss": loss, "valid/ua": ua}

    def _end_phase(self, writer: MetricsWriter) -> None:
        """Back to the phase's best epoch; the next phase starts fresh."""
        s = self.state
        self.model.load_state_dict(load_file(self.exp / "best_model.pt", self.device))
        s["phases"].append({"train": self.config.phases[s["phase"]].train,
                            "epochs": s["epoch"], "best_epoch": s["best_epoch"],
                            "best_score": s["best_score"]})
        self.say(f"phase {s['phase'] + 1}: best epoch {s['best_epoch']} of {s['epoch']}")
        s.update(phase=s["phase"] + 1, epoch=0, best_score=float("inf"), best_epoch=0,
                 bad_epochs=0, metrics_records=writer.records)
        self.save_checkpoint()
        self.optimizer = None

    def _finish(self) -> dict:
        """final_metrics.json, then final.pt (it marks a finished run)."""
        metrics = {"phases": self.state["phases"], "classes": self.split.classes,
                   "train_utterances": len(self.split.train), "device": self.device.type}
        if self.split.valid:
            metrics.update(self.validate())
        with atomic_open(self.exp / "final_metrics.json", encoding="utf-8") as f:
            json.dump(metrics, f, indent=1)
        self.save_final(self.exp / "final.pt")
        return metrics
