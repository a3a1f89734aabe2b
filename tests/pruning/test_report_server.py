"""The report server on its own (no Spark): every client gets an answer, however bad its message."""

from __future__ import annotations

import json
import socket
import time

from parzen.pruning.server import ReportServer


class CountingSink:
    """A run that counts rejections and never asks to stop."""

    def __init__(self) -> None:
        self.rejected: list[str] = []

    def ask(self, tid: int, step: int, value: float | tuple[float, ...]) -> bool:
        return False

    def reject(self, reason: str) -> None:
        self.rejected.append(reason)


def send(server: ReportServer, payload: bytes, pause: float = 0.0) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(payload)
        time.sleep(pause)  # a slow client: the server has read its first line by now
        s.shutdown(socket.SHUT_WR)  # raises ENOTCONN if the server reset the connection
        return s.makefile("rb").readline()


def test_an_oversized_message_is_answered_not_reset():
    server = ReportServer("127.0.0.1")
    sink = CountingSink()
    token = server.register(sink)
    try:
        for size in (5_000, 10_000, 100_000, 200_000):
            answer = send(server, b'{"token": "' + b"a" * size + b'"}\n', pause=0.2)
            assert json.loads(answer) == {"prune": False}, size
        assert sink.rejected == ["message too long or not a line"] * 4
        ok = send(server, json.dumps({"token": token, "tid": 1, "step": 0, "value": 0.5}).encode() + b"\n")
        assert json.loads(ok) == {"prune": False}
    finally:
        server.unregister(token)
        server.server.shutdown()
        server.server.server_close()
