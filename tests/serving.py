"""Running a test's HTTP server (WinRM test server, webhook recorders, OpenID provider) on a
thread.

`shutdown()` returns only when `serve_forever` next looks at its flag, which it does every
`poll_interval` seconds: the default half a second was paid by every test that stops a server
(seconds over the inner loop, more over the Windows scenario batches). A twentieth of a second
costs nothing while serving."""

from __future__ import annotations

import socketserver
import threading

POLL_INTERVAL = 0.05


def serve_in_thread(server: socketserver.BaseServer) -> threading.Thread:
    """Start serving on a daemon thread; stop with `server.shutdown()` as usual."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL}, daemon=True
    )
    thread.start()
    return thread
