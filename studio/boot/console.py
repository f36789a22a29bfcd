"""What the guest printed on its serial console, and the boot milestones read from it (Qt-free).

Positions in the console are absolute: the count of characters the guest printed since the boot
started. The console keeps only the last MAX_TEXT of them, but a position taken before a long
burst of output stays valid after it (the text it pointed into is gone, the count is not).
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from dataclasses import dataclass, field

# Alpine's /etc/profile prompt is 'host:dir# ' (root) or 'host:dir$ '.
DEFAULT_PROMPT = r"[#$] $"
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]|\r")
MAX_TEXT = 4 << 20  # keep the last 4 MiB of console output
_TAIL = 400  # how much of the end a prompt is looked for in
_PATH_MAX = 4096  # Linux's PATH_MAX: no real shell folder is longer
_CWD_PROMPT = re.compile(r"[^\s:]+:(\S+?)[#$] $")


def plain(text: str) -> str:
    """Console text without escape sequences and carriage returns."""
    return _ANSI.sub("", text)


@dataclass
class Console:
    """Accumulates serial output; notes when the first kernel line and the shell prompt appear.

    Times are seconds since the boot started, as stamped by the page.
    """

    prompt: str = DEFAULT_PROMPT
    milestones: dict[str, float] = field(default_factory=dict)

    def __post_init__(self):
        self._prompt_re = re.compile(self.prompt)
        self.reset()

    def reset(self) -> None:
        # The output is kept as the chunks it arrived in: appending to one 4 MiB string would copy
        # all of it for every chunk, which made long outputs quadratic.
        self._chunks: list[str] = []
        self._kept = 0  # characters in _chunks
        self.dropped = 0  # characters printed before the first kept one
        self._joined: str | None = ""
        self.milestones = {}

    @property
    def position(self) -> int:
        """The absolute position after the last character printed so far."""
        return self.dropped + self._kept

    @property
    def text(self) -> str:
        """The kept output: at least the last MAX_TEXT characters (it starts at `dropped`)."""
        if self._joined is None:
            self._joined = "".join(self._chunks)
            self._chunks = [self._joined] if self._joined else []
        return self._joined

    def feed(self, chunk: str, seconds: float) -> list[str]:
        """Add output; return the milestones this chunk reached."""
        if not chunk:
            return []
        self._chunks.append(chunk)
        self._kept += len(chunk)
        self._joined = None
        self._trim()
        # Only the new output (and a little before it, for a marker split between chunks) can
        # hold a milestone not seen before.
        recent = self._tail(len(chunk) + 32)
        reached = []
        booted = "restored" not in self.milestones  # a restored machine prints no kernel lines
        if booted and "first-kernel-line" not in self.milestones and plain(recent).strip():
            reached.append("first-kernel-line")
        if "init" not in self.milestones and "Run /sbin/init" in recent:
            reached.append("init")
        if "prompt" not in self.milestones and self.at_prompt():
            reached.append("prompt")
        for name in reached:
            self.milestones[name] = seconds
        return reached

    def _trim(self) -> None:
        """Forget the oldest output beyond MAX_TEXT, a whole chunk at a time (so a chunk is
        copied at most once more, when it straddles the limit)."""
        while self._kept - len(self._chunks[0]) >= MAX_TEXT:
            gone = self._chunks.pop(0)
            self._kept -= len(gone)
            self.dropped += len(gone)
        if self._kept > 2 * MAX_TEXT:  # one huge chunk
            first = self._chunks[0]
            cut = self._kept - MAX_TEXT
            self._chunks[0] = first[cut:]
            self._kept -= cut
            self.dropped += cut

    def _tail(self, count: int) -> str:
        """The last `count` characters printed (fewer if not kept)."""
        pieces, have = [], 0
        for chunk in reversed(self._chunks):
            pieces.append(chunk)
            have += len(chunk)
            if have >= count:
                break
        return "".join(reversed(pieces))[-count:] if count > 0 else ""

    def at_prompt(self, since: int = 0) -> bool:
        """True when the output after absolute position `since` ends in a shell prompt."""
        if self.position <= since:
            return False
        tail = plain(self._tail(min(self.position - since, _TAIL)))
        last_line = tail.rsplit("\n", 1)[-1]
        return bool(self._prompt_re.search(last_line))

    def since(self, position: int) -> str:
        """What was printed after absolute `position` (only what is kept, if that was dropped)."""
        return plain(self._tail(self.position - position))

    def cwd(self, home: str = "/root") -> str | None:
        """The shell's current folder, read from its last prompt (Alpine's is 'host:DIR# ', with
        ~ for the home folder); None when the last line is not such a prompt.

        The prompt is whatever the guest printed, so it is checked like any untrusted input: the
        result is an absolute, normalized path of printable characters that names no place above
        /, or None.
        """
        last = plain(self._tail(_TAIL)).rsplit("\n", 1)[-1]
        match = _CWD_PROMPT.search(last)
        if not match:
            return None
        folder = match[1]
        if folder == "~" or folder.startswith("~/"):
            folder = home + folder[1:]
        return safe_folder(folder)


def safe_folder(folder: str) -> str | None:
    """`folder` as an absolute, normalized path when it is a plain one, else None: no control
    characters, no undecodable bytes (U+FFFD, surrogates), no '..' and not relative."""
    if not folder.startswith("/") or len(folder) > _PATH_MAX:
        return None
    if any(_unsafe_char(c) for c in folder):
        return None
    if ".." in folder.split("/"):
        return None  # a real shell prints its folder resolved; '..' is a made-up prompt
    return posixpath.normpath(folder).replace("//", "/")


def _unsafe_char(char: str) -> bool:
    # Cc: control characters (NUL, ESC, DEL, C1); Cs: lone surrogates; Cf: format characters
    # (bidirectional overrides, zero-width) that make a path read as something else.
    return char == "\ufffd" or unicodedata.category(char) in ("Cc", "Cs", "Cf")
