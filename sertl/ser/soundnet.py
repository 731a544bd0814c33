"""The SoundNet SER system (Elshaer et al.): a five-layer SoundNet trunk on raw 16 kHz
audio (sertl.models.soundnet), trained on random segments in balanced batches and scored
on overlapping windows; for two classes a detector (anger) judged by AU-ROC.

```yaml
system: soundnet
positive: ang        # two classes: the detected one (the second class, scored as in
                     # sertl.ser.metrics); the other class comes from utt2emo
model:               # SoundNet5Config: conv4_channels, dropout
transfer:            # layers: the first k layers from the pretrained model; freeze: f
windows:             # window, hop, min_audio (seconds)
rule: window_mean    # utterance score from window scores: window_mean or window_max
training:            # per_class, lr, num_batches, valid_every, augmentation ...
```

Decisions:

- Classes are the sorted labels of utt2emo, except that ``positive`` goes last, so that
  for a detector classes[1] is the detected class, as sertl.ser.metrics and the ROC
  expect.
- The pretrained model is a torch7 SoundNet file (``*.t7``, SoundNet's release) or a
  dir (or final.pt) of this system, e.g. the same network trained on another corpus or
  task; its first ``transfer.layers`` layers are copied (convolution and batch norm),
  the first ``transfer.freeze`` of them kept fixed, the rest initialised at random.
- Model selection: every ``valid_every`` batches the validation speakers' utterances
  are scored as at test time (windows, the conf's rule) and the model with the best
  AU-ROC (two classes) or UA (more) is kept; without validation speakers, the last.
  A checkpoint is written at each validation; a rerun resumes from it and, since
  batch ``b`` and its augmentation and dropout depend on the seed and ``b`` only,
  repeats the uninterrupted run.
- Utterance scores: ``window_mean`` is the mean of the windows' class probabilities;
  ``window_max`` for two classes is (1 - m, m) with m the detected class's highest
  window probability (the utterance is as angry as its angriest window), for more
  classes each class's highest window probability.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Literal

import numpy as np
import torch
import torch.nn.functional as F

from sertl.audio import iter_utterances
from sertl.config import from_dict, to_dict
from sertl.io import atomic_open, read_table
from sertl.models import load_file, save_file
from sertl.models.soundnet import SoundNet5, SoundNet5Config, load_layers, read_torch7
from sertl.ser.metrics import UtteranceScores, compute_metrics
from sertl.ser.roc import auroc
from sertl.ser.waveform import (Augmentation, BalancedBatches, Windowing, normalise,
                                random_segment)
from sertl.train.data import split_by_speaker

FORMAT = "sertl-soundnet-1"
RULES = ("window_mean", "window_max")


@dataclass
class TransferLayers:
    """Which layers come from the pretrained model and which of them stay fixed."""
    layers: int = 0                        # first k layers copied; 0: none (scratch)
    freeze: int = 0                        # first f layers frozen (f <= k)

    def __post_init__(self) -> None:
        if not 0 <= self.layers <= 5 or not 0 <= self.freeze <= self.layers:
            raise ValueError("need 0 <= freeze <= layers <= 5")


@dataclass
class WindowOptions:
    """The windows an utterance is scored on and the training segments, in seconds."""
    window: float = 1.2
    hop: float = 0.6
    min_audio: float = 1.0                 # least audio in a window or a training utterance

    def samples(self, rate: int) -> Windowing:
        return Windowing(round(self.window * rate), round(self.hop * rate),
                         round(self.min_audio * rate))


@dataclass
class SoundnetTraining:
    """Optimisation (Adam), balanced batches, augmentation and model selection."""
    per_class: int = 5                     # segments of each class per batch
    lr: float = 0.005
    num_batches: int = 2000
    valid_every: int = 200                 # batches between validations (and checkpoints)
    num_valid_speakers: int = 1            # drawn from the training data's speakers
    early_stopping_patience: int = 0       # validations without improvement (0: off)
    augmentation: Augmentation | None = field(default_factory=Augmentation)
    seed: int = 0

    def __post_init__(self) -> None:
        if min(self.per_class, self.num_batches, self.valid_every) < 1 or self.lr <= 0:
            raise ValueError("per_class, num_batches, valid_every and lr must be positive")


@dataclass
class SoundnetConfig:
    """The whole conf (module docstring)."""
    system: Literal["soundnet"]
    positive: str | None = None
    sample_rate: int = 16000
    model: SoundNet5Config = field(default_factory=SoundNet5Config)
    transfer: TransferLayers = field(default_factory=TransferLayers)
    windows: WindowOptions = field(default_factory=WindowOptions)
    rule: Literal["window_mean", "window_max"] = "window_mean"
    training: SoundnetTraining = field(default_factory=SoundnetTraining)


def class_order(labels: Iterable[str], positive: str | None) -> list[str]:
    """The sorted labels with ``positive`` moved last (module notes)."""
    classes = sorted(set(labels))
    if positive is not None:
        if positive not in classes:
            raise ValueError(f"positive class '{positive}' is not among the labels "
                             f"{' '.join(classes)}")
        if len(classes) != 2:
            raise ValueError(f"a detector of '{positive}' needs two classes, the labels "
                             f"are {' '.join(classes)} (use a binary label map)")
        classes.remove(positive)
        classes.append(positive)
    return classes


def read_audio(data_dir: Path, utts: Iterable[str], rate: int) -> dict[str, np.ndarray]:
    """The samples of ``utts`` (16-bit scale, at ``rate``); a missing one is an error."""
    wanted = set(utts)
    audio = {utt: samples for utt, samples in iter_utterances(data_dir, rate) if utt in wanted}
    missing = sorted(wanted - set(audio))
    if missing:
        raise ValueError(f"{data_dir}: no audio for utterance '{missing[0]}' "
                         "(not in wav.scp or segments)")
    return audio


def pretrained_state(path: Path) -> dict[str, torch.Tensor]:
    """The layers of a pretrained model: a torch7 SoundNet file, or a dir or final.pt of
    this system."""
    if path.is_file() and path.suffix == ".t7":
        return read_torch7(path)
    model_path = path / "final.pt" if path.is_dir() else path
    return load_soundnet_file(model_path)["state_dict"]


def load_soundnet_file(path: Path, device: str | torch.device = "cpu") -> dict:
    """The saved dict of a final.pt of this system (checked to be one)."""
    saved = load_file(path, device)
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise ValueError(f"{path}: not a sertl SoundNet model ({FORMAT}); a SoundNet torch7 "
                         "file must end in .t7")
    return saved


def load_soundnet(path: Path, device: str | torch.device = "cpu") -> tuple[SoundNet5, dict]:
    """The network of a final.pt (in eval mode) and the saved dict."""
    saved = load_soundnet_file(path, device)
    config = from_dict(SoundNet5Config, saved["model_config"], f"{path}: model_config")
    model = SoundNet5(config, len(saved["classes"])).to(device)
    model.load_state_dict(saved["state_dict"])
    return model.eval(), saved


@torch.no_grad()
def window_probabilities(model: SoundNet5, samples: np.ndarray, windowing: Windowing,
                         device: torch.device, batch: int = 64) -> np.ndarray:
    """(windows, classes) posteriors of an utterance's windows (model in eval mode)."""
    windows = torch.from_numpy(windowing.windows(samples))
    return torch.cat([torch.softmax(model(windows[i:i + batch].to(device)), dim=1).cpu()
                      for i in range(0, len(windows), batch)]).numpy()


