"""Two ways to reach the sandbox app: an in-process httpx transport and a localhost HTTP server."""

from __future__ import annotations

import asyncio
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx

from toolkit.errors import InputError
from toolkit.world.sandbox.app import Request, Response, SandboxApp
from toolkit.world.sandbox.faults import Faults
from toolkit.world.sandbox.world import World


def _to_request(request: httpx.Request, body: bytes) -> Request:
    return Request.make(
        request.method, request.url.path, request.url.query.decode(), request.headers, body
    )


def _to_response(request: httpx.Request, answer: Response) -> httpx.Response:
    if answer.stall:
        raise httpx.ReadTimeout(
            "the sandbox did not answer in time (injected timeout)", request=request
        )
    return httpx.Response(
        answer.status, headers=answer.headers, content=answer.body, request=request
    )


class SandboxTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """An httpx transport that answers in-process from the sandbox app (any host, routed by path)."""

    def __init__(self, faults: Faults | None = None, world: World | None = None):
        self.app = SandboxApp(world=world, faults=faults)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer one request synchronously; injected timeouts raise httpx.ReadTimeout."""
        answer = self.app.handle(_to_request(request, request.read()))
        return _to_response(request, answer)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer one request from an event loop, without blocking it while latency passes."""
        body = await request.aread()
        answer = await asyncio.to_thread(self.app.handle, _to_request(request, body))
        return _to_response(request, answer)

    def __repr__(self) -> str:
        return f"SandboxTransport({self.app.faults!r})"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ToolkitSandbox/1"
    server: _HTTPServer

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Request.make(self.command, parts.path, parts.query, self.headers, body)
        answer = self.server.app.handle(request)
        if self.server.verbose:
            entry = self.server.app.log[-1]
            status = entry.status if entry.status is not None else "no answer"
            print(
                f"{entry.service or '-':9} {self.command:4} {parts.path} "
                f"numbers={len(entry.numbers)} -> {status} ({entry.fault})",
                file=sys.stderr,
                flush=True,
            )
        if answer.stall:
            self.server.app.stopping.wait(answer.stall)
            self.close_connection = True
            return
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: the app keeps its own request log (without keys)."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: SandboxApp, verbose: bool):
        self.app = app
        self.verbose = verbose
        super().__init__(address, _Handler)


class SandboxServer:
    """The sandbox on a real localhost socket, served from a background thread."""

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        faults: Faults | None = None,
        world: World | None = None,
        verbose: bool = False,
    ):
        self.app = SandboxApp(world=world, faults=faults)
        try:
            self._httpd = _HTTPServer((host, port), self.app, verbose)
        except OSError as exc:
            raise InputError(
                f"cannot listen on {host}:{port} ({exc.strerror or exc})",
                "sandbox server",
                "Choose another port, or port 0 for any free one",
            ) from exc
        self.host = host
        self.port = self._httpd.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL to point the clients at."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> SandboxServer:
        """Serve from a background thread; return self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, name=f"sandbox:{self.port}", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port (hanging requests are cut short)."""
        self.app.stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SandboxServer({self.url})"


def serve(
    port: int = 0,
    host: str = "127.0.0.1",
    faults: Faults | None = None,
    world: World | None = None,
    verbose: bool = False,
) -> SandboxServer:
    """Start the sandbox as a threaded HTTP server in the background; use `.url`, `.stop()`."""
    return SandboxServer(port=port, host=host, faults=faults, world=world, verbose=verbose).start()
