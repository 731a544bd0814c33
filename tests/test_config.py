"""YAML configs: typed, validated, unknown keys are errors naming file and key."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

import pytest

from sertl.config import ConfigError, load_config, save_config


@dataclass
class Optim:
    name: Literal["sgd", "rmsprop"] = "sgd"
    lr: float = 0.01


@dataclass
class Model:
    layers: list[int]
    dropout: Optional[float] = None
    optim: Optim = field(default_factory=Optim)
    labels: dict[str, str] = field(default_factory=dict)


def write(tmp_path, text):
    path = tmp_path / "model.yaml"
    path.write_text(text)
    return path


def test_nested_typed_values(tmp_path):
    cfg = load_config(write(tmp_path, "layers: [3, 4]\noptim:\n  name: rmsprop\n  lr: 1\n"
                                      "labels: {exc: hap}\n"), Model)
    assert cfg == Model(layers=[3, 4], optim=Optim("rmsprop", 1.0), labels={"exc": "hap"})
    assert isinstance(cfg.optim.lr, float)


@pytest.mark.parametrize("text,message", [
    ("layers: [1]\ndropuot: 0.1\n", "unknown key 'dropuot'"),
    ("layers: [1]\noptim: {lr: 0.1, momentum: 0.9}\n", "unknown key 'optim.momentum'"),
    ("dropout: 0.1\n", "required key 'layers' missing"),
    ("layers: [1, two]\n", r"layers\[1\]: expected int"),
    ("layers: [1]\noptim: {name: adam}\n", "optim.name: 'adam' is not one of"),
    ("layers: [1]\ndropout: yes\n", "dropout: expected float"),
    ("- 1\n- 2\n", "top level must be a mapping"),
])
def test_errors_name_file_and_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=rf"model.yaml: .*{message}"):
        load_config(write(tmp_path, text), Model)


def test_yaml_tags_cannot_run_code(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(write(tmp_path, "layers: !!python/object/apply:os.system ['true']\n"), Model)


def test_saved_copy_round_trips(tmp_path):
    cfg = Model(layers=[2], dropout=0.5)
    save_config(tmp_path / "copy.yaml", cfg)
    assert load_config(tmp_path / "copy.yaml", Model) == cfg
