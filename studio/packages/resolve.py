"""Which packages an image has after `apk add`/`del`/`upgrade`: apk 2.14's resolution (Qt-free).

`resolve(world, catalog, installed)` answers what apk would install for a world (the image's
/etc/apk/world plus what the user asks for) from the repositories' packages (`Catalog`), starting
from the packages the base image already has. It ports apk-tools' solver (solver.c): the same
propagation, the same preference order among providers, the same greedy choices, and the same
change set (commit.c's error report, too), so its answer is apk's answer. tests/test_resolve.py
compares it with the real apk on small repositories.

What it follows from apk:
- version constraints (`=`, `<`, `>`, `<=`, `>=`, `~` fuzzy, `><` checksum) as version.py
  matches them; `!name` conflicts in the world and in `D:`;
- providers (`p:` so:, cmd:, pc:, virtual names, `name=ver`): a provider without a version meets
  only unversioned dependencies and is not chosen on its own when a name has several providers
  and it has no `k:` priority; among candidates apk prefers (solver.c compare_providers): one not
  ruled out, one meeting the last merged dependencies, fewer conflicts, more requirers, the
  installed one (unless upgrading), the newest version by the requested name, then by its own
  name, the installed one, the highest `k:`, the first repository;
- install_if: a package whose `i:` conditions are all met by the chosen set is added;
- packages that nothing needs any more are removed (so `del` is resolving without the name);
- upgrade mode: `upgrade=True` prefers the newest versions everywhere (`apk upgrade`), a set of
  names does so for those names and what they pull in (`apk add -u NAME`).

Left out (the studio has no use for them): repository tags (`name@tag` pinning), `--latest`,
`--available`, reinstalls, apk's self-upgrade step of `apk upgrade`, and `--force-broken-world`.
"""

from __future__ import annotations

import heapq
import sys
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from studio.errors import StudioError
from studio.packages import version as apkver
from studio.packages.model import Dependency, Package, format_dependency, parse_dependency

__all__ = [
    "Catalog",
    "Change",
    "Link",
    "Problem",
    "Reason",
    "Resolution",
    "Unsatisfiable",
    "resolve",
]

_UPGRADE = 1  # APK_SOLVERF_UPGRADE

# the solver's decision lists
_RESOLVENOW, _SELECTABLE, _UNRESOLVED = 1, 2, 3

# apk_dep_analyze results
_IRRELEVANT, _SATISFIES, _CONFLICTS = 0, 1, 2


# ---------------------------------------------------------------------------------------------
# The catalog: the repositories' packages, indexed once


class Catalog:
    """The available packages (from the repositories' indexes), indexed for resolution.

    Build it once per set of indexes and reuse it: `providers` maps every name (package names and
    every `p:` name) to the packages that provide it. The same package (name, version and `C:`)
    listed by several repositories is one package found in all of them. `repositories` gives the
    repositories' order (apk prefers the first one on a tie); by default, the order in which the
    packages name them."""

    def __init__(self, packages: Iterable[Package], repositories: Sequence[str] | None = None):
        self.packages: list[Package] = []
        self.repo_bits: list[int] = []  # per package: apk's repository bit mask (bit 0 is apk's cache)
        self.repositories: list[str] = list(repositories or [])
        self._repo_index = {url: i for i, url in enumerate(self.repositories)}
        self._identity: dict[tuple[str, str, str], int] = {}
        self._by_name_version: dict[tuple[str, str], list[int]] = {}
        self.providers: dict[str, list[tuple[int, str | None]]] = {}
        self.rdepends: dict[str, dict[str, None]] = {}
        self.rinstall_if: dict[str, dict[str, None]] = {}
        self._discovery: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool, bool]] = {}
        for pkg in packages:
            self._add(pkg)
        for name in list(self.providers):
            self.discovery(name)
        for mentioned in (self.rdepends, self.rinstall_if):
            for name in mentioned:
                self.discovery(name)

    def _repo_bit(self, url: str) -> int:
        index = self._repo_index.get(url)
        if index is None:
            index = self._repo_index[url] = len(self.repositories)
            self.repositories.append(url)
        return 1 << (index + 1)

    def _add(self, pkg: Package) -> int:
        key = (pkg.name, pkg.version, pkg.checksum)
        index = self._identity.get(key)
        bit = self._repo_bit(pkg.repository) if pkg.repository else 0
        if index is not None:
            self.repo_bits[index] |= bit
            return index
        index = len(self.packages)
        self._identity[key] = index
        self._by_name_version.setdefault((pkg.name, pkg.version), []).append(index)
        self.packages.append(pkg)
        self.repo_bits.append(bit)
        index_names = [pkg.name] + [p.name for p in pkg.provides]
        self.providers.setdefault(pkg.name, []).append((index, pkg.version))
        for provided in pkg.provides:
            self.providers.setdefault(provided.name, []).append(
                (index, provided.version if provided.op == "=" and provided.version else None)
            )
        for dep in pkg.depends:
            into = self.rdepends.setdefault(dep.name, {})
            for name in index_names:
                into[name] = None
        for dep in pkg.install_if:
            into = self.rinstall_if.setdefault(dep.name, {})
            for name in index_names:
                into[name] = None
        return index

    def discovery(self, name: str) -> tuple[tuple[str, ...], tuple[str, ...], bool, bool]:
        """What apk's discovery walk does at `name`, precomputed: the names it visits before
        numbering `name`, those it visits after, whether no provider has install_if, and whether
        a package of that very name provides it (not only virtual providers). Cached."""
        found = self._discovery.get(name)
        if found is None:
            found = self._discovery[name] = discovery_lists(
                name, self.providers.get(name, ()), self.packages.__getitem__, self.rinstall_if
            )
        return found

    def find(self, pkg: Package) -> int | None:
        """The index of the catalog's copy of `pkg` (same name, version and `C:`; without a
        `C:` on either side, same name and version), or None."""
        index = self._identity.get((pkg.name, pkg.version, pkg.checksum))
        if index is not None:
            return index
        candidates = self._by_name_version.get((pkg.name, pkg.version), [])
        for candidate in candidates:
            if not pkg.checksum or not self.packages[candidate].checksum:
                return candidate
        return None

    def by_name(self, name: str) -> list[Package]:
        """The packages called `name` (not those that only provide it)."""
        return [self.packages[i] for i, _ in self.providers.get(name, ()) if self.packages[i].name == name]

    def providers_of(self, name: str) -> list[tuple[Package, str | None]]:
        """(package, provided version or None for a bare `p:` name) for everything providing `name`."""
        return [(self.packages[i], v) for i, v in self.providers.get(name, ())]


