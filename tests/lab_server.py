"""JupyterLab started the way `make lab` starts it, over a folder of notebooks, for tests."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def make_lab_command() -> list[str]:
    """The command `make lab` runs (as `make -n` prints it), with this interpreter's jupyter."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = subprocess.run(
        ["make", "-s", "-n", "lab", "LAB_ARGS="],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (line,) = [ln for ln in out.splitlines() if re.search(r"\bjupyter lab\b", ln)]
    argv = shlex.split(line)
    return [str(Path(sys.executable).parent / "jupyter"), *argv[1:]]


class LabFailed(RuntimeError):
    """JupyterLab did not start."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def lab_server(
    notebook_dir: Path,
    home: Path,
    *extra_args: str,
    env: Mapping[str, str] | None = None,
) -> Iterator[tuple[str, str]]:
    """JupyterLab as `make lab` starts it, over notebook_dir on a free port; (url, token).

    Raises LabFailed when the server stops or does not answer within 60 s.

    Its Jupyter config, runtime and workspace folders are under home, so that the user's
    own settings play no part; the project config comes from the `make lab` command.
    """
    port, token = free_port(), secrets.token_hex(16)
    full_env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        **(env or {}),
    )
    log_path = home / "lab.log"
    command = [a for a in make_lab_command() if not a.startswith("--notebook-dir=")]
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [
                *command,
                f"--notebook-dir={notebook_dir}",
                "--no-browser",
                "--ip=127.0.0.1",
                f"--port={port}",
                "--ServerApp.port_retries=0",
                f"--ServerApp.token={token}",
                "--allow-root",
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                *extra_args,
            ],
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise LabFailed("JupyterLab stopped:\n" + log_path.read_text()[-3000:])
                with contextlib.suppress(httpx.HTTPError):
                    r = httpx.get(f"{url}/api/status", params={"token": token}, timeout=2)
                    if r.status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise LabFailed("JupyterLab did not answer within 60 s")
                time.sleep(0.3)
            yield url, token
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
