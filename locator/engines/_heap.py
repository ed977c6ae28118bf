"""Giving freed heap memory back to the operating system after a read.

PyTorch and onnxruntime allocate buffers sized to each input; the pipeline's
text mosaics differ in size from tile to tile, and glibc keeps the freed
blocks, so a long run's resident memory creeps up (EasyOCR on the A0 sample:
1.2 GB after loading, 2.8 GB after 39 mosaics). ``malloc_trim`` after each
read keeps it flat (1.2 GB) for well under a millisecond. Elsewhere than glibc
this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_trim = None
_looked = False


def trim_heap() -> None:
    """Return freed heap memory to the OS (glibc's ``malloc_trim(0)``); else a no-op."""
    global _trim, _looked
    if not _looked:
        _looked = True
        if sys.platform.startswith("linux"):
            try:
                _trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
            except (OSError, AttributeError):  # musl and others have no malloc_trim
                _trim = None
    if _trim is not None:
        _trim(0)