def utterance_score(probabilities: np.ndarray, rule: str) -> np.ndarray:
    """An utterance's class scores from its windows' posteriors (module notes)."""
    if rule == "window_mean":
        return probabilities.mean(axis=0)
    if rule != "window_max":
        raise ValueError(f"unknown rule '{rule}' (rules: {', '.join(RULES)})")
    if probabilities.shape[1] == 2:
        m = probabilities[:, 1].max()
        return np.array([1.0 - m, m])
    return probabilities.max(axis=0)


def score_utterances(model: SoundNet5, audio: dict[str, np.ndarray], utts: list[str],
                     refs: list[str], classes: list[str], windowing: Windowing,
                     device: torch.device) -> dict[str, UtteranceScores]:
    """Scores tables of ``utts`` under every rule."""
    probs = [window_probabilities(model, audio[u], windowing, device) for u in utts]
    tables = {}
    for rule in RULES:
        scores = np.stack([utterance_score(p, rule) for p in probs])
        tables[rule] = UtteranceScores(classes, list(utts), list(refs),
                                       [classes[i] for i in scores.argmax(axis=1)], scores)
    return tables


def selection_score(table: UtteranceScores) -> float:
    """What model selection maximises: AU-ROC for two classes, else UA."""
    if len(table.classes) == 2:
        return auroc([r == table.classes[1] for r in table.refs],
                     table.scores[:, 1] - table.scores[:, 0])
    return compute_metrics(table)["ua"]


@dataclass
class TrainingSet:
    """Labelled audio of a run: training utterances and validation utterances."""
    classes: list[str]
    train_audio: list[np.ndarray]
    train_labels: list[int]
    valid_utts: list[str]
    valid_refs: list[str]
    audio: dict[str, np.ndarray]
    valid_spk: list[str]
    skipped_short: list[str]


