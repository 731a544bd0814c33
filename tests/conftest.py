"""Shared fixtures: small generated audio, no network, nothing outside the repo."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def speech_like(seconds: float, rate: int = 16000, f0: float = 120.0, seed: int = 0) -> np.ndarray:
    """A voiced-speech-like test signal on the 16-bit scale: a harmonic tone with a
    gliding pitch and syllable-rate amplitude modulation, plus low noise and pauses."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    pitch = f0 * (1 + 0.1 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 30) if k * f0 < rate / 2.2)
    envelope = np.clip(np.sin(2 * np.pi * 2.5 * t), 0, None) ** 0.5
    signal = 6000 * envelope * voiced + 30 * rng.standard_normal(len(t))
    return np.clip(signal, -32768, 32767).astype(np.float32)


@pytest.fixture
def repo_env() -> dict[str, str]:
    """Environment in which steps/ and utils/ scripts run as under path.sh."""
    env = dict(os.environ)
    venv_bin = str(REPO / ".venv" / "bin")
    env["PATH"] = f"{venv_bin}:{REPO / 'utils'}:{env['PATH']}"
    env["PYTHONPATH"] = str(REPO)
    env["LC_ALL"] = "C"
    return env
