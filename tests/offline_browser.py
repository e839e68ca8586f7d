"""A real browser engine (QtWebEngine, offscreen) that opens a local page with every
network request refused, as on a field laptop with no network.

Import it after ``pytest.importorskip("PySide6.QtWebEngineWidgets")``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")

from PySide6.QtCore import QUrl  # noqa: E402
from PySide6.QtWebEngineCore import QWebEngineSettings, QWebEngineUrlRequestInterceptor  # noqa: E402
from PySide6.QtWebEngineWidgets import QWebEngineView  # noqa: E402


#: Window sizes a field team opens a page at: a phone's (CSS pixels) and a laptop's.
PHONE = (390, 844)
LAPTOP = (1366, 768)


class BlockNetwork(QWebEngineUrlRequestInterceptor):
    """Refuses every http(s) request and remembers what was asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[str] = []

    def interceptRequest(self, info) -> None:  # noqa: N802 - Qt's name
        url = info.requestUrl()
        if url.scheme() in ("http", "https"):
            self.blocked.append(url.toString())
            info.block(True)


def open_offline(qtbot, page: Path, size: tuple[int, int] = (1100, 750)) -> tuple[QWebEngineView, BlockNetwork]:  # noqa: ANN001
    """A shown view that has finished loading ``page``, and the interceptor that kept it offline."""
    view = QWebEngineView()
    qtbot.addWidget(view)
    interceptor = BlockNetwork()
    view.page().profile().setUrlRequestInterceptor(interceptor)
    # as Chrome and Firefox do: a local page may ask for remote images (so that every
    # request it makes reaches the interceptor, instead of Qt refusing it unseen)
    view.settings().setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls, True)
    view.resize(*size)
    view.show()
    with qtbot.waitSignal(view.loadFinished, timeout=60_000) as loaded:
        view.load(QUrl.fromLocalFile(str(page)))
    assert loaded.args == [True], f"{page} did not load"
    return view, interceptor


def read_page_until(qtbot, view: QWebEngineView, expression: str, ready: Callable[[Any], object],  # noqa: ANN001
                    timeout: int = 30_000) -> Any:
    """The value of the JavaScript ``expression`` (made JSON in the page, read back as
    Python), read again until ``ready(value)`` holds (the page draws and decodes in its
    own time)."""
    read: dict[str, Any] = {}

    def done() -> bool:
        view.page().runJavaScript(f"JSON.stringify({expression})", 0,
                                  lambda value: read.update(value=json.loads(value)))
        return "value" in read and bool(ready(read["value"]))

    qtbot.waitUntil(done, timeout=timeout)
    return read["value"]
