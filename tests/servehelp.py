"""A real `locate serve` process for the browser, restart and load checks.

:class:`Server` starts ``python -m locator serve`` on a free localhost port
with a data folder, waits for ``/healthz``, and reads the admin token the
first start wrote. ``kill()`` is SIGKILL: nothing is shut down cleanly.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``locate serve`` in a process of its own (its own session: killed with its workers)."""

    def __init__(self, data: Path, *, workers: int = 1, port: int | None = None,
                 log: Path | None = None, env: dict | None = None) -> None:
        self.data, self.workers = Path(data), workers
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log or self.data.parent / f"serve-{self.port}.log"
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> Server:
        self.data.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "locator", "serve", "--data", str(self.data),
                 "--port", str(self.port), "--workers", str(self.workers)],
                stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"locate serve exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"locate serve did not answer in {timeout} s")

    @property
    def token(self) -> str:
        return (self.data / "admin-token").read_text().strip()

    def kill(self) -> None:
        """SIGKILL the server and everything in its session (its job workers)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def get(self, path: str):
        req = urllib.request.Request(self.url + path,
                                     headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
            return json.loads(body) if r.headers.get_content_type() == "application/json" \
                else body

    def submit(self, docs: list[Path], catalog: Path, settings: dict | None = None) -> str:
        """POST a job (multipart, by hand: the standard library has no form encoder)."""
        boundary = "locator-test-boundary"
        parts = []
        for field, path in [("documents", d) for d in docs] + [("catalog", catalog)]:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
                         f'filename="{path.name}"\r\nContent-Type: application/octet-stream'
                         f'\r\n\r\n'.encode() + path.read_bytes() + b"\r\n")
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="settings"\r\n\r\n'
                     f'{json.dumps(settings or {})}\r\n'.encode())
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        req = urllib.request.Request(
            self.url + "/api/jobs", data=body, method="POST",
            headers={"Authorization": f"Bearer {self.token}",
                     "Content-Type": f"multipart/form-data; boundary={boundary}"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())["id"]

    def wait(self, job_id: str, timeout: float = 300, until=None) -> dict:
        """Poll until the job is final (or ``until(status)`` holds)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            s = self.get(f"/api/jobs/{job_id}")
            if (until(s) if until else s["state"] not in ("queued", "running")):
                return s
            time.sleep(0.25)
        raise AssertionError(f"job {job_id}: {s['state']} after {timeout} s")