def discovery_lists(name, entries, package_at, rinstall_if) -> tuple[tuple[str, ...], tuple[str, ...], bool, bool]:
    """solver.c discover_name, flattened: visiting a name already seen does nothing, so the
    walk at `name` is the same as visiting, in order, the dependencies of its providers, the
    names whose install_if mention it or its providers' names, the names its providers provide
    (then numbering `name`), then its providers' install_if names."""
    before: dict[str, None] = {}
    after: dict[str, None] = {}
    no_iif = True
    real = False
    packages = [(package_at(index), version) for index, version in entries]
    for pkg, _ in packages:
        for dep in pkg.depends:
            before.setdefault(dep.name)
        no_iif = no_iif and not pkg.install_if
        real = real or pkg.name == name
    for other in rinstall_if.get(name, ()):
        before.setdefault(other)
    for pkg, _ in packages:
        for other in rinstall_if.get(pkg.name, ()):
            before.setdefault(other)
        for provided in pkg.provides:
            before.setdefault(provided.name)
    for pkg, _ in packages:
        for dep in pkg.install_if:
            after.setdefault(dep.name)
    before.pop(name, None)
    after.pop(name, None)
    return tuple(before), tuple(after), no_iif, real


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Link:
    """One step of a chain: `package` (None: the world) needs `dependency`."""

    package: Package | None
    dependency: Dependency

    def __str__(self) -> str:
        who = "world" if self.package is None else f"{self.package.name}-{self.package.version}"
        return f"{who}[{format_dependency(self.dependency)}]"


@dataclass(frozen=True)
class Reason:
    """Why a package is selected: the world asks for it ("world"), another selected package
    depends on it ("dependency", `by` is that package), or its install_if conditions are all
    met ("install_if", `dependency` is the first condition)."""

    kind: str
    dependency: Dependency
    by: Package | None = None

    def __str__(self) -> str:
        dep = format_dependency(self.dependency)
        if self.kind == "world":
            return f"the world asks for {dep}"
        if self.kind == "install_if":
            return f"installed automatically (install_if {dep} ...)"
        return f"{self.by.name}-{self.by.version} depends on {dep}"


@dataclass(frozen=True)
class Change:
    """One package's fate: `old` (installed before, or None) becomes `new` (or None: removed)."""

    old: Package | None
    new: Package | None

    @property
    def kind(self) -> str:
        if self.old is None:
            return "add"
        if self.new is None:
            return "remove"
        if self.old is self.new:
            return "keep"
        order = apkver.compare(self.new.version, self.old.version)
        if self.new.name != self.old.name:
            return "replace"
        return {1: "upgrade", -1: "downgrade"}.get(order, "replace")


@dataclass
class Resolution:
    """What the image has after the change: `packages` (every package to have installed,
    sorted by name), `changes` in apk's order, and for each selected package why it is there."""

    packages: list[Package]
    changes: list[Change]
    reasons: dict[str, list[Reason]] = field(default_factory=dict)
    chains: dict[str, list[Link]] = field(default_factory=dict)

    def _of_kind(self, kind: str) -> list[Change]:
        return [c for c in self.changes if c.kind == kind]

    @property
    def added(self) -> list[Package]:
        return [c.new for c in self._of_kind("add")]

    @property
    def removed(self) -> list[Package]:
        return [c.old for c in self._of_kind("remove")]

    @property
    def upgraded(self) -> list[tuple[Package, Package]]:
        return [(c.old, c.new) for c in self._of_kind("upgrade")]

    @property
    def downgraded(self) -> list[tuple[Package, Package]]:
        return [(c.old, c.new) for c in self._of_kind("downgrade")]

    @property
    def replaced(self) -> list[tuple[Package, Package]]:
        """Same version, another build (another `C:`), or a package replaced by another name."""
        return [(c.old, c.new) for c in self._of_kind("replace")]

    @property
    def kept(self) -> list[Package]:
        return [c.new for c in self._of_kind("keep")]

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.packages]

    def why(self, name: str) -> str:
        """A one-line answer for a UI: the chain from the world to the package `name`."""
        chain = self.chains.get(name)
        if chain is None:
            return f"{name} is not selected"
        return _describe_chain(chain) if chain else f"{name} is installed automatically (install_if)"


@dataclass
class Problem:
    """One reason the request cannot be met, with the chains from the world that lead to it.

    kind: "missing" (nothing provides a needed name), "virtual" (only bare `p:` providers, none
    chosen: the user must pick one), "conflict" (a chosen package breaks a dependency or a `!`
    conflict, or two chosen packages provide the same name)."""

    kind: str
    subject: str  # the name, or name-version of the package at fault
    message: str
    chains: list[list[Link]] = field(default_factory=list)
    providers: list[Package] = field(default_factory=list)  # for "virtual"
    conflicts_with: list[str] = field(default_factory=list)
    breaks: list[Link] = field(default_factory=list)
    satisfies: list[Link] = field(default_factory=list)


class Unsatisfiable(StudioError):
    """The requested packages cannot be installed together. The message lists each problem as
    the chain that explains it; `problems` has the structure, `report` apk's own wording."""

    def __init__(self, problems: list[Problem], report: str):
        self.problems = problems
        self.report = report
        lines = ["The packages cannot be resolved:"]
        lines += [f"- {p.message}" for p in problems]
        lines.append("Change the requested packages or versions (or the repositories), then try again.")
        super().__init__("\n".join(lines))


def _describe_chain(chain: Sequence[Link]) -> str:
    """"`a` needs `b>=1`, which needs `so:libc.so`" for world[a] -> a[b>=1] -> b[so:libc.so]."""
    if not chain:
        return ""
    text = f"`{format_dependency(chain[0].dependency)}`"
    for link in chain[1:]:
        text += f" needs `{format_dependency(link.dependency)}`"
        if link is not chain[-1]:
            text += ", which"
    return text


# ---------------------------------------------------------------------------------------------
# The solver's working state (apk's apk_solver_name_state / apk_solver_package_state)


class _Name:
    __slots__ = (
        "name", "providers", "rdepends", "rinstall_if", "priority",
        "seen", "locked", "chosen_pkg", "chosen_ver", "requirers", "reevaluate_deps", "reevaluate_iif",
        "no_iif", "has_iif", "has_options", "reverse_deps_done",
        "merge_depends", "merge_provides", "has_virtual_provides", "dirty", "queue", "queue_token",
        "resolvenow", "has_auto_selectable", "iif_needed", "order_id",
        "changeset_processed", "changeset_removed", "installed_pkg", "installed_name", "state",
    )  # fmt: skip

    def __init__(self, name: str):
        self.name = name
        self.providers: list[tuple[_Pkg, str | None]] = []
        self.rdepends: tuple[str, ...] = ()  # names (states are made only when needed)
        self.rinstall_if: tuple[str, ...] = ()  # names (states are made only when needed)
        self.priority = 0
        self.seen = self.locked = False
        self.chosen_pkg: _Pkg | None = None
        self.chosen_ver: str | None = None
        self.requirers = 0
        self.reevaluate_deps = self.reevaluate_iif = False
        self.no_iif = self.has_iif = self.has_options = self.reverse_deps_done = False
        self.merge_depends = self.merge_provides = 0
        self.has_virtual_provides = False
        self.dirty = False
        self.queue = 0  # which decision list holds the name (0: none)
        self.queue_token = 0
        self.resolvenow = self.has_auto_selectable = self.iif_needed = False
        self.order_id = 0
        self.changeset_processed = self.changeset_removed = False
        self.installed_pkg: _Pkg | None = None
        self.installed_name: _Name | None = None
        self.state = 0  # error report bookkeeping (commit.c state_int)


class _Dep:
    """A dependency bound to its name's state."""

    __slots__ = ("name", "op", "version", "conflict", "source")

    def __init__(self, name: _Name, source: Dependency):
        self.name = name
        self.op = source.op
        self.version = source.version
        self.conflict = source.conflict
        self.source = source


