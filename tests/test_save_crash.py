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
    doc = ImageDocument.open(root)  # writable: opening finishes an interrupted save
    result = {}
    for path, e in doc.state.entries.items():
        content = hashlib.sha256(doc.read_bytes(path)).hexdigest() if e.kind == "file" else e.target
        result[path] = (e.kind, e.mode, e.uid, e.gid, content)
    doc.close()
    return result


def run_child(root: Path, which: str, kill_after: float | None = None) -> tuple[bool, float]:
    """Run the child; with kill_after, SIGKILL it that long after it starts saving.
    Returns (whether it finished, how long its save took when it did)."""
    proc = subprocess.Popen([sys.executable, str(CHILD), str(root), which], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "saving"
    started = time.perf_counter()
    if kill_after is not None:
        time.sleep(kill_after)  # the point of this test: a kill at an arbitrary moment of the save
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        return proc.returncode == 0, 0.0
    finished = proc.stdout.readline().strip() == "saved"
    seconds = time.perf_counter() - started
    proc.wait(timeout=60)
    return finished and proc.returncode == 0, seconds


def test_kill_during_save_never_breaks_the_project(new_project, tmp_path):
    project = new_project("crashy")
    # The two whole states, measured on an undisturbed copy.
    reference = tmp_path / "reference"
    shutil.copytree(project.root, reference, symlinks=True)
    finished, _ = run_child(reference, "A")
    assert finished
    state_a = fingerprint(reference)
    finished, save_seconds = run_child(reference, "B")
    assert finished
    state_b = fingerprint(reference)
    assert state_a != state_b
    original = fingerprint(project.root)

    rng = random.Random(1234)
    current, seen = original, {"old": 0, "new": 0}
    estimate = save_seconds
    for round_number in range(40):
        which = "A" if current != state_a else "B"
        target = state_a if which == "A" else state_b
        calibrate = round_number % 5 == 4  # how long saves take drifts with the disk: re-measure
        kill_after = None if calibrate else rng.uniform(0, estimate * 1.5)
        finished, seconds = run_child(project.root, which, kill_after)
        after = fingerprint(project.root)  # opening recovers an interrupted save
        assert after in (current, target), f"round {round_number}: the project is neither before nor after"
        assert not (project.root / ".studio" / "save").exists()
        if finished:
            assert after == target
        if calibrate:
            estimate = seconds
        else:
            seen["new" if after == target else "old"] += 1
        current = after
    print(f"kills: {seen}")
    # Both outcomes happened, so kills did land before and after the commit point.
    assert seen["old"] > 0 and seen["new"] > 0, seen
