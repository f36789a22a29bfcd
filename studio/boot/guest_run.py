"""Running shell steps inside the image itself, in a headless v86 boot, and bringing back what they
changed (package install scripts and triggers: `adduser`, BusyBox's `--install`, …).

The image is booted with the kernel's `init=` pointing at a small runner the studio puts into
/.studio-run: it mounts the pseudo filesystems, runs the steps with only PATH set (as apk does),
syncs and says it is done. The studio then walks the guest's root filesystem in v86 (metadata of
every path; the data only of files the guest wrote, which v86 tells apart from files still as the
build served them) and compares it with the image it booted: the result is exactly what the
steps added, changed or deleted, with no clock or timestamp involved. The guest never sees the
network or anything of the host's.
"""

from __future__ import annotations

import json
import re
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path

from studio.errors import StudioError
from studio.image.entry import DIR, FILE, SYMLINK, Entry
from studio.image.package_ops import Step
from studio.image.store import ObjectStore

RUN_DIR = "/.studio-run"
RUNNER = f"{RUN_DIR}/init"
STEPS = f"{RUN_DIR}/steps"
MARK_BEGIN, MARK_DONE = "STUDIO-RUN-BEGIN", "STUDIO-RUN-DONE"

_RUNNER_SCRIPT = f"""#!/bin/sh
# Image Studio: run package scripts in this image (init= of a headless boot), then stop.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc 2>/dev/null
mount -t sysfs sysfs /sys 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp 2>/dev/null
cd /
echo {MARK_BEGIN}
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /bin/sh {STEPS} 2>&1
sync
echo {MARK_DONE}
exec sleep 100000
"""

_STEP_LINE = re.compile(r"^STUDIO-STEP-END (\S+) (\d+)\s*$", re.MULTILINE)
_KINDS = {"file": FILE, "dir": DIR, "symlink": SYMLINK}


@dataclass
class GuestRun:
    changes: dict[str, Entry | None]  # what the steps changed: path -> new entry (None: deleted)
    exit_codes: dict[str, int]  # step name -> exit status
    log: str  # what the steps printed


def runner_entries(steps: list[Step], store: ObjectStore) -> list[Entry]:
    """The runner and the steps, as image entries under /.studio-run (content in the store)."""
    lines = ["#!/bin/sh"]
    entries = [Entry(RUN_DIR, DIR, 0o755)]
    for number, step in enumerate(steps):
        script_path = f"{RUN_DIR}/{number:04d}"
        sha = store.add(step.script)
        entries.append(Entry(script_path, FILE, 0o755, size=len(step.script), sha256=sha))
        quoted = " ".join(shlex.quote(a) for a in step.args)
        lines.append(f"echo 'STUDIO-STEP {step.name}'; {script_path} {quoted}; "
                     f"echo \"STUDIO-STEP-END {step.name} $?\"")
    steps_text = ("\n".join(lines) + "\n").encode()
    for path, data, mode in ((STEPS, steps_text, 0o755), (RUNNER, _RUNNER_SCRIPT.encode(), 0o755)):
        entries.append(Entry(path, FILE, mode, size=len(data), sha256=store.add(data)))
    return entries


def blob_paths(fs_json: dict) -> dict[str, str]:
    """Blob name -> an image path holding that content, from a build's fs.json."""
    found: dict[str, str] = {}

    def walk(nodes: list, folder: str) -> None:
        for name, _size, _mtime, mode, _uid, _gid, extra in nodes:
            path = f"{folder}/{name}"
            if mode & 0o170000 == 0o040000:
                walk(extra, path)
            elif mode & 0o170000 == 0o100000:
                found.setdefault(extra, path)

    walk(fs_json["fsroot"], "")
    return found