class _Pkg:
    __slots__ = (
        "pkg", "index", "name", "version", "depends", "provides", "install_if", "provider_priority",
        "repos", "installed", "seen", "selectable", "iif_triggered", "iif_failed", "conflicts",
        "dependencies_merged", "dependencies_used", "solver_flags",
        "solver_flags_inheritable", "in_changeset", "error", "marked", "genid",
    )  # fmt: skip

    def __init__(self, pkg: Package, index: int, name: _Name, repos: int, installed: bool):
        self.pkg = pkg
        self.index = index
        self.name = name
        self.version = pkg.version
        self.depends: list[_Dep] = []
        self.provides: list[tuple[_Name, str | None, Dependency]] = []
        self.install_if: list[_Dep] = []
        self.provider_priority = pkg.provider_priority or 0
        self.repos = repos
        self.installed = installed
        self.seen = False
        self.selectable = True  # available in a repository, or installed
        self.iif_triggered = False
        self.iif_failed = not pkg.install_if
        self.conflicts = 0
        self.dependencies_merged = self.dependencies_used = False
        self.solver_flags = self.solver_flags_inheritable = 0
        self.in_changeset = False
        self.error = False
        self.marked = False
        self.genid = 0

    def label(self) -> str:
        return f"{self.name.name}-{self.version}"


def _ffs(mask: int) -> int:
    return (mask & -mask).bit_length()


def _version_order(a: str | None, b: str | None) -> int:
    """apk_version_compare on provider versions: a missing version decides nothing."""
    if a is None or b is None:
        return 0
    return apkver.compare(a, b)


def _dep_provided(dep: _Dep, pkg: _Pkg | None, version: str | None) -> bool:
    """apk_dep_is_provided: does the provider (pkg providing at `version`) meet `dep`?"""
    if pkg is None:
        return dep.conflict
    if dep.op == "><":
        return pkg.pkg.checksum == dep.version
    if dep.op == "":
        return not dep.conflict
    if version is None:
        return dep.conflict
    return apkver.satisfies(version, dep.op, dep.version) != dep.conflict


def _dep_analyze(dep: _Dep, pkg: _Pkg) -> int:
    """apk_dep_analyze: whether `pkg` satisfies, conflicts with, or is irrelevant to `dep`."""
    if dep.name is pkg.name:
        return _SATISFIES if _dep_provided(dep, pkg, pkg.version) else _CONFLICTS
    for provided, version, _ in pkg.provides:
        if provided is dep.name:
            return _SATISFIES if _dep_provided(dep, pkg, version) else _CONFLICTS
    return _IRRELEVANT


# ---------------------------------------------------------------------------------------------
# The solver (solver.c, function by function)


_NO_DISCOVERY: tuple[tuple[str, ...], tuple[str, ...], bool, bool] = ((), (), True, False)


class _MergedLinks:
    """Two name -> names maps read as one (the catalog's and the extra installed packages')."""

    def __init__(self, first: dict[str, dict[str, None]], second: dict[str, dict[str, None]]):
        self.first, self.second = first, second

    def get(self, name: str, default=()):
        merged = {**self.first.get(name, {}), **self.second.get(name, {})}
        return merged or default


