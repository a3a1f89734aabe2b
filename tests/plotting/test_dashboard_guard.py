"""The dashboard checks who it talks to and holds bounded resources per client (issue 24, item 7).

Before: any Host header got every trial, traceback and path (so any web page could read it by
DNS rebinding), `--host 0.0.0.0` was accepted silently and served everyone, and each idle
connection held a thread for ever. Real servers (`parzen dashboard` in a subprocess), a real
HTTP client, a real browser whose resolver maps an attacker's name to 127.0.0.1."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from .conftest import copy_store

SECRET = "depth 10 does not fit in memory"  # an error message of the conftest run: trial data


def start(db, *args):
    """`parzen dashboard db --port 0 ...`; returns (process, port)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "parzen.cli", "dashboard", str(db), "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    assert " at http://" in line, line + process.stderr.read()
    return process, int(line.split(" at http://", 1)[1].split("/")[0].rsplit(":", 1)[1])


def stop(process):
    os.kill(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=20)
    return err


def get(address, port, path="/api/state?token=", host=None, timeout=10.0):
    """(status, body) of a GET with the Host header `host` (default: the address and port)."""
    connection = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        connection.putrequest("GET", path, skip_host=True)
        if host is not None:
            connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


@pytest.fixture
def db(store, tmp_path):
    return copy_store(store[0], tmp_path / "t.db")


def test_a_foreign_host_header_gets_no_data(db):
    process, port = start(db)
    try:
        for name in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}"):
            status, body = get("127.0.0.1", port, host=name)
            assert status == 200 and SECRET in body, (name, status)
        for name in ("attacker.example", f"attacker.example:{port}", "127.0.0.1.attacker.example", "localhost.evil"):
            for path in ("/api/state?token=", "/"):
                status, body = get("127.0.0.1", port, path, host=name)
                assert status == 403 and SECRET not in body and "trial" not in body.lower(), (name, path, status)
        status, body = get("127.0.0.1", port, host=None)  # no Host header at all: no browser sends that
        assert status == 400 and SECRET not in body
    finally:
        err = stop(process)
    assert "Traceback" not in err


def test_dns_rebinding_in_a_real_browser_reads_nothing(db, browser):
    """chromium resolves attacker.example to 127.0.0.1, as a rebinding DNS server would."""
    from .conftest import CHROMIUM, CHROMIUM_ARGS

    process, port = start(db)
    rules = "--host-resolver-rules=MAP attacker.example 127.0.0.1"
    chrome = browser.browser_type.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, rules])
    try:
        page = chrome.new_page()
        response = page.goto(f"http://attacker.example:{port}/")
        assert response.status == 403 and SECRET not in page.content()
        state = page.evaluate(
            "fetch('/api/state?token=').then(r => r.text().then(t => [r.status, t]), e => [0, String(e)])"
        )
        assert state[0] == 403 and SECRET not in state[1]
        page.goto(f"http://localhost:{port}/")  # the same server under its own name: served
        page.wait_for_selector("#trial-count")
        assert page.inner_text("#trial-count") == "60"
    finally:
        chrome.close()
        stop(process)


def other_address():
    """An address of this machine other than loopback: connecting to it makes a non-loopback client."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.254", 9))  # no packet is sent: this only picks the outgoing interface
            address = s.getsockname()[0]
        except OSError:
            address = ""
    if not address or address.startswith("127."):
        pytest.skip("this machine has no non-loopback IPv4 address")
    return address


def test_all_interfaces_warn_and_serve_other_machines_only_when_asked(db):
    address = other_address()
    process, port = start(db, "--host", "0.0.0.0")
    try:
        assert get("127.0.0.1", port, host=f"127.0.0.1:{port}")[0] == 200  # this machine: served
        status, body = get(address, port, host=f"{address}:{port}")  # another address: refused
        assert status == 403 and SECRET not in body and "--allow-remote" in body
    finally:
        err = stop(process)
    assert "0.0.0.0" in err and "--allow-remote" in err  # said at start, on stderr

    process, port = start(db, "--host", "0.0.0.0", "--allow-remote")
    try:
        status, body = get(address, port, host=f"{address}:{port}")
        assert status == 200 and SECRET in body
        assert get(address, port, host="attacker.example")[0] == 403  # the Host check still holds
    finally:
        err = stop(process)
    assert "without authentication" in err


def threads_of(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def test_idle_connections_are_bounded_and_dropped_quietly(db):
    process, port = start(db)
    idle = []
    try:
        assert get("127.0.0.1", port, host=f"127.0.0.1:{port}")[0] == 200
        baseline = threads_of(process.pid)
        for _ in range(400):  # connect, send nothing
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            idle.append(sock)
        time.sleep(1.0)
        assert threads_of(process.pid) <= baseline + 70  # at most the client limit, not one per connection
        started = time.monotonic()
        status, body = get("127.0.0.1", port, host=f"127.0.0.1:{port}", timeout=30)
        assert status == 200 and SECRET in body  # a real client is still served
        assert time.monotonic() - started < 20
        deadline = time.monotonic() + 30
        while threads_of(process.pid) > baseline + 2 and time.monotonic() < deadline:
            time.sleep(0.5)  # idle clients are dropped after a timeout
        assert threads_of(process.pid) <= baseline + 2
    finally:
        for sock in idle:
            sock.close()
        err = stop(process)
    assert "Traceback" not in err and "TimeoutError" not in err, err[-2000:]
