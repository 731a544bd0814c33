"""YAML configs: typed, validated, unknown keys are errors naming file and key."""
from __future__ import annotations

import contextlib
import signal
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


def alias_bomb(levels: int = 9) -> str:
    """A few hundred bytes of nested YAML aliases that expand to 9**levels strings."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\nlayers: [1]\ndropout: *a{levels - 1}\n"


@contextlib.contextmanager
def time_limit(seconds: int):
    """Fail (instead of hanging) when the block takes longer than ``seconds``."""
    def expired(_signum, _frame):
        raise TimeoutError(f"took more than {seconds} s")
    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_alias_bomb_fails_fast_with_a_short_message(tmp_path):
    """Nested aliases under a scalar field once took minutes and GBs (issue 12)."""
    text = alias_bomb()
    assert len(text) < 500
    with time_limit(5), pytest.raises(ConfigError, match=r"aliases expand to \d+ values") as e:
        load_config(write(tmp_path, text), Model)
    assert len(str(e.value)) < 300


def test_aliases_and_merges_within_bounds_work_and_messages_are_short(tmp_path):
    cfg = load_config(write(tmp_path, "layers: &l [1, 2]\noptim: {<<: {name: sgd, lr: 0.5}, "
                                      "lr: 0.1}\n"), Model)
    assert cfg.optim == Optim("sgd", 0.1) and cfg.layers == [1, 2]
    long_value = "x" * 10_000
    with pytest.raises(ConfigError, match="dropout: expected float") as e:
        load_config(write(tmp_path, f"layers: [1]\ndropout: {long_value}\n"), Model)
    assert len(str(e.value)) < 300
    with pytest.raises(ConfigError, match="recursive"):
        load_config(write(tmp_path, "layers: &l [1, *l]\n"), Model)


def test_duplicate_keys_are_errors_naming_the_line(tmp_path):
    with pytest.raises(ConfigError, match=r"(?s)duplicate key 'lr'.*model.yaml\", line 3"):
        load_config(write(tmp_path, "layers: [1]\noptim: {lr: 0.1,\n  lr: 0.2}\n"), Model)
    with pytest.raises(ConfigError, match=r"(?s)duplicate key 'layers'.*line 2"):
        load_config(write(tmp_path, "layers: [1]\nlayers: [2]\n"), Model)