class _Solver:
    def __init__(self, catalog: Catalog, installed: Sequence[Package]):
        self.catalog = catalog
        self.seen: set[str] = set()
        self.order: dict[str, int] = {}
        self.pending_reevaluate_deps: set[str] = set()
        self.extra_discovery: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool, bool]] = {}
        self.names: dict[str, _Name] = {}
        self.pkgs: dict[int, _Pkg] = {}
        self.errors = 0
        self.dirty: deque[_Name] = deque()
        self.resolvenow: deque[tuple[_Name, int]] = deque()
        self.heaps: dict[int, list[tuple[int, int, _Name]]] = {_SELECTABLE: [], _UNRESOLVED: []}
        self.order_counter = 0
        self.extra: list[Package] = []  # installed packages that no repository has
        self.extra_providers: dict[str, list[tuple[int, str | None]]] = {}
        self.extra_rdepends: dict[str, dict[str, None]] = {}
        self.extra_rinstall_if: dict[str, dict[str, None]] = {}
        self.installed: list[_Pkg] = []
        self.world: list[_Dep] = []
        for pkg in installed:
            self.installed.append(self._installed_pkg(pkg))
        for ipkg in self.installed:
            ipkg.installed = True

    # -- the universe: catalog plus installed packages that no repository has

    def _installed_pkg(self, pkg: Package) -> _Pkg:
        index = self.catalog.find(pkg)
        if index is None:
            index = len(self.catalog.packages) + len(self.extra)
            self.extra.append(pkg)
            names = [pkg.name] + [p.name for p in pkg.provides]
            self.extra_providers.setdefault(pkg.name, []).append((index, pkg.version))
            for provided in pkg.provides:
                self.extra_providers.setdefault(provided.name, []).append(
                    (index, provided.version if provided.op == "=" and provided.version else None)
                )
            for dep in pkg.depends:
                into = self.extra_rdepends.setdefault(dep.name, {})
                for name in names:
                    into[name] = None
            for dep in pkg.install_if:
                into = self.extra_rinstall_if.setdefault(dep.name, {})
                for name in names:
                    into[name] = None
        return self._pkg(index)

    def _package(self, index: int) -> tuple[Package, int]:
        packages = self.catalog.packages
        if index < len(packages):
            return packages[index], self.catalog.repo_bits[index]
        return self.extra[index - len(packages)], 0

    def name(self, name: str) -> _Name:
        """The state of `name` (created bare: its providers are looked up on first use)."""
        state = self.names.get(name)
        if state is None:
            state = self.names[name] = _Name(name)
            state.providers = None  # type: ignore[assignment]
            self._mark_seen(state)
            if name in self.pending_reevaluate_deps:
                state.reevaluate_deps = True
        return state

    def _mark_seen(self, state: _Name) -> None:
        """Copy what discovery found about the name into its state."""
        state.seen = state.name in self.seen
        state.order_id = self.order.get(state.name, 0)
        state.no_iif = self.discovery(state.name)[2] if state.seen else False

    def complete(self, state: _Name) -> _Name:
        """Fill a name's providers and reverse links from the catalog (and the installed
        packages no repository has). Done lazily: most of a big index never matters."""
        if state.providers is not None:
            return state
        name = state.name
        catalog = self.catalog
        entries = catalog.providers.get(name, [])
        rdepends = catalog.rdepends.get(name, {})
        rinstall_if = catalog.rinstall_if.get(name, {})
        if self.extra:
            entries = entries + self.extra_providers.get(name, [])
            rdepends = {**rdepends, **self.extra_rdepends.get(name, {})}
            rinstall_if = {**rinstall_if, **self.extra_rinstall_if.get(name, {})}
        state.providers = [(self._pkg(index), version) for index, version in entries]
        state.rdepends = tuple(rdepends)
        state.rinstall_if = tuple(rinstall_if)
        num_virtual = sum(1 for p, _ in state.providers if p.name is not state)
        if num_virtual == 0:
            state.priority = 0
        elif num_virtual != len(state.providers):
            state.priority = 1
        else:
            state.priority = 2
        return state

    def _pkg(self, index: int) -> _Pkg:
        state = self.pkgs.get(index)
        if state is not None:
            return state
        pkg, repos = self._package(index)
        state = self.pkgs[index] = _Pkg(pkg, index, self.name(pkg.name), repos, False)
        state.depends = [_Dep(self.name(d.name), d) for d in pkg.depends]
        state.install_if = [_Dep(self.name(d.name), d) for d in pkg.install_if]
        state.provides = [
            (self.name(p.name), p.version if p.op == "=" and p.version else None, p) for p in pkg.provides
        ]
        return state

    # -- queues: dirty names (FIFO), and names to decide in three lists: "resolve now" (FIFO),
    # "selectable" and "unresolved" (both highest discovery order first)

    def queue_dirty(self, name: _Name) -> None:
        if name.dirty or name.locked or (name.requirers == 0 and not name.reevaluate_iif):
            return
        name.dirty = True
        self.dirty.append(name)

    @staticmethod
    def resolvable_now(name: _Name) -> bool:
        return name.reverse_deps_done and name.requirers > 0 and name.has_auto_selectable and not name.has_options

    def _enqueue(self, name: _Name, which: int) -> None:
        name.queue = which
        name.queue_token += 1
        if which == _RESOLVENOW:
            self.resolvenow.append((name, name.queue_token))
        else:
            heapq.heappush(self.heaps[which], (-name.order_id, name.queue_token, name))

    def queue_unresolved(self, name: _Name, reevaluate: bool) -> None:
        if name.locked:
            return
        if name.queue:
            if name.resolvenow:
                return
            if self.resolvable_now(name):
                name.resolvenow = True
            elif not reevaluate:
                return
            name.queue = 0
        else:
            if name.requirers == 0 and not name.has_iif and not name.iif_needed:
                return
            name.resolvenow = self.resolvable_now(name)
        if name.resolvenow:
            self._enqueue(name, _RESOLVENOW)
        else:
            self._enqueue(name, _SELECTABLE if name.has_auto_selectable else _UNRESOLVED)

    def dequeue_next_name(self) -> _Name | None:
        while self.resolvenow:
            name, token = self.resolvenow.popleft()
            if name.queue == _RESOLVENOW and name.queue_token == token:
                name.queue = 0
                return name
        for which in (_SELECTABLE, _UNRESOLVED):
            heap = self.heaps[which]
            while heap:
                _, token, name = heapq.heappop(heap)
                if name.queue == which and name.queue_token == token:
                    name.queue = 0
                    return name
        return None

    def reevaluate_reverse_deps(self, name: _Name) -> None:
        seen = self.seen
        names = self.names
        for other in self.complete(name).rdepends:
            if other not in seen:
                continue
            name0 = names.get(other)
            if name0 is None:
                # No state yet: it has no requirers, so apk would only flag it. Keep the flag.
                self.pending_reevaluate_deps.add(other)
                continue
            name0.reevaluate_deps = True
            self.queue_dirty(name0)

    def reevaluate_reverse_installif(self, name: _Name) -> None:
        seen, names = self.seen, self.names
        for other in self.complete(name).rinstall_if:
            if other not in seen:
                continue
            name0 = names.get(other)
            if name0 is None:
                if other not in self.pending_reevaluate_deps and not self._install_if_may_change(other):
                    continue  # reconsidering it would change nothing: spare making its state
                name0 = self.name(other)
            if name0.no_iif:
                continue
            name0.reevaluate_iif = True
            self.queue_dirty(name0)

    def _install_if_may_change(self, name: str) -> bool:
        """Whether reconsidering a name nothing requires yet could change any of its packages'
        install_if state: reconsider_name walks each package's conditions in order and stops,
        changing nothing, at the first whose name is still undecided (unless it is a `!`)."""
        names, pkgs = self.names, self.pkgs
        entries = self.catalog.providers.get(name, [])
        if self.extra:
            entries = entries + self.extra_providers.get(name, [])
        for index, _ in entries:
            state = pkgs.get(index)
            if state is not None:
                if state.iif_triggered and state.selectable:
                    return True  # triggered through another of its names: this one gets queued
                if not state.selectable or state.iif_failed:
                    continue
            pkg = state.pkg if state is not None else self._package(index)[0]
            for dep in pkg.install_if:
                dep_state = names.get(dep.name)
                if dep_state is None or not dep_state.locked:
                    if dep.conflict:
                        return True
                    break
                if not _dep_provided(_Dep(dep_state, dep), dep_state.chosen_pkg, dep_state.chosen_ver):
                    return True  # it fails now
            else:
                if pkg.install_if:
                    return True  # all its conditions are met now
        return False

    def reevaluate_reverse_installif_pkg(self, pkg: _Pkg) -> None:
        self.reevaluate_reverse_installif(pkg.name)
        for provided, _, _ in pkg.provides:
            self.reevaluate_reverse_installif(provided)

    def disqualify_package(self, pkg: _Pkg) -> None:
        pkg.selectable = False
        self.reevaluate_reverse_deps(pkg.name)
        for provided, _, _ in pkg.provides:
            self.reevaluate_reverse_deps(provided)
        self.reevaluate_reverse_installif_pkg(pkg)

    def dependency_satisfiable(self, dep: _Dep) -> bool:
        name = dep.name
        if name.locked:
            return _dep_provided(dep, name.chosen_pkg, name.chosen_ver)
        if name.requirers == 0 and _dep_provided(dep, None, None):
            return True
        for pkg, version in self.complete(name).providers:
            if pkg.selectable and _dep_provided(dep, pkg, version):
                return True
        return False

    def discovery(self, name: str) -> tuple[tuple[str, ...], tuple[str, ...], bool, bool]:
        if not self.extra:
            return self.catalog.discovery(name)
        found = self.extra_discovery.get(name)
        if found is None:
            entries = self.catalog.providers.get(name, []) + self.extra_providers.get(name, [])
            rinstall_if = _MergedLinks(self.catalog.rinstall_if, self.extra_rinstall_if)
            found = self.extra_discovery[name] = discovery_lists(
                name, entries, lambda index: self._package(index)[0], rinstall_if
            )
        return found

    def _discovery_or_none(self, name: str):
        return self.discovery(name)

    def discover(self, root: str) -> None:
        """apk's discovery walk from a world name: marks every name apk could come to consider
        (`seen`) and numbers names in the order the walk finishes them (`order`), which decides
        which undecided name apk picks first. Done on names only (no solver state), iteratively."""
        seen = self.seen
        if root in seen:
            return
        seen.add(root)
        order = self.order
        discovery = self.catalog._discovery.get if not self.extra else self._discovery_or_none
        stack = [(root, iter((discovery(root) or _NO_DISCOVERY)[0]), True)]
        while stack:
            name, children, before = stack[-1]
            for child in children:
                if child not in seen:
                    seen.add(child)
                    stack.append((child, iter((discovery(child) or _NO_DISCOVERY)[0]), True))
                    break
            else:
                if before:
                    # Real packages before purely virtual names, then the later finished first.
                    # (apk 3 also decides the names given on the command line last; apk 2.14.4
                    # agrees with us more often without that rule.)
                    self.order_counter += 1
                    found = discovery(name) or _NO_DISCOVERY
                    order[name] = (1 << 31) | (1 << 30 if found[3] else 0) | self.order_counter
                    stack[-1] = (name, iter(found[1]), False)
                else:
                    stack.pop()

    def name_requirers_changed(self, name: _Name) -> None:
        self.queue_unresolved(name, False)
        self.reevaluate_reverse_installif(name)
        self.queue_dirty(name)

    @staticmethod
    def inherit_flags(pkg: _Pkg, parent: _Pkg | None, world_flags: int) -> None:
        if parent is not None:
            pkg.solver_flags |= parent.solver_flags_inheritable
            pkg.solver_flags_inheritable |= parent.solver_flags_inheritable
        else:
            pkg.solver_flags |= world_flags
            pkg.solver_flags_inheritable |= world_flags

    def apply_constraint(self, parent: _Pkg | None, dep: _Dep, world_flags: int = 0) -> None:
        name = self.complete(dep.name)
        if not dep.conflict:
            name.requirers += 1
            if name.requirers == 1:
                self.name_requirers_changed(name)
        for pkg0, version in name.providers:
            provided = _dep_provided(dep, pkg0, version)
            if not provided:
                pkg0.conflicts += 1
            if pkg0.selectable and pkg0.conflicts:
                self.disqualify_package(pkg0)
            if provided:
                self.inherit_flags(pkg0, parent, world_flags)

    def exclude_non_providers(self, name: _Name, must_provide: _Name, skip_virtuals: bool) -> None:
        if name is must_provide:
            return
        for pkg, version in self.complete(name).providers:
            if pkg.name is must_provide or not pkg.selectable or (skip_virtuals and version is None):
                continue
            if any(p is must_provide or (skip_virtuals and v is None) for p, v, _ in pkg.provides):
                continue
            self.disqualify_package(pkg)

    @staticmethod
    def auto_selectable(pkg: _Pkg, version: str | None) -> bool:
        """A bare `p:` name is never chosen on its own (even with one provider), unless its
        package has a provider priority or is asked for by its own name."""
        return version is not None or pkg.provider_priority != 0 or pkg.name.requirers > 0

    def reconsider_name(self, name: _Name) -> None:
        self.complete(name)
        reevaluate_deps = name.reevaluate_deps
        reevaluate_iif = name.reevaluate_iif
        name.reevaluate_deps = name.reevaluate_iif = False
        first_candidate: _Pkg | None = None
        num_options = 0
        has_iif = False
        no_iif = True
        has_auto_selectable = False
        for pkg, version in name.providers:
            pkg.dependencies_merged = False
            if reevaluate_deps:
                if not pkg.selectable:
                    continue
                for dep in pkg.depends:
                    if not self.dependency_satisfiable(dep):
                        self.disqualify_package(pkg)
                        break
            if not pkg.selectable:
                continue
            if reevaluate_iif and not pkg.iif_triggered and not pkg.iif_failed:
                pkg.iif_triggered = True
                for dep in pkg.install_if:
                    if not dep.name.locked:
                        if dep.conflict:
                            dep.name.iif_needed = True
                            self.queue_unresolved(self.complete(dep.name), False)
                        pkg.iif_triggered = False
                        pkg.iif_failed = False
                        break
                    if not _dep_provided(dep, dep.name.chosen_pkg, dep.name.chosen_ver):
                        pkg.iif_triggered = False
                        pkg.iif_failed = True
                        break
            if reevaluate_iif and pkg.iif_triggered:
                for dep in pkg.install_if:
                    self.inherit_flags(pkg, dep.name.chosen_pkg, 0)
            has_iif = has_iif or pkg.iif_triggered
            no_iif = no_iif and pkg.iif_failed
            has_auto_selectable = has_auto_selectable or pkg.iif_triggered
            if name.requirers == 0:
                continue
            # merge the dependencies common to all candidates
            pkg.dependencies_merged = True
            if first_candidate is None:
                first_candidate = pkg
            for dep in pkg.depends:
                if not dep.conflict and dep.name.merge_depends == num_options:
                    dep.name.merge_depends = num_options + 1
            if pkg.name.merge_provides == num_options:
                pkg.name.merge_provides = num_options + 1
                pkg.name.has_virtual_provides |= version is None
            for provided, pversion, _ in pkg.provides:
                if provided.merge_provides == num_options:
                    provided.merge_provides = num_options + 1
                    provided.has_virtual_provides |= pversion is None
            num_options += 1
            if not has_auto_selectable and self.auto_selectable(pkg, version):
                has_auto_selectable = True
        name.has_options = num_options > 1
        name.has_iif = has_iif
        name.no_iif = no_iif
        reevaluate = False
        if has_auto_selectable != name.has_auto_selectable:
            name.has_auto_selectable = has_auto_selectable
            reevaluate = True

        if first_candidate is not None:
            pkg = first_candidate
            for p, _ in name.providers:
                p.dependencies_used = p.dependencies_merged
            if num_options == 1:
                for dep in pkg.depends:
                    complete = dep.name.merge_depends == num_options
                    dep.name.merge_depends = 0
                    if complete:
                        self.apply_constraint(pkg, dep)
            else:
                for dep in pkg.depends:
                    name0 = dep.name
                    complete = name0.merge_depends == num_options
                    name0.merge_depends = 0
                    if complete and name0.requirers == 0:
                        self.complete(name0)
                        name0.requirers += 1
                        self.name_requirers_changed(name0)
                        for p, _ in name0.providers:
                            self.inherit_flags(p, pkg, 0)
            # provides transitivity
            complete = pkg.name.merge_provides == num_options
            pkg.name.merge_provides = 0
            if complete:
                self.exclude_non_providers(pkg.name, name, pkg.name.has_virtual_provides)
            for provided, _, _ in pkg.provides:
                complete = provided.merge_provides == num_options
                provided.merge_provides = 0
                if complete:
                    self.exclude_non_providers(provided, name, provided.has_virtual_provides)
            pkg.name.has_virtual_provides = False
            for provided, _, _ in pkg.provides:
                provided.has_virtual_provides = False

        seen, names = self.seen, self.names
        for other in name.rdepends:
            if other in seen:
                name0 = names.get(other)
                if name0 is None or not name0.locked:
                    name.reverse_deps_done = False
                    break
        else:
            name.reverse_deps_done = True
        self.queue_unresolved(name, reevaluate)

    def compare_providers(self, a: tuple[_Pkg | None, str | None], b: tuple[_Pkg | None, str | None]) -> int:
        """apk's preference between two providers: > 0 when `a` is better."""
        pkg_a, ver_a = a
        pkg_b, ver_b = b
        if pkg_a is None or pkg_b is None:
            return (pkg_a is not None) - (pkg_b is not None)
        flags = pkg_a.solver_flags | pkg_b.solver_flags
        r = pkg_a.selectable - pkg_b.selectable  # not ruled out
        if r:
            return r
        r = pkg_a.dependencies_used - pkg_b.dependencies_used  # in the last merging group
        if r:
            return r
        r = pkg_b.conflicts - pkg_a.conflicts
        if r:
            return r
        if not flags & _UPGRADE and (pkg_a.name is pkg_b.name or ver_a is not None or ver_b is not None):
            r = pkg_a.installed - pkg_b.installed  # keep the installed one
            if r:
                return r
        r = _version_order(ver_a, ver_b)  # the newest by the requested name
        if r:
            return r
        if pkg_a.name is pkg_b.name:  # the newest by its own name
            r = apkver.compare(pkg_a.version, pkg_b.version)
            if r:
                return r
        r = pkg_a.provider_priority - pkg_b.provider_priority
        if r:
            return r
        r = pkg_a.installed - pkg_b.installed  # the installed one (when upgrading)
        if r:
            return r
        r = pkg_a.selectable - pkg_b.selectable
        if r:
            return r
        return _ffs(pkg_b.repos) - _ffs(pkg_a.repos)  # the first repository

    def mark_error(self, pkg: _Pkg | None) -> None:
        if pkg is None or pkg.error:
            return
        pkg.error = True
        self.errors += 1

    def assign_name(self, name: _Name, pkg: _Pkg | None, version: str | None) -> None:
        self.complete(name)
        if name.locked:
            if version is None and name.chosen_ver is None:
                return  # both provide it without a version: fine
            self.mark_error(pkg)
            self.mark_error(name.chosen_pkg)
            return
        name.locked = True
        name.chosen_pkg = pkg
        name.chosen_ver = version
        name.queue = 0
        name.dirty = False
        if pkg is not None and not name.requirers and pkg.iif_triggered:
            for dep in pkg.install_if:
                if not dep.name.locked:
                    self.apply_constraint(pkg, dep)
        for pkg0, version0 in name.providers:
            if pkg0 is pkg:
                continue
            if version is None and version0 is None:
                continue
            self.disqualify_package(pkg0)
        self.reevaluate_reverse_deps(name)
        if pkg is not None:
            self.reevaluate_reverse_installif_pkg(pkg)
        else:
            self.reevaluate_reverse_installif(name)

    def select_package(self, name: _Name) -> None:
        chosen: tuple[_Pkg | None, str | None] = (None, None)
        self.complete(name)
        if name.requirers or name.has_iif:
            for provider in name.providers:
                pkg, version = provider
                if name.requirers == 0 and (not pkg.iif_triggered or not pkg.selectable):
                    continue
                if not self.auto_selectable(pkg, version):
                    continue
                if self.compare_providers(provider, chosen) > 0:
                    chosen = provider
        pkg = chosen[0]
        if pkg is not None:
            if not pkg.selectable:
                self.mark_error(pkg)
            self.assign_name(pkg.name, pkg, pkg.version)
            for provided, version, _ in pkg.provides:
                self.assign_name(provided, pkg, version)
            for dep in pkg.depends:
                self.apply_constraint(pkg, dep)
        else:
            self.assign_name(name, None, None)
            if name.requirers > 0:
                self.errors += 1

    def solve(self, world: list[Dependency], world_flags: int, name_flags: dict[str, int]) -> None:
        for dep in world:
            self.discover(dep.name)
        for state in self.names.values():  # the few made before discovery (installed packages')
            self._mark_seen(state)
        self.world = [_Dep(self.name(d.name), d) for d in world]
        for flagged, flags in name_flags.items():  # apk_solver_set_name_flags
            name = self.complete(self.name(flagged))
            for pkg, _ in name.providers:
                pkg.solver_flags |= flags
                pkg.solver_flags_inheritable |= flags
        for dep in self.world:
            self.apply_constraint(None, dep, world_flags)
        while True:
            while self.dirty:
                name = self.dirty.popleft()
                if not name.dirty:
                    continue  # assigned after it was queued: apk takes it off the queue
                name.dirty = False
                self.reconsider_name(name)
            name = self.dequeue_next_name()
            if name is None:
                break
            self.select_package(name)

    # -- the change set (solver.c generate_changeset)

    def generate_changeset(self) -> list[Change]:
        self.changes: list[tuple[_Pkg | None, _Pkg | None]] = []
        # package index -> (index of the package that pulled it or None, the link); install_if: None
        self.why: dict[int, tuple[int | None, Link] | None] = {}
        for name in self.names.values():
            name.installed_pkg = None
            name.installed_name = None
            name.requirers = 0
        for pkg in self.installed:
            pkg.name.installed_pkg = pkg
            pkg.name.installed_name = pkg.name
            for provided, version, _ in pkg.provides:
                if version is not None:
                    provided.installed_name = pkg.name
        for pkg in self.installed:
            self.cset_track_deps_added(pkg)
        for pkg in self.installed:
            self.cset_check_removal_by_deps(pkg)
        for dep in self.world:
            self.cset_gen_dep(None, dep)
        for pkg in self.installed:
            self.cset_gen_name_change(pkg.name)
        return [Change(o.pkg if o else None, n.pkg if n else None) for o, n in self.changes]

    @staticmethod
    def cset_track_deps_added(pkg: _Pkg) -> None:
        for dep in pkg.depends:
            if dep.conflict or dep.name.installed_name is None:
                continue
            dep.name.installed_name.requirers += 1

    def cset_track_deps_removed(self, pkg: _Pkg) -> None:
        for dep in pkg.depends:
            if dep.conflict or dep.name.installed_name is None:
                continue
            dep.name.installed_name.requirers -= 1
            if dep.name.installed_name.requirers > 0:
                continue
            pkg0 = dep.name.installed_pkg
            if pkg0 is not None:
                self.cset_gen_name_remove(pkg0)

    def cset_check_removal_by_deps(self, pkg: _Pkg) -> None:
        # A name nothing requires may still be provided by another chosen package: then it is
        # an adjustment, handled by cset_gen_name_change.
        if pkg.name.requirers == 0 and pkg.name.chosen_pkg is None:
            self.cset_gen_name_remove(pkg)

    def cset_check_install_by_iif(self, name: _Name) -> None:
        pkg = name.chosen_pkg
        if pkg is None or not name.seen or name.changeset_processed:
            return
        for dep in pkg.install_if:
            if not dep.conflict and not dep.name.changeset_processed:
                return
            if not _dep_provided(dep, dep.name.chosen_pkg, dep.name.chosen_ver):
                return
        self.why.setdefault(pkg.index, None)
        self.cset_gen_name_change(name)

    def cset_check_removal_by_iif(self, name: _Name) -> None:
        pkg = name.installed_pkg
        if pkg is None or name.chosen_pkg is not None:
            return
        if name.changeset_processed or name.changeset_removed:
            return
        for dep in pkg.install_if:
            if dep.name.changeset_removed and dep.name.chosen_pkg is None:
                self.cset_check_removal_by_deps(pkg)
                return

    def cset_check_by_reverse_iif(self, pkg: _Pkg | None, check) -> None:
        """Run `check` on the names whose install_if mention pkg's names (those without a state
        were never chosen nor installed: the checks would do nothing with them)."""
        if pkg is None:
            return
        names = self.names
        for name in [pkg.name] + [p for p, _, _ in pkg.provides]:
            for other in self.complete(name).rinstall_if:
                state = names.get(other)
                if state is not None:
                    check(state)

    def cset_gen_name_preprocess(self, name: _Name) -> None:
        if name.changeset_processed:
            return
        name.changeset_processed = True
        # The package that provided this name under another name goes.
        if name.installed_pkg is not None and (name.chosen_pkg is None or name.chosen_pkg.name is not name):
            self.cset_gen_name_remove(name.installed_pkg)
        # So does any provider of this name that is due to be removed.
        for pkg0, _ in self.complete(name).providers:
            name0 = pkg0.name
            if name0.installed_pkg is pkg0 and name0.chosen_pkg is None:
                self.cset_gen_name_remove(pkg0)

    def cset_gen_name_change(self, name: _Name) -> None:
        if name.changeset_processed:
            return
        self.cset_gen_name_preprocess(name)
        pkg = name.chosen_pkg
        if pkg is None or pkg.in_changeset:
            return
        pkg.in_changeset = True
        self.cset_gen_name_preprocess(pkg.name)
        for provided, _, _ in pkg.provides:
            self.cset_gen_name_preprocess(provided)
        old = pkg.name.installed_pkg
        self.cset_check_by_reverse_iif(old, self.cset_check_removal_by_iif)
        for dep in pkg.depends:
            self.cset_gen_dep(pkg, dep)
        self.changes.append((old, pkg))
        self.cset_check_by_reverse_iif(pkg, self.cset_check_install_by_iif)
        self.cset_track_deps_added(pkg)
        if old is not None:
            self.cset_track_deps_removed(old)

    def cset_gen_name_remove(self, pkg: _Pkg) -> None:
        name = pkg.name
        if pkg.in_changeset or (name.chosen_pkg is not None and name.chosen_pkg.name is name):
            return
        name.changeset_removed = True
        pkg.in_changeset = True
        for pkg0, _ in self.reverse_dependencies(pkg, installed_only=True, match=_SATISFIES):
            self.cset_gen_name_remove(pkg0)
        self.cset_check_by_reverse_iif(pkg, self.cset_check_removal_by_iif)
        self.changes.append((pkg, None))
        self.cset_track_deps_removed(pkg)

    def cset_gen_dep(self, parent: _Pkg | None, dep: _Dep) -> None:
        name = dep.name
        pkg = name.chosen_pkg
        if not _dep_provided(dep, name.chosen_pkg, name.chosen_ver):
            self.mark_error(parent)
        if pkg is not None and not dep.conflict and pkg.index not in self.why:
            self.why[pkg.index] = (parent.index if parent else None, Link(parent.pkg if parent else None, dep.source))
        self.cset_gen_name_change(name)
        if pkg is not None and pkg.error:
            self.mark_error(parent)

    def chain(self, index: int) -> list[Link]:
        """The links from the world down to the package with catalog `index` (the first path the
        change set took to it; empty for a package pulled in by install_if)."""
        links: list[Link] = []
        seen: set[int] = set()
        current: int | None = index
        while current is not None and current not in seen:
            seen.add(current)
            entry = self.why.get(current)
            if entry is None:
                break
            current, link = entry
            links.append(link)
        links.reverse()
        return links

    def reverse_dependencies(
        self, pkg: _Pkg, *, installed_only: bool = False, marked_only: bool = False, match: int = _SATISFIES,
        genid: int = 0,
    ) -> list[tuple[_Pkg, _Dep]]:
        """apk_pkg_foreach_reverse_dependency: (package, its dependency) pairs that `match` pkg."""
        found: list[tuple[_Pkg, _Dep]] = []
        for name in [pkg.name] + [p for p, _, _ in pkg.provides]:
            for other in self.complete(name).rdepends:
                for pkg0, _ in self.complete(self.name(other)).providers:
                    if installed_only and not pkg0.installed:
                        continue
                    if marked_only and not pkg0.marked:
                        continue
                    if genid and pkg0.genid >= genid:
                        continue
                    for dep in pkg0.depends:
                        if _dep_analyze(dep, pkg) & match:
                            found.append((pkg0, dep))
                    if genid:
                        pkg0.genid = genid
        return found


