"""Which files a run reads: files, folders and globs turned into document files.

A folder gives its documents (by suffix, recursively); a glob
(``scans/*.tif``, quoted so the shell leaves it alone; ``**`` recurses) the
matching documents; a file is taken as it is (its content, not its name,
says what it is). Links to folders are followed, but each real folder is
walked once, so a link back up the tree (``d/a/up -> ..``) is a loop that is
named and not followed, not a walk that grows exponentially. Only regular
files are documents: a FIFO, a socket or a device named on the command line
is refused by name (opening a FIFO would block forever), and in a folder or
a glob it is skipped and named, as is a dangling link. What is skipped comes
back with the files, for the run's summary.

Also the two things a file name needs beyond Python: :func:`library_path`,
a name the PDF library can open a path by when the path is not valid UTF-8
(MuPDF takes UTF-8 names only), and :func:`display_name`, the name written in
tables and workbooks, with bytes that are not UTF-8 escaped (``a\\xffb.pdf``).
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import glob
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from locator.errors import InputFileError
from locator.model import RunWarning, printable

#: Document suffixes a folder or a glob contributes (files named on the command
#: line are judged by their content, whatever their name).
SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif")


@dataclass(frozen=True, slots=True)
class Inputs:
    """The document files of a run, in order, each once, and what was skipped
    finding them (one warning each, naming the path and why)."""

    files: tuple[Path, ...]
    skipped: tuple[RunWarning, ...] = ()


def display_name(path: str | os.PathLike) -> str:
    """``path`` as text that can be written anywhere: bytes of the name that are
    not UTF-8 (kept by Python as surrogates) are shown as ``\\xff`` escapes."""
    return printable(os.fspath(path))


@contextlib.contextmanager
def library_path(path: str | os.PathLike) -> Iterator[str]:
    """A name the PDF library (MuPDF, UTF-8 names only) can open ``path`` by.

    The path itself when it is UTF-8; else the file is opened here and the
    library is given ``/dev/fd/N`` (the name of that open file), closed again
    when the block ends -- the library holds its own handle by then.
    """
    name = os.fspath(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        yield name
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as e:
        raise InputFileError(f"{display_name(path)}: cannot read: {e.strerror or e}") from e
    try:
        yield f"/dev/fd/{fd}"
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def check_regular(path: Path, fd: int) -> None:
    """Raise :class:`InputFileError` unless the open ``fd`` of ``path`` is a regular file."""
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        what = _kind(mode)
        raise InputFileError(f"{display_name(path)}: {what}, not a document file "
                             f"(only regular files are read)")


def _skip(path: Path, why: str) -> RunWarning:
    name = display_name(path)
    return RunWarning(f"{name}: skipped: {why}", file=name, message=f"skipped: {why}")


def _is_inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class _Walk:
    """Folders below one root, each real folder once; links to folders followed
    after the real tree (so a file is found by its real path where it has one)."""

    def __init__(self, skipped: list[RunWarning], *, hidden: bool) -> None:
        self.skipped = skipped
        self.hidden = hidden  # glob's "**" leaves out hidden folders; a folder argument does not
        self.seen: set[tuple[int, int]] = set()

    def folders(self, root: Path) -> Iterator[Path]:
        """``root`` and every folder below it."""
        stack, links = [root], list[Path]()
        with contextlib.suppress(OSError):
            st = os.stat(root)
            self.seen.add((st.st_dev, st.st_ino))
        while stack or links:
            if not stack:
                link = links.pop(0)
                if not self._follow(link):
                    continue
                stack.append(link)
            folder = stack.pop()
            yield folder
            subs, more = self._subfolders(folder)
            stack += reversed(subs)
            links += more

    def _follow(self, link: Path) -> bool:
        try:
            st = os.stat(link)
        except OSError:
            return False
        key = (st.st_dev, st.st_ino)
        if key in self.seen:
            target = os.path.realpath(link)
            if _is_inside(os.path.realpath(link.parent), target):
                self.skipped.append(_skip(link, f"a link back to {display_name(target)} "
                                                f"(a loop); not followed"))
            return False  # else: a second way to a folder already read
        self.seen.add(key)
        return True

    def _subfolders(self, folder: Path) -> tuple[list[Path], list[Path]]:
        real, linked = [], []
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as err:
            self.skipped.append(_skip(folder, f"cannot list the folder: {err.strerror or err}"))
            return [], []
        for e in entries:
            if not self.hidden and e.name.startswith("."):
                continue
            try:
                if not e.is_dir():  # follows links; a dangling one is not a folder
                    continue
                is_link = e.is_symlink()
            except OSError:
                continue
            path = Path(e.path)
            if is_link:
                linked.append(path)
            else:
                st = e.stat(follow_symlinks=False)
                if (st.st_dev, st.st_ino) not in self.seen:
                    self.seen.add((st.st_dev, st.st_ino))
                    real.append(path)
        return real, linked


def _entries(folder: Path) -> list[str]:
    try:
        return sorted(os.listdir(folder))
    except OSError:
        return []


def _document(path: Path, skipped: list[RunWarning]) -> bool:
    """Whether ``path`` (found in a folder or by a glob) is a document to read;
    a document-named thing that cannot be one is added to ``skipped``."""
    if path.suffix.lower() not in SUFFIXES:
        return False
    try:
        st = os.stat(path)
    except OSError as e:
        if os.path.islink(path):
            why = ("a link loop" if e.errno == errno.ELOOP
                   else f"a dangling link (to {display_name(os.readlink(path))})")
            skipped.append(_skip(path, why))
        return False
    if stat.S_ISDIR(st.st_mode):
        return False  # a folder named like a document: its documents are walked
    if not stat.S_ISREG(st.st_mode):
        skipped.append(_skip(path, f"{_kind(st.st_mode)}, not a document file"))
        return False
    return True


def _folder_files(root: Path, skipped: list[RunWarning]) -> list[Path]:
    walk = _Walk(skipped, hidden=True)
    found = []
    for folder in walk.folders(root):
        found += [folder / n for n in _entries(folder) if _document(folder / n, skipped)]
    return sorted(found)


def _match(folder: Path, parts: tuple[str, ...], skipped: list[RunWarning]) -> Iterator[Path]:
    """Paths under ``folder`` matching the glob segments ``parts``."""
    if not parts:
        yield folder
        return
    head, rest = parts[0], parts[1:]
    if head == "**":
        rest = rest or ("*",)  # a trailing ** names everything below
        for sub in _Walk(skipped, hidden=False).folders(folder):
            yield from _match(sub, rest, skipped)
    elif glob.has_magic(head):
        for name in _entries(folder):
            if name.startswith(".") and not head.startswith("."):
                continue  # as glob: wildcards do not match hidden names
            if fnmatch.fnmatch(name, head):
                path = folder / name
                if not rest:
                    yield path
                elif path.is_dir():
                    yield from _match(path, rest, skipped)
    else:
        path = folder / head
        if not rest:
            if os.path.lexists(path):
                yield path
        elif path.is_dir():
            yield from _match(path, rest, skipped)


def _glob_files(pattern: str, skipped: list[RunWarning]) -> list[Path]:
    parts = Path(pattern).parts
    i = next((k for k, p in enumerate(parts) if glob.has_magic(p)), len(parts))
    base = Path(*parts[:i]) if i else Path()
    found = {p for p in _match(base, parts[i:], skipped) if _document(p, skipped)}
    return sorted(found)


def find_inputs(args: Sequence[str | os.PathLike]) -> Inputs:
    """Files, folders and globs -> the document files they name, in order, each once.

    A folder gives its documents (by suffix, searched recursively, sorted); a
    glob gives the matching documents; a file is taken as it is. Raises
    :class:`InputFileError` for a folder or glob holding no document. A name
    that is none of these is passed on (opening it says "no such file").
    """
    out: list[Path] = []
    skipped: list[RunWarning] = []
    for a in args:
        p = Path(a)
        if p.is_dir():
            found = _folder_files(p, skipped)
            if not found:
                raise InputFileError(f"{display_name(p)}: the folder holds no PDF or image "
                                     f"({', '.join(SUFFIXES)})"
                                     + (f"; skipped: {skipped[0].message}" if skipped else ""))
        elif os.path.lexists(p) or not glob.has_magic(str(a)):
            found = [p]  # a file, or a missing one: opening it says which
        else:
            found = _glob_files(str(a), skipped)
            if not found:
                raise InputFileError(f"{display_name(a)}: no PDF or image matches")
        out += found
    seen: set[Path] = set()
    unique = []
    for f in out:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return Inputs(tuple(unique), tuple(dict.fromkeys(skipped)))


def expand_inputs(args: list[str | os.PathLike]) -> list[Path]:
    """The files of :func:`find_inputs` (what was skipped left out)."""
    return list(find_inputs(args).files)
