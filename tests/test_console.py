"""Reading the serial console: milestones, prompts, the shell's folder (Qt-free)."""

import pytest

from studio.boot.console import MAX_TEXT, Console
from studio.image.entry import normalize


def test_prompt_milestones_and_cwd():
    console = Console()
    assert console.feed("[    0.000000] Linux version 6.1\r\n", 0.4) == ["first-kernel-line"]
    assert console.feed("Run /sbin/init as init process\r\n", 0.6) == ["init"]
    assert console.feed("demo:~# \x1b[6n", 0.9) == ["prompt"]
    assert console.milestones == {"first-kernel-line": 0.4, "init": 0.6, "prompt": 0.9}
    assert console.cwd() == "/root"
    mark = console.position
    console.feed("cd /var/log\r\ndemo:/var/log# ", 1.0)
    assert console.at_prompt(mark) and console.cwd() == "/var/log"
    console.feed("sleep 5\r\n", 1.1)
    assert not console.at_prompt(mark) and console.cwd() is None


def test_restored_machine_has_no_kernel_line():
    console = Console()
    console.milestones["restored"] = 0.08
    assert console.feed("\r\ndemo:~# ", 0.3) == ["prompt"]
    assert "first-kernel-line" not in console.milestones


def test_positions_stay_absolute_after_megabytes_of_output():
    """A caller's mark taken after the console has dropped text still finds the next prompt
    (with lengths of the kept text as marks it never did once 4 MiB had been printed)."""
    console = Console()
    console.feed("demo:~# ", 0.1)
    line = "x" * 99 + "\r\n"
    batch = line * 40  # about what the page sends at once
    for _ in range((5 << 20) // len(batch)):  # 5 MiB
        console.feed(batch, 1.0)
    assert console.dropped > 0 and len(console.text) < console.position
    console.feed("demo:~# ", 2.0)
    mark = console.position
    console.feed("echo after\r\n" + "x" * (MAX_TEXT + 1000) + "\r\nafter\r\n", 3.0)
    assert not console.at_prompt(mark)
    console.feed("demo:~# ", 3.1)
    assert console.at_prompt(mark)
    assert console.since(mark).startswith("echo after\nxxx")
    assert console.since(mark).endswith("xxx\nafter\ndemo:~# ")
    assert console.since(console.position) == "" and not console.at_prompt(console.position)
    assert console.cwd() == "/root"


def test_a_huge_single_chunk_is_cut_to_the_kept_size():
    console = Console()
    console.feed("y" * (3 * MAX_TEXT), 0.5)
    assert console.position == 3 * MAX_TEXT and len(console.text) <= 2 * MAX_TEXT
    assert console.since(0) == console.text  # what was dropped is gone, the rest is there


@pytest.mark.parametrize("prompt", [
    "h:/../../../etc# ",  # climbs above /: normalize() raised on it
    "h:/srv/../../etc# ",
    "h:/tmp/\x00x# ",  # NUL
    "h:/tmp/\x01x# ",  # other control bytes
    "h:/tmp/\x7fx# ",
    "h:/tmp/\u202ex# ",  # a bidirectional override: reads as another path
    "h:/tmp/\ufffd# ",  # bytes that were not UTF-8
    "h:/tmp/\udcff# ",  # a lone surrogate
    "h:relative/dir# ",
    "h:~other# ",  # another user's home: not knowable from here
    "h:/" + "a" * 5000 + "# ",
])
def test_a_crafted_prompt_gives_no_folder(prompt):
    console = Console()
    console.feed("\r\n" + prompt, 1.0)
    assert console.cwd() is None


@pytest.mark.parametrize("prompt, folder", [
    ("h:~# ", "/root"),
    ("h:~/src# ", "/root/src"),
    ("h:/# ", "/"),
    ("h:/var//log/# ", "/var/log"),
    ("h://srv/./x# ", "/srv/x"),
    ("h:/home/ünï$ ", "/home/ünï"),
])
def test_a_plain_prompt_gives_its_folder(prompt, folder):
    console = Console()
    console.feed("\r\n" + prompt, 1.0)
    assert console.cwd() == folder
    assert normalize(folder) == folder
