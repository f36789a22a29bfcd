"""One writer per project, across processes (Qt-free).

The GUI, `studio add`, `studio compile`, `studio program` … all write the same overlay, metadata
and save staging area; two of them at once would wipe each other's staging or interleave their
saves. A writer holds an exclusive `flock` on PROJECT/.studio/lock for as long as it may write.
The kernel drops the lock when its process dies, so a crashed writer never leaves the project
locked: the PID and command written in the file only serve the message the next writer sees.

Inside one process the lock is shared (counted): the window and the tests may open the same
project twice, and a process cannot conflict with itself.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import threading
import time
from pathlib import Path

from studio.errors import StudioError

LOCK_FILE = "lock"


class ProjectLocked(StudioError):
    """Another process is writing the project."""

    def __init__(self, root: Path, owner: dict):
        pid = owner.get("pid", "?")
        what = owner.get("command") or "another studio process"
        since = owner.get("since")
        when = f" since {time.strftime('%H:%M:%S', time.localtime(since))}" if since else ""
        super().__init__(
            f"the project {root} is open for writing in PID {pid} ({what}{when}). "
            "Close it there first, or run the command again with --wait to wait for it.")
        self.pid = pid


_held: dict[Path, list] = {}  # resolved root -> [open lock file, count]
_guard = threading.Lock()


def _describe_self() -> dict:
    argv = [os.path.basename(sys.argv[0] or "python")] + sys.argv[1:3]
    return {"pid": os.getpid(), "command": " ".join(argv), "since": time.time()}


def read_owner(root: Path) -> dict:
    try:
        return json.loads((Path(root) / ".studio" / LOCK_FILE).read_text() or "{}")
    except (OSError, ValueError):
        return {}


def held_here(root: Path) -> bool:
    """Does this process hold the write lock of the project at `root`?"""
    with _guard:
        return Path(root).resolve() in _held


class ProjectLock:
    """The write lock of the project at `root`. `acquire` waits up to `wait` seconds (0: not at
    all) and raises ProjectLocked naming the holder; `release` lets go (safe to call twice)."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self.held = False

    def acquire(self, wait: float = 0.0) -> "ProjectLock":
        if self.held:
            return self
        with _guard:
            entry = _held.get(self.root)
            if entry is not None:
                entry[1] += 1
                self.held = True
                return self
        path = self.root / ".studio" / LOCK_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+")
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.close()
                    raise ProjectLocked(self.root, self._owner_soon()) from None
                time.sleep(0.1)  # polling another process's lock: there is nothing to wait on
        # Ours now (a stale owner, if any, died and the kernel released its lock): say who we are.
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(_describe_self()))
        handle.flush()
        with _guard:
            _held[self.root] = [handle, 1]
        self.held = True
        return self

    def _owner_soon(self) -> dict:
        """Who holds the lock: a writer that has only just taken it writes its note a moment later."""
        for _ in range(20):
            owner = read_owner(self.root)
            if owner.get("pid"):
                return owner
            time.sleep(0.05)
        return {}

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        with _guard:
            entry = _held.get(self.root)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] > 0:
                return
            del _held[self.root]
        handle = entry[0]
        try:
            handle.seek(0)
            handle.truncate()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    def __enter__(self) -> "ProjectLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
