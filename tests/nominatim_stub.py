"""A tiny Nominatim stand-in on 127.0.0.1 for tests: ``GET /search?format=json&q=...``.

Usage::

    with serve(answers) as stub:           # answers: casefolded q -> list of results
        ... Settings(nominatim_url=stub.url, ...) ...
        assert stub.hits == 1
        assert stub.requests[0].headers["User-Agent"] == "..."

Set ``stub.status`` to make it answer with an HTTP error instead.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ANSWERS_FILE = Path(__file__).parent / "data" / "nominatim_search.json"


def load_answers(path: Path = ANSWERS_FILE) -> dict[str, list[dict[str, Any]]]:
    """Read the canned answers (keys starting with ``_`` are comments)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


@dataclass(frozen=True)
class Request:
    """One request the stub received."""

    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class Stub:
    """The running stub: its base URL, what it received, and how it answers."""

    url: str
    answers: dict[str, list[dict[str, Any]]]
    status: int = 200
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def hits(self) -> int:
        """Number of requests received so far."""
        with self.lock:
            return len(self.requests)

    def answer(self, params: dict[str, str]) -> list[dict[str, Any]]:
        """Results for a query, shaped like Nominatim's ``format=json`` output."""
        found = self.answers.get(params.get("q", "").strip().casefold(), [])
        if params.get("addressdetails") != "1":
            found = [{k: v for k, v in r.items() if k != "address"} for r in found]
        return found[: int(params.get("limit", "10"))]


def _handler(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            with stub.lock:
                stub.requests.append(Request(parts.path, params, dict(self.headers.items())))
            if parts.path != "/search":
                self._send(404, {"error": f"no such endpoint {parts.path}"})
            elif stub.status != 200:
                self._send(stub.status, {"error": "stub failure"})
            else:
                self._send(200, stub.answer(params))

        def _send(self, status: int, payload: object) -> None:
            body = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


@contextmanager
def serve(answers: dict[str, list[dict[str, Any]]] | None = None) -> Iterator[Stub]:
    """Run the stub on an ephemeral port of 127.0.0.1 for the duration of the block."""
    stub = Stub(url="", answers=load_answers() if answers is None else answers)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    server.daemon_threads = True
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="nominatim-stub", daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
