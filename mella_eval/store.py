"""The response store: model responses and judgements, keyed by everything that determines them.

One SQLite file, `responses.sqlite3`, in the cache directory. The default directory is shared by
every run on the machine (so a re-run, a second task list or another output folder reuses what
is already there):

    --cache-dir DIR  >  $MELLA_CACHE_DIR  >  $XDG_CACHE_HOME/mella-eval  >  ~/.cache/mella-eval

`--no-cache` uses `NullStore` instead: nothing is read, nothing is written.

Keys. `response_key(kind, identity, payload)` is the sha256 of canonical JSON of the kind, the
identity of the model (backend, path + weight fingerprint, or served name + base URL, dtype,
chat template hash) and the payload (rendered messages with each image as the sha256 of its
bytes, sampling settings; for a judgement: rubric hash and the judge's inputs). Nothing else goes
in: not the run name, not the output folder, not the batch size or the number of GPUs. Integral
floats are written as integers (`temperature: 0` and `0.0` give one key) and dict order never
matters. `KEY_VERSION` is folded in, so changing what a key covers starts a fresh key space
instead of returning stale answers.

Statuses. A row is `ok` (a usable answer) or `error` (a failed attempt, kept for the record and
the attempt count). `get_many` returns only `ok` rows: an error is retried on the next run, never
reused as an answer. An `ok` replaces an `error`; nothing replaces an `ok` (the first answer
stored for a key is the one every later run sees, even when two runs race on the same key).

Durability. Each `put` / `put_error` commits at once and `put_many` commits a finished batch in
one transaction, so a crash loses at most the batch in flight. The file is in WAL mode with
`synchronous=NORMAL`: a commit is appended to the write-ahead log without an fsync, so it survives
the process being killed (kill -9, OOM killer, Ctrl-C) and only an operating-system crash or a
power cut can lose the last commits; the database itself stays consistent either way.
`synchronous=FULL` (an fsync per commit) measured 3x slower per single put in
`benchmarks/store_overhead.py` (130 vs 400 us on the development VM; an fsync on network block
storage takes milliseconds, on the async judge's event-loop thread); batched puts cost the same
in both modes. What NORMAL can lose is a cache entry, recomputed on the next run, never a wrong
answer; pass `synchronous="FULL"` to choose it anyway.

Concurrency. Several processes may use one store at once (two runs on the same machine, shards):
WAL lets readers run beside the single writer, writes take the lock up front (`BEGIN IMMEDIATE`),
SQLite waits up to `busy_timeout` for it, and a still-busy database is retried with backoff, so
"database is locked" never reaches the user. Within a process one connection is shared behind a
lock, so threads (the async judge's callbacks, a progress thread) can call any method; a forked
child opens its own connection. WAL needs shared memory between the processes: the cache
directory must be on a local filesystem (not NFS).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mella_eval.errors import MellaError
from mella_eval.messages import ImagePart, Message, messages_fingerprint

KEY_VERSION = 1  # bump when what a key covers changes: old rows then simply stop matching
SCHEMA_VERSION = 1
STORE_FILENAME = "responses.sqlite3"
KINDS = ("generation", "judgement")

BUSY_TIMEOUT_MS = 10_000  # SQLite's own wait for the write lock, per statement
RETRY_DEADLINE_S = 120.0  # then our backoff loop keeps trying this long before giving up
_CHUNK = 500  # keys per SELECT ... IN (...) (well under SQLite's variable limit)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS store_meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS responses (
    key        TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    value      TEXT,             -- JSON object for 'ok' (text, usage, raw, ...), NULL for 'error'
    error      TEXT,             -- reason of the last failed attempt, NULL once 'ok'
    created_at REAL NOT NULL,    -- unix time of the first attempt stored
    updated_at REAL NOT NULL,    -- unix time of the last change
    attempts   INTEGER NOT NULL  -- attempts recorded (errors, then the ok)
);  -- a rowid table: rows of a few hundred bytes insert 2x faster than WITHOUT ROWID (measured)
CREATE TABLE IF NOT EXISTS fingerprints (
    path        TEXT PRIMARY KEY, -- resolved model folder
    signature   TEXT NOT NULL,    -- hash of (file, size, mtime_ns) of every file + method version
    fingerprint TEXT NOT NULL,
    created_at  REAL NOT NULL
);
"""

