"""The studio:// URL scheme: registration (before QApplication) and its request handler."""

from __future__ import annotations

import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import shiboken6
from PySide6.QtCore import QBuffer, QByteArray, QFile, QIODevice, QObject, QUrl, Signal
from PySide6.QtWebEngineCore import QWebEngineUrlRequestJob, QWebEngineUrlScheme, QWebEngineUrlSchemeHandler

from studio.boot import routes
from studio.errors import StudioError
from studio.kernel import KernelError

SCHEME = b"studio"
ORIGIN = "studio://app"
NET_PREFIX = "/net/"  # studio://app/net/<the guest's URL, encoded>: the machine's HTTP (guest_net)

# Cross-origin isolation lets v86 use SharedArrayBuffer and precise timers.
_HEADERS = {
    QByteArray(b"Cross-Origin-Opener-Policy"): [QByteArray(b"same-origin")],
    QByteArray(b"Cross-Origin-Embedder-Policy"): [QByteArray(b"require-corp")],
    QByteArray(b"Cross-Origin-Resource-Policy"): [QByteArray(b"same-origin")],
    QByteArray(b"Cache-Control"): [QByteArray(b"no-store")],
}


def register_scheme() -> None:
    """Declare studio:// to Chromium. Must run before the QApplication is created."""
    if QWebEngineUrlScheme.schemeByName(SCHEME).name() == SCHEME:
        return
    scheme = QWebEngineUrlScheme(SCHEME)
    scheme.setSyntax(QWebEngineUrlScheme.Syntax.Host)
    scheme.setFlags(
        QWebEngineUrlScheme.Flag.SecureScheme
        | QWebEngineUrlScheme.Flag.CorsEnabled
        | QWebEngineUrlScheme.Flag.FetchApiAllowed
    )
    QWebEngineUrlScheme.registerScheme(scheme)


def _qwebchannel_source() -> bytes:
    source = QFile(":/qtwebchannel/qwebchannel.js")
    if not source.open(QIODevice.OpenModeFlag.ReadOnly):
        raise RuntimeError("Qt's qwebchannel.js resource is missing")
    return bytes(source.readAll().data())


class _Answers(QObject):
    """Carries a guest network answer from a worker thread to the GUI thread, where the job lives."""

    ready = Signal(object, object)  # job, Reply


class StudioSchemeHandler(QWebEngineUrlSchemeHandler):
    """Serves routes.resolve()'s files (the build directory can change between boots), and the
    running machine's HTTP requests through `network` (studio.boot.guest_net; None: no network)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.build_dir: Path | None = None
        self.network = None
        self._qwebchannel = b""
        self._answers = _Answers(self)
        self._answers.ready.connect(self._answer)
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="guest-net")

    def requestStarted(self, job: QWebEngineUrlRequestJob) -> None:  # noqa: N802 (Qt override)
        url = job.requestUrl()
        if url.host() != "app":
            job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        encoded = url.path(QUrl.ComponentFormattingOption.FullyEncoded)
        if encoded.startswith(NET_PREFIX):
            self._guest_request(job, urllib.parse.unquote(encoded[len(NET_PREFIX):]))
            return
        try:
            target = routes.resolve(url.path(QUrl.ComponentFormattingOption.FullyDecoded), self.build_dir)
        except routes.RouteError as err:
            job.fail(QWebEngineUrlRequestJob.Error.RequestDenied if err.denied
                     else QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        except (KernelError, StudioError):  # no kernel built, the init not compiled: missing parts
            job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        job.setAdditionalResponseHeaders(_HEADERS)
        if target == routes.QWEBCHANNEL:
            self._qwebchannel = self._qwebchannel or _qwebchannel_source()
            device = QBuffer(job)
            device.setData(self._qwebchannel)
            mime = "text/javascript"
        else:
            device = QFile(str(target), job)
            mime = routes.mime_type(target)
        if not device.open(QIODevice.OpenModeFlag.ReadOnly):
            job.fail(QWebEngineUrlRequestJob.Error.RequestFailed)
            return
        job.reply(mime.encode(), device)

    # -- the machine's network ------------------------------------------------------------
    def _guest_request(self, job: QWebEngineUrlRequestJob, target: str) -> None:
        """Answer in a worker (fetching may take seconds); the page reads the status from
        X-Studio-Status (a scheme handler's reply cannot carry an HTTP status itself)."""
        network = self.network
        if network is None:
            job.fail(QWebEngineUrlRequestJob.Error.RequestDenied)
            return
        method = bytes(job.requestMethod().data()).decode("ascii", "replace")

        def work() -> None:
            from studio.boot.guest_net import Reply

            try:
                reply = network.handle(target, method)
            except Exception as err:  # an answer for the guest, never a lost request
                reply = Reply(502, "Bad Gateway", f"Image Studio: {err}\n".encode(), "text/plain")
            self._answers.ready.emit(job, reply)

        self._pool.submit(work)

    def _answer(self, job: QWebEngineUrlRequestJob, reply) -> None:
        if not shiboken6.isValid(job):
            return  # the page gave up on the request (the machine stopped)
        headers = dict(_HEADERS)
        headers[QByteArray(b"X-Studio-Status")] = [QByteArray(str(reply.status).encode())]
        headers[QByteArray(b"X-Studio-Reason")] = [QByteArray(reply.reason.encode("latin-1", "replace"))]
        for key, value in reply.headers.items():
            headers[QByteArray(("X-Studio-Header-" + key).encode())] = [QByteArray(value.encode("latin-1", "replace"))]
        job.setAdditionalResponseHeaders(headers)
        if reply.path is not None:
            device = QFile(str(reply.path), job)
        else:
            device = QBuffer(job)
            device.setData(reply.body)
        if not device.open(QIODevice.OpenModeFlag.ReadOnly):
            job.fail(QWebEngineUrlRequestJob.Error.RequestFailed)
            return
        job.reply(reply.content_type.encode(), device)