def load_training_set(config: SoundnetConfig, data_dir: Path) -> TrainingSet:
    """Read the labelled utterances and split off the validation speakers."""
    utt2emo = read_table(data_dir / "utt2emo")
    utt2spk = read_table(data_dir / "utt2spk")
    missing = [u for u in utt2emo if u not in utt2spk]
    if missing:
        raise ValueError(f"{data_dir / 'utt2spk'}: no speaker for utterance '{missing[0]}'")
    classes = class_order(utt2emo.values(), config.positive)
    labelled = {u: utt2spk[u] for u in utt2emo}
    train_utts, valid_utts, valid_spk = split_by_speaker(
        labelled, config.training.num_valid_speakers, config.training.seed, utt2emo)
    audio = read_audio(data_dir, utt2emo, config.sample_rate)
    least = config.windows.samples(config.sample_rate).min_audio
    short = [u for u in train_utts if len(audio[u]) < least]
    kept = [u for u in train_utts if len(audio[u]) >= least]
    return TrainingSet(classes, [audio[u] for u in kept],
                       [classes.index(utt2emo[u]) for u in kept], valid_utts,
                       [utt2emo[u] for u in valid_utts], audio, valid_spk, short)


class SoundnetTrainer:
    """One training run into an exp dir (module notes); :meth:`run` trains or resumes."""

    def __init__(self, config: SoundnetConfig, data_dir: Path, pretrained: Path | None,
                 exp_dir: Path, device: torch.device, say: Callable[[str], None]):
        self.config, self.exp, self.device, self.say = config, exp_dir, device, say
        self.o = config.training
        self.data = load_training_set(config, data_dir)
        self.windowing = config.windows.samples(config.sample_rate)
        torch.manual_seed(self.o.seed)
        self.model = SoundNet5(config.model, len(self.data.classes))
        if config.transfer.layers:
            if pretrained is None:
                raise ValueError(f"transfer.layers {config.transfer.layers} needs a "
                                 "pretrained model (a SoundNet .t7 or a soundnet exp)")
            load_layers(self.model, pretrained_state(pretrained), config.transfer.layers,
                        str(pretrained))
        elif pretrained is not None:
            say(f"transfer.layers is 0: {pretrained} is not used (training from scratch)")
        self.model.freeze(config.transfer.freeze)
        self.model.to(device)
        self.optimizer = torch.optim.Adam(
            [p for p in self.model.parameters() if p.requires_grad], lr=self.o.lr)
        self.sampler = BalancedBatches(self.data.train_labels, len(self.data.classes),
                                       self.o.per_class, self.o.seed)
        self.state = {"batch": 0, "best": -np.inf, "best_batch": 0, "bad": 0,
                      "history": [], "loss_sum": 0.0}

    def _batch(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.o.seed, index])
        picked = self.sampler.batch(index)
        segments = [random_segment(self.data.train_audio[i], self.windowing.window,
                                   self.config.sample_rate, rng, self.o.augmentation)
                    for i in picked]
        labels = [self.data.train_labels[i] for i in picked]
        return (torch.from_numpy(np.stack(segments)).to(self.device),
                torch.tensor(labels, device=self.device))

    def _validate(self) -> float | None:
        if not self.data.valid_utts:
            return None
        self.model.eval()
        table = score_utterances(self.model, self.data.audio, self.data.valid_utts,
                                 self.data.valid_refs, self.data.classes, self.windowing,
                                 self.device)[self.config.rule]
        self.model.train()
        return selection_score(table)

    def _checkpoint(self) -> None:
        save_file(self.exp / "checkpoint.pt", {"model": self.model.state_dict(),
                                               "optimizer": self.optimizer.state_dict(),
                                               "state": dict(self.state)})

    def _resume(self) -> None:
        path = self.exp / "checkpoint.pt"
        if path.exists():
            ckpt = load_file(path, self.device)
            self.model.load_state_dict(ckpt["model"])
            self.optimizer.load_state_dict(ckpt["optimizer"])
            self.state = ckpt["state"]
            self.say(f"resumed from {path} at batch {self.state['batch']}")

    def run(self) -> dict:
        """Train to ``num_batches`` (or early stop); write final.pt and the metrics."""
        d, s = self.data, self.state
        self.exp.mkdir(parents=True, exist_ok=True)
        (self.exp / "valid_spk").write_text("".join(f"{x}\n" for x in d.valid_spk))
        counts = np.bincount(d.train_labels, minlength=len(d.classes))
        self.say(f"classes {' '.join(d.classes)}; training utterances per class "
                 f"{counts.tolist()} ({len(d.skipped_short)} shorter than "
                 f"{self.config.windows.min_audio} s left out); validation speakers "
                 f"{' '.join(d.valid_spk) or '(none)'}; {self.o.num_batches} batches of "
                 f"{self.o.per_class} per class; frozen layers {self.model.frozen}")
        self._resume()
        self.model.train()
        while s["batch"] < self.o.num_batches and not (
                self.o.early_stopping_patience and s["bad"] >= self.o.early_stopping_patience):
            torch.manual_seed(self.o.seed * 1_000_003 + s["batch"])  # dropout masks
            x, y = self._batch(s["batch"])
            loss = F.cross_entropy(self.model(x), y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            s["loss_sum"] += loss.item()
            s["batch"] += 1
            if s["batch"] % self.o.valid_every == 0 or s["batch"] == self.o.num_batches:
                self._end_interval()
        return self._finish()

    def _end_interval(self) -> None:
        s = self.state
        since = s["batch"] - (s["history"][-1]["batch"] if s["history"] else 0)
        record = {"batch": s["batch"], "train_loss": s["loss_sum"] / max(since, 1),
                  "valid_score": self._validate()}
        s["loss_sum"] = 0.0
        s["history"].append(record)
        score = record["valid_score"] if record["valid_score"] is not None else s["batch"]
        improved = score > s["best"]
        if improved:
            s["best"], s["best_batch"], s["bad"] = score, s["batch"], 0
            save_file(self.exp / "best_model.pt", self.model.state_dict())
        else:
            s["bad"] += 1
        with atomic_open(self.exp / "metrics.jsonl", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in s["history"])
        valid = ("-" if record["valid_score"] is None else f"{record['valid_score']:.4f}")
        self.say(f"batch {s['batch']}: train loss {record['train_loss']:.4f}, validation "
                 f"{'AU-ROC' if len(self.data.classes) == 2 else 'UA'} {valid}"
                 + (" (best)" if improved else ""))
        self._checkpoint()

    def _finish(self) -> dict:
        s = self.state
        self.model.load_state_dict(load_file(self.exp / "best_model.pt", self.device))
        metrics = {"batches": s["batch"], "best_batch": s["best_batch"],
                   "best_valid_score": s["best"] if self.data.valid_utts else None,
                   "valid_score_is": "auroc" if len(self.data.classes) == 2 else "ua",
                   "classes": self.data.classes, "frozen_layers": self.model.frozen,
                   "transferred_layers": self.config.transfer.layers,
                   "device": self.device.type}
        with atomic_open(self.exp / "final_metrics.json", encoding="utf-8") as f:
            json.dump(metrics, f, indent=1)
        save_file(self.exp / "final.pt", {
            "format": FORMAT, "model_config": to_dict(self.config.model),
            "classes": self.data.classes, "sample_rate": self.config.sample_rate,
            "windows": to_dict(self.config.windows), "rule": self.config.rule,
            "state_dict": {k: v.detach().cpu() for k, v in self.model.state_dict().items()}})
        return metrics


def stream_scores(model: SoundNet5, windowing: Windowing, blocks: Iterable[np.ndarray],
                  rate: int, device: torch.device | str = "cpu"
                  ) -> Iterator[tuple[float, float, np.ndarray]]:
    """Score a stream as it arrives: ``(start s, end s, class posteriors)`` of each window
    as soon as its audio is in (every hop once the first window is full). The windows
    and scores are those :func:`window_probabilities` gives the whole recording, the
    last ones (zero-padded) when the stream ends."""
    buffer = np.zeros(0, dtype=np.float32)
    start = 0                                   # sample index of buffer[0]

    @torch.no_grad()
    def score(k_start: int, audio: np.ndarray) -> tuple[float, float, np.ndarray]:
        window = np.zeros(windowing.window, dtype=np.float32)
        window[:len(audio)] = audio[:windowing.window]
        x = torch.from_numpy(normalise(window)).unsqueeze(0).to(device)
        p = torch.softmax(model(x), dim=1)[0].cpu().numpy()
        return k_start / rate, (k_start + min(len(audio), windowing.window)) / rate, p

    received = 0
    for block in blocks:
        buffer = np.concatenate([buffer, np.asarray(block, dtype=np.float32)])
        received += len(block)
        while len(buffer) >= windowing.window:
            yield score(start, buffer)
            buffer, start = buffer[windowing.hop:], start + windowing.hop
    if received < windowing.min_audio:
        yield score(0, buffer)
        return
    while start + windowing.min_audio <= received:
        yield score(start, buffer)
        buffer, start = buffer[windowing.hop:], start + windowing.hop
