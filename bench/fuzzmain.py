"""The command line every fuzzer under bench/ shares: ``--hypothesis N`` or atheris' own arguments."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable


def fuzz_main(run_hypothesis: Callable[[int], None], run_atheris: Callable[[list[str]], None]) -> None:
    """``python bench/fuzz_X.py --hypothesis N`` runs N hypothesis examples; anything
    else is handed to atheris (libFuzzer's flags and corpus folders)."""
    if len(sys.argv) > 2 and sys.argv[1] == "--hypothesis":
        run_hypothesis(int(sys.argv[2]))
        return
    try:
        import atheris  # noqa: F401
    except ImportError:
        sys.exit("atheris is not installed; pip install atheris, or run with --hypothesis N")
    os.environ.setdefault("PYTHONHASHSEED", "0")  # the same inputs reach the same code paths
    run_atheris(sys.argv)
