"""The fast lane's rule: a test not marked ``slow`` starts no process, kernel, browser or server.

``make check`` runs ``pytest -m "not slow"`` and must stay fast. Starting a Jupyter kernel
(papermill, a partner report), a browser (Playwright), JupyterLab or any other subprocess, or
listening on a socket (the sandbox's ``serve``), is what makes a test slow, so ``conftest.py``
wraps every test not marked slow in ``refuse_slow_work``: such a start raises ``SlowWork`` and
the test fails with a message that names it, even if the code under test caught the error.
"""

from __future__ import annotations

import multiprocessing.process
import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

ADVICE = "mark the test @pytest.mark.slow (`make check` leaves slow tests out)"


_INHERITED = object()


class SlowWork(RuntimeError):
    """A test outside the slow lane tried to start a process or a server."""


def _command(args: Any) -> str:
    if isinstance(args, str | bytes | os.PathLike):
        return os.fsdecode(args)
    return " ".join(os.fsdecode(a) for a in args)


@contextmanager
def refuse_slow_work(test: str, seen: list[str]) -> Iterator[None]:
    """Within the block, starting a process or listening on a socket raises ``SlowWork``.

    Each refusal is also appended to ``seen``, so a caller can fail the test even when the code
    under test caught the exception (a widget shows unexpected errors as a message).
    """

    def refuse(what: str) -> None:
        message = f"{test} {what}: {ADVICE}"
        seen.append(message)
        raise SlowWork(message)

    def execute_child(self: subprocess.Popen, args: Any, *rest: Any, **kwargs: Any) -> None:
        refuse(f"starts a subprocess ({_command(args)})")

    def system(command: str) -> int:
        refuse(f"starts a subprocess ({command})")
        return 1

    def fork() -> int:
        refuse("forks a process")
        return -1

    def start(self: multiprocessing.process.BaseProcess) -> None:
        refuse(f"starts a process ({self.name})")

    def listen(self: socket.socket, *args: Any) -> None:
        try:
            where = self.getsockname()
        except OSError:
            where = "a socket"
        refuse(f"starts a server (listens on {where})")

    patches = [
        (subprocess.Popen, "_execute_child", execute_child),
        (os, "system", system),
        (os, "fork", fork),
        (multiprocessing.process.BaseProcess, "start", start),
        (socket.socket, "listen", listen),
    ]
    # what the owner itself holds: socket.socket inherits listen, and must inherit it again
    saved = [(owner, name, vars(owner).get(name, _INHERITED)) for owner, name, _ in patches]
    for owner, name, replacement in patches:
        setattr(owner, name, replacement)
    try:
        yield
    finally:
        for owner, name, original in saved:
            if original is _INHERITED:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
