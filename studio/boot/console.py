"""What the guest printed on its serial console, and the boot milestones read from it (Qt-free)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Alpine's /etc/profile prompt is 'host:dir# ' (root) or 'host:dir$ '.
DEFAULT_PROMPT = r"[#$] $"
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]|\r")
MAX_TEXT = 4 << 20  # keep the last 4 MiB of console output


def plain(text: str) -> str:
    """Console text without escape sequences and carriage returns."""
    return _ANSI.sub("", text)


@dataclass
class Console:
    """Accumulates serial output; notes when the first kernel line and the shell prompt appear.

    Times are seconds since the boot started, as stamped by the page.
    """

    prompt: str = DEFAULT_PROMPT
    text: str = ""
    milestones: dict[str, float] = field(default_factory=dict)

    def __post_init__(self):
        self._prompt_re = re.compile(self.prompt)

    def reset(self) -> None:
        self.text = ""
        self.milestones = {}

    def feed(self, chunk: str, seconds: float) -> list[str]:
        """Add output; return the milestones this chunk reached."""
        self.text = (self.text + chunk)[-MAX_TEXT:]
        reached = []
        booted = "restored" not in self.milestones  # a restored machine prints no kernel lines
        if booted and "first-kernel-line" not in self.milestones and plain(self.text).strip():
            reached.append("first-kernel-line")
        if "init" not in self.milestones and "Run /sbin/init" in self.text:
            reached.append("init")
        if "prompt" not in self.milestones and self.at_prompt():
            reached.append("prompt")
        for name in reached:
            self.milestones[name] = seconds
        return reached

    def at_prompt(self, since: int = 0) -> bool:
        """True when the output after offset `since` ends in a shell prompt."""
        tail = plain(self.text[max(since, len(self.text) - 400):])
        last_line = tail.rsplit("\n", 1)[-1]
        return bool(self._prompt_re.search(last_line)) and len(self.text) > since

    def cwd(self, home: str = "/root") -> str | None:
        """The shell's current folder, read from its last prompt (Alpine's is 'host:DIR# ', with
        ~ for the home folder); None when the last line is not such a prompt."""
        last = plain(self.text[-400:]).rsplit("\n", 1)[-1]
        match = re.search(r"[^\s:]+:(\S+?)[#$] $", last)
        if not match:
            return None
        folder = match[1]
        return home + folder[1:] if folder.startswith("~") else folder

    def since(self, offset: int) -> str:
        return plain(self.text[offset:])
