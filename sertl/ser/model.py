"""The SER network: a pretrained acoustic model cut at a named layer, its first layers
optionally frozen, and a new frame classifier on top; and its saved format.

Saved SER model (``final.pt``, written by :func:`save_ser_model`, read by
:func:`load_ser_model`), a ``torch.save`` dict:

- ``format``: ``"sertl-ser-model-1"``
- ``base_config``: the acoustic model's config as a dict (with ``type``), and
  ``base_num_targets``: its number of outputs (to rebuild it before cutting)
- ``layer``, ``freeze``: the cut and the number of frozen layers (-1: all up to the cut)
- ``classifier``: the classifier options (``hidden_dim``, ``dropout``, ``l2_regularize``)
- ``classes``: class names in id order (``"sil"`` last when ``silence_class``)
- ``silence_class``: whether unvoiced frames were trained as ``"sil"``
- ``input``: as in :mod:`sertl.models`, with the context and subsampling of the cut network
- ``state_dict``: the parameters and buffers of the cut network and the classifier
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn

from sertl.config import from_dict, to_dict
from sertl.models import (build_model, load_file, load_model, model_config_from_dict,
                          save_file)
from sertl.models.base import AcousticModel
from sertl.models.layers import BatchNorm
from sertl.ser.config import ClassifierOptions

FORMAT = "sertl-ser-model-1"


def _classifier(dim: int, options: ClassifierOptions, num_classes: int) -> nn.Sequential:
    """Frame classifier on (B, dim, T): [affine, ReLU, batch norm], dropout, affine."""
    layers: list[nn.Module] = []
    if options.hidden_dim:
        layers += [nn.Conv1d(dim, options.hidden_dim, 1), nn.ReLU(),
                   BatchNorm(options.hidden_dim)]
        dim = options.hidden_dim
    layers += [nn.Dropout(options.dropout), nn.Conv1d(dim, num_classes, 1)]
    return nn.Sequential(*layers)


class TransferModel(nn.Module):
    """``classifier(base(x, until=layer))``; the base's layers after ``layer`` are dropped.

    The first ``freeze`` layers of the base (all kept ones for -1) do not train: their
    parameters have ``requires_grad`` off, are left out of :meth:`weight_decay_groups`
    (hence of the optimiser), and the layers stay in eval mode when the model is put in
    train mode, so their batch-norm statistics and dropout stay as pretrained. Input
    and output follow :class:`sertl.models.base.AcousticModel`, with the context and
    subsampling of the cut network.
    """

    def __init__(self, base: AcousticModel, base_num_targets: int, layer: str, freeze: int,
                 classifier: ClassifierOptions, num_classes: int):
        super().__init__()
        base.check_until(layer)
        names = base.layer_names()
        kept = names[:names.index(layer) + 1]
        if freeze > len(kept):
            raise ValueError(f"freeze {freeze}: the network cut at '{layer}' has only "
                             f"{len(kept)} layers ({', '.join(kept)})")
        self.left_context, self.right_context, self.subsampling = base.layer_context(layer)
        self.input_dim = base.input_dim
        for name in names[len(kept):]:
            del base.layers[name]
        self.frozen = kept if freeze == -1 else kept[:freeze]
        for name in self.frozen:
            base.layers[name].requires_grad_(False)
        self.base, self.layer, self.freeze = base, layer, freeze
        self.base_num_targets, self.classifier_options = base_num_targets, classifier
        self.classifier = _classifier(self._bottleneck_dim(), classifier, num_classes)

    @torch.no_grad()
    def _bottleneck_dim(self) -> int:
        """Output dimension of the cut network (from one output frame)."""
        mode = self.base.training
        x = torch.zeros(1, self.left_context + 1 + self.right_context, self.input_dim)
        dim = self.base.eval()(x, until=self.layer).shape[-1]
        self.base.train(mode)
        return dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T + contexts, input_dim) -> (B, ceil(T / subsampling), classes) logits."""
        h = self.base(x, until=self.layer)
        return self.classifier(h.transpose(1, 2)).transpose(1, 2)

    def train(self, mode: bool = True) -> TransferModel:
        """Set train/eval mode; frozen layers always stay in eval mode."""
        super().train(mode)
        for name in self.frozen:
            self.base.layers[name].eval()
        return self

    def weight_decay_groups(self) -> list[dict]:
        """The base's groups restricted to trainable parameters, plus the classifier's
        (``l2_regularize`` on its weight matrices, none on biases and batch norm)."""
        groups = []
        for group in self.base.weight_decay_groups():
            params = [p for p in group["params"] if p.requires_grad]
            if params:
                groups.append({**group, "params": params})
        params = list(self.classifier.parameters())
        groups.append({"params": [p for p in params if p.dim() > 1],
                       "weight_decay": self.classifier_options.l2_regularize})
        groups.append({"params": [p for p in params if p.dim() <= 1], "weight_decay": 0.0})
        return groups

    def after_optimizer_step(self, step: int) -> None:
        """The base's hook (e.g. TDNN-F's semi-orthogonal constraint, which leaves frozen
        weights alone)."""
        self.base.after_optimizer_step(step)


def save_ser_model(path: str | Path, model: TransferModel, classes: list[str],
                   silence_class: bool, input_desc: dict[str, Any]) -> None:
    """Write ``final.pt`` in the format of the module docstring (atomically)."""
    save_file(path, {
        "format": FORMAT,
        "base_config": to_dict(model.base.config),
        "base_num_targets": model.base_num_targets,
        "layer": model.layer,
        "freeze": model.freeze,
        "classifier": to_dict(model.classifier_options),
        "classes": classes,
        "silence_class": silence_class,
        "input": input_desc,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    })


def load_ser_model(path: str | Path, device: str | torch.device = "cpu"
                   ) -> tuple[TransferModel, dict[str, Any]]:
    """The network of a saved SER model (in eval mode) and the whole saved dict."""
    saved = load_file(path)
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise ValueError(f"{path}: not a sertl SER model ({FORMAT})")
    config = model_config_from_dict(saved["base_config"], f"{path}: base_config")
    classifier = from_dict(ClassifierOptions, saved["classifier"], f"{path}: classifier")
    model = TransferModel(build_model(config, saved["base_num_targets"]),
                          saved["base_num_targets"], saved["layer"], saved["freeze"],
                          classifier, len(saved["classes"]))
    model.load_state_dict(saved["state_dict"])
    return model.to(device).eval(), saved


class Pretrained(NamedTuple):
    """A network to fine-tune, as read from a saved model."""
    net: AcousticModel
    num_targets: int                  # outputs of the whole network (before any cut)
    input: dict[str, Any]             # the saved input description


def load_base(path: str | Path, device: str | torch.device = "cpu") -> Pretrained:
    """The network to fine-tune from a saved model: an ASR model (:mod:`sertl.models`)
    whole, or the cut network of an SER model (fine-tuning it again, e.g. on another
    corpus for cross-lingual transfer), with every parameter trainable."""
    saved = load_file(path)
    if isinstance(saved, dict) and saved.get("format") == FORMAT:
        base, num_targets = load_ser_model(path, device)[0].base, saved["base_num_targets"]
    else:
        base, saved = load_model(path, device)
        num_targets = saved["num_targets"]
    return Pretrained(base.requires_grad_(True), num_targets, saved["input"])
