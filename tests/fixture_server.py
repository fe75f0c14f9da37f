"""A small HTTP server on 127.0.0.1 serving fixture files, for the download tests (never the internet).

It honours Range requests (like real file hosts), can be told to ignore them, to cut a response
short after N bytes (an interrupted download), and records every request it saw. Paths under
`/<repo>/resolve/<revision>/` answer with the headers huggingface_hub reads (X-Repo-Commit, ETag).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Behaviour:
    honour_range: bool = True
    cut_after: int | None = None  # bytes of the body to send before dropping the connection (once)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # (method, path, Range)


class FixtureServer:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.behaviour = Behaviour()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _target(self) -> Path | None:
                path = (server.root / self.path.lstrip("/").split("?", 1)[0]).resolve()
                if server.root.resolve() not in path.parents or not path.is_file():
                    return None
                return path

            def _headers(self, path: Path, status: int, start: int, length: int, total: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(length))
                self.send_header("Accept-Ranges", "bytes")
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{start + length - 1}/{total}")
                if "/resolve/" in self.path:
                    self.send_header("X-Repo-Commit", "0" * 40)
                    self.send_header("ETag", '"' + hashlib.sha256(path.read_bytes()).hexdigest() + '"')
                self.end_headers()

            def do_HEAD(self) -> None:  # noqa: N802
                server.behaviour.requests.append(("HEAD", self.path, self.headers.get("Range")))
                path = self._target()
                if path is None:
                    self.send_error(404)
                    return
                size = path.stat().st_size
                self._headers(path, 200, 0, size, size)

            def do_GET(self) -> None:  # noqa: N802
                behaviour = server.behaviour
                requested = self.headers.get("Range")
                behaviour.requests.append(("GET", self.path, requested))
                path = self._target()
                if path is None:
                    self.send_error(404)
                    return
                data = path.read_bytes()
                start = 0
                if requested and behaviour.honour_range:
                    start = int(requested.split("=", 1)[1].split("-", 1)[0])
                    if start >= len(data):
                        self.send_error(416)
                        return
                body = data[start:]
                self._headers(path, 206 if start else 200, start, len(body), len(data))
                if behaviour.cut_after is not None:
                    cut, behaviour.cut_after = behaviour.cut_after, None
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def __enter__(self) -> FixtureServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
