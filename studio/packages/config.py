"""A project's package settings (Qt-free): the world (what the user asked for) and the
repositories, kept in studio.toml's [packages] table.

    [packages]
    world = ["nano", "curl>=8"]
    repositories = ["alpine:main", "alpine:community", "https://example.org/alpine/v3.19/testing"]

`alpine:main` and `alpine:community` are the base's Alpine release's own repositories on the mirror
`studio new` uses ($STUDIO_ALPINE_MIRROR or Alpine's CDN): the mirror is a setting of the machine,
not of the project, so a project moves between machines and mirrors. They are the default. Public
keys the user adds for a repository go to PROJECT/keys/ and are trusted for every repository, as
apk trusts every key in /etc/apk/keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from studio.errors import StudioError
from studio.packages.model import Dependency, format_dependency, parse_dependency

KEYS_DIR = "keys"  # PROJECT/keys/: public keys the user added for repositories
PROGRAMS = "programs:"  # the project's own repository: its programs, packaged (studio.compile.packaging)
ALPINE_SECTIONS = ("main", "community")
DEFAULT_REPOSITORIES = tuple(f"alpine:{section}" for section in ALPINE_SECTIONS)


@dataclass(frozen=True)
class Repository:
    """Where packages come from: `name` is what the project and the lock file say (`alpine:main`,
    or the URL itself), `url` where it is today."""

    name: str
    url: str


@dataclass
class PackageSettings:
    world: list[str] = field(default_factory=list)  # as the user wrote them: "nano", "curl>=8"
    repositories: list[str] = field(default_factory=lambda: list(DEFAULT_REPOSITORIES))

    @classmethod
    def from_toml(cls, table: dict) -> "PackageSettings":
        world = [str(item) for item in table.get("world", [])]
        for item in world:
            world_dependency(item)  # a bad item is an error that names it, at open
        repositories = [str(r).rstrip("/") for r in table.get("repositories", DEFAULT_REPOSITORIES)]
        for name in repositories:
            check_repository(name)
        return cls(world, repositories)

    def to_toml(self) -> dict:
        return {"world": list(self.world), "repositories": list(self.repositories)}

    def is_default(self) -> bool:
        return not self.world and tuple(self.repositories) == DEFAULT_REPOSITORIES

    def dependencies(self) -> list[Dependency]:
        return [world_dependency(item) for item in self.world]

    def copy(self) -> "PackageSettings":
        return PackageSettings(list(self.world), list(self.repositories))


def check_repository(name: str) -> str:
    if name.startswith("alpine:"):
        if name.split(":", 1)[1] not in ALPINE_SECTIONS:
            raise StudioError(f"unknown repository {name!r}: the release's own are "
                              + ", ".join(DEFAULT_REPOSITORIES))
    elif name != PROGRAMS and not name.startswith(("file://", "http://", "https://")):
        raise StudioError(f"repository {name!r}: give a file://, http:// or https:// URL (the folder holding "
                          "x86/APKINDEX.tar.gz), or alpine:main / alpine:community (programs: is the project's own)")
    return name


def resolve_repositories(names: list[str], alpine_version: str, mirror: str) -> list[Repository]:
    """Where each repository is today: alpine:SECTION on `mirror` for the base's release."""
    branch = ".".join(alpine_version.split(".")[:2])
    return [Repository(n, f"{mirror.rstrip('/')}/v{branch}/{n.split(':', 1)[1]}" if n.startswith("alpine:") else n)
            for n in names]


def world_dependency(item: str) -> Dependency:
    try:
        return parse_dependency(item)
    except ValueError as err:
        raise StudioError(f"package list: {err}. Write a name with an optional constraint, e.g. "
                          "`nano`, `curl>=8`, `musl-utils~1.2`.") from err


def add_to_world(world: list[str], items: list[str]) -> list[str]:
    """The world with `items` added; an item naming a package already there replaces it (a new
    constraint for the same name)."""
    result = list(world)
    for item in items:
        dep = world_dependency(item)
        result = [w for w in result if world_dependency(w).name != dep.name]
        result.append(format_dependency(dep))
    return sorted(result, key=lambda w: world_dependency(w).name)


def remove_from_world(world: list[str], names: list[str]) -> list[str]:
    missing = [n for n in names if all(world_dependency(w).name != n for w in world)]
    if missing:
        raise StudioError(f"not in the package list: {', '.join(missing)} "
                          f"(it holds: {', '.join(world) or 'nothing'}); see `studio packages list`")
    return [w for w in world if world_dependency(w).name not in names]


REPO_DOMAIN = "repo.studio"


def repository_host(name: str) -> str:
    """The running machine's name for a project repository (the studio answers it: see
    studio.boot.guest_net): alpine:main -> alpine-main.repo.studio; a URL -> its host and path
    made into one label."""
    import re
    import urllib.parse

    if name.startswith("alpine:"):
        label = "alpine-" + name.split(":", 1)[1]
    elif name == PROGRAMS:
        label = "programs"
    else:
        parsed = urllib.parse.urlparse(name)
        label = re.sub(r"[^a-z0-9]+", "-", (parsed.netloc + parsed.path).lower()).strip("-")[:55] or "repository"
    return f"{label}.{REPO_DOMAIN}"


def guest_repository_urls(names: list[str]) -> list[str]:
    """What the image's /etc/apk/repositories lists: addresses the guest reaches through the studio."""
    return [f"http://{repository_host(name)}" for name in names]
