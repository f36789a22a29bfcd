"""`studio boot --headless`: boot a project in an offscreen QtWebEngine view, type commands,
check what the guest printed. The page is the same one the GUI shows."""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from studio.boot.console import DEFAULT_PROMPT

# The guest's terminal keeps at most 4095 characters of a line (Linux's N_TTY buffer, 4096 with its
# newline) and silently drops the rest: a longer command would run cut short.
MAX_COMMAND_BYTES = 4095


@dataclass
class HeadlessResult:
    ok: bool
    reason: str
    milestones: dict[str, float] = field(default_factory=dict)
    boot_kind: str = ""
    output: str = ""  # what the commands printed (their echo removed), joined
    console: str = ""  # the whole console
    outputs: list[str] = field(default_factory=list)  # per command
    seconds: list[float] = field(default_factory=list)  # per command: from typing it to the next prompt
    cold_reason: str = ""  # why no saved state served (a cold or kernel-state boot)


def open_session(prompt: str = DEFAULT_PROMPT, timeout: float = 30.0):
    """A BootSession shown in an offscreen view (a hidden page would be throttled), its page
    loaded. Returns (session, view, failure messages); close with close_session()."""
    from PySide6.QtWebEngineWidgets import QWebEngineView

    from studio.boot.qtapp import application, wait_for
    from studio.boot.session import BootSession

    application(headless=True)
    session = BootSession(prompt=prompt)
    from PySide6.QtCore import Qt

    view = QWebEngineView()
    view.setPage(session.page)
    view.resize(1000, 700)
    view.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)  # rendered, never on the user's screen
    view.show()
    failure: list[str] = []
    session.failed.connect(failure.append)
    session.load()
    wait_for(lambda: session.page_ready or failure, timeout)
    return session, view, failure


def close_session(session, view) -> None:
    session.stop()
    view.close()
    view.setPage(None)
    session.close()
    view.deleteLater()
    session.deleteLater()


def boot_headless(project_dir: Path, commands: list[str], expect: str | None = None,
                  timeout: float = 60.0, prompt: str = DEFAULT_PROMPT, log: TextIO | None = None,
                  use_snapshots: bool = True) -> HeadlessResult:
    from studio.boot.qtapp import wait_for
    from studio.boot.session import FAILED
    from studio.build import fsjson
    from studio.image.project import Project

    log = log or sys.stderr
    too_long = [c for c in commands if len(c.encode()) > MAX_COMMAND_BYTES]
    if too_long:
        return HeadlessResult(False, f"a command of {len(too_long[0].encode())} bytes is longer than the "
                                     f"{MAX_COMMAND_BYTES} the guest's terminal takes in one line (it would run cut "
                                     f"short): split it into several commands, or put it in a script in the image "
                                     f"and run that ({too_long[0][:60]}…)")
    project = Project.open(project_dir)
    result = fsjson.build(project)
    print(f"build: {result.summary()}", file=log)

    session, view, failure = open_session(prompt)
    if use_snapshots:
        from studio.boot.snapshots import SnapshotStore

        session.snapshots = SnapshotStore()
    session.milestone.connect(lambda name, t: print(f"{name}: {t:.2f} s", file=log))
    try:
        if not session.page_ready or failure:
            reason = failure[0] if failure else "the boot page did not load within 30 s"
            return HeadlessResult(False, reason + "\n" + "\n".join(session.page_log))
        from studio.boot.guest_net import network_for

        session.boot(project.build_dir, fsjson.boot_config(project), network_for(project))
        kinds = {"snapshot": "from snapshot", "kernel": "the image's init on the saved kernel"}
        print(f"boot: {kinds.get(session.boot_kind) or 'cold: ' + session.cold_reason}", file=log)
        if not wait_for(lambda: "prompt" in session.console.milestones or failure, timeout):
            reason = failure[0] if failure else f"no shell prompt within {timeout:g} s"
            return _failed(reason, session)
        if session.boot_kind == "snapshot":  # restored at its prompt: the clock first, then the commands
            if not wait_for(lambda: "freshened" in session.console.milestones or failure, 5):
                print("note: the restored machine did not confirm its clock within 5 s", file=log)
        outputs, seconds = [], []
        for command in commands:
            mark = session.console.position  # absolute: still valid after megabytes of output
            started = time.monotonic()
            session.type(command + "\n")
            if not wait_for(lambda: session.console.at_prompt(mark) or failure or session.state == FAILED, timeout):
                return _failed(f"`{command}` did not return to the prompt within {timeout:g} s", session)
            seconds.append(time.monotonic() - started)
            outputs.append(_without_echo(session.console.since(mark), command))
        output = "\n".join(outputs)
        # the kernel's and the prompt's states reach the cache before the process may exit
        wait_for(lambda: not session.saving_states or failure, 30)
        if expect is not None and not re.search(expect, output, re.MULTILINE):
            return _failed(f"the output did not match /{expect}/", session, output)
        return HeadlessResult(True, "ok", dict(session.console.milestones), session.boot_kind, output,
                              session.console.text, outputs, seconds, session.cold_reason)
    finally:
        close_session(session, view)
        session.deleteLater()


def _failed(reason: str, session, output: str = "") -> HeadlessResult:
    return HeadlessResult(False, reason, dict(session.console.milestones), session.boot_kind, output,
                          session.console.text)


def _without_echo(text: str, command: str) -> str:
    """Drop the guest's echo of the command line and the trailing prompt."""
    lines = text.split("\n")
    if lines and lines[0].strip() == command.strip():
        lines = lines[1:]
    if lines:
        lines = lines[:-1]  # the prompt line
    return "\n".join(lines)
