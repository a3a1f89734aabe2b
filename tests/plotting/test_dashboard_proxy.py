"""The dashboard behind a reverse proxy that serves it under a path prefix, as Databricks' driver proxy does.

Databricks forwards ``https://<workspace>/driver-proxy/o/<org-id>/<cluster-id>/<port>/`` to
the driver's port (docs/databricks.md, "The dashboard through the driver proxy"). The page
then lives under that prefix, so everything it loads (plotly.js, the state it polls) must
be asked for relative to the page: a request for ``/api/state`` goes to the workspace's
root, which the proxy does not forward. A small proxy on 127.0.0.1 does what the driver
proxy does (a prefix, its own Host header) and the page's requests are followed through it.
"""

import json
import re
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urljoin

from parzen.plotting import serve_dashboard

from .conftest import run

PROXY_HOST = "dbc-0123.cloud.databricks.com"  # the Host header the driver sees from the proxy


def _proxy(prefix: str, target_port: int) -> ThreadingHTTPServer:
    """Forwards GET ``<prefix><rest>`` to ``127.0.0.1:<target_port>/<rest>``; anything else is 404."""

    class Forward(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if not self.path.startswith(prefix):
                self.send_error(404, "not under the proxy's prefix")
                return
            request = urllib.request.Request(
                f"http://127.0.0.1:{target_port}/{self.path[len(prefix) :]}", headers={"Host": PROXY_HOST}
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    status, kind, body = answer.status, answer.headers.get("Content-Type", ""), answer.read()
            except urllib.error.HTTPError as error:
                status, kind, body = error.code, "text/plain", error.read()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):  # noqa: A002 - http.server's signature
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_the_page_loads_plotly_and_its_state_through_a_path_prefix():
    trials = run(n=12)
    board = serve_dashboard(trials, port=0, block=False, allowed_hosts=(PROXY_HOST,))
    port = board.server.server_address[1]
    prefix = f"/driver-proxy/o/1234567890/0101-123456-abcdef/{port}/"
    proxy = _proxy(prefix, port)
    try:
        page_url = f"http://127.0.0.1:{proxy.server_address[1]}{prefix}"
        status, html = _get(page_url)
        assert status == 200, html[:300]
        page = html.decode()
        scripts = re.findall(r'<script src="([^"]+)"', page)
        polls = re.findall(r'fetch\("([^"?]+)', page)
        assert scripts and polls, "the page should load plotly.js and poll its state"
        for url in scripts:
            status, body = _get(urljoin(page_url, url))
            assert status == 200, f"{url!r} from {page_url} is {urljoin(page_url, url)}: {status}"
            assert b"plotly" in body[:2000].lower()
        for url in polls:
            status, body = _get(urljoin(page_url, url))
            assert status == 200, f"{url!r} from {page_url} is {urljoin(page_url, url)}: {status}"
            assert json.loads(body)["sections"], "the state the page draws"
    finally:
        proxy.shutdown()
        proxy.server_close()
        board.stop()
