"""/etc/inittab: parse -> serialize round-trips; validation flags what BusyBox init would trip on."""

from __future__ import annotations

import tarfile

import pytest

from studio.image import inittab
from studio.image.checks import check_inittab_text
from studio.image.preset import INITTAB_PRESETS

# Examples from BusyBox's documented inittab syntax (examples/inittab in the BusyBox sources).
BUSYBOX_EXAMPLE = """\
# /etc/inittab init(8) configuration for BusyBox
#
# Format for each entry: <id>:<runlevels>:<action>:<process>
#
# Startup the system
::sysinit:/bin/mount -t proc proc /proc
::sysinit:/bin/mount -o remount,rw /
::sysinit:/bin/mkdir -p /dev/pts /dev/shm
::sysinit:/bin/mount -a
::sysinit:/sbin/swapon -a
null::sysinit:/bin/ln -sf /proc/self/fd /dev/fd
# now run any rc scripts
::sysinit:/etc/init.d/rcS

# Put a getty on the serial line (for a terminal)
::respawn:/sbin/getty -L ttyS0 9600 vt100
tty4::respawn:/sbin/getty 38400 tty5

# Start an "askfirst" shell on the console (whatever that may be)
::askfirst:-/bin/sh
tty2::askfirst:-/bin/sh

# Stuff to do when restarting the init process
::restart:/sbin/init

# Stuff to do before rebooting
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/umount -a -r
::shutdown:/sbin/swapoff -a
"""


def test_real_alpine_inittab_round_trips(alpine_tarball):
    with tarfile.open(alpine_tarball) as tar:
        text = tar.extractfile("./etc/inittab").read().decode()
    lines = inittab.parse(text)
    assert inittab.serialize(lines) == text
    entries = [line for line in lines if line.is_entry]
    assert [e.action for e in entries][:3] == ["sysinit", "sysinit", "wait"]
    assert entries[3].id == "tty1" and entries[3].process == "/sbin/getty 38400 tty1"


@pytest.mark.parametrize("text", [BUSYBOX_EXAMPLE, BUSYBOX_EXAMPLE.replace("\n", "\r\n"),
                                  "::sysinit:/etc/init.d/rcS", "", "\n\n# only comments\n",
                                  "ttyS0::respawn:/bin/sh -c 'echo a:b:c; exec sh'\n"])
def test_busybox_syntax_round_trips(text):
    assert inittab.serialize(inittab.parse(text)) == text


def test_process_may_contain_colons():
    (line,) = [l for l in inittab.parse("ttyS0::respawn:/bin/sh -c 'echo a:b'") if l.is_entry]
    assert line.process == "/bin/sh -c 'echo a:b'"


def test_editing_a_row_rewrites_only_that_line():
    lines = inittab.parse(BUSYBOX_EXAMPLE)
    i = next(i for i, l in enumerate(lines) if l.is_entry and l.action == "askfirst")
    lines[i] = lines[i].edited(id="ttyS0", action="respawn")
    text = inittab.serialize(lines)
    assert "ttyS0::respawn:-/bin/sh" in text
    assert text.replace("ttyS0::respawn:-/bin/sh", "::askfirst:-/bin/sh", 1) == BUSYBOX_EXAMPLE


def _problems(text, alpine_project):
    return [(f.line, f.severity, f.message) for f in check_inittab_text(text, alpine_project.merged())]


def test_alpine_default_inittab_is_flagged(alpine_tarball, alpine_project):
    with tarfile.open(alpine_tarball) as tar:
        text = tar.extractfile("./etc/inittab").read().decode()
    problems = _problems(text, alpine_project)
    assert (3, "error", "/sbin/openrc is not in the image") in problems
    assert any(line == 8 and severity == "warning" and "virtual terminal" in msg for line, severity, msg in problems)
    assert any(line == 0 and "no prompt" in msg for line, _, msg in problems)


def test_invalid_lines_and_unknown_actions(alpine_project):
    text = "ttyS0::respawn:-/bin/sh\nthis is not an entry\n::sometimes:/bin/true\n::once:\n::once:/etc/nothing\n"
    problems = _problems(text, alpine_project)
    assert (2, "error", "not an inittab entry: expected id:runlevels:action:process") in problems
    assert any(p[0] == 3 and "unknown action 'sometimes'" in p[2] for p in problems)
    assert (4, "error", "no process to run") in problems
    assert (5, "error", "/etc/nothing is not in the image") in problems
    assert not any("no prompt" in p[2] for p in problems)


def test_non_executable_process_is_flagged(alpine_project):
    problems = _problems("ttyS0::respawn:-/bin/sh\n::once:/etc/passwd\n", alpine_project)
    assert (2, "error", "/etc/passwd is not executable") in problems


def test_presets_validate_except_openrc_on_a_minirootfs(alpine_project):
    for name, (text, needs) in INITTAB_PRESETS.items():
        errors = [p for p in _problems(text, alpine_project) if p[1] == "error"]
        if needs:
            assert errors and needs in errors[0][2], name
        else:
            assert errors == [], (name, errors)


@pytest.mark.parametrize("text, line", [
    ("ttyS0::respawn:-/bin/sh\nttyS0::respawn:-/bin/sh\n", 2),
    ("ttyS0::respawn:-/bin/sh\n::askfirst:-/bin/ash\n", 2),  # no id: the console, which is ttyS0
    ("ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100\n::sysinit:/bin/true\nttyS0::respawn:-/bin/sh\n", 3),
    ("ttyS0::respawn:-/bin/sh\n::respawn:/sbin/getty -L 115200 /dev/ttyS0 vt100\n", 2),  # getty's tty argument
])
def test_a_second_shell_or_getty_on_the_console_is_a_warning(text, line, alpine_project):
    problems = _problems(text, alpine_project)
    assert [p for p in problems if "second shell or getty" in p[2]] == [
        (line, "warning", "a second shell or getty on the console (ttyS0) (line 1 has one): both read the same "
                          "terminal and take turns getting what you type")]


def test_shells_on_different_terminals_are_no_warning(alpine_project):
    text = "ttyS0::respawn:-/bin/sh\nttyS1::respawn:/sbin/getty -L 115200 ttyS1 vt100\nttyS2::once:-/bin/sh\n"
    assert not any("second" in p[2] for p in _problems(text, alpine_project))