# An ok lands on a new key or replaces an error; an existing ok is kept.
_PUT_OK = """
INSERT INTO responses (key, kind, status, value, error, created_at, updated_at, attempts)
VALUES (?, ?, 'ok', ?, NULL, ?, ?, 1)
ON CONFLICT (key) DO UPDATE SET
    status = 'ok', value = excluded.value, error = NULL,
    updated_at = excluded.updated_at, attempts = responses.attempts + 1
WHERE responses.status = 'error'
"""
# An error lands on a new key or updates an earlier error; it never touches an ok.
_PUT_ERROR = """
INSERT INTO responses (key, kind, status, value, error, created_at, updated_at, attempts)
VALUES (?, ?, 'error', NULL, ?, ?, ?, 1)
ON CONFLICT (key) DO UPDATE SET
    error = excluded.error, updated_at = excluded.updated_at,
    attempts = responses.attempts + 1
WHERE responses.status = 'error'
"""


# ---------------------------------------------------------------------------------------------
# Cache directory and keys


def default_cache_dir() -> Path:
    """`$MELLA_CACHE_DIR`, else `$XDG_CACHE_HOME/mella-eval`, else `~/.cache/mella-eval`."""
    explicit = os.environ.get("MELLA_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "mella-eval"


def canonical_json(obj: Any) -> str:
    """The one JSON text of `obj` that keys hash: sorted keys, no spaces, UTF-8 kept as is.

    Integral floats become integers (0.0 -> 0), tuples lists, paths strings, `Message`s and
    `ImagePart`s their image-free fingerprint (images by sha256), objects with `as_dict()` that
    dict. NaN/inf and anything else that is not plain JSON raise `TypeError`/`ValueError`.
    """
    return json.dumps(_canonical(obj), sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"), allow_nan=False)


def response_key(kind: str, identity: Mapping, payload: Mapping) -> str:
    """sha256 hex of canonical JSON of {key_version, kind, identity, payload}."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    doc = {"key_version": KEY_VERSION, "kind": kind, "identity": identity, "payload": payload}
    return hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()


def generation_key(model_identity: Mapping, messages, settings) -> str:
    """Key of one model response: model identity, rendered messages (images by sha256), settings.

    `messages` is a sequence of `Message` (or an already computed `messages_fingerprint`);
    `settings` a dict or a `GenerationSettings` (its `as_dict()`).
    """
    rendered = messages if _is_fingerprint(messages) else messages_fingerprint(messages)
    if hasattr(settings, "as_dict"):
        settings = settings.as_dict()
    return response_key("generation", model_identity, {"messages": rendered, "settings": settings})


def judgement_key(judge_identity: Mapping, rubric_hash: str, inputs: Mapping) -> str:
    """Key of one judgement: judge model identity, rubric hash, and what the judge is shown."""
    return response_key("judgement", judge_identity,
                        {"rubric_sha256": rubric_hash, "inputs": inputs})


def _is_fingerprint(messages) -> bool:
    return isinstance(messages, (list, tuple)) and all(isinstance(m, dict) for m in messages)


def _canonical(obj: Any) -> Any:
    if obj is None or isinstance(obj, (bool, str, int)):
        return obj
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError(f"cannot key a non-finite float: {obj!r}")
        return int(obj) if obj.is_integer() else obj
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"key dicts need string keys, got {k!r} ({type(k).__name__})")
            out[k] = _canonical(v)
        return out
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, Message):
        return messages_fingerprint([obj])[0]
    if isinstance(obj, ImagePart):
        return {"image_sha256": obj.sha256}
    if hasattr(obj, "as_dict"):
        return _canonical(obj.as_dict())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _canonical(dataclasses.asdict(obj))
    raise TypeError(f"cannot key a {type(obj).__name__}: {obj!r}")


# ---------------------------------------------------------------------------------------------
# Stores


def open_store(cache_dir: str | os.PathLike | None = None, *, enabled: bool = True,
               synchronous: str = "NORMAL") -> "ResponseStore | NullStore":
    """The store a run uses: `NullStore` when disabled (`--no-cache`), else the one in `cache_dir`
    (default: `default_cache_dir()`)."""
    if not enabled:
        return NullStore()
    return ResponseStore(cache_dir if cache_dir is not None else default_cache_dir(),
                         synchronous=synchronous)


class ResponseStore:
    """SQLite (WAL) store of responses and judgements in `cache_dir / responses.sqlite3`.

    Safe to share between threads of a process and between processes on one machine.
    """

    enabled = True

    def __init__(self, cache_dir: str | os.PathLike, *, synchronous: str = "NORMAL"):
        if synchronous.upper() not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be NORMAL or FULL, got {synchronous!r}")
        self.cache_dir = Path(cache_dir).expanduser()
        self.path = self.cache_dir / STORE_FILENAME
        self.synchronous = synchronous.upper()
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self._closed = False
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise MellaError(f"cannot create the cache directory {self.cache_dir}: "
                             f"{e.strerror or e}; choose another with --cache-dir or "
                             f"MELLA_CACHE_DIR") from None
        if not os.access(self.cache_dir, os.W_OK | os.X_OK):
            raise MellaError(f"the cache directory {self.cache_dir} is not writable; choose "
                             f"another with --cache-dir or MELLA_CACHE_DIR")
        with self._lock:
            self._connection()  # open and check now, so a bad store fails before any work

    # -- connection --------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise RuntimeError(f"response store {self.path} is closed")
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        # First use, or a forked child: the parent's connection must not be used (nor closed)
        # here; open our own.
        self._pid = os.getpid()
        self._conn = None
        conn = self._retry(self._open)
        self._conn = conn
        return conn

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise MellaError(f"{self.path}: cannot switch the response store to WAL mode "
                                 f"(got {mode!r}); is the cache directory on a network filesystem?")
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            self._init_schema(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _init_schema(self, conn: sqlite3.Connection) -> None:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and "store_meta" not in tables:
            raise MellaError(f"{self.path} is an SQLite database but not a mella-eval response "
                             f"store (tables: {', '.join(sorted(tables))}); move it away or choose "
                             f"another --cache-dir")
        if "store_meta" not in tables:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("INSERT OR IGNORE INTO store_meta (name, value) VALUES (?, ?)",
                             ("schema_version", str(SCHEMA_VERSION)))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        row = conn.execute("SELECT value FROM store_meta WHERE name = 'schema_version'").fetchone()
        version = int(row[0]) if row else None
        if version != SCHEMA_VERSION:
            raise MellaError(f"{self.path} has response-store schema version {version}; this "
                             f"mella-eval reads version {SCHEMA_VERSION}. Use another --cache-dir "
                             f"(or the mella-eval version that wrote it)")

    def _retry(self, fn, *args):
        """Run `fn`; retry while the database is busy/locked; turn other SQLite failures into a
        MellaError that names the file."""
        deadline = time.monotonic() + RETRY_DEADLINE_S
        delay = 0.005
        while True:
            try:
                return fn(*args)
            except sqlite3.OperationalError as e:
                if _is_busy(e) and time.monotonic() < deadline:
                    time.sleep(delay * (0.5 + random.random()))
                    delay = min(delay * 2, 0.5)
                    continue
                if _is_busy(e):
                    raise MellaError(f"response store {self.path} stayed locked for "
                                     f"{RETRY_DEADLINE_S:.0f} s: {e}") from None
                raise MellaError(f"response store {self.path}: {e}") from None
            except sqlite3.DatabaseError as e:
                if type(e) is not sqlite3.DatabaseError:  # IntegrityError, ProgrammingError: ours
                    raise
                raise MellaError(f"{self.path} is not a usable response store ({e}); move it "
                                 f"away or choose another --cache-dir") from None

    def _write(self, statements: list[tuple[str, list[tuple]]]) -> None:
        """One write transaction (taken up front, so the busy handler applies), retried whole."""
        def attempt():
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, rows in statements:
                    conn.executemany(sql, rows)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        with self._lock:
            self._retry(attempt)

    def _read(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        with self._lock:
            return self._retry(lambda: self._connection().execute(sql, params).fetchall())

    # -- responses ---------------------------------------------------------------------------

    def get_many(self, keys: Iterable[str]) -> dict[str, dict]:
        """{key: value} for the keys stored `ok`. Errors and unknown keys are left out."""
        return {key: json.loads(value) for key, value in self._select("value", "ok", keys)}

    def get(self, key: str) -> dict | None:
        """The `ok` value of one key, or None."""
        return self.get_many([key]).get(key)

    def get_errors(self, keys: Iterable[str]) -> dict[str, str]:
        """{key: reason} for the keys whose stored attempts all failed (to be retried)."""
        return dict(self._select("error", "error", keys))

    def _select(self, column: str, status: str, keys: Iterable[str]) -> list[tuple[str, str]]:
        keys = list(dict.fromkeys(keys))
        rows: list[tuple[str, str]] = []
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start:start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows += self._read(f"SELECT key, {column} FROM responses "
                               f"WHERE status = ? AND key IN ({marks})", [status, *chunk])
        return rows

    def entry(self, key: str) -> dict | None:
        """The whole row of one key (any status), for inspection and tests."""
        rows = self._read("SELECT key, kind, status, value, error, created_at, updated_at, "
                          "attempts FROM responses WHERE key = ?", (key,))
        if not rows:
            return None
        key, kind, status, value, error, created, updated, attempts = rows[0]
        return {"key": key, "kind": kind, "status": status,
                "value": json.loads(value) if value is not None else None, "error": error,
                "created_at": created, "updated_at": updated, "attempts": attempts}

    def put(self, key: str, kind: str, value: Mapping) -> None:
        """Store an answer and commit. Replaces an error; an earlier answer is kept."""
        self.put_many(kind, ok=[(key, value)])

    def put_error(self, key: str, kind: str, reason: str) -> None:
        """Record a failed attempt and commit. Never replaces an answer; not returned by get."""
        self.put_many(kind, errors=[(key, reason)])

    def put_many(self, kind: str, ok: Mapping[str, Mapping] | Iterable[tuple[str, Mapping]] = (),
                 errors: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        """Store a finished batch (answers and errors) in one transaction."""
        _check_kind(kind)
        now = time.time()
        ok_rows = [(key, kind, _value_json(key, value), now, now) for key, value in _pairs(ok)]
        error_rows = [(key, kind, str(reason), now, now) for key, reason in _pairs(errors)]
        statements = [(sql, rows) for sql, rows in ((_PUT_OK, ok_rows), (_PUT_ERROR, error_rows))
                      if rows]
        if statements:
            self._write(statements)

    def put_completions(self, kind: str, items: Iterable[tuple[str, Any]]) -> None:
        """Store (key, Completion) pairs in one transaction: `ok` ones as {"text", "usage"},
        others as errors with their reason."""
        ok, errors = [], []
        for key, completion in items:
            if completion.status == "ok":
                ok.append((key, {"text": completion.text, "usage": dict(completion.usage or {})}))
            else:
                errors.append((key, completion.reason or "unknown error"))
        self.put_many(kind, ok=ok, errors=errors)

    def stats(self) -> dict[str, dict[str, int]]:
        """{kind: {"ok": n, "error": m}} over the whole store."""
        out: dict[str, dict[str, int]] = {}
        for kind, status, n in self._read(
                "SELECT kind, status, COUNT(*) FROM responses GROUP BY kind, status"):
            out.setdefault(kind, {"ok": 0, "error": 0})[status] = n
        return out

    # -- model fingerprints (memo for mella_eval.fingerprint) -------------------------------

    def get_fingerprint(self, path: str, signature: str) -> str | None:
        rows = self._read("SELECT fingerprint FROM fingerprints WHERE path = ? AND signature = ?",
                          (str(path), signature))
        return rows[0][0] if rows else None

    def put_fingerprint(self, path: str, signature: str, fingerprint: str) -> None:
        self._write([("INSERT OR REPLACE INTO fingerprints "
                      "(path, signature, fingerprint, created_at) VALUES (?, ?, ?, ?)",
                      [(str(path), signature, fingerprint, time.time())])])

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None
            self._closed = True

    def __enter__(self) -> "ResponseStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ResponseStore({str(self.cache_dir)!r})"


class NullStore:
    """`--no-cache`: the same interface, remembers nothing."""

    enabled = False
    cache_dir = None
    path = None

    def get_many(self, keys: Iterable[str]) -> dict[str, dict]:
        return {}

    def get(self, key: str) -> dict | None:
        return None

    def get_errors(self, keys: Iterable[str]) -> dict[str, str]:
        return {}

    def entry(self, key: str) -> dict | None:
        return None

    def put(self, key: str, kind: str, value: Mapping) -> None:
        _check_kind(kind)

    def put_error(self, key: str, kind: str, reason: str) -> None:
        _check_kind(kind)

    def put_many(self, kind: str, ok=(), errors=()) -> None:
        _check_kind(kind)

    def put_completions(self, kind: str, items) -> None:
        _check_kind(kind)

    def stats(self) -> dict[str, dict[str, int]]:
        return {}

    def get_fingerprint(self, path: str, signature: str) -> str | None:
        return None

    def put_fingerprint(self, path: str, signature: str, fingerprint: str) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> "NullStore":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def __repr__(self) -> str:
        return "NullStore()"


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def _pairs(items) -> list[tuple]:
    return list(items.items()) if isinstance(items, Mapping) else list(items)


def _value_json(key: str, value: Mapping) -> str:
    if not isinstance(value, Mapping):
        raise TypeError(f"stored value for {key} must be a dict, got {type(value).__name__}")
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _is_busy(e: sqlite3.OperationalError) -> bool:
    code = getattr(e, "sqlite_errorcode", None)  # Python >= 3.11
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    message = str(e).lower()
    return "locked" in message or "busy" in message
