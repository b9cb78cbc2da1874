# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A local HTTP server for the tests of the modules' own HTTP clients (127.0.0.1, a free port)."""

from __future__ import annotations

import http.server
import threading


class LocalServer:
    """Answers from ``routes`` ``{path: (status, headers, body)}`` (404 otherwise); ``seen`` holds each request
    as ``(method, path, headers, body)``."""

    def __init__(self, routes):
        self.routes, self.seen = routes, []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.answer()

            def do_POST(self):
                self.answer()

            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                owner.seen.append((self.command, self.path, dict(self.headers), self.rfile.read(length)))
                status, headers, body = owner.routes.get(self.path.split("?")[0], (404, {}, b"{}"))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                """Quiet: the test reads ``seen``."""

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
