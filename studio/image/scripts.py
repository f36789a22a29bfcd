"""Init scripts (Qt-free): where they live, and a syntax check with the guest's own shell
semantics (BusyBox ash's `sh -n`, falling back to the host's `sh -n`)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

SCRIPT_FOLDERS = ("/etc/init.d", "/etc/local.d")
RCS = "/etc/init.d/rcS"

_LINE = re.compile(r"(?:line (\d+)|: (\d+)):\s*(.*)", re.IGNORECASE)


@dataclass(frozen=True)
class SyntaxProblem:
    line: int  # 1-based; 0 when the shell did not say
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


def is_init_script(path: str) -> bool:
    return path == RCS or any(path.startswith(folder + "/") for folder in SCRIPT_FOLDERS)


def shell_command() -> list[str]:
    """BusyBox's ash (what Alpine runs) when the host has it, else the host's POSIX sh."""
    if shutil.which("busybox"):
        return ["busybox", "sh", "-n"]
    if shutil.which("sh"):
        return ["sh", "-n"]
    raise FileNotFoundError("no shell to check scripts with: install busybox (packaging/setup.sh does)")


def check_syntax(text: str) -> SyntaxProblem | None:
    """None when the script parses; else the first syntax error with its line."""
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=True) as handle:
        handle.write(text)
        handle.flush()
        result = subprocess.run([*shell_command(), handle.name], capture_output=True, text=True, timeout=10)
    if result.returncode == 0:
        return None
    message = (result.stderr or result.stdout).strip().splitlines()[-1] if (result.stderr or result.stdout) else "syntax error"
    match = _LINE.search(message)
    if match:
        return SyntaxProblem(int(match[1] or match[2]), match[3].strip())
    return SyntaxProblem(0, message)
