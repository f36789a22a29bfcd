"""Export a project as a static web bundle that boots in any browser (Qt-free).

    OUT/index.html, boot.js, boot.css      the studio's own boot page (standalone mode)
    OUT/npm/...                            v86 and xterm.js
    OUT/bios/bios.bin, OUT/kernel/bzImage  SeaBIOS and the guest kernel
    OUT/build/fs.json, boot.json           the filesystem and boot settings
    OUT/build/blobs/H.bin.zst              file contents, zstd level 19 each (v86 decompresses them)
    OUT/build/state.bin.zst                optional: a saved machine state, restored instead of booting

Every URL in the page is relative, and no special headers are needed, so any static web server
serves it (python -m http.server, GitHub Pages). Compressed blobs are cached by content hash in
the user's cache, so exporting again costs only what changed.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import zstandard

from studio import assets, caches, kernel, paths
from studio.build import fsjson
from studio.fsutil import atomic_write
from studio.image.project import Project

ZSTD_LEVEL = 19
SMALL = 64  # smaller files are left uncompressed: a zstd frame would not be smaller

Progress = Callable[[str, float], None]


@dataclass
class ExportReport:
    out: Path
    seconds: float
    sizes: dict[str, int] = field(default_factory=dict)  # kind -> bytes
    files: int = 0

    def table(self) -> str:
        total = sum(self.sizes.values())
        rows = [f"{kind:<12} {size / 1e6:8.2f} MB  {size * 100 / total:5.1f}%"
                for kind, size in sorted(self.sizes.items(), key=lambda kv: -kv[1])]
        return "\n".join(rows + [f"{'total':<12} {total / 1e6:8.2f} MB  ({self.files} files, {self.seconds:.2f} s)"])


def _kind(relative: str) -> str:
    if relative.startswith("npm/v86/"):
        return "emulator"
    if relative.startswith("npm/"):
        return "terminal"
    if relative.startswith("build/blobs/"):
        return "file blobs"
    if relative.startswith(("build/state", "build/kernel-state")):
        return "snapshot"
    return {"bios/bios.bin": "bios", "kernel/bzImage": "kernel", "kernel/initrd": "kernel",
            "build/fs.json": "filesystem"}.get(relative, "page")


def export(project: Project, out: Path, snapshot: Path | None = None, progress: Progress | None = None,
           entries=None, network: bool = False, kernel_state: Path | None = None) -> ExportReport:
    """Write the bundle. Without `network` the page's machine has no network card; with it, the
    machine reaches the project's repositories from the visitor's browser (which needs each
    repository to answer with `Access-Control-Allow-Origin`), and in "web" mode plain HTTP too.
    A `snapshot` (prompt state) opens the page at a running shell; a `kernel_state` makes a
    visitor's first boot start at the saved kernel, the image's own init run fresh."""
    started = time.perf_counter()
    report = progress or (lambda message, fraction: None)
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / "index.html").exists():
        from studio.errors import StudioError

        raise StudioError(f"{out} is not empty and is not an earlier export; pick an empty folder")
    report("building the image", 0.0)
    build = fsjson.build(project, entries=entries)
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "build" / "blobs").mkdir(parents=True)

    for name in assets.PAGE_FILES:
        shutil.copyfile(assets.PAGE_DIR / name, staging / name)
    for relative in assets.NPM_FILES:
        target = staging / "npm" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(assets.NPM_DIR / relative, target)
    (staging / "bios").mkdir()
    shutil.copyfile(assets.SEABIOS, staging / "bios" / "bios.bin")
    (staging / "kernel").mkdir()
    shutil.copyfile(kernel.find_kernel(), staging / "kernel" / "bzImage")
    from studio import initrd

    shutil.copyfile(initrd.find_initrd(), staging / "kernel" / "initrd")

    fs = json.loads((build.out / "fs.json").read_text())
    blobs = _collect_blobs(fs["fsroot"])
    names = _compress_all(build.out / "blobs", staging / "build" / "blobs", blobs, report)
    _rename_blobs(fs["fsroot"], names)
    atomic_write(staging / "build" / "fs.json", json.dumps(fs, separators=(",", ":")))
    boot = fsjson.boot_config(project)
    # Without `network` the machine keeps its card (a saved state needs the same devices) but
    # reaches nothing: the page's fetch has no repositories and refuses everything else.
    boot.update(bundle_network(project) if network else {"repositories": {},
                                                         "network": "off" if boot["network"] == "off" else "repositories"})
    if snapshot is not None:
        _recompress(snapshot, staging / "build" / "state.bin.zst")
        boot["initial_state"] = "build/state.bin.zst"
    elif kernel_state is not None:
        _recompress(kernel_state, staging / "build" / "kernel-state.bin.zst")
        boot["kernel_state"] = "build/kernel-state.bin.zst"
    atomic_write(staging / "build" / "boot.json", json.dumps(boot, indent=2))

    result = ExportReport(out, 0.0)
    for path in staging.rglob("*"):
        if path.is_file():
            kind = _kind(path.relative_to(staging).as_posix())
            result.sizes[kind] = result.sizes.get(kind, 0) + path.stat().st_size
            result.files += 1
    shutil.rmtree(out, ignore_errors=True)
    os.replace(staging, out)
    result.seconds = time.perf_counter() - started
    report("exported", 1.0)
    return result


def _collect_blobs(nodes) -> set[str]:
    found = set()
    for node in nodes:
        extra = node[6]
        if isinstance(extra, list):
            found |= _collect_blobs(extra)
        elif (node[3] & 0o170000) == 0o100000:
            found.add(extra)
    return found


def _rename_blobs(nodes, names: dict[str, str]) -> None:
    for node in nodes:
        if isinstance(node[6], list):
            _rename_blobs(node[6], names)
        elif (node[3] & 0o170000) == 0o100000:
            node[6] = names[node[6]]


def _compress_all(source: Path, target: Path, blobs: set[str], report: Progress) -> dict[str, str]:
    """Compress each blob (level 19, in parallel, cached by name); returns old name -> new name."""
    cache = paths.cache_dir() / "zstd19"
    cache.mkdir(parents=True, exist_ok=True)
    ordered = sorted(blobs, key=lambda name: -(source / name).stat().st_size)  # big ones first
    done = [0]

    def one(name: str) -> tuple[str, str]:
        data = (source / name).read_bytes()
        if len(data) < SMALL:
            shutil.copyfile(source / name, target / name)
            return name, name
        cached = cache / (name + ".zst")
        if not cached.exists():
            packed = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(data)
            atomic_write(cached, packed)
        else:
            caches.touch(cached)  # just used: the last to be pruned
        try:
            os.link(cached, target / (name + ".zst"))
        except OSError:
            shutil.copyfile(cached, target / (name + ".zst"))
        done[0] += 1
        return name, name + ".zst"

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        names = {}
        for old, new in pool.map(one, ordered):
            names[old] = new
            report(f"compressing file contents ({len(names)}/{len(ordered)})", 0.1 + 0.85 * len(names) / len(ordered))
    # Least recently used blobs go when the cache passes its limit (this export's are linked into
    # the bundle already, and kept in the cache for the next one).
    caches.prune_blob_cache(cache, keep=[cache / new for new in names.values() if new.endswith(".zst")])
    return names



def bundle_network(project: Project) -> dict:
    """The page's network settings: the guest's repository names -> URLs a browser can fetch."""
    from studio.errors import StudioError
    from studio.image.project_packages import repositories_of
    from studio.packages.config import repository_host

    if project.boot.network == "off":
        return {"network": "off"}
    repositories = repositories_of(project, project.base_index().entries)
    local = [r.url for r in repositories if not r.url.startswith(("http://", "https://"))]
    if local:
        raise StudioError(f"a web page cannot read {', '.join(local)}: give the bundle http(s) repositories, "
                          "or export without the network")
    return {"network": project.boot.network, "repositories": {repository_host(r.name): r.url for r in repositories}}


def _recompress(state: Path, target: Path) -> None:
    """A saved state at the bundle's zstd level (the cache keeps them at a fast one): a third smaller."""
    raw = zstandard.ZstdDecompressor().decompress(state.read_bytes(), max_output_size=1 << 31)
    atomic_write(target, zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(raw))
