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
_TTY_ARG = re.compile(r"(?:/dev/)?(tty\w+|console)")
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

    @property
    def is_malformed(self) -> bool:
        """Neither an entry nor a comment or blank line: BusyBox init skips it."""
        stripped = self.text.strip()
        return self.text_only and bool(stripped) and not stripped.startswith("#")

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
    return [parse_line(raw) for raw in text.split("\n")]


def parse_line(raw: str) -> Line:
    stripped = raw.strip()
    fields = raw.split(":", 3)
    if not stripped or stripped.startswith("#") or len(fields) != 4:
        return Line(raw, text_only=True)
    return Line(raw, fields[0].strip(), fields[1].strip(), fields[2].strip(), fields[3].strip())


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
    interactive: dict[str, int] = {}  # terminal -> the line of the shell or getty on it
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
        terminal = _terminal(line, name, console_devices)
        if terminal and terminal in interactive:
            where = "the console (ttyS0)" if terminal == "console" else f"/dev/{terminal}"
            problems.append(Problem(number, WARNING, f"a second shell or getty on {where} (line "
                                    f"{interactive[terminal]} has one): both read the same terminal and "
                                    "take turns getting what you type"))
        elif terminal:
            interactive[terminal] = number
    if not prompt:
        problems.append(Problem(0, WARNING, "no shell or getty on the console (ttyS0): the booted image "
                                "will have no prompt. Add e.g. 'ttyS0::respawn:-/bin/sh'."))
    return problems


def _terminal(line: Line, name: str, console_devices) -> str:
    """The terminal a respawned shell or getty reads ('console' for the console), else ''. A shell
    runs on the entry's id; a getty opens the tty its arguments name (`getty -L 115200 ttyS0`)."""
    if line.action not in ("respawn", "askfirst") or not (name in SHELLS or name in GETTYS or "getty" in name):
        return ""
    tty = line.id[5:] if line.id.startswith("/dev/") else line.id
    if name not in SHELLS:
        tty = next((m.group(1) for arg in line.process.split()[1:] if (m := _TTY_ARG.fullmatch(arg))), tty)
    return "console" if tty in console_devices else tty


def _find(program: str, exists) -> str | None:
    if not program:
        return None
    if program.startswith("/"):
        return program if exists(program) else None
    for folder in PATH:
        if exists(f"{folder}/{program}"):
            return f"{folder}/{program}"
    return None
