"""The studio:// scheme serves the page, npm assets, kernel, BIOS and build, and nothing else."""

from __future__ import annotations

import pytest

from studio.boot import routes
from studio.boot.qtapp import wait_for
from studio.boot.session import BootSession
from pagetools import await_promise


@pytest.mark.parametrize("path", [
    "/../pyproject.toml",
    "/npm/../../pyproject.toml",
    "/build/../studio.toml",
    "/npm/../../../etc/passwd",
    "/./index.html",
    "/\\..\\secret",
])
def test_traversal_is_denied(path, tmp_path):
    with pytest.raises(routes.RouteError) as info:
        routes.resolve(path, tmp_path)
    assert info.value.denied


@pytest.mark.parametrize("path", ["/npm/v86/package.json", "/npm/v86/build/libv86-debug.js", "/etc/passwd",
                                  "/build/studio.toml", "/kernel/config", "/"])
def test_only_listed_files_are_served(path, tmp_path):
    (tmp_path / "studio.toml").write_text("secret")
    with pytest.raises(routes.RouteError):
        routes.resolve(path, tmp_path)


def test_symlink_out_of_the_build_is_denied(tmp_path):
    (tmp_path / "blobs").mkdir()
    (tmp_path / "blobs" / "x.bin").symlink_to("/etc/hostname")
    with pytest.raises(routes.RouteError) as info:
        routes.resolve("/build/blobs/x.bin", tmp_path)
    assert info.value.denied


@pytest.fixture
def page_session(qapp, alpine_project):
    session = BootSession()
    session.handler.build_dir = alpine_project.build_dir
    session.load()
    assert wait_for(lambda: session.page_ready, 30), session.page_log
    yield session
    session.close()


def _status(session, url):
    return await_promise(session.page, f"fetch({url!r}).then(r => r.status)")


def test_page_fetches_through_the_scheme(page_session, alpine_project):
    from studio.build import fsjson

    fsjson.build(alpine_project)
    assert _status(page_session, "build/fs.json") == {"ok": 200}
    assert _status(page_session, "/index.html") == {"ok": 200}
    assert _status(page_session, "/app/index.html")["ok"] == 404
    assert _status(page_session, "/npm/v86/build/v86.wasm") == {"ok": 200}
    assert _status(page_session, "/bios/bios.bin") == {"ok": 200}
    assert _status(page_session, "/kernel/bzImage") == {"ok": 200}
    headers = await_promise(page_session.page, "Promise.resolve(self.crossOriginIsolated)")
    assert headers == {"ok": True}


@pytest.mark.parametrize("url", [
    "studio://app/..%2f..%2fpyproject.toml",
    "studio://app/build/..%2fstudio.toml",
    "studio://app/npm/v86/package.json",
    "studio://other/app/index.html",
])
def test_page_cannot_reach_outside(page_session, url):
    result = _status(page_session, url)
    # A failed job reaches fetch() as an error status (404 / 403) or a network error, never 200.
    assert "error" in result or result["ok"] in (403, 404), result
