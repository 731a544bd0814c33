"""Training metrics as ``metrics.jsonl`` (one JSON object per line) and TensorBoard scalars.

The scalars go through ``torch.utils.tensorboard`` (the ``tensorboard`` package), so
``tensorboard --logdir <exp>/tensorboard`` reads them. A run resumed from a checkpoint
replays the steps after it; the writer then drops what those steps wrote before, from
metrics.jsonl and (TensorBoard's ``purge_step``) from the curves, so no step is logged
twice.
"""
from __future__ import annotations

import json
from pathlib import Path

from torch.utils.tensorboard import SummaryWriter

from sertl.io import atomic_open


class MetricsWriter:
    """Appends metrics to ``<dir>/metrics.jsonl`` and TensorBoard events in
    ``<dir>/tensorboard``.

    A resumed run passes the checkpoint's ``step`` and ``records`` (the value of
    :attr:`records` when the checkpoint was written): metrics.jsonl is cut to that many
    records and TensorBoard discards the events after ``step``.
    """

    def __init__(self, directory: str | Path, *, step: int = 0, records: int | None = None):
        directory = Path(directory)
        jsonl = directory / "metrics.jsonl"
        kept: list[str] = []
        if jsonl.exists():
            kept = jsonl.read_text(encoding="utf-8").splitlines(keepends=True)
            kept = [line for line in kept if line.endswith("\n")]  # not a half-written one
            if records is not None:
                kept = kept[:records]
        with atomic_open(jsonl, encoding="utf-8") as f:
            f.writelines(kept)
        self.records = len(kept)
        self.jsonl = open(jsonl, "a", encoding="utf-8")
        self.tensorboard = SummaryWriter(str(directory / "tensorboard"),
                                         purge_step=step + 1 if records is not None else None)

    def write(self, step: int, scalars: dict[str, float], **info: object) -> None:
        """Log ``scalars`` (e.g. ``train/loss``) at ``step``, plus ``info`` in the jsonl."""
        self.jsonl.write(json.dumps({"step": step, **info, **scalars}) + "\n")
        self.jsonl.flush()
        self.records += 1
        for tag, value in scalars.items():
            self.tensorboard.add_scalar(tag, value, step)
        self.tensorboard.flush()

    def close(self) -> None:
        self.jsonl.close()
        self.tensorboard.close()


def read_metrics(path: str | Path) -> list[dict]:
    """The records of a metrics.jsonl, in order."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