def changes_from(items: list[dict], booted: dict[str, Entry], blobs: dict[str, str],
                 store: ObjectStore) -> dict[str, Entry | None]:
    """Compare the guest's root (the items of a changed-only pull of "/") with the image it booted
    (`blobs`: its build's blob names -> paths): new, changed and deleted paths."""
    changes: dict[str, Entry | None] = {}
    seen = set()
    for item in items:
        path, kind = item["path"], _KINDS[item["kind"]]
        seen.add(path)
        if path == "/" or path == RUN_DIR or path.startswith(RUN_DIR + "/"):
            continue  # v86 makes the root itself; the runner is the studio's
        before = booted.get(path)
        common = dict(mode=item["mode"], uid=item["uid"], gid=item["gid"], mtime=before.mtime if before else 0)
        if kind == DIR:
            entry = Entry(path, DIR, **common)
        elif kind == SYMLINK:
            entry = Entry(path, SYMLINK, target=item["target"], size=len(item["target"].encode()),
                          **{**common, "mode": 0o777})
        elif item["unchanged"]:
            same = booted.get(blobs.get(item["blob"], ""))  # as the build served it, maybe moved
            if same is None:
                raise StudioError(f"the scripts' machine reported {path} with content the build never had")
            entry = same.evolve(path=path, **common)
        else:
            data = item["data"]
            entry = Entry(path, FILE, size=len(data), sha256=store.add(data), **common)
        if before is None or (entry.kind, entry.mode, entry.uid, entry.gid, entry.target, entry.sha256,
                              entry.source) != (before.kind, before.mode, before.uid, before.gid, before.target,
                                                before.sha256, before.source):
            changes[path] = entry
    for path in booted:
        if path not in seen and path != "/" and not path.startswith(RUN_DIR):
            changes[path] = None
    return changes


def parse_exit_codes(log: str) -> dict[str, int]:
    return {m[1]: int(m[2]) for m in _STEP_LINE.finditer(log)}


def run_steps(project, entries: dict[str, Entry], steps: list[Step], timeout: float = 120.0,
              progress=None) -> GuestRun:
    """Boot `entries` (an image of `project`) headless with the runner as init, run `steps`, and
    return what they changed. Needs the guest kernel and QtWebEngine (offscreen)."""
    from studio.boot.headless import close_session, open_session
    from studio.boot.qtapp import wait_for
    from studio.build import fsjson

    report = progress or (lambda message, fraction: None)
    store = ObjectStore()
    image = dict(entries)
    for entry in runner_entries(steps, store):
        image[entry.path] = entry
    with tempfile.TemporaryDirectory(prefix="studio-scripts-") as tmp:
        report("building the image for the package scripts", 0.1)
        build = fsjson.build(project, Path(tmp), entries=image)
        blobs = blob_paths(json.loads((build.out / "fs.json").read_text()))
        session, view, failure = open_session()
        try:
            if not session.page_ready or failure:
                raise StudioError("cannot run package scripts: " + (failure[0] if failure else "the boot page did not load"))
            config = fsjson.boot_config(project)
            config["cmdline"] += f" init={RUNNER}"
            report("running the package scripts in the image", 0.3)
            session.boot(build.out, config)
            console = session.console
            if not wait_for(lambda: MARK_DONE in console.since(0) or failure, timeout):
                raise StudioError(f"the package scripts did not finish within {timeout:g} s; last output:\n"
                                  + console.since(0)[-1500:])
            if failure:
                raise StudioError("the package scripts' machine failed: " + failure[0])
            report("reading what the scripts changed", 0.8)
            pulled: list = []
            session.pulled.connect(lambda path, items: pulled.append(items))
            session.pull("/", sync_first=False, changed_only=True)
            if not wait_for(lambda: bool(pulled) or failure, 60):
                raise StudioError("could not read what the package scripts changed back from the machine")
            log = console.since(0)
        finally:
            close_session(session, view)
    begin = log.find(MARK_BEGIN)
    log = log[begin + len(MARK_BEGIN):log.find(MARK_DONE)] if begin >= 0 else log
    changes = changes_from(pulled[0], image, blobs, store)
    return GuestRun(changes, parse_exit_codes(log), log.replace("\r", "").strip())
