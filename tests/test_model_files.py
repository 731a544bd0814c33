"""Saved models never run code when loaded (a crafted final.pt; issue 12)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sertl.models import FORMAT, load_file, load_model, save_file
from sertl.ser.model import load_base, load_ser_model


class TouchOnLoad:
    """Unpickling this touches ``marker``: a stand-in for a pickle that calls os.system."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


def crafted_model(path: Path, marker: Path) -> Path:
    torch.save({"format": FORMAT, "payload": TouchOnLoad(marker)}, path)
    return path


def test_crafted_pickle_runs_code_with_weights_only_false(tmp_path: Path):
    """The crafted file works as an attack: plain unpickling touches the marker."""
    path = crafted_model(tmp_path / "final.pt", tmp_path / "marker")
    torch.load(path, weights_only=False)
    assert (tmp_path / "marker").exists()


@pytest.mark.parametrize("load", [load_model, load_ser_model, load_base])
def test_crafted_final_pt_is_refused_without_running_code(tmp_path: Path, load):
    path = crafted_model(tmp_path / "final.pt", tmp_path / "marker")
    with pytest.raises(ValueError, match=r"final.pt: refused: .* could run code"):
        load(path)
    assert not (tmp_path / "marker").exists()


def test_failed_save_keeps_the_previous_file(tmp_path: Path):
    """best_model.pt and checkpoints were once saved in place: a kill mid-write lost them."""
    path = tmp_path / "best_model.pt"
    save_file(path, {"w": torch.ones(2)})
    with pytest.raises(Exception):
        save_file(path, {"w": torch.zeros(2), "unpicklable": lambda: None})
    assert torch.equal(load_file(path)["w"], torch.ones(2))
    assert list(tmp_path.iterdir()) == [path]
