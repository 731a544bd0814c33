"""Acoustic model registry and the saved-model format.

A model config is a mapping with a ``type`` key (``tdnn``: :mod:`sertl.models.tdnn`,
``convnet``: :mod:`sertl.models.convnet`) and that type's fields; an unknown key is a
ConfigError naming it.

Saved model (``final.pt``, written with ``torch.save``, read with :func:`load_model`), a
dict of plain data plus tensors:

- ``format``: ``"sertl-acoustic-model-1"``
- ``model_config``: the model config as a dict (with ``type``)
- ``num_targets``: number of output classes
- ``state_dict``: the network's parameters and buffers
- ``input``: how to feed it: ``feature_type`` (a name such as ``mfcc_hires``),
  ``feat_dim``, ``ivector_dim`` (0: none), ``ivector_period`` (frames per i-vector row, or
  None), ``apply_cmvn``, ``norm_vars``, ``left_context``, ``right_context`` (frames),
  ``subsampling`` (one output per that many frames)
- ``targets``: the target names (index = target id), as in the alignment dir's
  ``targets.txt``
- ``decoder``: what the phone decoder needs (see :mod:`sertl.asr.decode`), or None

Every file sertl writes with ``torch.save`` (models, checkpoints) holds only plain data
and tensors, and is read with :func:`load_file` (``weights_only=True``): users load other
people's pretrained exps, and unpickling anything else could run code.
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from sertl.config import ConfigError, from_dict, to_dict
from sertl.models.base import AcousticModel
from sertl.models.convnet import ConvNet, ConvNetConfig
from sertl.models.tdnn import Tdnn, TdnnConfig

ModelConfig = TdnnConfig | ConvNetConfig
MODELS: dict[str, tuple[type, type[AcousticModel]]] = {
    "tdnn": (TdnnConfig, Tdnn),
    "convnet": (ConvNetConfig, ConvNet),
}
FORMAT = "sertl-acoustic-model-1"


def model_config_from_dict(values: dict, source: str) -> ModelConfig:
    """The typed config of a model section; ``source`` names it in errors."""
    kind = values.get("type")
    if kind not in MODELS:
        raise ConfigError(f"{source}: model type {kind!r} is not one of {list(MODELS)}")
    return from_dict(MODELS[kind][0], values, source)


def build_model(config: ModelConfig, num_targets: int) -> AcousticModel:
    """A freshly initialised network of the config's ``type``."""
    return MODELS[config.type][1](config, num_targets)


def save_model(path: str | Path, model: AcousticModel, input_desc: dict[str, Any],
               targets: list[str], decoder: dict[str, Any] | None) -> None:
    """Write ``final.pt`` in the format of the module docstring (atomically)."""
    save_file(path, {
        "format": FORMAT,
        "model_config": to_dict(model.config),
        "num_targets": len(targets),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "input": input_desc,
        "targets": targets,
        "decoder": decoder,
    })


def save_file(path: str | Path, contents: Any) -> None:
    """``torch.save`` to ``path.tmp``, renamed onto ``path`` when complete, so a kill
    never leaves a half-written model or checkpoint under the real name."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        torch.save(contents, tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)


def load_file(path: str | Path, device: str | torch.device = "cpu") -> Any:
    """What ``torch.save`` wrote to ``path``, if it is only plain data and tensors (so
    reading it runs no code); otherwise a ValueError naming the file."""
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as e:
        reason = next((line for line in str(e).splitlines() if "Unsupported" in line), "")
        raise ValueError(f"{path}: refused: it holds more than tensors and plain data, so "
                         f"loading it could run code (not written by sertl?) {reason}"
                         ) from None


def load_model(path: str | Path, device: str | torch.device = "cpu"
               ) -> tuple[AcousticModel, dict[str, Any]]:
    """The network of a saved model (in eval mode) and the whole saved dict."""
    saved = load_file(path, device)
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise ValueError(f"{path}: not a sertl acoustic model ({FORMAT})")
    config = model_config_from_dict(saved["model_config"], f"{path}: model_config")
    model = build_model(config, saved["num_targets"]).to(device)
    model.load_state_dict(saved["state_dict"])
    model.eval()
    return model, saved
