"""Resolution speed: a 50-package world against a synthetic index of about 20,000 packages.

The index looks like Alpine's main+community: libraries providing `so:` names, programs
providing `cmd:` names and depending on libraries by `so:` (mostly on a few popular ones), -dev/-doc/-openrc subpackages with
install_if, a few virtual names with provider priorities, several versions of some packages,
and dependency chains about ten levels deep. The Catalog (the lookup tables) is built once, as
the studio does per set of indexes; each run resolves the world from scratch against it.

    .venv/bin/python bench/bench_resolve.py        # prints the median of 30 runs (target: <= 50 ms)
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.packages.model import Dependency, Package  # noqa: E402
from studio.packages.resolve import Catalog, resolve  # noqa: E402

REPO_MAIN = "https://dl-cdn.alpinelinux.org/alpine/v3.19/main"
REPO_COMMUNITY = "https://dl-cdn.alpinelinux.org/alpine/v3.19/community"


def synthetic_index(count: int = 20_000, seed: int = 1) -> tuple[list[Package], list[str]]:
    """About `count` packages in layers: layer 0 is musl-like, each layer depends on the ones
    below (through `so:` names mostly), so chains run as deep as the layers. Returns the
    packages and the names of the top-layer programs (candidates for a world)."""
    rng = random.Random(seed)
    packages: list[Package] = []
    layers: list[list[tuple[str, str]]] = []  # per layer: (package name, so: name it provides)
    programs: list[str] = []
    checksum = 0

    def add(name: str, version: str, depends, provides=(), install_if=(), priority=None, repo=REPO_MAIN):
        nonlocal checksum
        checksum += 1
        packages.append(
            Package(
                name, version, arch="x86", checksum=f"Q1{checksum:026d}=", size=1000, installed_size=4000,
                depends=list(depends), provides=list(provides), install_if=list(install_if),
                provider_priority=priority, repository=repo,
            )
        )

    add("musl", "1.2.4-r2", [], [Dependency("so:libc.musl-x86.so.1", "=", "1")])
    layers.append([("musl", "so:libc.musl-x86.so.1")])
    add("docs", "0.2-r6", [])
    add("openrc", "0.52.1-r2", [Dependency("so:libc.musl-x86.so.1")], [Dependency("cmd:openrc", "=", "0.52.1-r2")])
    for provider, prio in (("busybox-binsh", 100), ("dash-binsh", 60), ("bash-binsh", 50)):
        add(provider, "1.36.1-r15", [Dependency("so:libc.musl-x86.so.1")], [Dependency("/bin/sh")], priority=prio)
    n = 0
    depth = 10
    while len(packages) < count:
        layer = min(1 + n % depth, len(layers))
        lower = [entry for below in layers[:layer] for entry in below]
        base = f"lib{n}" if layer < depth - 1 else f"app{n}"
        repo = REPO_MAIN if rng.random() < 0.6 else REPO_COMMUNITY
        # Like Alpine: most dependencies go to a few popular libraries (musl, zlib, openssl...).
        deps = [Dependency(lower[int(len(lower) * rng.random() ** 4)][1]) for _ in range(rng.randint(1, 4))]
        if rng.random() < 0.2:
            deps.append(Dependency("/bin/sh"))
        soname = f"so:{base}.so.{rng.randint(0, 3)}"
        versions = ["1.0-r0"] if rng.random() < 0.8 else ["1.0-r0", "1.1-r0", "2.0-r1"]
        for version in versions:
            provides = [Dependency(soname, "=", version.split("-")[0])]
            if base.startswith("app"):
                provides.append(Dependency(f"cmd:{base}", "=", version))
            add(base, version, deps, provides, repo=repo)
        add(f"{base}-dev", versions[-1], [Dependency(base, "=", versions[-1])], repo=repo)
        add(f"{base}-doc", versions[-1], [], install_if=[Dependency("docs"), Dependency(base, "=", versions[-1])],
            repo=repo)
        if rng.random() < 0.1:
            add(f"{base}-openrc", versions[-1], [], install_if=[Dependency("openrc"), Dependency(base)], repo=repo)
        while len(layers) <= layer:
            layers.append([])
        layers[layer].append((base, soname))
        if base.startswith("app"):
            programs.append(base)
        n += 1
    return packages, programs


def _median_ms(world: list[str], catalog: Catalog, runs: int = 30):
    times = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = resolve(world, catalog)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, min(times) * 1000, result


def main() -> None:
    packages, programs = synthetic_index()
    rng = random.Random(7)
    apps = rng.sample(programs, 48)
    started = time.perf_counter()
    catalog = Catalog(packages)
    built = time.perf_counter() - started
    print(f"index: {len(packages)} packages, {len(catalog.providers)} names; Catalog built in {built * 1000:.0f} ms")
    # `docs` and `openrc` make apk consider every -doc and -openrc package of the index
    # (install_if): the hardest 50-package world for the solver.
    for label, world in (("50 items with docs and openrc", ["docs", "openrc"] + apps),
                         ("50 items, no install_if triggers", ["musl", "busybox-binsh"] + apps)):
        median, best, result = _median_ms(world, catalog)
        print(f"world of {label}: {len(result.packages)} packages selected; "
              f"resolve median {median:.1f} ms, best {best:.1f} ms over 30 runs (target <= 50 ms)")


if __name__ == "__main__":
    main()
