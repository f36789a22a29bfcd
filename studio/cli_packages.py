"""`studio packages …`: Alpine packages in a project from the command line, over the same code the
Packages panel uses (studio.image.package_ops)."""

from __future__ import annotations

import sys
from pathlib import Path


def _progress():
    from studio.progress_line import ProgressLine

    return ProgressLine()


def _open(args, write: bool):
    """(project, base index, lock or None): a writer holds the project's write lock."""
    from studio.image.lock import ProjectLock
    from studio.image.project import Project
    from studio.image.save import settle

    lock = ProjectLock(Path(args.dir)).acquire(args.wait) if write else None
    project = Project.open(Path(args.dir))
    if not write:
        settle(project)
    return project, project.base_index(), lock


def _guest_runner():
    """What runs package scripts in the image (a headless boot), or None without a guest kernel."""
    from studio import assets

    if assets.missing_assets():
        return None
    from studio.boot.guest_run import run_steps

    return run_steps


def _change(args, settings, upgrade: bool = False) -> int:
    from studio.image import package_ops

    project, index, lock = _open(args, write=True)
    try:
        change = package_ops.plan(project, index, settings(project), upgrade=upgrade)
        for warning in change.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print(change.summary())
        if change.is_empty() and change.settings.world == project.packages.world \
                and change.settings.repositories == project.packages.repositories:
            return 0
        progress = _progress()
        try:
            outcome = package_ops.carry_out(project, index, change, _guest_runner(), progress)
        finally:
            progress.done()
        for warning in outcome.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if outcome.script_log.strip():
            print("scripts:\n" + "\n".join("  " + line for line in outcome.script_log.splitlines()))
        package_ops.commit(project, change.settings, outcome.lock)
        print(f"locked {len(outcome.lock.packages)} package(s) in {project.root / 'packages.lock'}")
        return 0
    finally:
        lock.release()


def cmd_add(args) -> int:
    from studio.packages.config import add_to_world

    return _change(args, lambda project: _with_world(project, add_to_world(project.packages.world, args.names)))


def cmd_del(args) -> int:
    from studio.packages.config import remove_from_world

    return _change(args, lambda project: _with_world(project, remove_from_world(project.packages.world, args.names)))


def cmd_update(args) -> int:
    return _change(args, lambda project: project.packages.copy(), upgrade=True)


def _with_world(project, world):
    settings = project.packages.copy()
    settings.world = world
    return settings


def cmd_list(args) -> int:
    from studio.image.package_ops import installed_packages
    from studio.image.project_packages import layer_for
    from studio.image.store import ObjectStore

    project, index, _ = _open(args, write=False)
    layer = layer_for(project, index.entries, index.sha512)
    locked = project.lock.by_name()
    world = {w.split("<")[0].split(">")[0].split("=")[0].split("~")[0] for w in project.packages.world}
    for package in sorted(installed_packages(layer.entries, ObjectStore()), key=lambda p: p.name):
        source = locked[package.name].repository if package.name in locked else "base"
        mark = "*" if package.name in world else " "
        print(f"{mark} {package.name:<32} {package.version:<20} {source}")
    if project.lock.world != project.packages.world:
        print("warning: packages.lock was resolved for another package list; run `studio packages update`",
              file=sys.stderr)
    return 0


def _catalog(project, index, refresh: bool):
    from studio.image.project_packages import repositories_of, trusted_keys
    from studio.packages import fetch

    trusted = trusted_keys(project, index.entries)
    loaded = fetch.load_indexes(repositories_of(project, index.entries), lambda r: trusted, refresh=refresh)
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return loaded.packages


def cmd_search(args) -> int:
    from studio.packages.search import search

    project, index, _ = _open(args, write=False)
    hits = search(_catalog(project, index, refresh=args.refresh), args.text)
    for package in hits[:args.limit]:
        print(f"{package.name:<32} {package.version:<18} {package.description}")
    if len(hits) > args.limit:
        print(f"… and {len(hits) - args.limit} more (--limit)")
    return 0 if hits else 1


