#!/usr/bin/env python3
"""A ClickHouse HTTP endpoint on loopback, over chDB (ClickHouse's engine in-process), for the
collector's ClickHouse tests and for trying `--clickhouse-url` on a machine without a ClickHouse
server.

The SQL runs in the real ClickHouse engine (chDB 4.4 is ClickHouse 26.9): table engines, FINAL,
TTL, JSON functions and typed query parameters are ClickHouse's own. What this file provides is
the part of ClickHouse's HTTP interface the collector uses:

- `GET /ping` answers `Ok.`
- `POST /` runs the body as SQL; with a `query` URL parameter, runs that, with the body appended
  on a new line as its data (`INSERT ... FORMAT JSONEachRow`).
- `param_<name>=<value>` URL parameters fill `{name:Type}` placeholders.
- `X-ClickHouse-User` / `X-ClickHouse-Key` are checked when started with `--password`.
- An error answers 500 with ClickHouse's `Code: N. DB::Exception: ...` text and the
  `X-ClickHouse-Exception-Code` header.

One query runs at a time (chDB's session is one connection). Not for production: point the
collector at a ClickHouse server there.

Usage: clickhouse-dev.py [--port 0] [--path DIR] [--user U --password P]
Prints `clickhouse-dev listening on http://127.0.0.1:PORT` once ready.
"""

import argparse
import re
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from chdb import session



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--path", default=None, help="data directory (a new temporary one if absent)")
    ap.add_argument("--user", default="default")
    ap.add_argument("--password", default=None)
    args = ap.parse_args()
    path = args.path or tempfile.mkdtemp(prefix="clickhouse-dev-")
    db = session.Session(path)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body are two writes: without this, Nagle's algorithm holds the body back
        # until the client's delayed ACK (40 ms) on a kept-alive connection.
        disable_nagle_algorithm = True

        def log_message(self, *a):
            pass

        def answer(self, status, text, code=None):
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            if code is not None:
                self.send_header("X-ClickHouse-Exception-Code", str(code))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if urlsplit(self.path).path == "/ping":
                return self.answer(200, "Ok.\n")
            self.run(b"")

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            self.run(self.rfile.read(n) if n else b"")

        def run(self, body):
            if args.password is not None and (
                self.headers.get("X-ClickHouse-User", "default") != args.user
                or self.headers.get("X-ClickHouse-Key", "") != args.password
            ):
                return self.answer(
                    516, f"Code: 516. DB::Exception: {args.user}: Authentication failed. (AUTHENTICATION_FAILED)\n", 516
                )
            url = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
            text = body.decode()
            sql = url["query"] + ("\n" + text if text else "") if "query" in url else text
            params = {k[6:]: v for k, v in url.items() if k.startswith("param_")}
            fmt = url.get("default_format", "TabSeparated")
            try:
                with lock:
                    out = db.query(sql, fmt, params=params or None)
            except Exception as e:  # chDB raises its own error type with ClickHouse's text
                msg = str(e).strip()
                m = re.search(r"Code: (\d+)\.", msg)
                return self.answer(500, msg + "\n", int(m.group(1)) if m else 1000)
            data = out if isinstance(out, str) else (out.bytes().decode() if hasattr(out, "bytes") else str(out))
            self.answer(200, data)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"clickhouse-dev listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        db.close()


if __name__ == "__main__":
    sys.exit(main())
