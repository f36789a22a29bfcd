"""The studio:// URL scheme: registration (before QApplication) and its request handler."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QFile, QIODevice, QUrl
from PySide6.QtWebEngineCore import QWebEngineUrlRequestJob, QWebEngineUrlScheme, QWebEngineUrlSchemeHandler

from studio.boot import routes
from studio.kernel import KernelError

SCHEME = b"studio"
ORIGIN = "studio://app"

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


class StudioSchemeHandler(QWebEngineUrlSchemeHandler):
    """Serves routes.resolve()'s files; the build directory can change between boots."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.build_dir: Path | None = None
        self._qwebchannel = b""

    def requestStarted(self, job: QWebEngineUrlRequestJob) -> None:  # noqa: N802 (Qt override)
        url = job.requestUrl()
        if url.host() != "app":
            job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        try:
            target = routes.resolve(url.path(QUrl.ComponentFormattingOption.FullyDecoded), self.build_dir)
        except routes.RouteError as err:
            job.fail(QWebEngineUrlRequestJob.Error.RequestDenied if err.denied
                     else QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        except KernelError:
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
