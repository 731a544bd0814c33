"""The ``resnet34`` SER system: a ResNet34 on utterance spectrogram images, trained in
phases for cross-lingual transfer (Durrani & Arshad).

A conf (``system: resnet34``) gives the spectrogram options (the data dir it reads is
made by steps/make_spectrograms.sh with them), the network, and the transfer schedule
as a list of phases, each with its epochs, learning rate, batch size and early stopping
on the validation speakers, training either the new ``head`` (the body frozen: weights
and batch-norm statistics) or ``all`` of the network. The paper's schedule is three runs
of this system: phase 1 on all of the source corpus (init random or imagenet,
``[all]``), then on each target fold from that exp (init pretrained, ``[head, all]``).

Training is utterance-level cross-entropy with Adam; every utterance image is
standardised on itself (zero mean, unit variance: the dB scale of log mel and MFCC
differs by utterance and corpus) and the images of a batch are padded in time with
zeros. Epoch e of phase p visits the training utterances in an order drawn from
(seed, p, e) alone. After each epoch the exp dir gets checkpoint.pt (model, optimiser,
phase, epoch, early-stopping state, RNG), so a killed run resumes at its last epoch and
repeats the uninterrupted run's losses; at the end of a phase the network goes back to
that phase's best epoch (by validation UA or loss) before the next phase starts.

The exp dir gets config.yaml, valid_spk, checkpoint.pt, best_model.pt, metrics.jsonl,
tensorboard/, final_metrics.json and, written last, final.pt: a plain dict
(``format``, ``classes``, ``layers``, ``dropout``, ``spectrogram``, ``state_dict``)
that loads with ``weights_only=True``.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from sertl.config import ConfigError, save_config, to_dict
from sertl.io import TableError, atomic_open, load_matrix, read_scp, read_table
from sertl.models import load_file, save_file
from sertl.models.resnet import RESNET34_LAYERS, ResNetClassifier, load_torchvision_weights
from sertl.ser.svm import unweighted_recall
from sertl.spectrogram import SpectrogramOptions, read_spectrogram_config
from sertl.train.data import split_by_speaker
from sertl.train.metrics import MetricsWriter

FORMAT = "sertl-resnet-ser/1"


@dataclass
class NetworkOptions:
    """The network and its initialisation."""
    layers: list[int] = field(default_factory=lambda: list(RESNET34_LAYERS))
    dropout: float = 0.1                   # before the softmax layer
    init: Literal["random", "imagenet", "pretrained"] = "random"
    imagenet_weights: str = ""             # init imagenet: torchvision resnet34 state dict

    def __post_init__(self) -> None:
        if len(self.layers) != 4 or min(self.layers) < 1:
            raise ValueError("layers must give 4 positive block counts (ResNet34: 3 4 6 3)")
        if not 0 <= self.dropout < 1:
            raise ValueError("dropout must lie in [0, 1)")
        if self.init == "imagenet" and list(self.layers) != list(RESNET34_LAYERS):
            raise ValueError("init imagenet needs the ResNet34 layers [3, 4, 6, 3]")
        if (self.init == "imagenet") != bool(self.imagenet_weights):
            raise ValueError("imagenet_weights is given exactly when init is imagenet")


@dataclass
class Phase:
    """One phase of the transfer schedule."""
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
class ResnetConfig:
    """A ``system: resnet34`` conf (module docstring)."""
    system: Literal["resnet34"]
    phases: list[Phase]
    spectrogram: SpectrogramOptions = field(default_factory=SpectrogramOptions)
    network: NetworkOptions = field(default_factory=NetworkOptions)
    num_valid_speakers: int = 2            # held out of the training part
    model_selection: Literal["ua", "loss"] = "ua"  # each phase's best epoch, on validation
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.phases:
            raise ValueError("phases must list at least one phase")
        if self.num_valid_speakers < 0:
            raise ValueError("num_valid_speakers must not be negative")


@dataclass
class Images:
    """Standardised spectrogram images of utterances, with class indices (-1: none)."""
    utts: list[str]
    images: list[np.ndarray]               # (frames, bins) float32 each
    labels: np.ndarray

    def batch(self, index: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """The images of ``index`` padded with zeros to the longest: (B, T, bins), (B,)."""
        chosen = [self.images[i] for i in index]
        lengths = torch.tensor([len(x) for x in chosen])
        out = torch.zeros(len(chosen), int(lengths.max()), chosen[0].shape[1])
        for row, x in enumerate(chosen):
            out[row, :len(x)] = torch.from_numpy(x)
        return out, lengths


def standardise(image: np.ndarray) -> np.ndarray:
    """The image at zero mean and unit variance (a constant image: zero)."""
    std = image.std()
    return ((image - image.mean()) / (std if std > 0 else 1.0)).astype(np.float32)


def check_data_options(data_dir: Path, opts: SpectrogramOptions, what: str) -> None:
    """A data dir made by steps/make_spectrograms.sh records its options; they must be
    ``opts`` (a subset of it, e.g. a fold's part, may lack the record)."""
    record = data_dir / "spectrogram.conf"
    if record.is_file():
        made = read_spectrogram_config(record)
        if made != opts:
            raise ValueError(f"{record}: the images were made with other options than "
                             f"{what} takes ({' '.join(opts.kaldi_args())})")


def load_images(data_dir: Path, utts: Sequence[str], labels: Sequence[int],
                opts: SpectrogramOptions) -> Images:
    """The standardised images of ``utts`` from ``data_dir``/feats.scp."""
    scp = data_dir / "feats.scp"
    table = read_scp(scp)
    images = []
    for utt in utts:
        if utt not in table:
            raise TableError(f"{scp}: no utterance '{utt}'")
        image = load_matrix(table[utt])
        if image.ndim != 2 or image.shape[1] != opts.dim:
            raise TableError(f"{scp}: utterance '{utt}' has shape {image.shape}, but the "
                             f"system takes (frames, {opts.dim}) {opts.type} images")
        images.append(standardise(image))
    return Images(list(utts), images, np.asarray(labels, dtype=np.int64))


@torch.no_grad()
def posteriors(model: ResNetClassifier, data: Images, device: torch.device,
               batch_size: int = 16) -> np.ndarray:
    """(N, classes) posteriors, in eval mode, batching utterances of similar length."""
    model.eval()
    order = np.argsort([len(x) for x in data.images], kind="stable")
    out = np.zeros((len(data.utts), model.head.out_features), dtype=np.float64)
    for start in range(0, len(order), batch_size):
        index = order[start:start + batch_size]
        x, lengths = data.batch(index)
        out[index] = F.softmax(model(x.to(device), lengths).float(), dim=-1).cpu().numpy()
    return out


def save_resnet_model(path: Path, model: ResNetClassifier, classes: list[str],
                      opts: SpectrogramOptions) -> None:
    """Write final.pt (module docstring), atomically."""
    save_file(path, {"format": FORMAT, "classes": classes, "layers": model.layers,
                     "dropout": model.dropout.p, "spectrogram": to_dict(opts),
                     "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}})


def load_resnet_model(path: Path, device: torch.device
                      ) -> tuple[ResNetClassifier, list[str], SpectrogramOptions]:
    """The network (eval mode), classes and spectrogram options of a final.pt."""
    saved = load_file(path, device)
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise ValueError(f"{path}: not a sertl ResNet SER model ({FORMAT})")
    model = ResNetClassifier(len(saved["classes"]), saved["layers"], saved["dropout"])
    model.load_state_dict(saved["state_dict"])
    return model.to(device).eval(), list(saved["classes"]), \
        SpectrogramOptions(**saved["spectrogram"])


@dataclass
class ResnetPaths:
    """Inputs and output of a training run."""
    data: Path
    pretrained: Path | None        # final.pt of a resnet34 exp (init pretrained)
    exp: Path


class ResnetTrainer:
    """Trains the phases of a conf; see the module docstring."""

    def __init__(self, config: ResnetConfig, paths: ResnetPaths, device: torch.device,
                 say: Callable[[str], None] = lambda line: print(line, file=sys.stderr)):
        self.config, self.paths, self.device, self.say = config, paths, device, say
        net = config.network
        if (net.init == "pretrained") != (paths.pretrained is not None):
            raise ConfigError("network.init pretrained needs a pretrained resnet34 exp, and "
                              "only it uses one" if net.init == "pretrained" else
                              f"network.init is {net.init}: give 'none', not a pretrained exp")
        torch.manual_seed(config.seed)
        check_data_options(paths.data, config.spectrogram, "the conf")
        self._load_data()
        self.model = self._build_model().to(device)
        self.state = {"phase": 0, "epoch": 0, "step": 0, "best_score": float("inf"),
                      "best_epoch": 0, "bad_epochs": 0, "metrics_records": 0,
                      "phases": []}
        self.optimizer: torch.optim.Optimizer | None = None

    def _load_data(self) -> None:
        """Labelled utterances, classes, the validation speakers, the images."""
        data = self.paths.data
        utt2emo = read_table(data / "utt2emo")
        utt2spk = read_table(data / "utt2spk")
        labelled = {u: s for u, s in utt2spk.items() if u in utt2emo}
        train, valid, self.valid_spk = split_by_speaker(labelled, self.config.num_valid_speakers,
                                                        self.config.seed)
        self.classes = sorted({utt2emo[u] for u in train})  # as the other systems order them
        unknown = [u for u in valid if utt2emo[u] not in self.classes]
        if unknown:
            self.say(f"{data}: skipping {len(unknown)} validation utterance(s) whose class "
                     f"no training speaker has: {' '.join(unknown)}")
            valid = [u for u in valid if u not in set(unknown)]
        index = {c: k for k, c in enumerate(self.classes)}
        opts = self.config.spectrogram
        self.train = load_images(data, train, [index[utt2emo[u]] for u in train], opts)
        self.valid = (load_images(data, valid, [index[utt2emo[u]] for u in valid], opts)
                      if valid else None)
        counts = np.bincount(self.train.labels, minlength=len(self.classes))
        self.say(f"{len(train)} training utterances ({', '.join(f'{c} {n}' for c, n in zip(self.classes, counts))}), "
                 f"{len(valid)} validation utterances of speakers {' '.join(self.valid_spk)}")

    def _build_model(self) -> ResNetClassifier:
        net = self.config.network
        if net.init == "pretrained":
            model, classes, opts = load_resnet_model(self.paths.pretrained, torch.device("cpu"))
            if opts != self.config.spectrogram:
                raise ConfigError(f"{self.paths.pretrained} was trained on other spectrograms "
                                  f"({' '.join(opts.kaldi_args())}) than the conf gives")
            if model.layers != list(net.layers):
                raise ConfigError(f"{self.paths.pretrained} has blocks {model.layers}, the "
                                  f"conf {net.layers}")
            model.dropout.p = net.dropout
            model.new_head(len(self.classes))
            self.say(f"body from {self.paths.pretrained} (classes {' '.join(classes)}), "
                     f"a new head for {' '.join(self.classes)}")
            return model
        model = ResNetClassifier(len(self.classes), net.layers, net.dropout)
        if net.init == "imagenet":
            load_torchvision_weights(model, net.imagenet_weights)
        return model

    # -- checkpoints -------------------------------------------------------------------

    def _start_phase(self, phase: Phase) -> None:
        """Freeze or unfreeze the body and make the phase's optimiser."""
        self.model.freeze_body(phase.train == "head")
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(params, lr=phase.lr, weight_decay=phase.weight_decay)

    def save_checkpoint(self) -> None:
        save_file(self.paths.exp / "checkpoint.pt", {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict() if self.state["epoch"] else None,
            "state": dict(self.state), "rng": torch.get_rng_state()})

    def resume(self) -> bool:
        """Continue from checkpoint.pt if there is one; True if so."""
        path = self.paths.exp / "checkpoint.pt"
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

    # -- training ----------------------------------------------------------------------

    def run(self, on_epoch: Callable[[int, int], None] | None = None) -> dict:
        """Train every phase and write the final model; returns the final metrics.
        ``on_epoch(phase, epoch)`` (1-based) is called after each epoch's checkpoint."""
        exp = self.paths.exp
        exp.mkdir(parents=True, exist_ok=True)
        save_config(exp / "config.yaml", self.config)
        (exp / "valid_spk").write_text("".join(f"{s}\n" for s in self.valid_spk))
        resumed = self.resume()
        writer = MetricsWriter(exp, step=self.state["step"],
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
        s = self.state
        order = np.random.default_rng([self.config.seed, s["phase"], s["epoch"]]
                                      ).permutation(len(self.train.utts))
        self.model.train()
        tic = time.monotonic()
        loss_sum = correct = 0.0
        for start in range(0, len(order), phase.batch_size):
            index = order[start:start + phase.batch_size]
            x, lengths = self.train.batch(index)
            y = torch.from_numpy(self.train.labels[index]).to(self.device)
            logits = self.model(x.to(self.device), lengths)
            loss = F.cross_entropy(logits, y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            loss_sum += float(loss.detach()) * len(index)
            correct += float((logits.argmax(-1) == y).sum())
            s["step"] += 1
        metrics = {"train/loss": loss_sum / len(order), "train/accuracy": correct / len(order),
                   "train/seconds": time.monotonic() - tic}
        if self.valid is not None:
            metrics.update(self.validate())
        score = (-metrics["valid/ua"] if self.config.model_selection == "ua"
                 else metrics["valid/loss"]) if self.valid else metrics["train/loss"]
        improved = score < s["best_score"]
        if improved:
            s["best_score"], s["best_epoch"], s["bad_epochs"] = score, s["epoch"] + 1, 0
            save_file(self.paths.exp / "best_model.pt", self.model.state_dict())
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
        post = posteriors(self.model, self.valid, self.device)
        refs = self.valid.labels
        loss = float(-np.log(np.maximum(post[np.arange(len(refs)), refs], 1e-12)).mean())
        ua = unweighted_recall([self.classes[i] for i in refs],
                               [self.classes[i] for i in post.argmax(axis=1)])
        return {"valid/loss": loss, "valid/ua": ua}

    def _end_phase(self, writer: MetricsWriter) -> None:
        """Back to the phase's best epoch; the next phase starts fresh."""
        s = self.state
        self.model.load_state_dict(load_file(self.paths.exp / "best_model.pt", self.device))
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
        metrics = {"phases": self.state["phases"], "classes": self.classes,
                   "train_utterances": len(self.train.utts), "device": self.device.type}
        if self.valid is not None:
            metrics.update(self.validate())
        with atomic_open(self.paths.exp / "final_metrics.json", encoding="utf-8") as f:
            json.dump(metrics, f, indent=1)
        save_resnet_model(self.paths.exp / "final.pt", self.model, self.classes,
                          self.config.spectrogram)
        return metrics
