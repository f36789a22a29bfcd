"""Programs as apk packages (Qt-free): each compiled program becomes a real package (its
executable, its .wasm beside it, `cmd:` provides) in the project's own repository (`programs:`,
in PROJECT/.studio/programs/x86/), signed with the project's key, and goes into the image through
the packages path like any Alpine package: the world, packages.lock, apk's database in the image
(so `apk info`, `apk info -L NAME` and `apk del NAME` in the guest know it).

The project's signing key is made when first needed. Its private half lives in the user's config
(~/.config/image-studio/keys/), never in the project; its public half goes to PROJECT/keys/, which
the image trusts (/etc/apk/keys). A project copied to a machine without the private key gets a new
key; the packages signed with the old one are dropped and built again by the next compile.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from studio import settings
from studio.compile.jobs import CompileOutcome, Program
from studio.errors import StudioError
from studio.image import edits, package_ops
from studio.image.state import Change, ImageState
from studio.image.project_packages import programs_repository
from studio.image.store import ObjectStore
from studio.packages.apkfile import FileSpec, PackageSpec, build_apk, open_apk
from studio.packages.config import KEYS_DIR, PROGRAMS, add_to_world, remove_from_world, world_dependency
from studio.packages.index import build_repository_index
from studio.packages.keys import SigningKey, TrustedKeys

ARCH = "x86"
KEY_PREFIX = "studio-programs-"
DEFAULT_VERSION = "0.1"  # a project without `version` in studio.toml
KEEP_RELEASES = 4  # a program's releases kept in the repository (and any packages.lock names)


def private_keys_dir() -> Path:
    return settings.config_dir() / "keys"


def signing_key(project) -> SigningKey:
    """The project's program-signing key: the one whose public half is in PROJECT/keys/ and private
    half in the user's config; made (and the old packages dropped) when there is none."""
    public_dir = Path(project.root) / KEYS_DIR
    for public in sorted(public_dir.glob(f"{KEY_PREFIX}*.rsa.pub")):
        private = private_keys_dir() / public.name.removesuffix(".pub")
        if private.is_file():
            key = SigningKey.load(private, public.name)
            if key.public_pem() == public.read_bytes():
                return key
    slug = re.sub(r"[^A-Za-z0-9]+", "-", project.name).strip("-").lower() or "project"
    key = SigningKey.generate(f"{KEY_PREFIX}{slug}-{secrets.token_hex(4)}")
    private, public = key.write(private_keys_dir())
    public_dir.mkdir(exist_ok=True)
    for old in public_dir.glob(f"{KEY_PREFIX}*.rsa.pub"):  # an old key of this project: its private half is elsewhere
        old.unlink()
    (public_dir / public.name).write_bytes(public.read_bytes())
    public.unlink()  # the public half belongs to the project; the config keeps only the private one
    folder = repository_dir(project)
    for stale in folder.glob("*.apk") if folder.is_dir() else []:
        stale.unlink()
    return key


def repository_dir(project) -> Path:
    return programs_repository(project) / ARCH


def project_version(project) -> str:
    return project.version or DEFAULT_VERSION


@dataclass
class Packaged:
    program: str
    version: str
    apk: Path
    built: bool  # False: the repository had a package with these very files


