"""The service's state in one SQLite file: tokens, jobs, progress, results, verdicts, usage.

Every process (the server, each job's worker) opens its own connections to
``DATA/locator.db``; WAL mode lets the workers write progress while the
server reads it. A job's results (hits, missing codes, report) are written
in the same transaction that marks it done, so a job is either done with
all its results or not done at all. Tokens are stored as SHA-256 digests:
they are 192 random bits, so a plain digest cannot be searched back, and a
stolen database holds no usable token.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, hash TEXT NOT NULL UNIQUE,
    admin INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL, revoked REAL);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, token_id INTEGER NOT NULL, state TEXT NOT NULL,
    created REAL NOT NULL, started REAL, finished REAL,
    settings TEXT NOT NULL, catalog TEXT NOT NULL, files TEXT NOT NULL,
    pages_total INTEGER NOT NULL DEFAULT 0, pages_done INTEGER NOT NULL DEFAULT 0,
    tiles_total INTEGER NOT NULL DEFAULT 0, tiles_done INTEGER NOT NULL DEFAULT 0,
    warnings TEXT NOT NULL DEFAULT '[]', error TEXT, error_code INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0, seconds REAL, ocr_seconds REAL,
    hits INTEGER, missing INTEGER, pid INTEGER);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, created);
CREATE TABLE IF NOT EXISTS results (
    job_id TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    hits TEXT NOT NULL, missing TEXT NOT NULL, report TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS verdicts (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, hit INTEGER NOT NULL,
    verdict TEXT NOT NULL, label TEXT NOT NULL, token_id INTEGER, at REAL NOT NULL,
    PRIMARY KEY (job_id, hit));
CREATE TABLE IF NOT EXISTS missed (
    id INTEGER PRIMARY KEY, job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    file INTEGER NOT NULL, page INTEGER NOT NULL, code TEXT NOT NULL, label TEXT NOT NULL,
    x0 REAL NOT NULL, y0 REAL NOT NULL, x1 REAL NOT NULL, y1 REAL NOT NULL,
    token_id INTEGER, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS usage (
    job_id TEXT PRIMARY KEY, token_id INTEGER NOT NULL, pages INTEGER NOT NULL,
    at REAL NOT NULL);
"""


class JobState(str, Enum):
    """Where a job is. ``queued`` and ``running`` are live; the rest are final."""

    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"


LIVE = (JobState.queued.value, JobState.running.value)


