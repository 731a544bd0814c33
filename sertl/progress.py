"""Periodic progress lines (count, rate, ETA) for long loops, written to a log stream."""
from __future__ import annotations

import sys
import time
from typing import TextIO


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Logs ``done/total`` with a rate and an ETA at most every ``interval`` seconds,
    and a closing line from :meth:`finish`. Seconds of audio passed to :meth:`update`
    are reported as a real-time factor.
    """

    def __init__(self, name: str, total: int, interval: float = 10.0,
                 stream: TextIO = sys.stderr):
        self.name, self.total, self.interval, self.stream = name, total, interval, stream
        self.done = 0
        self.audio_seconds = 0.0
        self.start = self.last = time.monotonic()

    def update(self, count: int = 1, audio_seconds: float = 0.0) -> None:
        self.done += count
        self.audio_seconds += audio_seconds
        now = time.monotonic()
        if now - self.last >= self.interval and self.done < self.total:
            self.last = now
            self._log(now)

    def finish(self) -> None:
        self._log(time.monotonic(), final=True)

    def _log(self, now: float, final: bool = False) -> None:
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        line = f"{self.name}: {self.done}/{self.total} done, {rate:.1f}/s"
        if self.audio_seconds:
            line += f", {self.audio_seconds / elapsed:.0f}x real time"
        if final:
            line += f", finished in {format_seconds(elapsed)}"
        elif rate > 0:
            line += f", ETA {format_seconds((self.total - self.done) / rate)}"
        print(line, file=self.stream, flush=True)
