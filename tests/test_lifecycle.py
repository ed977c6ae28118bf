"""Runs as a user and a script see them from outside: how a run ends (signals,
total failure, -q), when worker processes are worth starting, the Python API's
arguments, and hostile PDFs whose interpretation never ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.faulty import page_pdf
from tests.conftest import write_catalog

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.timeout(120)

_LOCATE = ("import sys; from locator.engines import base; "
           "base.register('envfake', 'tests.faulty:EnvEngine'); "
           "from locator.cli import main; main(sys.argv[1:])")


def _locate(args, env, **kw):
    return subprocess.Popen([sys.executable, "-c", _LOCATE, *map(str, args)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kw)


def _children(pid: int) -> set[int]:
    """The live processes whose parent is ``pid`` (Linux /proc)."""
    out = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                out.add(int(d.name))
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


# -- issue 18 item 7: every way the parent ends takes its workers with it --------------------

@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_the_workers_end_with_the_parent(tmp_path, how):
    pdf = page_pdf(tmp_path / "pages.pdf", 8)
    cat = write_catalog(tmp_path / "x.yaml", ["CODE-X"])
    env = {**os.environ, "LOCATOR_FAKE_ENGINE": '{"delay": 1.0, "word": "CODE-X"}'}
    p = _locate([pdf, "--patterns", cat, "-o", tmp_path / "h.csv", "--engine", "envfake",
                 "--dpi", "72", "--rotations", "0", "--source", "ocr", "--workers", "2",
                 "--no-cache", "-q"], env)
    workers: set[int] = set()
    deadline = time.time() + 60
    while len(workers) < 2 and time.time() < deadline and p.poll() is None:
        workers |= _children(p.pid)
        time.sleep(0.05)
    assert len(workers) >= 2, p.communicate()
    p.send_signal(how)
    p.wait(timeout=30)
    deadline = time.time() + 10
    while any(map(_alive, workers)) and time.time() < deadline:
        time.sleep(0.1)
    assert not [w for w in workers if _alive(w)]
