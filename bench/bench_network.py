"""The running machine's network: a 10 MB download inside the guest (MB/s), `apk add` of a 1 MB
package from a local repository, and boot to prompt with the network card against without it
(alternated, cold).

    .venv/bin/python bench/bench_network.py [--runs 3]

Targets: in-guest download >= 2 MB/s; apk add of 1 MB <= 3 s; boot to prompt unchanged (+-5%).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from stats import fmt  # noqa: E402

ALPINE = REPO.parent / "shared" / "alpine" / "alpine-minirootfs-3.19.4-x86.tar.gz"
LEASE = "for i in $(seq 40); do ip -4 addr show eth0 | grep -q inet && break; sleep 0.25; done"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--boot-only", action="store_true", help="only the boot comparison")
    args = parser.parse_args()
    from studio import kernel

    os.environ.setdefault("STUDIO_KERNEL", str(kernel.find_kernel()))
    from studio import initrd

    os.environ.setdefault("STUDIO_INITRD", str(initrd.find_initrd()))
    scratch = Path(tempfile.mkdtemp(prefix="bench-network-"))
    os.environ["STUDIO_CACHE_DIR"] = str(scratch / "cache")
    try:
        from apkrepo import build_repository, incompressible
        from studio.packages.apkfile import FileSpec, PackageSpec

        repo = build_repository(scratch / "repo")
        repo.add(PackageSpec("tenmeg", "1.0-r0", arch="x86", builddate=1700000000, description="10 MB", license="MIT",
                             files=[FileSpec("usr/share/tenmeg/blob", data=incompressible(10 << 20, b"ten"))]))
        repo.reindex()
        from studio.image import base
        from studio.image.project import Project

        def project(name: str, network: str) -> Project:
            made = Project.create(scratch / name, base.local_source(ALPINE))
            key = next(repo.keys_dir.glob("*.pub"))
            (made.root / "keys").mkdir()
            shutil.copy(key, made.root / "keys" / key.name)
            made.packages.repositories = [repo.url]
            made.boot.network = network
            made.save_settings()
            return Project.open(made.root)

        networked = project("net", "repositories")
        from studio.boot.headless import boot_headless
        from studio.packages.config import repository_host

        host = repository_host(repo.url)
        speeds, adds = [], []
        for _ in range(0 if args.boot_only else args.runs):
            result = boot_headless(networked.root, [
                LEASE, "apk update >/dev/null 2>&1",
                f"time wget -q -O /dev/null http://{host}/x86/tenmeg-1.0-r0.apk",
                "time apk add -q bigdata", "apk del -q bigdata"], timeout=180, use_snapshots=False,
                log=open(os.devnull, "w"))
            if not result.ok:
                raise SystemExit(result.reason + result.console[-1500:])
            speeds.append((10 << 20) / 1e6 / _seconds(result.outputs[2]))
            adds.append(_seconds(result.outputs[3]))
        if speeds:
            print(f"10 MB download in the guest:   {fmt(speeds, 'MB/s')}")
            print(f"apk add of a 1 MB package:     {fmt(adds)}")

        plain = project("plain", "off")
        boots = {"with network card": [], "without": []}
        for _ in range(args.runs):
            for label, chosen in (("with network card", networked), ("without", plain)):
                result = boot_headless(chosen.root, [], timeout=60, use_snapshots=False, log=open(os.devnull, "w"))
                boots[label].append(result.milestones["prompt"])
        for label, values in boots.items():
            print(f"cold boot to prompt, {label}: {fmt(values)}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _seconds(time_output: str) -> float:
    """BusyBox `time`'s 'real 0m 1.23s' (or '0m 1.23s real')."""
    match = re.search(r"real\s+(\d+)m\s*([\d.]+)s", time_output) or re.search(r"(\d+)m\s*([\d.]+)s\s+real", time_output)
    if not match:
        raise SystemExit(f"no time in {time_output!r}")
    return int(match[1]) * 60 + float(match[2])


if __name__ == "__main__":
    main()