# ---------------------------------------------------------------------------------------------
# The error report (commit.c apk_solver_print_errors), as structured problems


class _Report:
    _PRESENT, _MISSING = 1, 2

    def __init__(self, solver: _Solver, selected: list[_Pkg]):
        self.solver = solver
        self.selected = selected
        self.lines: list[str] = ["ERROR: unable to select packages:"]
        self.problems: list[Problem] = []
        self.genid = 0
        for pkg in selected:
            pkg.marked = True
            pkg.name.state |= self._PRESENT
            for provided, _, _ in pkg.provides:
                provided.state |= self._PRESENT

    def chain_to(self, requirer: _Pkg | None, dep: _Dep) -> list[Link]:
        head = [] if requirer is None else self.solver.chain(requirer.index)
        return head + [Link(requirer.pkg if requirer else None, dep.source)]

    def run(self) -> None:
        self.analyze_deps(self.solver.world)
        for pkg in self.selected:
            self.analyze_package(pkg)
            self.analyze_deps(pkg.depends)

    def analyze_deps(self, deps: list[_Dep]) -> None:
        for dep in deps:
            name = dep.name
            if dep.conflict or name.state & (self._PRESENT | self._MISSING):
                continue
            name.state |= self._MISSING
            self.analyze_name(name)

    def analyze_name(self, name: _Name) -> None:
        solver = self.solver
        solver.complete(name)
        providers = [p for p, _ in name.providers]
        if providers:
            self.lines.append(f"  {name.name} (virtual):")
            self.lines.append("    note: please select one of the 'provided by'")
            self.lines.append("          packages explicitly")
            self.lines.append("    provided by: " + " ".join(self._provided_by(name)))
        else:
            self.lines.append(f"  {name.name} (no such package):")
        required: list[tuple[_Pkg | None, _Dep]] = [(None, d) for d in solver.world if d.name is name and not d.conflict]
        seen: set[int] = set()
        for other in name.rdepends:
            for pkg0, _ in solver.complete(solver.name(other)).providers:
                if not pkg0.marked or pkg0.index in seen:
                    continue
                seen.add(pkg0.index)
                for dep in pkg0.depends:
                    if dep.name is name and not dep.conflict:
                        required.append((pkg0, dep))
                        break
        self.lines.append("    required by: " + " ".join(self._dep_label(p, d) for p, d in required))
        chains = [self.chain_to(p, d) for p, d in required]
        if providers:
            kind = "virtual"
            tail = (
                f"which is a virtual name provided by {', '.join(p.label() for p in providers)}: "
                "add the one you want to the world"
            )
        else:
            kind = "missing"
            tail = "which nothing provides"
        message = self._join_chains(chains, tail)
        self.problems.append(
            Problem(kind, name.name, message, chains=chains, providers=[p.pkg for p in providers])
        )

    def _provided_by(self, name: _Name) -> list[str]:
        """commit.c's list: a package's name when all that name's providers provide `name`,
        else the package with its version."""
        refs: dict[str, int] = {}
        for pkg, _ in name.providers:
            refs[pkg.name.name] = refs.get(pkg.name.name, 0) + 1
        shown = []
        for pkg, _ in name.providers:
            name0 = self.solver.complete(pkg.name)
            count = refs[name0.name]
            if count == len(name0.providers):
                shown.append(name0.name)
                refs[name0.name] = 0
            elif count > 0:
                shown.append(pkg.label())
                refs[name0.name] = count - 1
        return shown

    @staticmethod
    def _dep_label(pkg: _Pkg | None, dep: _Dep) -> str:
        return ("world" if pkg is None else pkg.label()) + f"[{format_dependency(dep.source)}]"

    @staticmethod
    def _join_chains(chains: list[list[Link]], tail: str) -> str:
        if not chains:
            return tail[0].upper() + tail[1:]
        described = [_describe_chain(c) for c in chains]
        return "; and ".join(described) + ", " + tail

    def analyze_package(self, pkg: _Pkg) -> None:
        conflicts: list[str] = []
        for pkg0, _ in pkg.name.providers:
            if pkg0 is not pkg and pkg0.marked:
                conflicts.append(pkg0.label())
        for provided, version, source in pkg.provides:
            once = True
            for pkg0, version0 in provided.providers:
                if not pkg0.marked:
                    continue
                if version is None and version0 is None:
                    continue
                if once and pkg0 is pkg and version0 == version:
                    once = False
                    continue
                conflicts.append(f"{pkg0.label()}[{format_dependency(source)}]")
        breaks = self.matching_deps(pkg, _CONFLICTS)
        if not conflicts and not breaks:
            return
        satisfies = self.matching_deps(pkg, _SATISFIES)
        self.lines.append(f"  {pkg.label()}:")
        if conflicts:
            self.lines.append("    conflicts: " + " ".join(conflicts))
        if breaks:
            self.lines.append("    breaks: " + " ".join(self._dep_label(p, d) for p, d in breaks))
        if satisfies:
            self.lines.append("    satisfies: " + " ".join(self._dep_label(p, d) for p, d in satisfies))
        held = "; ".join(_describe_chain(self.chain_to(p, d)) for p, d in satisfies)
        held = f" (it is chosen because {held})" if held else ""
        parts = []
        for requirer, dep in breaks:
            what = "conflicts with" if dep.conflict else "is not met by"
            versions = self._available_versions(dep.name)
            avail = f"; available: {', '.join(versions)}" if versions and not dep.conflict else ""
            parts.append(f"{_describe_chain(self.chain_to(requirer, dep))}, which {what} {pkg.label()}{held}{avail}")
        for other in conflicts:
            own = self.solver.chain(pkg.index)
            parts.append(
                f"{pkg.label()} ({_describe_chain(own) or 'selected'}) and {other} both provide the same name: "
                "only one of them can be installed"
            )
        chains = [self.chain_to(p, d) for p, d in breaks] or [self.solver.chain(pkg.index)]
        self.problems.append(
            Problem(
                "conflict", pkg.label(), "; ".join(parts) if parts else pkg.label(), chains=chains,
                conflicts_with=conflicts,
                breaks=[Link(p.pkg if p else None, d.source) for p, d in breaks],
                satisfies=[Link(p.pkg if p else None, d.source) for p, d in satisfies],
            )
        )

    def _available_versions(self, name: _Name) -> list[str]:
        return sorted(
            {p.version for p, _ in name.providers if p.name is name},
            key=_VersionKey,
        )

    def matching_deps(self, pkg: _Pkg, match: int) -> list[tuple[_Pkg | None, _Dep]]:
        found: list[tuple[_Pkg | None, _Dep]] = [(None, d) for d in self.solver.world if _dep_analyze(d, pkg) & match]
        self.genid += 1
        found += self.solver.reverse_dependencies(pkg, marked_only=True, match=match, genid=self.genid)
        return found


