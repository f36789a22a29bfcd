"""Steps run inside the image itself (a headless boot with the studio's runner as init) come back
as exactly what they changed: new, changed and deleted files, modes, owners and symlinks."""

from __future__ import annotations

import pytest

from studio.boot.guest_run import Step, run_steps
from studio.image.document import ImageDocument

pytestmark = pytest.mark.boot


def test_a_script_in_the_guest_changes_exactly_what_it_did(new_project):
    project = new_project("scripted")
    doc = ImageDocument(project, writable=False)
    script = (b"#!/bin/sh\n"
              b"addgroup -S studio && adduser -S -D -H -G studio -s /sbin/nologin studio\n"
              b"ln -s /bin/busybox /usr/bin/studio-tool\n"
              b"rm /etc/motd\n"
              b"chmod 600 /etc/issue\n"
              b"mkdir -p /var/lib/studio && echo \"made with $1\" > /var/lib/studio/note\n"
              b"exit 3\n")
    result = run_steps(project, doc.state.entries, [Step("example.post-install", script, ["1.0-r0"])])
    assert result.exit_codes == {"example.post-install": 3}
    changes = result.changes
    assert b"studio:x:" in doc.store.read(changes["/etc/passwd"].sha256)
    assert b"studio:x:" in doc.store.read(changes["/etc/group"].sha256)
    assert changes["/usr/bin/studio-tool"].kind == "symlink" and changes["/usr/bin/studio-tool"].target == "/bin/busybox"
    assert changes["/etc/motd"] is None
    assert changes["/etc/issue"].mode == 0o600 and changes["/etc/issue"].sha256 == doc.state.entries["/etc/issue"].sha256
    assert changes["/var/lib/studio"].kind == "dir"
    assert doc.store.read(changes["/var/lib/studio/note"].sha256) == b"made with 1.0-r0\n"
    unexpected = set(changes) - {"/etc/passwd", "/etc/group", "/etc/shadow", "/usr/bin/studio-tool", "/etc/motd",
                                 "/etc/issue", "/var/lib/studio", "/var/lib/studio/note", "/etc/passwd-",
                                 "/etc/group-", "/etc/shadow-"}
    assert not unexpected, unexpected
