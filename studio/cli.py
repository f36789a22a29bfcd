"""The `studio` command: the GUI by default, and headless subcommands over the same services."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from studio.errors import StudioError
from studio.progress_line import ProgressLine as _ProgressLine


def cmd_new(args) -> int:
    from studio.image import base
    from studio.image.project import Project

    source = base.parse_base(args.base, args.mirror)
    progress = _ProgressLine()
    try:
        project = Project.create(Path(args.dir), source, name=args.name, progress=progress)
    finally:
        progress.done()
    index = project.base_index()
    for note in index.notes[:5]:
        print(f"note: {note}")
    if len(index.notes) > 5:
        print(f"note: … and {len(index.notes) - 5} more skipped special files")
    print(f"created {project.root} on {source.spec} ({source.filename}), with the serial-console preset")
    return 0


def cmd_build(args) -> int:
    from studio.build import fsjson
    from studio.image.project import Project

    from studio.image.save import settle

    project = Project.open(Path(args.dir))
    settle(project)
    progress = _ProgressLine()
    try:
        result = fsjson.build(project, Path(args.out) if args.out else None, progress)
    finally:
        progress.done()
    print(f"built {result.out}: {result.summary()}")
    return 0


def cmd_boot(args) -> int:
    if not args.headless:
        from studio.ui.app import run_gui

        return run_gui(Path(args.dir), boot=True)
    from studio.boot.headless import boot_headless
    from studio.image.project import Project
    from studio.image.save import settle

    settle(Project.open(Path(args.dir)))
    result = boot_headless(Path(args.dir), args.run or [], args.expect, args.timeout, args.prompt,
                           use_snapshots=not args.no_snapshot)
    for name in ("first-kernel-line", "restored", "prompt"):
        if name in result.milestones:
            print(f"time to {name.replace('-', ' ')}: {result.milestones[name]:.2f} s")
    if result.output:
        print(result.output)
    if not result.ok:
        tail = "\n".join(result.console.splitlines()[-25:])
        print(f"error: {result.reason}\n--- last console output ---\n{tail}", file=sys.stderr)
        return 1
    return 0


def cmd_add(args) -> int:
    from studio.image import edits, inject
    from studio.image.document import ImageDocument

    doc = ImageDocument.open(Path(args.dir), wait=args.wait)
    mode = int(args.mode, 8) if args.mode else None
    progress = _ProgressLine()
    try:
        entries = inject.collect(doc, [Path(s) for s in args.sources], args.to, mode, progress)
    finally:
        progress.done()
    clashes = inject.conflicts(doc.state, entries)
    if clashes and not args.replace:
        shown = "\n  ".join(clashes[:10]) + ("\n  …" if len(clashes) > 10 else "")
        print(f"error: these already exist in the image (use --replace to overwrite them):\n  {shown}",
              file=sys.stderr)
        doc.close()
        return 1
    change = edits.add_entries(doc.state, entries, "Add files", replace=args.replace)
    doc.state.apply(change)
    doc.save()
    doc.close()
    files = sum(1 for e in entries if e.kind == "file")
    print(f"added {files} files ({len(entries)} entries) under {args.to}")
    return 0


def cmd_check(args) -> int:
    from studio.image.checks import ERROR, check_image
    from studio.image.document import ImageDocument
    from studio.image.project import Project
    from studio.image.save import settle

    project = Project.open(Path(args.dir))
    settle(project)
    doc = ImageDocument(project, writable=False)
    findings = check_image(doc)
    for finding in findings:
        print(finding)
    errors = sum(1 for f in findings if f.severity == ERROR)
    warnings = len(findings) - errors
    print(f"{errors} errors, {warnings} warnings")
    return 1 if errors else 0


def cmd_program_add(args) -> int:
    from studio.compile import programs
    from studio.image.lock import ProjectLock
    from studio.image.project import Project

    with ProjectLock(Path(args.dir)).acquire(args.wait):
        project = Project.open(Path(args.dir))
        program = programs.add(project, args.name, [Path(s) for s in args.source], args.target,
                               args.install or "", args.cflags or "", replace=args.replace)
    extra = f" (and {program.install}.wasm)" if program.target == "wasm32-wasi" else ""
    print(f"program {program.name}: {', '.join(program.sources)} -> {program.install}{extra} [{program.target}]")
    return 0


def cmd_program_remove(args) -> int:
    from studio.cli_packages import _guest_runner
    from studio.compile import packaging, programs
    from studio.image import package_ops
    from studio.image.lock import ProjectLock
    from studio.image.project import Project

    with ProjectLock(Path(args.dir)).acquire(args.wait):
        project = Project.open(Path(args.dir))
        programs.find(project, args.name)
        removal = packaging.uninstall(project, project.base_index(), args.name, _guest_runner())
        if removal is not None:
            change, done = removal
            package_ops.commit(project, change.settings, done.lock)
            project = Project.open(Path(args.dir))
        programs.remove(project, args.name)
    print(f"removed program {args.name}" + (" and its package" if removal else ""))
    return 0


def cmd_compile(args) -> int:
    from studio.cli_packages import _guest_runner
    from studio.compile import packaging, programs
    from studio.compile.queue import CompileQueue
    from studio.image import package_ops
    from studio.image.document import ImageDocument

    doc = ImageDocument.open(Path(args.dir), wait=args.wait)  # holds the project for writing
    try:
        project = doc.project
        chosen = [programs.find(project, args.program)] if args.program else programs.load(project)
        if not chosen:
            print("no programs: add one with `studio program add`", file=sys.stderr)
            return 1
        queue = CompileQueue(project.root)
        queue.listeners.append(lambda job: print(f"{job.program.name}: {job.status}", file=sys.stderr)
                               if job.status == "running" else None)
        try:
            outcomes = queue.wait(queue.submit_all(chosen))
        finally:
            queue.shutdown()
        failed = [o for o in outcomes if not o.ok]
        for outcome in outcomes:
            print(f"{outcome.program}: {outcome.status} in {outcome.seconds:.2f} s")
            for diagnostic in outcome.diagnostics:
                print(f"  {diagnostic}")
            if not outcome.ok and not outcome.diagnostics:
                print("\n".join("  " + line for line in outcome.output.splitlines()[-20:]))
        if len(failed) < len(outcomes):
            # Each compiled program goes in as its package (the project's repository, the world, the lock).
            change, installed, packaged = packaging.install(project, doc.index, chosen, outcomes, _guest_runner())
            for warning in change.warnings + installed.warnings:
                print(f"warning: {warning}", file=sys.stderr)
            package_ops.commit(project, change.settings, installed.lock)
            doc.rebase()
            leftover = packaging.leftover_files(doc.state, outcomes)
            if leftover is not None:  # copies an older studio put in the overlay would hide the package's
                doc.state.apply(leftover)
                doc.save()
            changed = {p.name for p in change.added} | {new.name for _, new in change.upgraded}
            for item in packaged:
                state = "installed" if item.program in changed else "up to date:"
                print(f"{item.program} {item.version}: package {item.apk.name}")
                for outcome in outcomes:
                    if outcome.program == item.program:
                        for artifact in outcome.artifacts:
                            print(f"  {state} {artifact.image_path}")
        return 1 if failed else 0
    finally:
        doc.close()


def cmd_run(args) -> int:
    from studio.compile import programs
    from studio.compile.queue import CompileQueue
    from studio.compile.hostrun import run_wasm

    from studio.image.project import Project

    project = Project.open(Path(args.dir))
    program = programs.find(project, args.name)
    if program.target != "wasm32-wasi":
        print(f"error: {program.name} targets i386; only WebAssembly runs on the host", file=sys.stderr)
        return 2
    queue = CompileQueue(project.root, workers=1)
    try:
        (outcome,) = queue.wait([queue.submit(program)])
    finally:
        queue.shutdown()
    if not outcome.ok:
        print(outcome.output, file=sys.stderr)
        return 1
    wasm = next(a.host_path for a in outcome.artifacts if a.image_path.endswith(".wasm"))
    result = run_wasm(wasm, args.args, sys.stdin.buffer.read() if not sys.stdin.isatty() else b"",
                      name=program.name)
    sys.stdout.buffer.write(result.stdout)
    sys.stderr.buffer.write(result.stderr)
    return result.exit_code


def cmd_toolchain(args) -> int:
    from studio.compile import toolchain

    progress = _ProgressLine()
    try:
        toolchain.warm(lambda message, fraction: (progress(message, fraction),
                                                  None if progress.tty else print(message, flush=True)))
    finally:
        progress.done()
    print(f"toolchain ready: {toolchain.version()}")
    return 0


def cmd_export(args) -> int:
    from studio.build.export import export
    from studio.image.project import Project

    from studio.image.save import settle

    if args.format != "web":
        web_only = [flag for flag, given in (("--snapshot", args.snapshot), ("--kernel-state", args.kernel_state),
                                              ("--network", args.network)) if given]
        if web_only:
            print(f"error: {', '.join(web_only)} applies to --format web only (a {args.format} archive holds "
                  "the image, not a machine)", file=sys.stderr)
            return 2
    project = Project.open(Path(args.dir))
    settle(project)
    if args.format != "web":
        return _export_archive(project, args)
    snapshot = None
    if args.snapshot:
        from studio.boot.snapshots import SnapshotStore

        snapshot = SnapshotStore().for_export(project)
        if snapshot is None:
            print("error: no snapshot of this image yet: boot it once (studio boot DIR --headless) "
                  "to make one, or export without --snapshot", file=sys.stderr)
            return 1
    kernel_state = None
    if args.kernel_state and snapshot is None:
        from studio.boot.snapshots import SnapshotStore

        kernel_state = SnapshotStore().kernel_state_for(project)
        if kernel_state is None:
            print("error: no kernel state for this machine yet: boot any image once (studio boot DIR --headless), "
                  "or export without --kernel-state", file=sys.stderr)
            return 1
    progress = _ProgressLine()
    try:
        report = export(project, Path(args.out), snapshot, progress, network=args.network, kernel_state=kernel_state)
    finally:
        progress.done()
    print(f"exported {project.name} to {report.out}\n{report.table()}")
    print(f"serve it with: python3 -m http.server -d {report.out}  (then open http://127.0.0.1:8000/)")
    return 0


def _export_archive(project, args) -> int:
    from studio.build import archives

    write = archives.export_rootfs if args.format == "rootfs" else archives.export_apkovl
    progress = _ProgressLine()
    try:
        report = write(project, Path(args.out), progress=progress)
    finally:
        progress.done()
    print(report.text())
    if args.format == "rootfs":
        print(f"use it with: docker import {report.out} NAME  |  studio new DIR --base {report.out}")
    else:
        print(f"restore it on Alpine: put {report.out.name} on the boot media (or tar -xzf it in /), "
              "then the packages of etc/apk/world are installed at boot")
    return 0


def cmd_cache(args) -> int:
    import humanize

    from studio import caches

    action = args.cache_command or "list"
    if action == "clear":
        names = [k.key for k in caches.KINDS if not k.explicit] if args.all else args.names
        if not names:
            print("error: name the caches to clear (" + ", ".join(caches.BY_KEY) + "), or --all "
                  "(all but the kernel)", file=sys.stderr)
            return 2
        for name in names:
            item = caches.kind(name)
            freed = caches.clear(name, explicit=name in (args.names or []))
            print(f"cleared {item.title.lower()}: {humanize.naturalsize(freed, binary=True)} freed")
        return 0
    if action == "prune":
        for item, pruned in caches.prune_all():
            print(f"{item.title.lower()}: removed {pruned.removed} least recently used entries "
                  f"({humanize.naturalsize(pruned.freed, binary=True)}); "
                  f"{humanize.naturalsize(pruned.kept, binary=True)} kept")
        return 0
    usages = caches.inventory()
    print(f"cache: {caches.root()}")
    for usage in usages:
        limit = f"  (limit {humanize.naturalsize(usage.limit, binary=True)})" if usage.limit else ""
        explicit = "  (cleared only by name)" if usage.kind.explicit else ""
        print(f"{usage.kind.key:<10} {humanize.naturalsize(usage.size, binary=True):>10}  {usage.kind.title}"
              f"{limit}{explicit}")
    total = sum(u.size for u in usages)
    print(f"{'total':<10} {humanize.naturalsize(total, binary=True):>10}")
    return 0


def cmd_snapshots(args) -> int:
    import time

    import humanize

    from studio.boot.snapshots import SnapshotStore

    store = SnapshotStore()
    for key in args.delete or []:
        store.delete(key)
        print(f"deleted {key}")
    for snap in store.list():
        print(f"{snap.key}  {snap.project:<20} {humanize.naturalsize(snap.size, binary=True):>10}  "
              f"saved {humanize.naturaltime(time.time() - snap.created)}")
    return 0


def cmd_kernel(args) -> int:
    from studio import kernel

    return kernel.main()


def cmd_gui(args) -> int:
    from studio.ui.app import run_gui

    target = Path(args.dir) if getattr(args, "dir", None) else None
    if target is not None and target.name == "studio.toml" and target.is_file():
        target = target.parent  # a file manager opens the project through its studio.toml
    return run_gui(target)


def cmd_desktop(args) -> int:
    from studio import desktop

    if args.install_desktop:
        for path in desktop.install():
            print(f"installed {path}")
        print("Image Studio is in the desktop's menu (under Development); project folders and studio.toml "
              "files open in it. Remove with: studio --uninstall-desktop")
    else:
        removed = desktop.uninstall()
        for path in removed:
            print(f"removed {path}")
        if not removed:
            print("nothing to remove: the desktop files were not installed")
    return 0


def _waits(command: argparse.ArgumentParser) -> None:
    """A command that writes the project: one writer at a time (studio.image.lock)."""
    command.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                         help="wait up to SECONDS for another studio process writing the project "
                              "(default: refuse at once, naming it)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="studio", description="Image Studio: build Alpine images that boot in a browser.")
    desktop = p.add_mutually_exclusive_group()
    desktop.add_argument("--install-desktop", action="store_true",
                         help="add the studio to the desktop's menu (entry, icon, metainfo, studio.toml type)")
    desktop.add_argument("--uninstall-desktop", action="store_true", help="remove what --install-desktop added")
    sub = p.add_subparsers(dest="command")

    new = sub.add_parser("new", help="create a project on a base")
    new.add_argument("dir")
    new.add_argument("--base", default="alpine:3.19", help="alpine:VERSION or a path to a rootfs .tar.gz")
    new.add_argument("--mirror", help="Alpine mirror URL (default: $STUDIO_ALPINE_MIRROR or the official CDN)")
    new.add_argument("--name", help="project and host name (default: the directory name)")
    new.set_defaults(func=cmd_new)

    build = sub.add_parser("build", help="build fs.json, blobs and boot.json")
    build.add_argument("dir")
    build.add_argument("--out", help="output directory (default: DIR/.build)")
    build.set_defaults(func=cmd_build)

    boot = sub.add_parser("boot", help="boot a project (in the GUI, or --headless)")
    boot.add_argument("dir")
    boot.add_argument("--headless", action="store_true", help="boot offscreen and script the console")
    boot.add_argument("--run", action="append", metavar="CMD", help="a command to type at the prompt (repeatable)")
    boot.add_argument("--expect", metavar="REGEX", help="succeed only if the commands' output matches")
    boot.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for each step (default 60)")
    boot.add_argument("--prompt", default=r"[#$] $", help="regex for the shell prompt at the end of a line")
    boot.add_argument("--no-snapshot", action="store_true", help="always boot cold; do not save a state")
    boot.set_defaults(func=cmd_boot)

    gui = sub.add_parser("gui", help="open a project in the window")
    gui.add_argument("dir", nargs="?")
    gui.set_defaults(func=cmd_gui)

    add = sub.add_parser("add", help="add host files or folders into the image (like a drop)")
    add.add_argument("dir")
    add.add_argument("sources", nargs="+", metavar="FILE_OR_FOLDER")
    add.add_argument("--to", required=True, metavar="/path/in/image", help="the image folder to add into")
    add.add_argument("--mode", help="octal mode for the added files (default: keep the executable bit)")
    add.add_argument("--replace", action="store_true", help="overwrite files that already exist")
    _waits(add)
    add.set_defaults(func=cmd_add)

    check = sub.add_parser("check", help="report inittab, init script and architecture problems")
    check.add_argument("dir")
    check.set_defaults(func=cmd_check)

    program = sub.add_parser("program", help="programs compiled into the image")
    program_sub = program.add_subparsers(dest="program_command", required=True)
    padd = program_sub.add_parser("add", help="add a C/C++ program, or a wasm32-wasi module built elsewhere, to the project")
    padd.add_argument("dir")
    padd.add_argument("name")
    padd.add_argument("--source", action="append", required=True, metavar="FILE",
                      help="a source file or folder (repeatable), or one prebuilt MODULE.wasm; copied into the project if outside it")
    padd.add_argument("--target", default="wasm32-wasi", choices=["wasm32-wasi", "i386"])
    padd.add_argument("--install", metavar="/usr/local/bin/NAME", help="where the program goes in the image")
    padd.add_argument("--cflags", help="extra compiler flags, e.g. '-DNDEBUG -lm'")
    padd.add_argument("--replace", action="store_true", help="redefine a program of that name")
    _waits(padd)
    padd.set_defaults(func=cmd_program_add)
    prem = program_sub.add_parser("remove", help="remove a program and take its package out of the image")
    prem.add_argument("dir")
    prem.add_argument("name")
    _waits(prem)
    prem.set_defaults(func=cmd_program_remove)

    comp = sub.add_parser("compile", help="compile programs and install them into the image")
    comp.add_argument("dir")
    comp.add_argument("--program", metavar="NAME", help="only this program")
    _waits(comp)
    comp.set_defaults(func=cmd_compile)

    run = sub.add_parser("run", help="run a WebAssembly program on the host (wasmtime), without booting")
    run.add_argument("dir")
    run.add_argument("name")
    run.add_argument("args", nargs="*")
    run.set_defaults(func=cmd_run)

    tool = sub.add_parser("toolchain", help="warm the compilers' caches (setup does this)")
    tool.set_defaults(func=cmd_toolchain)

    exp = sub.add_parser("export", help="write a static web bundle that boots in any browser, or an archive")
    exp.add_argument("dir")
    exp.add_argument("out", help="the bundle's folder (web), or the archive's path (rootfs, apkovl; "
                                 "an existing folder gets NAME-rootfs.tar.gz / HOSTNAME.apkovl.tar.gz)")
    exp.add_argument("--format", choices=["web", "rootfs", "apkovl"], default="web",
                     help="web: the bundle (default); rootfs: the image as a reproducible .tar.gz for "
                          "docker import or studio new --base; apkovl: Alpine's lbu backup of your changes "
                          "under /etc ($SOURCE_DATE_EPOCH sets the archives' file times; default 0)")
    exp.add_argument("--snapshot", action="store_true", help="include the saved machine state (instant boot)")
    exp.add_argument("--kernel-state", action="store_true",
                     help="include the saved kernel state: a visitor's first boot starts at the kernel, "
                          "the image's init runs fresh (ignored with --snapshot)")
    exp.add_argument("--network", action="store_true",
                     help="give the page's machine the project's repositories (they must send CORS headers)")
    exp.set_defaults(func=cmd_export)

    snaps = sub.add_parser("snapshots", help="list saved machine states (or delete some)")
    snaps.add_argument("--delete", action="append", metavar="KEY")
    snaps.set_defaults(func=cmd_snapshots)

    cache = sub.add_parser("cache", help="the user cache: sizes (default), clear, prune")
    cache_sub = cache.add_subparsers(dest="cache_command")
    cache_sub.add_parser("list", help="each cache with its size")
    clear = cache_sub.add_parser("clear", help="delete what caches hold (they are made again when needed)")
    clear.add_argument("names", nargs="*", metavar="NAME",
                       help="bases, blobs, compile, packages, snapshots, kernel (the kernel only by name)")
    clear.add_argument("--all", action="store_true", help="every cache but the kernel")
    cache_sub.add_parser("prune", help="trim the compile and export-blob caches to their size limits")
    cache.set_defaults(func=cmd_cache)

    kern = sub.add_parser("kernel", help="build the guest kernel (once; cached)")
    kern.set_defaults(func=cmd_kernel)

    from studio import cli_packages

    cli_packages.add_parsers(sub, _waits)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.install_desktop or args.uninstall_desktop:
        args.func = cmd_desktop
    elif args.command is None:
        args.dir = None
        args.func = cmd_gui
    try:
        return args.func(args)
    except StudioError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ImportError as err:
        if not _is_qt_failure(err):
            raise
        print(f"error: {qt_missing_message(err)}", file=sys.stderr)
        return 3


# The system libraries Qt (and QtWebEngine) load that a minimal Debian/Ubuntu lacks, by Debian
# package: what `apt install` needs for the window and for headless boots (pip's PySide6 brings Qt).
QT_RUNTIME_PACKAGES = {
    "libEGL.so": "libegl1", "libGL.so": "libgl1", "libOpenGL.so": "libopengl0", "libgbm.so": "libgbm1",
    "libfontconfig.so": "libfontconfig1", "libfreetype.so": "libfreetype6", "libglib-2.0.so": "libglib2.0-0",
    "libxkbcommon.so": "libxkbcommon0", "libxkbcommon-x11.so": "libxkbcommon-x11-0", "libX11.so": "libx11-6",
    "libX11-xcb.so": "libx11-xcb1", "libxcb-cursor.so": "libxcb-cursor0", "libxcb.so": "libxcb1",
    "libnss3.so": "libnss3", "libnspr4.so": "libnspr4", "libasound.so": "libasound2",
    "libdbus-1.so": "libdbus-1-3", "libxshmfence.so": "libxshmfence1", "libXcomposite.so": "libxcomposite1",
    "libXdamage.so": "libxdamage1", "libXrandr.so": "libxrandr2", "libXtst.so": "libxtst6",
    "libxkbfile.so": "libxkbfile1", "libXext.so": "libxext6", "libXfixes.so": "libxfixes3",
}


def _is_qt_failure(err: ImportError) -> bool:
    return (err.name or "").startswith(("PySide6", "shiboken6")) or ".so" in str(err)


def qt_missing_message(err: ImportError) -> str:
    """What to install when Qt cannot load: the missing library's Debian package, and the whole list."""
    text = str(err)
    named = [package for library, package in QT_RUNTIME_PACKAGES.items() if library + "." in text]
    everything = " ".join(sorted(set(QT_RUNTIME_PACKAGES.values())))
    first = (f"install its Debian package: sudo apt install {named[-1]}" if named
             else "install Qt's runtime libraries")
    return (f"Qt could not start ({text}). The window and the machine need Qt's system libraries: "
            f"{first}. All of them, on Debian/Ubuntu: sudo apt install {everything}")


if __name__ == "__main__":
    sys.exit(main())
