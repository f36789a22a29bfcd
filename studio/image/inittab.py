"""BusyBox init's /etc/inittab (Qt-free): parse to rows, serialize back byte for byte, validate.

Each line is `id:runlevels:action:process`. BusyBox ignores runlevels; `id` names the tty a
process runs on (relative to /dev; empty means the console). Comments and blank lines are kept
as they are, and so is every line the user did not edit, so text -> table -> text round-trips.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

ACTIONS = ("sysinit", "wait", "once", "respawn", "askfirst", "ctrlaltdel", "shutdown", "restart")
SHELLS = {"sh", "ash", "bash", "zsh", "dash", "mksh", "hush"}
GETTYS = {"getty", "agetty", "mingetty", "login"}
CONSOLE_IDS = {"", "console", "ttyS0"}  # the studio boots with console=ttyS0
PATH = ("/sbin", "/usr/sbin", "/bin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin")
_SHELL_CHARS = re.compile(r"[~`!$^&*()=|\\{}\[\];\"'<>?]")

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Line:
    """One line: an entry (id, runlevels, action, process) or, when `text_only`, a comment,
    blank or unparsable line kept verbatim."""

    text: str
    id: str = ""
    runlevels: str = ""
    action: str = ""
    process: str = ""
    text_only: bool = False

    @property
    def is_entry(self) -> bool:
        return not self.text_only

    def edited(self, **fields) -> "Line":
        line = replace(self, **fields)
        return replace(line, text=f"{line.id}:{line.runlevels}:{line.action}:{line.process}")


@dataclass(frozen=True)
class Problem:
    line: int  # 1-based; 0 for the file as a whole
    severity: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "inittab"
        return f"{where}: {self.severity}: {self.message}"


def parse(text: str) -> list[Line]:
    lines = []
    for raw in text.split("\n"):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            lines.append(Line(raw, text_only=True))
            continue
        fields = raw.split(":", 3)
        if len(fields) != 4:
            lines.append(Line(raw, text_only=True))
            continue
        lines.append(Line(raw, fields[0].strip(), fields[1].strip(), fields[2].strip(), fields[3].strip()))
    return lines


def serialize(lines: list[Line]) -> str:
    return "\n".join(line.text for line in lines)


def new_entry(id: str, action: str, process: str, runlevels: str = "") -> Line:
    return Line("").edited(id=id, runlevels=runlevels, action=action, process=process)


def program_of(process: str) -> str:
    """The program a process field runs ('-/bin/sh -l' -> '/bin/sh'); '' when it goes through sh -c."""
    process = process.strip()
    if process.startswith("-"):
        process = process[1:]
    if _SHELL_CHARS.search(process):
        return "/bin/sh"  # BusyBox init runs it with sh -c
    return process.split()[0] if process.split() else ""


def validate(lines: list[Line], exists=lambda path: True, executable=lambda path: True,
             console_devices=CONSOLE_IDS) -> list[Problem]:
    """Problems BusyBox init would trip on. `exists`/`executable` look paths up in the image."""
    problems: list[Problem] = []
    prompt = False
    for number, line in enumerate(lines, 1):
        stripped = line.text.strip()
        if line.text_only:
            if stripped and not stripped.startswith("#"):
                problems.append(Problem(number, ERROR, "not an inittab entry: expected id:runlevels:action:process"))
            continue
        if line.action not in ACTIONS:
            problems.append(Problem(number, ERROR, f"unknown action {line.action!r}; BusyBox init knows "
                                    + ", ".join(ACTIONS)))
        if not line.process:
            problems.append(Problem(number, ERROR, "no process to run"))
            continue
        tty = line.id[5:] if line.id.startswith("/dev/") else line.id
        program = program_of(line.process)
        found = _find(program, exists)
        if found is None:
            problems.append(Problem(number, ERROR, f"{program} is not in the image"))
        elif not executable(found):
            problems.append(Problem(number, ERROR, f"{found} is not executable"))
        if tty and tty not in console_devices and line.action in ("respawn", "askfirst"):
            if re.fullmatch(r"tty\d+", tty):
                problems.append(Problem(number, WARNING, f"/dev/{tty} is a virtual terminal; the studio's "
                                        "kernel has none (it boots on the serial console ttyS0)"))
        name = program.rsplit("/", 1)[-1]
        if line.action in ("respawn", "askfirst") and tty in console_devices and (
                name in SHELLS or name in GETTYS or "getty" in name):
            prompt = True
    if not prompt:
        problems.append(Problem(0, WARNING, "no shell or getty on the console (ttyS0): the booted image "
                                "will have no prompt. Add e.g. 'ttyS0::respawn:-/bin/sh'."))
    return problems


def _find(program: str, exists) -> str | None:
    if not program:
        return None
    if program.startswith("/"):
        return program if exists(program) else None
    for folder in PATH:
        if exists(f"{folder}/{program}"):
            return f"{folder}/{program}"
    return None
