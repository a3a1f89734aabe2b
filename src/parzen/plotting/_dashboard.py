"""The live dashboard: the report's page, redrawn as trials arrive, served on 127.0.0.1.

Standard library only (``http.server``): no framework, no build step, no network. The
page polls ``/api/state`` once a second with the token of what it shows; the server
answers "unchanged" after a ``stat`` of the store and its WAL, and rebuilds the
sections only when a writer committed something, at most once per ``min_interval`` and
never more than a third of the time (a rebuild of 1,000 trials takes about 2 s).

It answers only requests whose Host header names this server and, unless asked
(``allow_remote``), only this machine; it holds at most a few dozen connections and drops
idle ones (see `_guard`). It can never harm the run it watches: each rebuild opens the store read-only
(``mode=ro``), reads one snapshot and closes it, so it never writes, never holds a
lock between polls, and a WAL-mode writer never waits for it. plotly.js is served from
the installed plotly package, so the page works offline.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import socket
import threading
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import plotly

from parzen.exceptions import InvalidArgument, ParzenError
from parzen.plotting._guard import REMOTE_HINT, BoundedServer, Guard, GuardedHandler, exposure_warning
from parzen.plotting._report import page, payload
from parzen.storage.snapshot import store_signature
from parzen.view import RunView, from_store, from_trials

logger = logging.getLogger("parzen")

POLL_MS = 1000
BUSY_FACTOR = 2  # wait 2x the last build's time before the next: rebuilding takes <= 1/3 of a core
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

BOOT = """
let token = "";
async function poll() {
  try {
    const response = await fetch("api/state?token=" + encodeURIComponent(token), {cache: "no-store"});
    const data = await response.json();
    if (data.changed) { render(data); token = data.token; }
    const checked = new Date().toLocaleTimeString();
    document.getElementById("live").textContent = data.error ? "· " + data.error : "· live, checked " + checked;
  } catch (err) {
    document.getElementById("live").textContent = "· dashboard server unreachable (" + err + ")";
  }
  setTimeout(poll, %d);
}
poll();
"""


class _Source:
    """What the dashboard watches: a store file, or a Trials in this process."""

    def __init__(self, source: Any):
        self.source = source
        self.is_store = isinstance(source, (str, os.PathLike))

    def signature(self) -> Any:
        if self.is_store:
            return store_signature(self.source)
        return (len(self.source), getattr(self.source, "_version", None), self.source.n_running)

    def view(self) -> RunView:
        if self.is_store:
            return from_store(self.source)
        for _ in range(5):  # the driver thread may add a trial while we copy the list
            try:
                return from_trials(self.source)
            except RuntimeError:
                time.sleep(0.01)
        return from_trials(self.source)


class Dashboard:
    """Serves the dashboard of `source` (a store path or a Trials) on host:port.

    `allow_remote` serves clients on other machines (no authentication: see `_guard`);
    `allowed_hosts` adds names the Host header may carry (a reverse proxy's name).
    """

    def __init__(
        self,
        source: Any,
        host: str = "127.0.0.1",
        port: int = 8050,
        min_interval: float = 1.0,
        allow_remote: bool = False,
        allowed_hosts: tuple[str, ...] = (),
    ):
        import sklearn.ensemble  # noqa: F401 - imported now, not in the middle of the first refresh with a forest

        self.source = _Source(source)
        self.min_interval = min_interval
        self._lock = threading.Lock()
        self._cached: tuple[str, dict] | None = None
        self._built_at = 0.0
        self._build_seconds = 0.0
        self.guard = Guard(host, allow_remote, allowed_hosts)
        self.server = _listen(host, port, _handler(self))
        self.exposure = exposure_warning(host, self.server.server_address[1], allow_remote)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def state(self, token: str) -> dict:
        """What the page should show, or {"changed": False} when it already shows it."""
        signature = hashlib.sha1(json.dumps(self.source.signature(), default=str).encode()).hexdigest()[:16]
        with self._lock:
            fresh = self._cached is not None and self._cached[0] == signature
            recent = time.monotonic() - self._built_at < max(self.min_interval, BUSY_FACTOR * self._build_seconds)
            if self._cached is None or (not fresh and not recent):
                first, started = self._cached is None, time.monotonic()
                self._cached = (signature, {"token": signature, "changed": True} | payload(self.source.view()))
                self._built_at = time.monotonic()
                if not first:  # the first build pays one-off imports; it says nothing about the next
                    self._build_seconds = self._built_at - started
            current_token, data = self._cached
        return data if token != current_token else {"token": token, "changed": False}

    def serve_forever(self) -> None:
        self.server.serve_forever(poll_interval=0.25)

    def start(self) -> Dashboard:
        """Serve from a background thread (in a notebook); returns self, see `url`."""
        self._thread = threading.Thread(target=self.serve_forever, name="parzen-dashboard", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(dashboard: Dashboard) -> type[GuardedHandler]:
    class Handler(GuardedHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if not self._allowed():
                return
            url = urlparse(self.path)
            if url.path == "/":
                boot = BOOT % POLL_MS
                self._send(page(boot, '<script src="plotly.min.js"></script>').encode(), "text/html; charset=utf-8")
            elif url.path == "/plotly.min.js":
                self._send(PLOTLY_JS.read_bytes(), "application/javascript", cache=True)
            elif url.path == "/api/state":
                token = parse_qs(url.query).get("token", [""])[0]
                try:
                    state = dashboard.state(token)
                except ParzenError as exc:  # the store went away or is not a store: say so on the page
                    state = {"token": token, "changed": False, "error": str(exc)}
                self._send(json.dumps(state, default=str).encode(), "application/json")
            else:
                self.send_error(HTTPStatus.NOT_FOUND)

        def _allowed(self) -> bool:
            """The Host header names this server and the client may read (see `_guard`); else refused."""
            if not self.headers.get("Host"):
                self._refuse(HTTPStatus.BAD_REQUEST, "a Host header is required")
            elif not dashboard.guard.host_allowed(self.headers["Host"]):
                self._refuse(HTTPStatus.FORBIDDEN, "this server does not answer to that host name")
            elif not dashboard.guard.peer_allowed(self.client_address[0]):
                self._refuse(HTTPStatus.FORBIDDEN, REMOTE_HINT)
            else:
                return True
            return False

        def _refuse(self, status: HTTPStatus, why: str) -> None:
            body = f"{status.value} {status.phrase}: {why}\n".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def _send(self, body: bytes, kind: str, cache: bool = False) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "max-age=3600" if cache else "no-store")
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _listen(host: str, port: int, handler: type) -> BoundedServer:
    """The dashboard's server on host:port; a port in use or an address not of this machine is named."""
    try:
        return BoundedServer((host, port), handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise InvalidArgument(
                f"port {port} on {host} is in use (another dashboard?): choose another port, or 0 for a free one"
            ) from None
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EACCES) or isinstance(exc, socket.gaierror):
            raise InvalidArgument(
                f"cannot listen on {host}:{port} ({exc.strerror or exc}): give an address of this machine "
                "(127.0.0.1, or 0.0.0.0 for every interface) and a port from 1024 up, or 0"
            ) from None
        raise


def serve_dashboard(
    source: Any,
    host: str = "127.0.0.1",
    port: int = 8050,
    block: bool = True,
    allow_remote: bool = False,
    allowed_hosts: tuple[str, ...] = (),
) -> Dashboard:
    """Serve the live dashboard of a store path or a Trials.

    ``block=False`` (in a notebook) serves from a background thread and returns at once;
    open ``dashboard.url``, and call ``dashboard.stop()`` when done. The store is opened
    read-only for each refresh, so the dashboard can follow a run another process writes.
    Bound beyond 127.0.0.1, it answers other machines only with ``allow_remote=True`` (no
    authentication: anyone who reaches the port reads the run); ``allowed_hosts`` names
    a reverse proxy's host name.

    Args:
        source: the path of a store, or a `Trials`/`SparkTrials` (in this process).
        host: the address to listen on; 127.0.0.1 (this machine only) unless you need
            another machine to reach it (on a Databricks driver, 0.0.0.0 with ``allow_remote=True``,
            for the driver proxy).
        port: the port (0: any free one).
        block: serve until interrupted (True), or from a background thread (False).
        allow_remote: answer machines other than this one when bound beyond loopback.
        allowed_hosts: extra host names the dashboard answers to (a reverse proxy's).

    Returns:
        The `Dashboard` (its ``url``, and ``stop()``).
    """
    dashboard = Dashboard(source, host, port, allow_remote=allow_remote, allowed_hosts=allowed_hosts)
    if dashboard.exposure:
        logger.warning(dashboard.exposure)
    if block:
        try:
            dashboard.serve_forever()
        finally:
            dashboard.server.server_close()
    else:
        dashboard.start()
    return dashboard
