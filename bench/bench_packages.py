"""Packages benchmark: a search keystroke over 20,000 packages, installing 20 packages from the
package cache into a project, the build after a package change, and the boot of an image with
packages against the same image without them (cold, to the prompt, alternated).

    .venv/bin/python bench/bench_packages.py [--runs 5]

Targets: search keystroke <= 30 ms; install of 20 cached packages <= 1 s; the image with packages
boots as fast as without. (Index load and resolve: bench_apkindex.py, bench_resolve.py.)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from stats import fmt  # noqa: E402

ALPINE = REPO.parent / "shared" / "alpine" / "alpine-minirootfs-3.19.4-x86.tar.gz"


def twenty_packages(directory: Path):
    """A signed repository of 20 packages of ~20 files each (text and binary), one depending on
    the next, so `pkg-00` pulls all of them."""
    from apkrepo import KEY_BITS, TestRepository, incompressible
    from studio.packages.apkfile import FileSpec, PackageSpec
    from studio.packages.keys import SigningKey

    key = SigningKey.generate("bench-00000001", bits=KEY_BITS)
    keys = directory / "keys"
    keys.mkdir(parents=True)
    (keys / key.key_name).write_bytes(key.public_pem())
    repo = TestRepository(directory / "repo", key, keys)
    for i in range(20):
        files = [FileSpec(f"usr/share/pkg{i:02d}/f{j}.txt", data=f"package {i} file {j}\n".encode() * 200)
                 for j in range(18)]
        files.append(FileSpec(f"usr/lib/pkg{i:02d}.so", data=incompressible(60_000, f"{i}".encode()), mode=0o755))
        files.append(FileSpec(f"usr/bin/pkg{i:02d}", data=b"#!/bin/sh\necho pkg\n", mode=0o755))
        depends = [f"pkg-{i + 1:02d}"] if i < 19 else []
        repo.add(PackageSpec(f"pkg-{i:02d}", "1.0-r0", arch="x86", builddate=1700000000, depends=depends,
                             description=f"benchmark package {i}", license="MIT", files=files))
    repo.reindex()
    return repo


def new_project(root: Path, repo):
    from studio.image import base
    from studio.image.project import Project

    project = Project.create(root, base.local_source(ALPINE))
    key = next(repo.keys_dir.glob("*.pub"))
    (project.root / "keys").mkdir()
    shutil.copy(key, project.root / "keys" / key.name)
    project.packages.repositories = [repo.url]
    project.save_settings()
    return Project.open(project.root)


def install(project, names: list[str]) -> float:
    from studio.image import package_ops
    from studio.packages.config import add_to_world

    started = time.perf_counter()
    index = project.base_index()
    settings = project.packages.copy()
    settings.world = add_to_world(settings.world, names)
    change = package_ops.plan(project, index, settings)
    outcome = package_ops.carry_out(project, index, change, run_steps=None)
    package_ops.commit(project, change.settings, outcome.lock)
    project.lower(index)  # the layer the next build and boot use
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-packages-"))
    from studio import kernel

    os.environ.setdefault("STUDIO_KERNEL", str(kernel.find_kernel()))
    from studio import initrd

    os.environ.setdefault("STUDIO_INITRD", str(initrd.find_initrd()))  # it lives in the real cache
    os.environ["STUDIO_CACHE_DIR"] = str(scratch / "cache")
    try:
        from apkrepo import synthetic_packages
        from studio.packages.search import SearchIndex

        packages = list(synthetic_packages(20000))
        started = time.perf_counter()
        index = SearchIndex(packages)
        built = time.perf_counter() - started
        keystrokes = []
        for text in ("l", "li", "lib", "libx", "py", "pyt", "python", "python3-d", "zz", "qt6"):
            t0 = time.perf_counter()
            index.search(text, 500)
            keystrokes.append(time.perf_counter() - t0)
        print(f"search index of {len(index)} packages built in {built:.3f} s")
        print(f"search keystroke (20,000 packages):   {fmt(keystrokes, 'ms', 1000)}")

        repo = twenty_packages(scratch / "repo")
        warm = new_project(scratch / "warm", repo)
        cold_seconds = install(warm, ["pkg-00"])
        print(f"install 20 packages, first time (fetch, verify, unpack): {cold_seconds:.3f} s")
        cached = [install(new_project(scratch / f"p{i}", repo), ["pkg-00"]) for i in range(args.runs)]
        print(f"install 20 packages, all cached:      {fmt(cached)}")
        from studio.image import project_packages
        from studio.packages.fetch import cache_root

        from_apks = []
        for i in range(args.runs):  # only the downloaded .apk files cached: verify and unpack again
            shutil.rmtree(cache_root() / "unpacked", ignore_errors=True)
            project_packages._layers.clear()
            from_apks.append(install(new_project(scratch / f"q{i}", repo), ["pkg-00"]))
        print(f"install 20 packages from the package cache (unpacking): {fmt(from_apks)}")

        from studio.build import fsjson

        project = new_project(scratch / "build", repo)
        fsjson.build(project)
        install(project, ["pkg-10"])
        t0 = time.perf_counter()
        result = fsjson.build(project)
        print(f"build after a package change:         {time.perf_counter() - t0:.3f} s ({result.summary()})")

        boot_compare(scratch, repo, args.runs)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def boot_compare(scratch: Path, repo, runs: int) -> None:
    from studio.boot.headless import close_session, open_session
    from studio.boot.qtapp import wait_for
    from studio.build import fsjson

    plain = new_project(scratch / "plain", repo)
    packaged = new_project(scratch / "packaged", repo)
    install(packaged, ["pkg-00"])
    session, view, failure = open_session()
    if not session.page_ready:
        raise SystemExit("the boot page did not load: " + "; ".join(failure + session.page_log[-5:]))
    times = {"without packages": [], "with 20 packages": []}
    try:
        for _ in range(runs):
            for label, project in (("without packages", plain), ("with 20 packages", packaged)):
                build = fsjson.build(project)
                session.boot(build.out, fsjson.boot_config(project))
                if not wait_for(lambda: "prompt" in session.console.milestones or failure, 60):
                    raise SystemExit(f"{label}: no prompt: {session.console.text[-500:]}")
                times[label].append(session.console.milestones["prompt"])
                session.stop()
    finally:
        close_session(session, view)
    for label, values in times.items():
        print(f"cold boot to prompt, {label}: {fmt(values)}")


if __name__ == "__main__":
    main()
