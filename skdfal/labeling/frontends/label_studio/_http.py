"""The HTTP side of the Label Studio backend: a bounded server on the standard library.

The backend holds what annotators paid for with hours of work, so only
they reach it:

* **Basic auth**, Label Studio's own convention for ML backends: with
  ``BASIC_AUTH_USER`` and ``BASIC_AUTH_PASS`` set (or ``auth=(user,
  password)``), every request must carry them (``401`` otherwise); set the
  same user and password in the project's Model settings.
* **A Host allow-list**: the loopback names, the address listened on and
  the names given as ``allowed_hosts``; a request naming another host (a
  web page that re-pointed its own name at this machine) gets ``403``.
* **JSON only**: a ``POST`` must say ``Content-Type: application/json``
  (``415``), which a cross-site form or ``fetch`` cannot send without a
  CORS preflight, and no CORS header is ever sent.
* **Bounded work**: a body limit (``413``), a socket timeout for slow
  clients, a fixed pool of worker threads (a request beyond it waits in a
  bounded queue, then gets ``503``), and every error a JSON reply.
  Log lines escape control characters, so an id cannot forge a line.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import json
import logging
import numbers
import queue
import re
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from ..._fs import SessionError
from ._files import MAX_BODY_BYTES

__all__ = ["LOOPBACK_NAMES", "check_port", "make_server", "escape_controls"]

logger = logging.getLogger("skdfal.labelstudio")

#: Host names a request may use without ``allowed_hosts``.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
#: Seconds a client may stay silent mid-request before its connection is closed.
SOCKET_TIMEOUT = 30.0
#: Threads answering requests, and connections that may wait for one.
WORKERS, BACKLOG = 8, 64

_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_controls(text: str) -> str:
    """``text`` with control characters written as escapes (``\\n`` -> ``\\x0a``)."""
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class _EscapeControls(logging.Filter):
    """Renders each record's message once, escaped, so that no argument can start a log line."""

    def filter(self, record):
        message = record.getMessage()
        record.msg, record.args = escape_controls(message), None
        return True


if not any(isinstance(f, _EscapeControls) for f in logger.filters):
    logger.addFilter(_EscapeControls())


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_of(header: str) -> str | None:
    """The host name of a ``Host`` header (no port, IPv6 brackets removed, lower case)."""
    header = header.strip().lower()
    if header.startswith("["):
        end = header.find("]")
        return header[1:end] if end > 0 else None
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header or None


class _Handler(BaseHTTPRequestHandler):
    backend: Any  # the LabelStudioBackend, set on the subclass made per server
    server_version = "skdfal-label-studio"
    protocol_version = "HTTP/1.0"  # one request per connection: no idle keep-alive holds a worker
    timeout = SOCKET_TIMEOUT

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        logger.debug("%s - %s", self.address_string(), format % args)

    def _send(self, status: int, body: dict, headers=()) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_error(self, code, message=None, explain=None):
        """http.server's own errors (a malformed request line, an unknown method) as JSON too."""
        self.close_connection = True
        try:
            self._send(code, {"error": message or self.responses.get(code, ("error",))[0]})
        except OSError:
            pass

    def _allowed(self) -> bool:
        """Host, then credentials: ``False`` once the refusal is sent."""
        settings = self.server.settings
        host = _host_of(self.headers.get("Host", ""))
        if host is None or host not in settings["hosts"]:
            self._send(403, {"error": f"Host {host!r} is not allowed (add it with --allowed-host)"})
            return False
        if settings["auth"] is not None:
            given = self.headers.get("Authorization", "")
            scheme, _, encoded = given.partition(" ")
            try:
                pair = base64.b64decode(encoded.strip(), validate=True)
            except (binascii.Error, ValueError):
                pair = b""
            if scheme.lower() != "basic" or not hmac.compare_digest(pair, settings["auth"]):
                self._send(401, {"error": "authentication required (Basic)"},
                           [("WWW-Authenticate", 'Basic realm="skdfal", charset="UTF-8"')])
                return False
        return True

    def _route(self) -> str:
        return urllib.parse.urlsplit(self.path).path.rstrip("/")

    def do_GET(self):  # noqa: N802 - http.server's name
        if not self._allowed():
            return
        route = self._route()
        if route in ("", "/health"):
            self._send(200, self.backend.health())
        elif route == "/versions":
            self._send(200, {"versions": [self.backend.model_version]})
        else:
            self._send(404, {"error": f"no route {route}"})

    def do_POST(self):  # noqa: N802 - http.server's name
        self.close_connection = True
        if not self._allowed():
            return
        route = self._route()
        handlers = {"/setup": self.backend.setup, "/predict": self.backend.predict,
                    "/webhook": self.backend.webhook, "/train": lambda payload: {"status": "ok"}}
        if route not in handlers:
            self._send(404, {"error": f"no route {route}"})
            return
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            self._send(415, {"error": "Content-Type must be application/json"})
            return
        limit = self.server.settings["max_body"]
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._send(411, {"error": "Content-Length required"})
            return
        if not 0 <= length <= limit:
            self._send(413, {"error": f"request body over {limit} bytes"})
            return
        try:
            body = self.rfile.read(length)
        except OSError:  # the client went silent (timeout) or away: nobody to answer
            return
        try:
            payload = json.loads(body or b"{}")
        except (ValueError, RecursionError) as exc:  # deep nesting is a RecursionError
            self._send(400, {"error": f"not JSON: {type(exc).__name__}"})
            return
        try:
            self._send(200, handlers[route](payload))
        except (ValueError, TypeError, SessionError, RecursionError) as exc:
            self._send(400, {"error": escape_controls(str(exc))[:2000]})
        except OSError as exc:  # the journal could not be written: Label Studio must not think it was
            logger.exception("%s failed", route)
            self._send(503, {"error": f"could not record it: {exc.strerror or exc}"})
        except Exception:
            logger.exception("%s failed", route)
            self._send(500, {"error": "internal error (see the backend's log)"})

    def do_OPTIONS(self):  # noqa: N802 - http.server's name; no CORS: a preflight is refused
        self._send(405, {"error": "method not allowed (no cross-origin requests)"})

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS  # noqa: N815


