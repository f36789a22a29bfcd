"""Zero data loss under kill during save: a saving child is killed again and again at random
moments; every time, the project opens whole, as it was before that save or after it."""

from __future__ import annotations

import hashlib
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from studio.image.document import ImageDocument

CHILD = Path(__file__).with_name("save_child.py")


def fingerprint(root: Path) -> dict:
    doc = ImageDocument.open(root)
    result = {}
    for path, e in doc.state.entries.items():
        content = hashlib.sha256(doc.read_bytes(path)).hexdigest() if e.kind == "file" else e.target
        result[path] = (e.kind, e.mode, e.uid, e.gid, content)
    return result


def run_child(root: Path, which: str, kill_after: float | None = None) -> bool:
    """Run the child; with kill_after, SIGKILL it that long after it starts saving. True if it finished."""
    proc = subprocess.Popen([sys.executable, str(CHILD), str(root), which], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "saving"
    if kill_after is not None:
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    return proc.returncode == 0


def test_kill_during_save_never_breaks_the_project(new_project, tmp_path):
    project = new_project("crashy")
    # The two whole states, measured on an undisturbed copy.
    reference = tmp_path / "reference"
    shutil.copytree(project.root, reference, symlinks=True)
    assert run_child(reference, "A")
    state_a = fingerprint(reference)
    t0 = time.perf_counter()
    assert run_child(reference, "B")
    save_seconds = time.perf_counter() - t0
    state_b = fingerprint(reference)
    assert state_a != state_b
    original = fingerprint(project.root)

    rng = random.Random(1234)
    current, seen = original, {"old": 0, "new": 0}
    for round_number in range(24):
        which = "A" if current != state_a else "B"
        target = state_a if which == "A" else state_b
        finished = run_child(project.root, which, kill_after=rng.uniform(0, min(save_seconds, 1.0)))
        after = fingerprint(project.root)  # opening recovers an interrupted save
        assert after in (current, target), f"round {round_number}: the project is neither before nor after"
        assert not (project.root / ".studio" / "save").exists()
        if finished:
            assert after == target
        seen["new" if after == target else "old"] += 1
        current = after
    # Both outcomes happened, so kills did land before and after the commit point.
    assert seen["old"] > 0 and seen["new"] > 0, seen
