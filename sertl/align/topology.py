"""The numbering of HMM targets, one for alignment, training and phone decoding.

Phones are those of ``phones.txt`` (ids 1..N, ``<eps>`` left out) and every phone has
``num_states`` states; target ``(phone_id - 1) * num_states + state`` is the classifier
output for state ``state`` (0-based) of phone ``phone_id``. Targets are named ``PH``
with one state per phone, else ``PH_0``, ``PH_1`` ... (``targets.txt`` of an alignment
dir), and a topology is read back from those names.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from sertl.align import AlignError


@dataclass(frozen=True)
class Topology:
    """Phones (phone index 0 = phone id 1) and HMM states per phone."""
    phones: tuple[str, ...]
    num_states: int

    def __post_init__(self) -> None:
        if self.num_states < 1:
            raise AlignError(f"states per phone must be at least 1, got {self.num_states}")

    @property
    def num_targets(self) -> int:
        return len(self.phones) * self.num_states

    def target(self, phone_id: int, state: int) -> int:
        return (phone_id - 1) * self.num_states + state

    def target_names(self) -> list[str]:
        """``PH`` per target with one state per phone, else ``PH_0``, ``PH_1`` ..."""
        if self.num_states == 1:
            return list(self.phones)
        return [f"{p}_{s}" for p in self.phones for s in range(self.num_states)]

    @property
    def phone_of(self) -> np.ndarray:
        """Target id -> phone index."""
        return np.arange(self.num_targets) // self.num_states

    @property
    def position(self) -> np.ndarray:
        """Target id -> state (0 = first) within its phone."""
        return np.arange(self.num_targets) % self.num_states

    @classmethod
    def from_targets(cls, targets: list[str], phones: Iterable[str]) -> Topology:
        """The topology whose :meth:`target_names` are ``targets`` (in that order), over
        the phones of ``phones`` that occur in them."""
        known = set(phones)
        parsed = []
        for name in targets:
            match = re.fullmatch(r"(.+)_(\d+)", name)
            if name in known:
                parsed.append(name)
            elif match and match.group(1) in known:
                parsed.append(match.group(1))
            else:
                raise AlignError(f"target '{name}' is neither a phone nor PHONE_<state>")
        names = tuple(sorted(set(parsed), key=parsed.index))
        topology = cls(names, max(1, len(targets) // max(len(names), 1)))
        if topology.target_names() != list(targets):
            raise AlignError(f"targets {targets[:4]}... are not every phone's states "
                             f"PHONE_0 ... PHONE_<n-1>, phone by phone")
        return topology

    def to_dict(self) -> dict:
        return {"phones": list(self.phones), "num_states": self.num_states}

    @classmethod
    def from_dict(cls, values: dict) -> Topology:
        if "num_states" not in values:  # decoders saved before the topology was shared
            return cls(tuple(values["phones"]), max(values["position"]) + 1)
        return cls(tuple(values["phones"]), values["num_states"])

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(first target of each phone, last target of each phone, previous target in the
        chain of each target or -1)."""
        first = np.arange(len(self.phones), dtype=np.int64) * self.num_states
        last = first + self.num_states - 1
        prev = np.where(self.position > 0, np.arange(self.num_targets) - 1, -1)
        return first, last, prev.astype(np.int64)

    def phone_sequence(self, targets: np.ndarray) -> list[int]:
        """Phone indices of a per-frame target sequence: consecutive frames of a phone
        merge, except where a multi-state phone restarts at its first state (so two
        equal one-state phones in a row count as one)."""
        phone_of, position = self.phone_of, self.position
        seq: list[int] = []
        prev_phone, prev_pos = -1, -1
        for k in targets:
            p, s = phone_of[k], position[k]
            if p != prev_phone or s < prev_pos:
                seq.append(int(p))
            prev_phone, prev_pos = p, s
        return seq
