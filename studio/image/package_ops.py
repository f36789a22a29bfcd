"""Changing a project's packages (Qt-free): plan (resolve against the repositories, show what will
change), then carry out (download and verify, unpack, run the install scripts and triggers in the
image, lock), then commit (packages.lock and studio.toml). Nothing is written until the end, and a
failure anywhere changes nothing.

Running scripts needs a headless boot of the image; the caller passes that as `run_steps` (the
CLI and the GUI give studio.boot.guest_run.run_steps), so this module stays below the boot layer.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Callable

import humanize

from studio.errors import StudioError
from studio.fsutil import atomic_write
from studio.image.entry import FILE, Entry
from studio.image.package_layer import Unpacked, build_layer, read_text, record_effects, unpack
from studio.image.project_packages import layer_for, project_keys, repositories_of, trusted_keys, wanted_for
from studio.image.store import ObjectStore
from studio.packages import fetch
from studio.packages import installed as db
from studio.packages.config import PackageSettings, guest_repository_urls
from studio.packages.lockfile import LOCK_FILE, Lock, Locked
from studio.packages.model import Package
from studio.packages.resolve import Catalog, Resolution, resolve

# The order apk runs a package's scripts in, and the arguments it gives them.
INSTALL_SCRIPTS = ("pre-install", "post-install")
UPGRADE_SCRIPTS = ("pre-upgrade", "post-upgrade")


@dataclass
class Step:
    """One script to run in the image: its text with `args`, under a name for the log."""

    name: str
    script: bytes
    args: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """What a package change will do, before anything is downloaded or written."""

    settings: PackageSettings  # the package list (and repositories) afterwards
    resolution: Resolution
    lock: Lock  # the packages afterwards (datahash and script effects filled in by `carry_out`)
    base_names: set[str]
    warnings: list[str] = field(default_factory=list)

    @property
    def added(self) -> list[Package]:
        return [p for p in self.resolution.added]

    @property
    def removed(self) -> list[Package]:
        return [p for p in self.resolution.removed]

    @property
    def upgraded(self) -> list[tuple[Package, Package]]:
        return self.resolution.upgraded + self.resolution.downgraded + self.resolution.replaced

    @property
    def download_size(self) -> int:
        return sum(p.size for p in self.added) + sum(new.size for _, new in self.upgraded)

    @property
    def installed_size_change(self) -> int:
        return (sum(p.installed_size for p in self.added) - sum(p.installed_size for p in self.removed)
                + sum(new.installed_size - old.installed_size for old, new in self.upgraded))

    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.upgraded)

    def summary(self) -> str:
        lines = []
        for package in self.added:
            lines.append(f"  add      {package.name} {package.version}  ({self.resolution.why(package.name)})")
        for old, new in self.upgraded:
            lines.append(f"  upgrade  {new.name} {old.version} -> {new.version}")
        for package in self.removed:
            lines.append(f"  remove   {package.name} {package.version}")
        size = self.installed_size_change
        lines.append(f"download {humanize.naturalsize(self.download_size, binary=True)}, installed size "
                     f"{'+' if size >= 0 else '-'}{humanize.naturalsize(abs(size), binary=True)}")
        return "\n".join(lines) if not self.is_empty() else "nothing to change"


def installed_packages(entries: dict[str, Entry], store: ObjectStore) -> list[Package]:
    return [p.package for p in db.parse_installed(read_text(entries, "/" + db.INSTALLED, store))]


def plan(project, index, settings: PackageSettings, upgrade: bool = False, refresh: bool = True,
         cancelled=None) -> Plan:
    """Resolve `settings` (the package list afterwards) against the project's repositories, from
    the image as it is now (base and locked packages installed: they are kept where they fit,
    unless `upgrade`). Raises Unsatisfiable (with the chains) when it cannot be met."""
    store = ObjectStore()
    base = index.entries
    current = layer_for(project, base, index.sha512).entries
    trusted = trusted_keys(project, base, store)
    repositories = repositories_of(project, base, store, settings.repositories)
    indexes = fetch.load_indexes(repositories, lambda repository: trusted, refresh=refresh, cancelled=cancelled)
    if not indexes.packages and settings.world:
        raise StudioError("no repository could be read:\n  " + "\n  ".join(indexes.warnings))
    base_packages = installed_packages(base, store)
    base_world = read_text(base, "/etc/apk/world", store).split()
    world = sorted(set(base_world) | set(settings.world))
    resolution = resolve(world, Catalog(indexes.packages), installed_packages(current, store), upgrade=upgrade)
    base_by_name = {p.name: p for p in base_packages}
    gone = [p.name for p in resolution.removed if p.name in base_by_name]
    if gone:
        raise StudioError(f"this change would remove packages the base image brings ({', '.join(gone)}); the "
                          "studio installs on top of the base and does not take its packages away")
    old_lock = project.lock.by_name()
    locked = []
    for package in resolution.packages:
        base_package = base_by_name.get(package.name)
        if base_package is not None and base_package.checksum == package.checksum:
            continue  # the base has it
        previous = old_lock.get(package.name)
        if previous is not None and previous.checksum == package.checksum:
            locked.append(previous)
        else:
            locked.append(Locked(package.name, package.version, package.arch or "x86", package.repository,
                                 package.size, package.checksum, "", package.installed_size))
    return Plan(settings, resolution, Lock(locked, list(settings.world)), set(base_by_name), indexes.warnings)


@dataclass
class Outcome:
    lock: Lock
    warnings: list[str] = field(default_factory=list)
    script_log: str = ""


RunSteps = Callable[..., object]  # studio.boot.guest_run.run_steps(project, entries, steps, ...)


def carry_out(project, index, change: Plan, run_steps: RunSteps | None, progress=None, cancelled=None) -> Outcome:
    """Download (in parallel, verified), unpack, and run the install scripts and triggers in the
    image; returns the lock to commit. Writes nothing into the project."""
    report = progress or (lambda message, fraction: None)
    store = ObjectStore()
    base = index.entries
    trusted = trusted_keys(project, base, store)
    repositories = repositories_of(project, base, store, change.settings.repositories)
    wanted = wanted_for(change.lock.packages, repositories, trusted)
    opened = fetch.fetch_packages(wanted, lambda m, f: report(m, 0.1 + 0.5 * f), cancelled)
    unpacked: dict[str, Unpacked] = {}
    for number, item in enumerate(change.lock.packages):
        report(f"unpacking {item.name}", 0.6 + 0.1 * number / max(1, len(change.lock.packages)))
        unpacked[item.name] = unpack(opened[item.name], store)
    lock = Lock([_with_datahash(item, opened[item.name].info.datahash) for item in change.lock.packages],
                list(change.settings.world))
    order = _install_order(change, unpacked)
    keys = project_keys(project)
    urls = guest_repository_urls(change.settings.repositories)
    layer = build_layer(base, order, change.settings, lock, urls, keys, {}, store)
    steps = _script_steps(change, order, base, layer.entries, store)
    outcome = Outcome(lock, list(layer.notes))
    if steps:
        if run_steps is None:
            lock.scripts_pending = True
            outcome.warnings.append("the packages' install scripts did not run (they need a boot of the image: "
                                    "build the guest kernel with `studio kernel`, then `studio packages update`)")
        else:
            report("running the install scripts in the image", 0.75)
            run = run_steps(project, layer.entries, steps)
            failed = {name: code for name, code in run.exit_codes.items() if code != 0}
            if failed:
                outcome.warnings.append("scripts that failed (as apk, the packages stay installed): "
                                        + ", ".join(f"{n} (exit {c})" for n, c in sorted(failed.items())))
            lock.effects = record_effects(run.changes, store)
            outcome.script_log = run.log
    report("done", 1.0)
    return outcome


def commit(project, settings: PackageSettings, lock: Lock) -> None:
    """Write packages.lock, then studio.toml (the lock records the package list it came from, so a
    crash between the two is noticed and the lock still says what gets installed)."""
    atomic_write(project.root / LOCK_FILE, lock.dumps())
    project.lock = lock
    project.packages = settings
    project.save_settings()


def _with_datahash(item: Locked, datahash: str) -> Locked:
    from dataclasses import replace

    return replace(item, datahash=datahash.lower())


def _install_order(change: Plan, unpacked: dict[str, Unpacked]) -> list[Unpacked]:
    """The locked packages in the order apk installs them (its change list; the rest by name)."""
    order = [c.new.name for c in change.resolution.changes if c.new is not None and c.new.name in unpacked]
    order += sorted(n for n in unpacked if n not in order)
    return [unpacked[n] for n in dict.fromkeys(order)]


def _script_steps(change: Plan, order: list[Unpacked], base: dict[str, Entry], entries: dict[str, Entry],
                  store: ObjectStore) -> list:
    """apk's scripts for this change, in its order: per package pre- then post-install (or -upgrade
    when the base had another version), then the triggers whose folders the change touched."""
    steps = []
    base_versions = {p.name: p.version for p in installed_packages(base, store)}
    touched: set[str] = set()
    for package in order:
        old = base_versions.get(package.name)
        kinds = UPGRADE_SCRIPTS if old is not None else INSTALL_SCRIPTS
        args = [package.version] + ([old] if old is not None else [])
        for kind in kinds:
            script = package.record.scripts.get(kind)
            if script:
                steps.append(Step(f"{package.name}-{package.version}.{kind}", script, args))
        touched.update(row[0].rsplit("/", 1)[0] or "/" for row in package.rows if row[1] != "dir")
    triggers = db.parse_triggers(read_text(entries, "/" + db.TRIGGERS, store))  # checksum -> globs
    for record in db.parse_installed(read_text(entries, "/" + db.INSTALLED, store)):
        globs = triggers.get(record.package.checksum, [])
        scripts = _scripts_of(record, order, entries, store)
        if not globs or "trigger" not in scripts:
            continue
        matched = sorted(d for d in touched if any(fnmatch.fnmatch(d, glob) for glob in globs))
        if matched:
            steps.append(Step(f"{record.package.name}-{record.package.version}.trigger", scripts["trigger"], matched))
    return steps


def _scripts_of(record: db.InstalledPackage, order: list[Unpacked], entries: dict[str, Entry],
                store: ObjectStore) -> dict[str, bytes]:
    """A package's scripts: from the unpacked package, else from the image's scripts.tar."""
    for package in order:
        if package.name == record.package.name:
            return package.record.scripts
    tar = entries.get("/" + db.SCRIPTS)
    if tar is None or tar.kind != FILE:
        return {}
    name_version = f"{record.package.name}-{record.package.version}"
    return {entry.script: entry.data for entry in db.parse_scripts_tar(store.read(tar.sha256))
            if entry.name_version == name_version and entry.checksum == record.package.checksum}
