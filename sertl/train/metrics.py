"""Training metrics as ``metrics.jsonl`` (one JSON object per line) and TensorBoard scalars.

The ``tensorboard`` package is not a dependency, so scalars are written directly in
TensorBoard's event-file format: a TFRecord file (each record: little-endian uint64
length, masked CRC-32C of the length, the payload, masked CRC-32C of the payload) of
serialized ``tensorflow.Event`` protocol buffers (wall_time = 1, step = 2,
file_version = 3, summary = 5; Summary.value = 1; Value.tag = 1, Value.simple_value = 2).
``tensorboard --logdir <exp>/tensorboard`` reads them.
"""
from __future__ import annotations

import json
import socket
import struct
import time
from pathlib import Path


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC32C_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), the checksum of TFRecord files."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC32C_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked_crc(data: bytes) -> bytes:
    crc = crc32c(data)
    return struct.pack("<I", (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _event(step: int, *, version: str | None = None,
           scalars: dict[str, float] | None = None) -> bytes:
    event = _varint(1 << 3 | 1) + struct.pack("<d", time.time()) + _varint(2 << 3) + _varint(step)
    if version is not None:
        event += _field(3, version.encode())
    if scalars:
        values = b"".join(_field(1, _field(1, tag.encode()) + _varint(2 << 3 | 5)
                                 + struct.pack("<f", value)) for tag, value in scalars.items())
        event += _field(5, values)
    return event


class MetricsWriter:
    """Appends metrics to ``<dir>/metrics.jsonl`` and ``<dir>/tensorboard/events.out...``."""

    def __init__(self, directory: str | Path):
        directory = Path(directory)
        (directory / "tensorboard").mkdir(parents=True, exist_ok=True)
        self.jsonl = open(directory / "metrics.jsonl", "a", encoding="utf-8")
        name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}"
        self.events = open(directory / "tensorboard" / name, "ab")
        self._record(_event(0, version="brain.Event:2"))

    def _record(self, payload: bytes) -> None:
        length = struct.pack("<Q", len(payload))
        self.events.write(length + _masked_crc(length) + payload + _masked_crc(payload))
        self.events.flush()

    def write(self, step: int, scalars: dict[str, float], **info: object) -> None:
        """Log ``scalars`` (e.g. ``train/loss``) at ``step``, plus ``info`` in the jsonl."""
        self.jsonl.write(json.dumps({"step": step, **info, **scalars}) + "\n")
        self.jsonl.flush()
        self._record(_event(step, scalars=scalars))

    def close(self) -> None:
        self.jsonl.close()
        self.events.close()


def read_metrics(path: str | Path) -> list[dict]:
    """The records of a metrics.jsonl, in order."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
