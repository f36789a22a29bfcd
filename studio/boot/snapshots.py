"""Saved machine states (Qt-free): zstd-compressed v86 states in the user's cache, keyed by
everything a restore depends on, so a state is only ever restored onto the very machine that
saved it.

Two kinds:
- a prompt state, saved when a boot reaches its shell prompt: keyed by the image (fs.json, which
  names every file's content hash) and the machine (below); restored, the shell goes on;
- a kernel state, saved when the studio's init waits before mounting any image: keyed by the
  machine only (the kernel, the studio's init, the BIOS, the v86 build, and the boot settings:
  command line, memory, network card), so it serves every image: restored, it is given today's
  image and its init goes on to run the image's own /sbin/init.
When no state matches, `why_cold` says which of these changed.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import zstandard

from studio import assets, kernel, paths
from studio.fsutil import atomic_write

FORMAT = 2
KERNEL_STATES = "(kernel states)"  # the "project" kernel states are filed under
KEEP_PER_PROJECT = 3  # older states of a project are deleted when a new one is saved
ZSTD_LEVEL = 3  # fast: a state is written right after the first boot reaches its prompt

COMPONENT_NAMES = {
    "image": "the image's content changed",
    "kernel": "the kernel changed",
    "initrd": "the studio's init changed",
    "bios": "the BIOS changed",
    "v86": "v86 was upgraded",
    "boot": "the boot settings (memory, kernel command line or network card) changed",
    "format": "the snapshot format changed",
}


def _digest(*files: Path) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def machine_parts(boot_config: dict) -> dict[str, str]:
    """What any state depends on besides the image, each as a short hash."""
    from studio import initrd

    boot = {k: boot_config[k] for k in ("cmdline", "memory_mb")}
    boot["network card"] = boot_config.get("network", "off") != "off"
    return {
        "kernel": _digest(kernel.find_kernel()),
        "initrd": _digest(initrd.find_initrd()),
        "bios": _digest(assets.SEABIOS),
        "v86": _digest(assets.NPM_DIR / "v86/build/libv86.js", assets.NPM_DIR / "v86/build/v86.wasm"),
        "boot": hashlib.sha256(json.dumps(boot, sort_keys=True).encode()).hexdigest()[:16],
        "format": str(FORMAT),
    }


def components(build_dir: Path, boot_config: dict, machine: dict[str, str] | None = None) -> dict[str, str]:
    """What a prompt state depends on: the image and the machine."""
    return {"image": _digest(Path(build_dir) / "fs.json"), **(machine or machine_parts(boot_config))}


def key_of(parts: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]


@dataclass
class Snapshot:
    key: str
    path: Path
    project: str
    created: float
    size: int
    raw_size: int
    parts: dict[str, str]


class SnapshotStore:
    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else paths.cache_dir() / "snapshots"
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / f"{key}.zst"

    def get(self, key: str) -> Path | None:
        found = self.path(key)
        return found if found.exists() and (self.root / f"{key}.json").exists() else None

    def put(self, key: str, raw: bytes, project: str, parts: dict[str, str]) -> Snapshot:
        packed = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(raw)
        atomic_write(self.path(key), packed)
        meta = {"project": project, "created": time.time(), "size": len(packed), "raw_size": len(raw),
                "parts": parts}
        atomic_write(self.root / f"{key}.json", json.dumps(meta))  # written last: marks it complete
        for old in [s for s in self.list() if s.project == project][KEEP_PER_PROJECT:]:
            self.delete(old.key)
        return Snapshot(key, self.path(key), **meta)

    def list(self) -> list[Snapshot]:
        found = []
        for meta_file in self.root.glob("*.json"):
            key = meta_file.stem
            if not self.path(key).exists():
                continue
            try:
                meta = json.loads(meta_file.read_text())
            except ValueError:
                continue
            found.append(Snapshot(key, self.path(key), meta["project"], meta["created"], meta["size"],
                                  meta["raw_size"], meta["parts"]))
        return sorted(found, key=lambda s: -s.created)

    def delete(self, key: str) -> None:
        (self.root / f"{key}.json").unlink(missing_ok=True)
        self.path(key).unlink(missing_ok=True)

    def why_cold(self, project: str, parts: dict[str, str]) -> str:
        """Why no state can be restored for `parts`: what differs from the project's newest state."""
        mine = [s for s in self.list() if s.project == project]
        if not mine:
            return "no snapshot of this project yet (one is saved when this boot reaches its prompt)"
        newest = mine[0]
        changed = [COMPONENT_NAMES[k] for k in COMPONENT_NAMES if newest.parts.get(k) != parts.get(k)]
        return "the saved snapshot no longer matches: " + ", ".join(changed or ["it is incomplete"])

    def why_no_kernel_state(self, machine: dict[str, str]) -> str:
        """Why no kernel state fits `machine`: what differs from the newest kernel state."""
        states = [s for s in self.list() if s.project == KERNEL_STATES]
        if not states:
            return "no kernel state yet (one is saved during this boot)"
        changed = [COMPONENT_NAMES[k] for k in COMPONENT_NAMES if k != "image"
                   and states[0].parts.get(k) != machine.get(k)]
        return ", ".join(changed or ["the kernel state is incomplete"]) + " (a new kernel state is saved during this boot)"

    def kernel_state_for(self, project) -> Path | None:
        """The kernel state of the machine `project` boots on, if one was saved."""
        from studio.build import fsjson

        return self.get(key_of(machine_parts(fsjson.boot_config(project))))

    def for_export(self, project, entries=None) -> Path | None:
        """The snapshot matching the image (`entries`, or the project as saved on disk), if one exists."""
        from studio.build import fsjson

        build = fsjson.build(project, entries=entries)
        return self.get(key_of(components(build.out, fsjson.boot_config(project))))