def cmd_info(args) -> int:
    from studio.packages.model import format_dependency
    from studio.packages.search import newest

    project, index, _ = _open(args, write=False)
    packages = _catalog(project, index, refresh=args.refresh)
    package = newest(packages, args.name)
    if package is None:
        print(f"error: no package named {args.name} in the project's repositories "
              "(`studio packages search DIR TEXT` finds names)", file=sys.stderr)
        return 1
    rows = [("name", package.name), ("version", package.version), ("description", package.description),
            ("repository", package.repository), ("size", str(package.size)),
            ("installed size", str(package.installed_size)), ("url", package.url), ("license", package.license),
            ("origin", package.origin),
            ("depends", " ".join(format_dependency(d) for d in package.depends)),
            ("provides", " ".join(format_dependency(d) for d in package.provides)),
            ("install_if", " ".join(format_dependency(d) for d in package.install_if))]
    for key, value in rows:
        if value:
            print(f"{key + ':':<16}{value}")
    return 0


def cmd_repo(args) -> int:
    from studio.image.project_packages import repositories_of
    from studio.packages.config import KEYS_DIR, check_repository

    if args.repo_command == "list":
        project, index, _ = _open(args, write=False)
        for repository in repositories_of(project, index.entries):
            print(f"{repository.name:<24} {repository.url}")
        keys = sorted((project.root / KEYS_DIR).glob("*.pub")) if (project.root / KEYS_DIR).is_dir() else []
        for key in keys:
            print(f"key: {key.relative_to(project.root)}")
        return 0
    project, _index, lock = _open(args, write=True)
    try:
        url = check_repository(args.url.rstrip("/"))
        settings = project.packages
        if args.repo_command == "add":
            for key in args.key or []:
                _add_key(project, Path(key))
            if url not in settings.repositories:
                settings.repositories.append(url)
        else:
            if url not in settings.repositories:
                print(f"error: {url} is not one of the project's repositories: "
                      + ", ".join(settings.repositories), file=sys.stderr)
                return 1
            settings.repositories.remove(url)
        project.save_settings()
        print("repositories: " + ", ".join(settings.repositories))
        return 0
    finally:
        lock.release()


def _add_key(project, key: Path) -> None:
    from studio.errors import StudioError
    from studio.fsutil import atomic_write
    from studio.packages.config import KEYS_DIR
    from studio.packages.keys import TrustedKeys

    if not key.name.endswith(".pub"):
        raise StudioError(f"{key}: a key file is named like apk's, NAME.rsa.pub (the name the index's signature uses)")
    data = key.read_bytes()
    TrustedKeys.from_pems({key.name: data})  # refuses anything but an RSA public key
    atomic_write(project.root / KEYS_DIR / key.name, data)


def add_parsers(sub, waits) -> None:
    packages = sub.add_parser("packages", help="Alpine packages in the image: add, remove, update, search")
    psub = packages.add_subparsers(dest="packages_command", required=True)

    def command(name, func, help_text, write=False):
        parser = psub.add_parser(name, help=help_text)
        parser.add_argument("dir")
        parser.set_defaults(func=func)
        if write:
            waits(parser)
        else:
            parser.set_defaults(wait=0.0)
        return parser

    add = command("add", cmd_add, "add packages (resolved with their dependencies, locked, installed)", True)
    add.add_argument("names", nargs="+", metavar="NAME", help="a name with an optional constraint: nano, curl>=8")
    remove = command("del", cmd_del, "remove packages from the package list", True)
    remove.add_argument("names", nargs="+", metavar="NAME")
    command("update", cmd_update, "resolve the package list again, preferring the newest versions", True)
    command("list", cmd_list, "installed packages: name, version, repository (* = in the package list)")
    search = command("search", cmd_search, "search the repositories' packages by name and description")
    search.add_argument("text")
    search.add_argument("--limit", type=int, default=50)
    search.add_argument("--refresh", action="store_true", help="fetch the indexes anew")
    info = command("info", cmd_info, "a package's details")
    info.add_argument("name")
    info.add_argument("--refresh", action="store_true", help="fetch the indexes anew")

    repo = psub.add_parser("repo", help="the project's repositories")
    rsub = repo.add_subparsers(dest="repo_command", required=True)
    radd = rsub.add_parser("add", help="add a repository (and the keys its index is signed with)")
    radd.add_argument("dir")
    radd.add_argument("url")
    radd.add_argument("--key", action="append", metavar="FILE.rsa.pub")
    waits(radd)
    rlist = rsub.add_parser("list", help="the project's repositories and added keys")
    rlist.add_argument("dir")
    rlist.set_defaults(wait=0.0)
    rremove = rsub.add_parser("remove", help="remove a repository")
    rremove.add_argument("dir")
    rremove.add_argument("url")
    waits(rremove)
    for parser in (radd, rlist, rremove):
        parser.set_defaults(func=cmd_repo)
