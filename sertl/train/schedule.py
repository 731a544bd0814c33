"""Learning-rate and dropout schedules, as functions of training progress."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sertl.train.config import TrainOptions


def parse_dropout_schedule(text: str) -> list[tuple[float, float]]:
    """Kaldi's dropout schedule, e.g. ``"0,0@0.20,0.5@0.50,0"``: proportions at fractions
    of training (the first at 0, the last at 1, ``value@fraction`` in between), linearly
    interpolated. A single value is constant. Returns (fraction, proportion) points."""
    items = text.split(",")
    points = []
    for i, item in enumerate(items):
        value, _, at = item.partition("@")
        try:
            fraction = float(at) if at else (0.0 if i == 0 else 1.0)
            proportion = float(value)
        except ValueError:
            raise ValueError(f"dropout schedule {text!r}: cannot read {item!r}") from None
        if at and i in (0, len(items) - 1):
            raise ValueError(f"dropout schedule {text!r}: the first and last values "
                             f"take no @fraction")
        points.append((fraction, proportion))
    if len(items) == 1:
        points.append((1.0, points[0][1]))
    fractions = [f for f, _ in points]
    if fractions != sorted(fractions) or not all(0.0 <= p <= 1.0 for _, p in points):
        raise ValueError(f"dropout schedule {text!r}: fractions must increase and "
                         f"proportions lie in [0, 1]")
    return points


def dropout_at(points: list[tuple[float, float]], fraction: float) -> float:
    """The scheduled dropout proportion at ``fraction`` of training."""
    for (f0, p0), (f1, p1) in zip(points, points[1:]):
        if fraction <= f1:
            return p0 if f1 == f0 else p0 + (p1 - p0) * (max(fraction, f0) - f0) / (f1 - f0)
    return points[-1][1]


class LrSchedule:
    """``constant``; ``exponential`` from ``lr`` to ``final_lr`` over all steps (Kaldi's
    schedule); ``plateau``: multiplied by ``lr_decay`` after each epoch whose validation
    score (``model_selection``) did not improve (newbob)."""

    def __init__(self, options: TrainOptions, total_steps: int):
        self.options = options
        self.total_steps = max(total_steps, 1)
        self.factor = 1.0

    def lr(self, step: int) -> float:
        o = self.options
        if o.lr_schedule == "exponential":
            progress = min(step / max(self.total_steps - 1, 1), 1.0)
            return o.lr * (o.final_lr / o.lr) ** progress
        return o.lr * self.factor

    def end_epoch(self, improved: bool) -> None:
        if self.options.lr_schedule == "plateau" and not improved:
            self.factor *= self.options.lr_decay

    def state_dict(self) -> dict:
        return {"factor": self.factor}

    def load_state_dict(self, state: dict) -> None:
        self.factor = state["factor"]
