"""The FastAPI application: the HTTP API (OpenAPI at ``/docs``), the page, the metrics.

Every ``/api`` route and ``/metrics`` need a token (``Authorization: Bearer
TOKEN``, or the ``locator_token`` cookie the page sets); ``/healthz``, the
page and its static files hold no data and need none. A token sees its own
jobs only, an admin token every job; another token's job is answered 404, as
if it did not exist. Errors are JSON ``{"error": {"kind", "message",
"exit_code"}}`` with the HTTP status :data:`locator.errors.HTTP_STATUS_BY_EXIT_CODE`
gives the CLI's exit code.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from locator.errors import LocatorError, UsageError, http_status
from locator.serve import intake, results
from locator.serve.runner import Runner, log_event
from locator.serve.store import LIVE, JobState, Store, Token

STATIC = Path(__file__).parent / "static"
COOKIE = "locator_token"


@dataclass
class Context:
    """What the routes share: the database, the job slots, the tile renderer, limits."""

    store: Store
    runner: Runner
    tiles: results.Tiles
    limits: intake.Limits

    @property
    def data(self) -> Path:
        return self.store.folder


def ctx(request: Request) -> Context:
    return request.app.state.ctx


def auth(request: Request) -> Token:
    """The caller's live token (401 without one, or for an unknown or revoked one)."""
    header = request.headers.get("authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else None
    given = given or request.cookies.get(COOKIE)
    if not given:
        raise HTTPException(401, "no API token: send 'Authorization: Bearer TOKEN'")
    token = ctx(request).store.token_for(given)
    if token is None:
        raise HTTPException(401, "the API token is unknown or revoked")
    return token


Auth = Annotated[Token, Depends(auth)]
Ctx = Annotated[Context, Depends(ctx)]


def own_job(job_id: str, c: Ctx, token: Auth) -> dict:
    """The job, if this token may see it (404 otherwise: its existence is not told)."""
    job = c.store.job(job_id) if len(job_id) <= 64 else None
    if job is None or (job["token_id"] != token.id and not token.admin):
        raise HTTPException(404, f"no job {job_id}")
    return job


Job = Annotated[dict, Depends(own_job)]


def finished(c: Context, job: dict) -> dict:
    result = c.store.result(job["id"])
    if result is None:
        raise HTTPException(409, f"job {job['id']} is {job['state']}: no results"
                            + (f" ({job['error']})" if job.get("error") else ""))
    return result


def current(c: Context, job: dict) -> dict:
    """The job's row as it is now (404 if it was deleted meanwhile)."""
    now = c.store.job(job["id"])
    if now is None:
        raise HTTPException(404, f"no job {job['id']}")
    return now


def status(job: dict) -> dict:
    """A job as the API shows it (no server paths)."""
    t = {k: job[k] for k in ("created", "started", "finished")}
    t["seconds"] = job["seconds"]
    return {"id": job["id"], "state": job["state"],
            "files": [{"index": i, "name": f["name"], "pages": f["pages"]}
                      for i, f in enumerate(job["files"])],
            "catalog": job["catalog"].get("name"), "settings": job["settings"],
            "pages_total": job["pages_total"] or sum(f["pages"] for f in job["files"]),
            "pages_done": job["pages_done"], "tiles_total": job["tiles_total"],
            "tiles_done": job["tiles_done"], "hits": job["hits"], "missing": job["missing"],
            "warnings": job["warnings"], "error": job["error"],
            "exit_code": job["error_code"], "attempts": job["attempts"], "timings": t}


api = APIRouter(prefix="/api")


@api.get("/me", summary="The caller's token")
def me(token: Auth) -> dict:
    return {"name": token.name, "admin": token.admin}


@api.post("/jobs", status_code=202, summary="Create a job from documents and a catalog")
async def create_job(
    c: Ctx, token: Auth,
    documents: Annotated[list[UploadFile], File(description="PDFs or images")],
    catalog: Annotated[UploadFile, File(description="YAML catalog, or a CSV/XLSX code list")],
    catalog_files: Annotated[list[UploadFile], File(
        description="Files the YAML catalog's file:/symbol: entries name")] = [],  # noqa: B006
    column: Annotated[str | None, Form(description="Code list: the column of codes")] = None,
    label_column: Annotated[str | None, Form()] = None,
    sheet: Annotated[str | None, Form()] = None,
    settings: Annotated[str | None, Form(description='JSON, e.g. {"dpi": 200}')] = None,
) -> dict:
    import uuid

    chosen = intake.parse_settings(settings)
    job_id = uuid.uuid4().hex
    folder = c.data / "jobs" / job_id
    folder.mkdir(parents=True)
    try:
        spec = await intake.save_catalog(folder, catalog, catalog_files, column=column,
                                         label_column=label_column, sheet=sheet,
                                         limits=c.limits)
        files = await intake.save_documents(folder, documents, chosen, c.limits)
    except LocatorError as e:
        intake.remove(folder)  # nothing half-made is left behind
        if str(folder) in str(e):  # and no server path goes out in a message
            raise type(e)(str(e).replace(f"{folder}/", "")) from e
        raise
    except BaseException:
        intake.remove(folder)
        raise
    c.store.add_job(token.id, chosen, spec, files, job_id=job_id)
    log_event("queued", job_id, token=token.name, files=len(files),
              pages=sum(f["pages"] for f in files))
    c.runner.notify()
    return {"id": job_id, "state": JobState.queued.value, "url": f"/api/jobs/{job_id}"}


@api.get("/jobs", summary="The caller's jobs (every job for an admin token)")
def list_jobs(c: Ctx, token: Auth) -> list[dict]:
    return [status(j) for j in c.store.jobs(None if token.admin else token.id)]


@api.get("/jobs/{job_id}", summary="A job's state, progress, warnings and timings")
def get_job(job: Job) -> dict:
    return status(job)


@api.get("/jobs/{job_id}/events", response_class=EventSourceResponse,
         summary="Progress as server-sent events until the job is final")
async def job_events(job: Job, c: Ctx, request: Request):
    last = None
    while True:
        now = await run_in_threadpool(c.store.job, job["id"])
        if now is None:
            yield ServerSentEvent(event="deleted", data={"id": job["id"]})
            return
        view = status(now)
        if view != last:
            yield ServerSentEvent(event="progress", data=view)
            last = view
        if now["state"] not in LIVE or await request.is_disconnected():
            yield ServerSentEvent(event="end", data={"state": now["state"]})
            return
        await asyncio.sleep(0.5)


@api.post("/jobs/{job_id}/cancel", summary="Stop a queued or running job")
def cancel_job(job: Job, c: Ctx) -> dict:
    if not c.runner.cancel(job["id"]):
        raise HTTPException(409, f"job {job['id']} is {job['state']} already")
    return status(current(c, job))


@api.post("/jobs/{job_id}/rerun", status_code=202, summary="Queue a failed or cancelled job again")
def rerun_job(job: Job, c: Ctx) -> dict:
    if job["state"] not in (JobState.failed.value, JobState.cancelled.value):
        raise HTTPException(409, f"job {job['id']} is {job['state']}: only a failed or "
                                 f"cancelled job is run again")
    c.store.requeue(job["id"], reset=True)
    log_event("queued", job["id"], rerun=True)
    c.runner.notify()
    return status(current(c, job))


@api.delete("/jobs/{job_id}", status_code=204, summary="Delete a job, its files and results")
def delete_job(job: Job, c: Ctx) -> Response:
    c.runner.cancel(job["id"])
    folder = c.data / "jobs" / job["id"]
    c.tiles.forget(folder)
    c.store.delete_job(job["id"])
    intake.remove(folder)
    intake.remove(c.data / "tiles" / job["id"])
    log_event("deleted", job["id"])
    return Response(status_code=204)


@api.get("/jobs/{job_id}/hits", summary="The hits with their index and their box in the page view")
def job_hits(job: Job, c: Ctx) -> list[dict]:
    result = finished(c, job)
    folder = c.data / "jobs" / job["id"]
    frames = {}
    for i, f in enumerate(job["files"]):
        frames[i] = c.tiles.frames(folder / f["stored"], job["settings"].get("password"))
    from locator.geometry import Box

    out = []
    for n, h in enumerate(result["hits"]):
        frame = frames[h.get("file_index", 0)][h["page"] - 1]
        v = frame.box_to_view(Box(h["x0"], h["y0"], h["x1"], h["y1"]))
        out.append({**h, "index": n, "view": [v.x0, v.y0, v.x1, v.y1]})
    return out


@api.get("/jobs/{job_id}/missing", summary="The catalog entries never found")
def job_missing(job: Job, c: Ctx) -> list[dict]:
    return finished(c, job)["missing"]


Format = Literal["csv", "json", "xlsx", "parquet", "pdf"]


@api.get("/jobs/{job_id}/download/{what}.{fmt}",
         summary="hits (csv, json, xlsx review workbook, parquet, pdf marked up), "
                 "missing, warnings, truth")
def download(job: Job, c: Ctx, what: Literal["hits", "missing", "warnings", "truth"],
             fmt: Format, file: int = 0) -> Response:
    result = finished(c, job)
    if what == "truth":
        if fmt == "pdf":
            raise UsageError("the truth table is csv, json, xlsx or parquet")
        verdicts, missed = c.store.verdicts(job["id"])
        body, media, name = results.table_bytes(
            results.truth_table(job, result, verdicts, missed), fmt, f"truth-{job['id'][:8]}")
    else:
        body, media, name = results.download(job, result, c.data / "jobs" / job["id"], what,
                                             fmt, file)
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


class Verdict(BaseModel):
    verdict: Literal["correct", "wrong", "unsure"] | None = Field(
        description="null clears the verdict")


class Missed(BaseModel):
    file: int = 0
    page: int = Field(ge=1)
    code: str = Field(min_length=1, max_length=200)
    label: str | None = Field(default=None, max_length=200)
    x0: float
    y0: float
    x1: float
    y1: float
    space: Literal["page", "view"] = Field(
        default="page", description="page: PDF points, unrotated page; view: as displayed")


@api.get("/jobs/{job_id}/verdicts", summary="The verdicts on hits and the tags added as missed")
def get_verdicts(job: Job, c: Ctx) -> dict:
    v, m = c.store.verdicts(job["id"])
    return {"verdicts": v, "missed": m}


@api.put("/jobs/{job_id}/verdicts/{hit}", summary="Set (or clear) the verdict on hit number HIT")
def put_verdict(job: Job, c: Ctx, token: Auth, hit: int, body: Verdict) -> dict:
    hits = finished(c, job)["hits"]
    if not 0 <= hit < len(hits):
        raise HTTPException(404, f"no hit {hit}: the job has hits 0-{len(hits) - 1}")
    c.store.set_verdict(job["id"], hit, body.verdict, hits[hit]["label"], token.id)
    log_event("verdict", job["id"], hit=hit, verdict=body.verdict, token=token.name)
    return {"hit": hit, "verdict": body.verdict}


@api.post("/jobs/{job_id}/missed", status_code=201, summary="Add a tag the run missed")
def add_missed(job: Job, c: Ctx, token: Auth, body: Missed) -> dict:
    from locator.tables import derive_label
    from locator.geometry import Box

    result = finished(c, job)
    f = results.file_of(job, body.file)
    folder = c.data / "jobs" / job["id"]
    frames = c.tiles.frames(folder / f["stored"], job["settings"].get("password"))
    if body.page > len(frames):
        raise UsageError(f"page {body.page}: {f['name']} has pages 1-{len(frames)}")
    box = Box(min(body.x0, body.x1), min(body.y0, body.y1), max(body.x0, body.x1),
              max(body.y0, body.y1))
    if body.space == "view":
        box = frames[body.page - 1].box_to_page(box)
    # the catalog's label when the code is one of its entries (a missing code's row)
    known = {r["pattern_id"]: r["label"] for r in result["missing"] + result["hits"]}
    label = body.label or known.get(body.code.strip()) or derive_label(body.code)
    mid = c.store.add_missed(job["id"], file=body.file, page=body.page, code=body.code.strip(),
                             label=label, box=(box.x0, box.y0, box.x1, box.y1),
                             token_id=token.id)
    log_event("missed", job["id"], code=body.code, token=token.name)
    return {"id": mid, "code": body.code.strip(), "label": label, "page": body.page,
            "file": body.file, "x0": box.x0, "y0": box.y0, "x1": box.x1, "y1": box.y1}


@api.delete("/jobs/{job_id}/missed/{missed_id}", status_code=204, summary="Remove a missed tag")
def remove_missed(job: Job, c: Ctx, missed_id: int) -> Response:
    if not c.store.remove_missed(job["id"], missed_id):
        raise HTTPException(404, f"no missed tag {missed_id} in job {job['id']}")
    return Response(status_code=204)


@api.get("/jobs/{job_id}/files/{file}/pages", summary="Page sizes (view points) and zooms")
def pages(job: Job, c: Ctx, file: int) -> list[dict]:
    f = results.file_of(job, file)
    return c.tiles.pages(c.data / "jobs" / job["id"] / f["stored"],
                         job["settings"].get("password"))


@api.get("/jobs/{job_id}/files/{file}/pages/{page}/tiles/{z}/{x}/{y}.png",
         summary="One 256 px tile of a page's view at zoom Z", response_class=Response)
def tile(job: Job, c: Ctx, file: int, page: int, z: int, x: int, y: int) -> Response:
    f = results.file_of(job, file)
    png = c.tiles.tile(f"{job['id']}/{file}", c.data / "jobs" / job["id"] / f["stored"],
                       job["settings"].get("password"), page, z, x, y)
    return Response(png, media_type="image/png",
                    headers={"Cache-Control": "private, max-age=86400"})


@api.get("/drift", summary="Share of reviewed hits marked wrong and of tags added as "
                           "missed, per label and week")
def get_drift(c: Ctx, token: Auth) -> list[dict]:
    return results.drift(*c.store.review_rows())


def _error(status_code: int, kind: str, message: str, exit_code: int | None = None):
    return JSONResponse({"error": {"kind": kind, "message": message, "exit_code": exit_code}},
                        status_code=status_code)


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(LocatorError)
    async def locator_error(request: Request, e: LocatorError):
        return _error(http_status(e), type(e).__name__, str(e), e.exit_code)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, e: HTTPException):
        return _error(e.status_code, "HTTPError", str(e.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError):
        msg = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        return _error(422, "RequestValidationError", msg, UsageError.exit_code)


def _middleware(app: FastAPI) -> None:
    @app.middleware("http")
    async def timing(request: Request, call_next):
        t0 = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        request.app.state.latency.labels(request.method, path, response.status_code).observe(
            time.perf_counter() - t0)
        response.headers["X-Content-Type-Options"] = "nosniff"
        if not request.url.path.startswith(("/docs", "/redoc")):
            # the page runs only its own scripts: a catalog id that is a <script>
            # cannot run even if it were ever put into the page as HTML
            response.headers["Content-Security-Policy"] = (
                "default-src 'self'; img-src 'self' data: blob:; "
                "style-src 'self' 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'")
        return response


def create_app(data: str | Path, *, workers: int = 1, dask: str | None = None,
               limits: intake.Limits | None = None, run_jobs: bool = True) -> FastAPI:
    """The app over the data folder ``data``; ``run_jobs=False`` queues without running."""
    from contextlib import asynccontextmanager

    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    from locator import __version__
    from locator.serve.metrics import make_registry

    store = Store(data)
    limits = limits or intake.Limits()
    runner = Runner(store, workers=workers, dask=dask)
    c = Context(store, runner, results.Tiles(store.folder / "tiles"), limits)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if run_jobs:
            runner.start()
        try:
            yield
        finally:
            runner.stop()

    app = FastAPI(title="locator", version=__version__, lifespan=lifespan,
                  description="Find small text snippets in large documents: send documents "
                              "and a catalog, follow the job, review the hits.",
                  max_body_size=limits.max_files * limits.max_file_bytes * 2 + (1 << 20),
                  form_limits={"max_files": limits.max_files * 2 + 16})
    app.state.ctx = c
    app.state.registry, app.state.latency = make_registry(store)
    _handlers(app)
    _middleware(app)
    app.include_router(api)

    @app.get("/healthz", summary="Liveness: no token needed")
    def healthz() -> dict:
        return {"ok": True, "queue": runner.queue_depth()}

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    def metrics(token: Auth) -> Response:
        return Response(generate_latest(app.state.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