class _VersionKey:
    """Sort key ordering version strings as apk does."""

    __slots__ = ("v",)

    def __init__(self, v: str):
        self.v = v

    def __lt__(self, other: _VersionKey) -> bool:
        return apkver.compare(self.v, other.v) < 0


# ---------------------------------------------------------------------------------------------
# The entry point


def _as_dependency(item: Dependency | str) -> Dependency:
    return item if isinstance(item, Dependency) else parse_dependency(item)


def _world_order(world: Iterable[Dependency | str]) -> list[Dependency]:
    """The world as apk holds it: one item per name (a later item replaces an earlier one, as
    `apk add` does), sorted by name (apk sorts it before solving)."""
    by_name: dict[str, Dependency] = {}
    for item in world:
        dep = _as_dependency(item)
        by_name[dep.name] = dep
    return sorted(by_name.values(), key=lambda d: d.name.encode())


def resolve(
    world: Iterable[Dependency | str],
    catalog: Catalog | Iterable[Package],
    installed: Sequence[Package] = (),
    *,
    upgrade: bool | Iterable[str] = False,
) -> Resolution:
    """The packages to have installed for `world`, as apk 2.14 would choose them.

    world: the image's /etc/apk/world plus (or minus) what the user asks for: `Dependency`
      objects or apk's strings ("nano", "curl>=8", "!foo").
    catalog: the repositories' packages (a `Catalog`, or packages to index now).
    installed: the packages the image has now (its /lib/apk/db/installed), in that file's order.
      They are kept where they still fit, unless upgrading.
    upgrade: True to prefer the newest versions everywhere (`apk upgrade`); names to do so for
      those names and what they pull in (`apk add -u NAME`).

    Raises `Unsatisfiable` (a StudioError) with every problem and its chain from the world."""
    if not isinstance(catalog, Catalog):
        catalog = Catalog(catalog)
    deps = _world_order(world)
    solver = _Solver(catalog, installed)
    world_flags = _UPGRADE if upgrade is True else 0
    name_flags = {} if isinstance(upgrade, bool) else {_as_dependency(n).name: _UPGRADE for n in upgrade}
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20000))  # discovery follows dependency chains depth-first
    try:
        solver.solve(deps, world_flags, name_flags)
        changes = solver.generate_changeset()
    finally:
        sys.setrecursionlimit(limit)
    selected_states = [solver.pkgs[i] for i in _selected_indexes(solver)]
    if solver.errors:
        report = _Report(solver, selected_states)
        report.run()
        problems = report.problems or [
            Problem("conflict", "", "apk's solver found a problem but no broken constraint to show")
        ]
        raise Unsatisfiable(problems, "\n".join(report.lines))
    selected = sorted((c.new for c in changes if c.new is not None), key=lambda p: p.name.encode())
    return Resolution(selected, changes, _reasons(solver, selected_states), _chains(solver, selected_states))