class _Server(HTTPServer):
    """An HTTP server whose requests are answered by a fixed pool of threads (IPv6 when asked)."""

    daemon_threads = True

    def __init__(self, address, handler, settings):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.settings = settings
        self._queue = queue.Queue(maxsize=BACKLOG)
        self._workers = []  # a failed bind closes the server before any worker starts
        super().__init__(address, handler)
        self._workers = [threading.Thread(target=self._work, name=f"skdfal-http-{i}", daemon=True)
                         for i in range(settings["workers"])]
        for worker in self._workers:
            worker.start()

    def process_request(self, request, client_address):
        try:
            self._queue.put_nowait((request, client_address))
        except queue.Full:  # overloaded: say so at once rather than holding the socket
            try:
                request.settimeout(1.0)
                body = b'{"error": "busy, try again"}'
                request.sendall(b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                b"Content-Length: %d\r\nRetry-After: 1\r\n\r\n%s" % (len(body), body))
            except OSError:
                pass
            self.shutdown_request(request)

    def _work(self):
        while True:
            item = self._queue.get()
            if item is None:
                return
            request, client_address = item
            try:
                self.finish_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)

    def handle_error(self, request, client_address):
        logger.debug("request from %s failed", client_address, exc_info=True)

    def server_close(self):
        super().server_close()
        for _ in self._workers:
            try:
                self._queue.put_nowait(None)
            except queue.Full:
                break


def check_port(port: Any) -> None:
    """Refuse a ``port`` no socket can take (``ValueError`` naming it): 0 (any free one) to 65535."""
    if isinstance(port, bool) or not isinstance(port, numbers.Integral) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an integer in [0, 65535], got {port!r}")


def make_server(backend: Any, host: str = "127.0.0.1", port: int = 9090, *,
                auth: tuple[str, str] | None = None, allowed_hosts=(), max_body_bytes: int = MAX_BODY_BYTES,
                workers: int = WORKERS) -> HTTPServer:
    """An HTTP server answering Label Studio for ``backend`` (not started); see the module docs.

    ``auth`` is ``(user, password)`` for Basic auth (``None``: none);
    ``allowed_hosts`` the host names requests may use besides the loopback
    names and ``host``.  A port out of range is a ``ValueError`` naming
    ``port``; an address that cannot be bound (in use, not this machine's)
    an ``OSError`` naming it.  Listening beyond loopback without ``auth``
    logs a warning.
    """
    check_port(port)
    if auth is not None:
        user, password = auth
        if not user or not password or ":" in user:
            raise ValueError("auth must be (user, password), both non-empty, the user without ':'")
        auth = f"{user}:{password}".encode()
    hosts = {h.strip().lower().strip("[]") for h in (*LOOPBACK_NAMES, host, *allowed_hosts) if h and h.strip()}
    settings = {"auth": auth, "hosts": hosts, "max_body": int(max_body_bytes), "workers": int(workers)}
    handler = type("Handler", (_Handler,), {"backend": backend})
    try:
        server = _Server((host, int(port)), handler, settings)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    except UnicodeError as exc:
        raise ValueError(f"cannot listen on {host!r}: {exc}") from exc
    if auth is None and not is_loopback(host):
        logger.warning("listening on %s without authentication: anyone who can reach this address can change "
                       "the labels; set BASIC_AUTH_USER and BASIC_AUTH_PASS (and the same in Label Studio's "
                       "model settings), or listen on 127.0.0.1", host)
    return server
