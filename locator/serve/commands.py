"""The ``locate serve``, ``locate token`` and ``locate usage`` subcommands.

:func:`register` adds them to the CLI's Typer app. Nothing here imports the
web stack until ``serve`` runs, so ``locate --help`` stays fast and the base
install (without the ``serve`` extra) still works; ``serve`` without the
extra is a :class:`~locator.errors.MissingEngineError` (exit 6).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from locator.errors import MissingEngineError, UsageError

err = Console(stderr=True, highlight=False)
DEFAULT_DATA = Path(os.environ.get("LOCATOR_DATA", "locator-data"))
DataOpt = Annotated[Path, typer.Option("--data", help="The server's data folder (database, "
                                                      "uploads, cache); $LOCATOR_DATA.")]

token_app = typer.Typer(help="Create, revoke and list the API tokens of a `locate serve` data "
                             "folder.", no_args_is_help=True)


def _store(data: Path):
    from locator.serve.store import Store

    return Store(data)


def first_token(data: Path) -> Path | None:
    """On the first start: an admin token, written to ``DATA/admin-token`` (mode 600)."""
    store = _store(data)
    if store.tokens():
        return None
    token = store.create_token("admin", admin=True)
    path = data / "admin-token"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return path


def serve_cmd(
    host: Annotated[str, typer.Option(help="Address to listen on (default: this machine "
                                           "only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    data: DataOpt = DEFAULT_DATA,
    workers: Annotated[int, typer.Option(help="Jobs run at once, each in its own process.")
                       ] = 1,
    dask: Annotated[str | None, typer.Option(
        "--dask", help="Run jobs on a Dask cluster (tcp://host:8786), as `locate batch "
                       "--dask` does.")] = None,
    max_upload_mb: Annotated[int, typer.Option(help="Largest file accepted, MiB.")] = 200,
    max_files: Annotated[int, typer.Option(help="Most documents per job.")] = 20,
) -> None:
    """Run the service: the HTTP API (docs at /docs) and the review page at /."""
    try:
        import uvicorn

        from locator.serve.app import create_app
        from locator.serve.intake import Limits
        from locator.serve.runner import setup_logging
    except ImportError as e:
        raise MissingEngineError(f"locate serve needs the serve extra: pip install "
                                 f"'locator[serve]' ({e.name} is missing)") from e
    if workers < 1:
        raise UsageError(f"--workers {workers}: give 1 or more")
    data.mkdir(parents=True, exist_ok=True)
    setup_logging()
    made = first_token(data)
    if made is not None:
        err.print(f"first start: an admin token was created; read it with: cat {made}\n"
                  f"(keep it somewhere safe and delete the file; `locate token create` "
                  f"makes more)", markup=False)
    limits = Limits(max_file_bytes=max_upload_mb * 1024 * 1024, max_files=max_files)
    app = create_app(data, workers=workers, dask=dask, limits=limits)
    err.print(f"locate serve: http://{host}:{port}/ (API docs /docs), data in {data}",
              markup=False)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="Who or what uses it.", show_default=False)],
    admin: Annotated[bool, typer.Option("--admin", help="May see every job.")] = False,
    data: DataOpt = DEFAULT_DATA,
) -> None:
    """Make a token and print it (the only time it is shown; only its digest is kept)."""
    try:
        token = _store(data).create_token(name, admin=admin)
    except ValueError as e:
        raise UsageError(str(e)) from None
    print(token)


@token_app.command("revoke")
def token_revoke(name: Annotated[str, typer.Argument(show_default=False)],
                 data: DataOpt = DEFAULT_DATA) -> None:
    """Revoke a token by name: its requests are refused from now on."""
    if not _store(data).revoke_token(name):
        raise UsageError(f"no live token named {name!r}")
    err.print(f"revoked {name}", markup=False)


@token_app.command("list")
def token_list(data: DataOpt = DEFAULT_DATA) -> None:
    """The tokens: name, admin, created, revoked."""
    import time

    def day(t):
        return time.strftime("%Y-%m-%d %H:%M", time.gmtime(t)) if t else "-"

    for t in _store(data).tokens():
        print(f"{t.name}\t{'admin' if t.admin else 'user'}\tcreated {day(t.created)}"
              f"\trevoked {day(t.revoked)}")


def usage_cmd(data: DataOpt = DEFAULT_DATA) -> None:
    """Pages processed per token and month (finished jobs)."""
    rows = _store(data).usage()
    if not rows:
        print("no finished jobs yet")
        return
    # tab-separated: for people and for scripts alike
    print("month\ttoken\tjobs\tpages")
    for r in rows:
        print(f"{r['month']}\t{r['token']}\t{r['jobs']}\t{r['pages']}")


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``token`` and ``usage`` to the ``locate`` app."""
    app.command("serve", help="Run the HTTP service and review page (needs locator[serve]).")(
        serve_cmd)
    app.add_typer(token_app, name="token")
    app.command("usage", help="Pages processed per API token and month.")(usage_cmd)