@dataclass(frozen=True, slots=True)
class Token:
    """An API token's record (never the token itself)."""

    id: int
    name: str
    admin: bool
    created: float
    revoked: float | None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Store:
    """The SQLite database at ``folder/locator.db`` (created with its tables)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "locator.db"
        db = sqlite3.connect(self.path, timeout=30)
        try:  # WAL: workers write progress while the server reads
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
        finally:
            db.close()

    @contextmanager
    def connect(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One connection, one transaction: committed on success, rolled back on error.

        A writing transaction takes the write lock at once (no deadlock between
        two upgrading readers); a reading one (``write=False``) never waits for it.
        """
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=30000")
        try:
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    # -- tokens --------------------------------------------------------------
    def create_token(self, name: str, *, admin: bool = False) -> str:
        """A new token named ``name``; the only time the token itself is seen."""
        token = "loc_" + secrets.token_urlsafe(24)
        with self.connect() as db:
            if db.execute("SELECT 1 FROM tokens WHERE name=?", (name,)).fetchone():
                raise ValueError(f"a token named {name!r} exists already")
            db.execute("INSERT INTO tokens(name, hash, admin, created) VALUES (?,?,?,?)",
                       (name, digest(token), int(admin), time.time()))
        return token

    def revoke_token(self, name: str) -> bool:
        with self.connect() as db:
            cur = db.execute("UPDATE tokens SET revoked=? WHERE name=? AND revoked IS NULL",
                             (time.time(), name))
            return cur.rowcount > 0

    def token_for(self, token: str) -> Token | None:
        """The live token record of ``token``, or None (unknown or revoked)."""
        with self.connect(write=False) as db:
            row = db.execute("SELECT * FROM tokens WHERE hash=? AND revoked IS NULL",
                             (digest(token),)).fetchone()
        return _token(row) if row else None

    def tokens(self) -> list[Token]:
        with self.connect(write=False) as db:
            return [_token(r) for r in db.execute("SELECT * FROM tokens ORDER BY id")]

    # -- jobs ----------------------------------------------------------------
    def add_job(self, token_id: int, settings: dict, catalog: dict, files: list[dict],
                job_id: str | None = None) -> str:
        job_id = job_id or uuid.uuid4().hex
        with self.connect() as db:
            db.execute("INSERT INTO jobs(id, token_id, state, created, settings, catalog, files)"
                       " VALUES (?,?,?,?,?,?,?)",
                       (job_id, token_id, JobState.queued.value, time.time(),
                        json.dumps(settings), json.dumps(catalog), json.dumps(files)))
        return job_id

    def job(self, job_id: str) -> dict | None:
        with self.connect(write=False) as db:
            row = db.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        return _job(row) if row else None

    def jobs(self, token_id: int | None = None, limit: int = 200) -> list[dict]:
        """The newest jobs, of ``token_id`` only when given."""
        q, args = "SELECT * FROM jobs", tuple[int, ...]()
        if token_id is not None:
            q, args = q + " WHERE token_id=?", (token_id,)
        with self.connect(write=False) as db:
            rows = db.execute(q + " ORDER BY created DESC LIMIT ?", (*args, limit)).fetchall()
        return [_job(r) for r in rows]

    def claim_next(self) -> dict | None:
        """Mark the oldest queued job running and return it (None when the queue is empty)."""
        with self.connect() as db:
            row = db.execute("SELECT id FROM jobs WHERE state=? ORDER BY created LIMIT 1",
                             (JobState.queued.value,)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE jobs SET state=?, started=?, attempts=attempts+1, error=NULL, "
                       "pages_done=0, tiles_done=0, tiles_total=0, pid=NULL WHERE id=?",
                       (JobState.running.value, time.time(), row["id"]))
            job = db.execute("SELECT * FROM jobs WHERE id=?", (row["id"],)).fetchone()
        return _job(job)

    def progress(self, job_id: str, **counts: int) -> None:
        """Update pages/tiles counters (or the worker's ``pid``) of a running job
        (ignored once it is final)."""
        sets = ", ".join(f"{k}=?" for k in counts)
        with self.connect() as db:
            db.execute(f"UPDATE jobs SET {sets} WHERE id=? AND state=?",  # noqa: S608 (names are ours)
                       (*counts.values(), job_id, JobState.running.value))

    def finish(self, job_id: str, *, hits: list[dict], missing: list[dict], report: dict,
               warnings: list[str], token_id: int, attempt: int) -> bool:
        """Store a job's results and mark it done, in one transaction.

        False (nothing written) when the job is no longer running (cancelled) or
        ``attempt`` is not its current attempt (a newer start took it over).
        """
        now = time.time()
        with self.connect() as db:
            cur = db.execute(
                "UPDATE jobs SET state=?, finished=?, seconds=?, ocr_seconds=?, hits=?, "
                "missing=?, warnings=?, pages_done=?, tiles_done=? WHERE id=? AND state=? "
                "AND attempts=?",
                (JobState.done.value, now, report.get("seconds"), report.get("seconds"),
                 len(hits), len(missing), json.dumps(warnings), report.get("pages", 0),
                 report.get("tiles_read", 0) + report.get("tiles_skipped", 0), job_id,
                 JobState.running.value, attempt))
            if cur.rowcount == 0:
                return False
            db.execute("INSERT OR REPLACE INTO results VALUES (?,?,?,?)",
                       (job_id, json.dumps(hits), json.dumps(missing), json.dumps(report)))
            db.execute("INSERT OR REPLACE INTO usage VALUES (?,?,?,?)",
                       (job_id, token_id, report.get("pages", 0), now))
        return True

    def fail(self, job_id: str, reason: str, code: int = 1, *,
             only_if: tuple[str, ...] = LIVE) -> bool:
        """Mark a live job failed with ``reason`` (False when it was final already)."""
        marks = ",".join("?" * len(only_if))
        with self.connect() as db:
            cur = db.execute(f"UPDATE jobs SET state=?, finished=?, error=?, error_code=? "  # noqa: S608
                             f"WHERE id=? AND state IN ({marks})",
                             (JobState.failed.value, time.time(), reason, code, job_id,
                              *only_if))
            return cur.rowcount > 0

    def cancel(self, job_id: str) -> bool:
        with self.connect() as db:
            cur = db.execute("UPDATE jobs SET state=?, finished=?, error=? "
                             "WHERE id=? AND state IN (?,?)",
                             (JobState.cancelled.value, time.time(), "cancelled", job_id, *LIVE))
            return cur.rowcount > 0

    def requeue(self, job_id: str, note: str | None = None, *, reset: bool = False) -> bool:
        """Put a final (failed/cancelled) or interrupted job back in the queue
        (``reset``: a re-run asked for, its attempts counted from zero)."""
        with self.connect() as db:
            cur = db.execute("UPDATE jobs SET state=?, error=?, finished=NULL, error_code=NULL,"
                             " attempts=CASE WHEN ? THEN 0 ELSE attempts END"
                             " WHERE id=? AND state<>?",
                             (JobState.queued.value, note, int(reset), job_id,
                              JobState.done.value))
            return cur.rowcount > 0

    def interrupted(self) -> list[dict]:
        """Jobs marked running: after a restart, nobody is running them."""
        with self.connect(write=False) as db:
            rows = db.execute("SELECT * FROM jobs WHERE state=?",
                              (JobState.running.value,)).fetchall()
        return [_job(r) for r in rows]

    def delete_job(self, job_id: str) -> None:
        with self.connect() as db:
            db.execute("DELETE FROM jobs WHERE id=?", (job_id,))
            db.execute("DELETE FROM usage WHERE job_id=? AND pages=0", (job_id,))

    def result(self, job_id: str) -> dict | None:
        with self.connect(write=False) as db:
            row = db.execute("SELECT * FROM results WHERE job_id=?", (job_id,)).fetchone()
        if row is None:
            return None
        return {"hits": json.loads(row["hits"]), "missing": json.loads(row["missing"]),
                "report": json.loads(row["report"])}

    # -- verdicts ------------------------------------------------------------
    def set_verdict(self, job_id: str, hit: int, verdict: str | None, label: str,
                    token_id: int) -> None:
        with self.connect() as db:
            if verdict is None:
                db.execute("DELETE FROM verdicts WHERE job_id=? AND hit=?", (job_id, hit))
            else:
                db.execute("INSERT OR REPLACE INTO verdicts VALUES (?,?,?,?,?,?)",
                           (job_id, hit, verdict, label, token_id, time.time()))

    def add_missed(self, job_id: str, *, file: int, page: int, code: str, label: str,
                   box: tuple[float, float, float, float], token_id: int) -> int:
        with self.connect() as db:
            cur = db.execute("INSERT INTO missed(job_id, file, page, code, label, x0, y0, x1, y1,"
                             " token_id, at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                             (job_id, file, page, code, label, *box, token_id, time.time()))
            return int(cur.lastrowid or 0)  # an INSERT always sets it

    def remove_missed(self, job_id: str, missed_id: int) -> bool:
        with self.connect() as db:
            cur = db.execute("DELETE FROM missed WHERE job_id=? AND id=?", (job_id, missed_id))
            return cur.rowcount > 0

    def verdicts(self, job_id: str) -> tuple[list[dict], list[dict]]:
        """(hit verdicts, missed tags) of a job."""
        with self.connect(write=False) as db:
            v = [dict(r) for r in db.execute(
                "SELECT hit, verdict, label, at FROM verdicts WHERE job_id=? ORDER BY hit",
                (job_id,))]
            m = [dict(r) for r in db.execute(
                "SELECT id, file, page, code, label, x0, y0, x1, y1, at FROM missed "
                "WHERE job_id=? ORDER BY id", (job_id,))]
        return v, m

    def review_rows(self) -> tuple[list[dict], list[dict]]:
        """Every verdict and missed tag (label, kind, time): what the drift watch counts."""
        with self.connect(write=False) as db:
            v = [dict(r) for r in db.execute("SELECT label, verdict, at FROM verdicts")]
            m = [dict(r) for r in db.execute("SELECT label, at FROM missed")]
        return v, m

    # -- counts --------------------------------------------------------------
    def usage(self) -> list[dict]:
        """Pages and jobs per token and month."""
        with self.connect(write=False) as db:
            return [dict(r) for r in db.execute(
                "SELECT t.name AS token, strftime('%Y-%m', u.at, 'unixepoch') AS month, "
                "COUNT(*) AS jobs, SUM(u.pages) AS pages FROM usage u "
                "JOIN tokens t ON t.id = u.token_id GROUP BY t.name, month "
                "ORDER BY month, t.name")]

    def counts(self) -> dict:
        """Jobs by state, and pages/tiles/OCR seconds of every finished job."""
        with self.connect(write=False) as db:
            states = {r[0]: r[1] for r in db.execute(
                "SELECT state, COUNT(*) FROM jobs GROUP BY state")}
            pages = db.execute("SELECT COALESCE(SUM(pages),0) FROM usage").fetchone()[0]
            tiles, secs = db.execute(
                "SELECT COALESCE(SUM(tiles_done),0), COALESCE(SUM(ocr_seconds),0) FROM jobs "
                "WHERE state=?", (JobState.done.value,)).fetchone()
        return {"states": states, "pages": pages, "tiles": tiles, "ocr_seconds": secs}


def _token(row: sqlite3.Row) -> Token:
    return Token(id=row["id"], name=row["name"], admin=bool(row["admin"]),
                 created=row["created"], revoked=row["revoked"])


def _job(row: sqlite3.Row) -> dict:
    d = dict(row)
    for k in ("settings", "catalog", "files", "warnings"):
        d[k] = json.loads(d[k])
    return d
