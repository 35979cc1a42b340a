"""The HTTP side of the Label Studio backend: a threading server on the standard library."""

from __future__ import annotations

import json
import logging
import numbers
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ._fs import SessionError
from ._ls_files import MAX_BODY_BYTES

__all__ = ["check_port", "make_server"]

logger = logging.getLogger("skdfal.labelstudio")


class _Handler(BaseHTTPRequestHandler):
    backend: Any  # the LabelStudioBackend, set on the subclass made per server
    server_version = "skdfal-label-studio"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        logger.debug("%s - %s", self.address_string(), format % args)

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - http.server's name
        route = urllib.parse.urlsplit(self.path).path.rstrip("/")
        if route in ("", "/health"):
            self._send(200, self.backend.health())
        elif route == "/versions":
            self._send(200, {"versions": [self.backend.model_version]})
        else:
            self._send(404, {"error": f"no route {route}"})

    def do_POST(self):  # noqa: N802 - http.server's name
        route = urllib.parse.urlsplit(self.path).path.rstrip("/")
        handlers = {"/setup": self.backend.setup, "/predict": self.backend.predict,
                    "/webhook": self.backend.webhook, "/train": lambda payload: {"status": "ok"}}
        if route not in handlers:
            self._send(404, {"error": f"no route {route}"})
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._send(411, {"error": "Content-Length required"})
            return
        if not 0 <= length <= MAX_BODY_BYTES:
            self._send(413, {"error": f"request body over {MAX_BODY_BYTES} bytes"})
            return
        try:
            payload = json.loads(self.rfile.read(length) or b"{}")
        except ValueError as exc:
            self._send(400, {"error": f"not JSON: {exc}"})
            return
        try:
            self._send(200, handlers[route](payload))
        except (ValueError, TypeError, SessionError) as exc:
            self._send(400, {"error": str(exc)})
        except OSError as exc:  # the journal could not be written: Label Studio must not think it was
            logger.exception("%s failed", route)
            self._send(503, {"error": f"could not record it: {exc}"})


def check_port(port: Any) -> None:
    """Refuse a ``port`` no socket can take (``ValueError`` naming it): 0 (any free one) to 65535."""
    if isinstance(port, bool) or not isinstance(port, numbers.Integral) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an integer in [0, 65535], got {port!r}")


def make_server(backend: Any, host: str = "127.0.0.1", port: int = 9090) -> ThreadingHTTPServer:
    """A threading HTTP server answering Label Studio for ``backend`` (not started).

    A port out of range is a ``ValueError`` naming ``port``; an address that
    cannot be bound (in use, not this machine's) an ``OSError`` naming it.
    """
    check_port(port)
    handler = type("Handler", (_Handler,), {"backend": backend})
    try:
        server = ThreadingHTTPServer((host, int(port)), handler)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    server.daemon_threads = True
    return server
