"""A one-line progress display for the command line (on stderr, only when it is a terminal)."""

from __future__ import annotations

import sys


class ProgressLine:
    """A one-line progress display on stderr (only when it is a terminal)."""

    def __init__(self):
        self.tty = sys.stderr.isatty()
        self.last = ""

    def __call__(self, message: str, fraction: float) -> None:
        if not self.tty:
            return
        pct = f"{fraction * 100:3.0f}%" if fraction >= 0 else "  … "
        line = f"\r{pct} {message[:70]:<70}"
        if line != self.last:
            sys.stderr.write(line)
            sys.stderr.flush()
            self.last = line

    def done(self) -> None:
        if self.tty and self.last:
            sys.stderr.write("\r" + " " * 76 + "\r")
            sys.stderr.flush()
