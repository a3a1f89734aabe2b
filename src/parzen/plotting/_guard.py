"""Who the dashboard talks to, and what one client may hold.

The dashboard serves every trial, traceback and file path of a run, without a login, so:

- **The Host header must name this server**: ``localhost``, an IP literal, the machine's
  own host name, the name it was bound to, or a name the user allowed. Any web page can
  make a browser send requests to 127.0.0.1 under its own domain name (DNS rebinding:
  ``attacker.example`` resolved to 127.0.0.1 after the page loaded); such a request
  carries ``Host: attacker.example`` and is refused (403). An IP literal cannot be
  rebound, so it is accepted; a request without a Host header is not from a browser and
  is refused (400).
- **Other machines get nothing unless the user opted in**: bound to ``0.0.0.0`` (or any
  non-loopback address), the dashboard still answers only clients connecting from a
  loopback address, and says so at start; ``allow_remote=True`` (``--allow-remote``)
  serves other machines too, with a warning that there is no authentication.
- **Bounded per client**: at most `MAX_CLIENTS` connections are served at once (more are
  closed at once, not queued on a thread each), a connection that sends nothing for
  `IDLE_SECONDS` is dropped, and a dropped or broken client prints nothing.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

logger = logging.getLogger("parzen")

MAX_CLIENTS = 64  # connections served at once; the page needs one, a few tabs a few more
IDLE_SECONDS = 10.0  # a connection silent this long is dropped (a poll takes milliseconds)
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
REMOTE_HINT = (
    "this dashboard answers only this machine; start it with --allow-remote (serve_dashboard(..., "
    "allow_remote=True)) to serve other machines, without authentication"
)


def host_name(header: str) -> str:
    """The name part of a Host header (``[::1]:8050`` -> ``::1``, ``Example:80`` -> ``example``)."""
    text = header.strip().lower().rstrip(".")
    if text.startswith("["):
        return text[1 : text.find("]")] if "]" in text else text
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class Guard:
    """The checks of one server: which Host names it answers to, and whether other machines may connect."""

    def __init__(self, bound: str, allow_remote: bool = False, allowed_hosts: Iterable[str] = ()):
        self.allow_remote = allow_remote
        names = set(LOOPBACK_NAMES) | {host_name(h) for h in allowed_hosts}
        with contextlib.suppress(OSError):
            names.add(socket.gethostname().lower())
        if bound and not _is_wildcard(bound):
            names.add(host_name(bound))
        self.names = frozenset(names)

    def host_allowed(self, header: str | None) -> bool:
        if not header:
            return False
        name = host_name(header)
        return name in self.names or _is_ip(name)

    def peer_allowed(self, address: str) -> bool:
        if self.allow_remote:
            return True
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        mapped = getattr(ip, "ipv4_mapped", None)
        return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def _is_wildcard(bound: str) -> bool:
    return bound in ("", "0.0.0.0", "::", "[::]")


def is_loopback_bind(bound: str) -> bool:
    """Whether a server bound to `bound` is reachable from this machine only."""
    if host_name(bound) in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host_name(bound)).is_loopback
    except ValueError:
        return False


def exposure_warning(bound: str, port: int, allow_remote: bool) -> str | None:
    """What to tell the user about a server bound beyond loopback (None when it is not)."""
    if is_loopback_bind(bound):
        return None
    if allow_remote:
        return (
            f"the dashboard listens on {bound}:{port} and serves other machines without authentication: "
            "anyone who can reach this port reads every trial, traceback and file path of the run"
        )
    return (
        f"the dashboard listens on {bound}:{port}, but {REMOTE_HINT.replace('this dashboard ', '')} "
        "(anyone who can reach the port would read every trial, traceback and file path)"
    )


class BoundedServer(ThreadingHTTPServer):
    """`ThreadingHTTPServer` with at most `max_clients` connections at once and no tracebacks.

    When all are taken, the connection that has waited longest without sending a request
    is closed to make room, so a flood of idle connections cannot lock out the page.
    """

    daemon_threads = True
    request_queue_size = 128  # listen backlog: a burst of connections waits in the kernel, not on SYN retries

    def __init__(self, *args: Any, max_clients: int = MAX_CLIENTS, **kwargs: Any):
        self.slots = threading.BoundedSemaphore(max_clients)
        self.silent: dict[Any, float] = {}  # connections that have not sent a request yet -> when accepted
        self.silent_lock = threading.Lock()
        self.refused_clients = 0
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            self._close_oldest_silent()
            if not self.slots.acquire(timeout=0.5):  # every slot busy with a real request: refuse this one
                self.refused_clients += 1
                self.shutdown_request(request)
                return
        with self.silent_lock:
            self.silent[request] = time.monotonic()
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._forget(request)
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._forget(request)
            self.slots.release()

    def spoke(self, request: Any) -> None:
        """The connection sent its request line: it is no longer a candidate to be closed."""
        self._forget(request)

    def _forget(self, request: Any) -> None:
        with self.silent_lock:
            self.silent.pop(request, None)

    def _close_oldest_silent(self) -> None:
        with self.silent_lock:
            if not self.silent:
                return
            oldest = min(self.silent, key=self.silent.__getitem__)
            del self.silent[oldest]
        with contextlib.suppress(OSError):
            oldest.shutdown(socket.SHUT_RDWR)  # its thread's read returns at once and the thread ends

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that vanished, stalled or sent garbage: noted at debug level, never a traceback."""
        logger.debug("dashboard: a request from %s failed", client_address, exc_info=True)


class GuardedHandler(BaseHTTPRequestHandler):
    """A request handler that drops silent connections and prints nothing per request."""

    timeout = IDLE_SECONDS  # a silent connection is dropped, its thread freed
    server: BoundedServer

    def parse_request(self) -> bool:
        self.server.spoke(self.request)
        return super().parse_request()

    def log_message(self, format: str, *args: Any) -> None:  # one line per poll is noise; errors too
        pass