def _selected_indexes(solver: _Solver) -> list[int]:
    return [new.index for _, new in solver.changes if new is not None]


def _reasons(solver: _Solver, selected: list[_Pkg]) -> dict[str, list[Reason]]:
    """Every reason each selected package is there: world items, dependents, install_if."""
    reasons: dict[str, list[Reason]] = {p.pkg.name: [] for p in selected}
    chosen = {p.index for p in selected}

    def provider(dep: _Dep) -> _Pkg | None:
        pkg = dep.name.chosen_pkg
        return pkg if pkg is not None and pkg.index in chosen else None

    for dep in solver.world:
        pkg = provider(dep)
        if pkg is not None and not dep.conflict:
            reasons[pkg.pkg.name].append(Reason("world", dep.source))
    for parent in selected:
        for dep in parent.depends:
            pkg = provider(dep)
            if pkg is not None and not dep.conflict:
                reasons[pkg.pkg.name].append(Reason("dependency", dep.source, parent.pkg))
    for pkg in selected:
        if pkg.install_if and all(_dep_provided(d, d.name.chosen_pkg, d.name.chosen_ver) for d in pkg.install_if):
            reasons[pkg.pkg.name].append(Reason("install_if", pkg.install_if[0].source))
    return reasons


def _chains(solver: _Solver, selected: list[_Pkg]) -> dict[str, list[Link]]:
    """For each selected package, the first chain from the world that pulled it in."""
    return {p.pkg.name: solver.chain(p.index) for p in selected}