def package_program(project, program: Program, outcome: CompileOutcome, key: SigningKey) -> Packaged:
    """The program's package in the project's repository: the existing one when it holds these
    very files, else a new release (-rN+1) of the project's version."""
    if not outcome.ok:
        raise StudioError(f"{program.name} did not compile: nothing to package")
    folder = repository_dir(project)
    folder.mkdir(parents=True, exist_ok=True)
    trusted = TrustedKeys.from_pems({key.key_name: key.public_pem()}, "the project's key")
    base_version = project_version(project)
    files = [FileSpec(a.image_path, source=a.host_path, mode=a.mode) for a in outcome.artifacts]
    command = Path(program.install).name
    spec = PackageSpec(
        name=program.name, version="", arch=ARCH, origin=program.name,
        description=f"{program.name} ({program.target}), built by Image Studio from {', '.join(program.sources)}",
        license="custom", url="https://example.invalid/image-studio-program", packager="Image Studio",
        files=files,
    )
    releases = []
    for path in folder.glob(f"{program.name}-*.apk"):
        apk = open_apk(path, trusted)
        if apk.package.name != program.name:
            continue  # another program whose name starts the same way
        releases.append(apk)
    current = [a for a in releases if _release(a.package.version, base_version) is not None]
    # Above any release the lock names too: a clone without .studio/ must not reuse its name.
    named = [_release(item.version, base_version) for item in project.lock.packages if item.name == program.name]
    number = 1 + max([_release(a.package.version, base_version) for a in current]
                     + [n for n in named if n is not None], default=-1)
    spec.version = f"{base_version}-r{number}"
    spec.provides = [f"cmd:{command}={spec.version}"]
    path = folder / spec.filename
    built = build_apk(spec, path, key)
    # The same files give the same data hash (fixed times and owners): that release serves again.
    same = [a for a in current if a.info.datahash == built.datahash]
    if same:
        path.unlink()
        return Packaged(program.name, same[0].package.version, same[0].path, built=False)
    relocked = [item for item in project.lock.packages
                if item.name == program.name and item.datahash.lower() == built.datahash.lower()]
    if relocked:  # the release the lock names, built again here (a clone without .studio/): the same package
        path.unlink()
        spec.version = relocked[0].version
        spec.provides = [f"cmd:{command}={spec.version}"]
        path = folder / spec.filename
        build_apk(spec, path, key)
    # Older releases go, but those the lock names (an undo may want them back) and the last few.
    locked = {item.filename for item in project.lock.packages}
    ordered = sorted(current, key=lambda a: _release(a.package.version, base_version), reverse=True)
    for old in ordered[KEEP_RELEASES - 1:]:
        if old.path.name not in locked:
            old.path.unlink()
    build_repository_index(folder, key, description=f"Image Studio programs of {project.name}", trusted=trusted)
    return Packaged(program.name, spec.version, path, built=True)


def _release(version: str, base_version: str) -> int | None:
    """N of `BASE-rN`; None for a release of another version of the project."""
    base, _, tail = version.rpartition("-r")
    if base != base_version:
        return None
    return int(tail) if tail.isdigit() else 0


def plan_install(project, index, packaged: list[Packaged]) -> package_ops.Plan:
    """The package change that installs these programs' packages: the project's repository listed,
    the programs in the world (pinned to these releases), resolved against the cached indexes."""
    base_names = {p.name for p in package_ops.installed_packages(index.entries, ObjectStore())}
    clashes = sorted(p.program for p in packaged if p.program in base_names)
    if clashes:
        raise StudioError(f"a program's package would replace the base's own package of that name "
                          f"({', '.join(clashes)}): rename the program")
    wanted = project.packages.copy()
    if PROGRAMS not in wanted.repositories:
        wanted.repositories.insert(0, PROGRAMS)
    wanted.world = add_to_world(wanted.world, [f"{p.program}={p.version}" for p in packaged])
    return package_ops.plan(project, index, wanted, refresh=False)


def install(project, index, programs: list[Program], outcomes: list[CompileOutcome], run_steps=None,
            progress=None, cancelled=None) -> tuple[package_ops.Plan, package_ops.Outcome, list[Packaged]]:
    """Package each compiled program and carry out the change that installs them (nothing is
    written into the project: the caller commits, or pushes it as an undoable step)."""
    key = signing_key(project)
    by_name = {p.name: p for p in programs}
    packaged = [package_program(project, by_name[o.program], o, key) for o in outcomes if o.ok]
    change = plan_install(project, index, packaged)
    outcome = package_ops.carry_out(project, index, change, run_steps, progress, cancelled)
    return change, outcome, packaged


def uninstall(project, index, name: str, run_steps=None, progress=None, cancelled=None):
    """The package change that takes a removed program's package out of the image (None when the
    world does not have it); nothing is written: the caller commits or pushes it."""
    wanted = project.packages.copy()
    if all(world_dependency(item).name != name for item in wanted.world):
        return None
    wanted.world = remove_from_world(wanted.world, [name])
    change = package_ops.plan(project, index, wanted, refresh=False)
    return change, package_ops.carry_out(project, index, change, run_steps, progress, cancelled)


def leftover_files(state: ImageState, outcomes: list[CompileOutcome]):
    """A change removing overlay copies of the programs' files (what installs did before programs
    were packages), so the packages' own files show; None when there are none."""
    paths = [a.image_path for o in outcomes if o.ok for a in o.artifacts
             if state.status(a.image_path) != "base" and a.image_path in state.base]
    if not paths:
        return None
    reverted = edits.revert_to_base(state, paths)
    return Change("Use the packaged programs' files", reverted.before, reverted.after)
