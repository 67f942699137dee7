"""Recording cache hits in users' history: one long-lived connection, rows committed in groups.

A cache hit is answered without a worker, but its job row must be committed before the answer
leaves (`GET /api/v1/syntheses/<id>` has to work at once). Under ASGI every request runs with a
database connection of its own, opened for it and closed after it, so a plain `save()` paid for
a new connection on every hit. Here each web process keeps one connection for these rows: a
request queues its row, and whichever request holds the connection inserts every queued row in
one statement (group commit), so concurrent hits share the statement and the commit. Nobody
returns before its own row is committed; a row that fails raises in the request that made it.

The row is what `job.save()` writes (Django prepares every value; the statement is built once),
with save's pre_save/post_save signals sent in the caller's thread. This connection's statements
stay out of DEBUG's query log. Callers inside a transaction (tests, management commands, an
atomic block) save inline, in their own transaction, exactly as before. `close()` drops the
connection (tests, before the test database goes).
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field
from django.db.models.signals import post_save, pre_save

from glmtts_site.db_retry import connection_lost
from synthesis.models import SynthesisJob

MAX_GROUP = 64  # rows per statement at most; fewer where the database limits parameters (SQLite)


@dataclass
class _Queued:
    job: SynthesisJob
    done: bool = False
    error: BaseException | None = None


class HistoryWriter:
    def __init__(self, alias: str = DEFAULT_DB_ALIAS) -> None:
        self.alias = alias
        self._queue: list[_Queued] = []
        self._queue_lock = threading.Lock()
        self._connection_lock = threading.Lock()  # held while inserting; serializes use of _db
        self._db: BaseDatabaseWrapper | None = None
        self._statement: _InsertStatement | None = None
        self._limit: int | None = None

    def write(self, job: SynthesisJob) -> None:
        """Insert `job` as `job.save()` would (same checks and signals, in the caller's thread);
        returns once its row is committed, raises what its insert raised."""
        job._prepare_related_fields_for_save(operation_name="save")  # type: ignore[attr-defined]
        pre_save.send(sender=SynthesisJob, instance=job, raw=False, using=self.alias, update_fields=None)
        queued = self._committed(job)
        if connection_lost(queued.error):
            # The kept connection had died (a database restart, a killed backend, a closed handle); it
            # is discarded by now, so once more on a fresh one: a hit must not fail for a connection it
            # never chose (glmtts_site.db_retry says which errors those are).
            queued = self._committed(job)
        if queued.error is not None:
            raise queued.error
        post_save.send(sender=SynthesisJob, instance=job, created=True, update_fields=None, raw=False,
                       using=self.alias)

    def _committed(self, job: SynthesisJob) -> _Queued:
        queued = _Queued(job)
        with self._queue_lock:
            self._queue.append(queued)
        with self._connection_lock:
            while not queued.done:  # else an earlier holder already wrote it with its own group
                self._insert_group(self._take_queue())
        return queued

    def close(self) -> None:
        with self._connection_lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _take_queue(self) -> list[_Queued]:
        """The queued rows, at most as many as one statement may carry (the rest wait their turn)."""
        limit = self._group_limit()
        with self._queue_lock:
            group, self._queue = self._queue[:limit], self._queue[limit:]
        return group

    def _insert_group(self, group: list[_Queued]) -> None:
        try:
            self._insert([queued.job for queued in group])
        except Exception as exc:
            if len(group) == 1:
                self._settle(group[0], exc)
                return
            for queued in group:  # one bad row (or a lost connection) must not fail the others
                try:
                    self._insert([queued.job])
                except Exception as row_exc:
                    self._settle(queued, row_exc)
                else:
                    self._settle(queued, None)
            return
        for queued in group:
            self._settle(queued, None)

    def _group_limit(self) -> int:
        if self._limit is None:
            allowed = self._connection().ops.bulk_batch_size(_columns(), [None] * MAX_GROUP)
            self._limit = max(1, min(MAX_GROUP, allowed))
        return self._limit

    def _settle(self, queued: _Queued, error: BaseException | None) -> None:
        if connection_lost(error):
            self._discard_connection()  # the next group starts on a fresh connection
        queued.error, queued.done = error, True

    def _insert(self, jobs: list[SynthesisJob]) -> None:
        """One INSERT statement (atomic on its own in autocommit mode), as Model.save would write."""
        db = self._connection()
        if self._statement is None:
            self._statement = _InsertStatement(db)
        sql, params = self._statement.for_rows(jobs, db)
        # The backend's own cursor: this private connection's queries are nobody's to inspect, so
        # they skip DEBUG's query log (on SQLite that log costs one more query per statement).
        db.ensure_connection()
        with db.wrap_database_errors:
            cursor = db.create_cursor()
            try:
                cursor.execute(sql, params)
            finally:
                cursor.close()
        for job in jobs:
            job._state.adding, job._state.db = False, self.alias

    def _connection(self) -> BaseDatabaseWrapper:
        if self._db is None:
            self._db = connections.create_connection(self.alias)
            self._db.inc_thread_sharing()  # request threads take turns under _connection_lock
        return self._db

    def _discard_connection(self) -> None:
        if self._db is not None:
            with contextlib.suppress(DatabaseError):
                self._db.close()
            self._db = None


class _InsertStatement:
    """The INSERT that Django's insert compiler writes for these rows, built once: same columns,
    values prepared by the fields themselves (pre_save, then get_db_prep_save), one plain
    placeholder per value. Compiling it anew per row cost as much as executing it."""

    def __init__(self, db: BaseDatabaseWrapper) -> None:
        self.fields = _columns()
        custom = [field.name for field in self.fields if hasattr(field, "get_placeholder")]
        if custom:  # such fields need the compiler's per-value placeholders
            raise ImproperlyConfigured(f"history rows cannot be inserted with plain placeholders: {custom}")
        quote = db.ops.quote_name
        columns = ", ".join(quote(str(field.column)) for field in self.fields)
        self.head = f"INSERT INTO {quote(SynthesisJob._meta.db_table)} ({columns}) VALUES "
        self.row = "(" + ", ".join(["%s"] * len(self.fields)) + ")"

    def for_rows(self, jobs: list[SynthesisJob], db: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        params = []
        for job in jobs:
            for field in self.fields:
                value = field.pre_save(job, True)
                if hasattr(value, "resolve_expression"):
                    raise TypeError(f"{field.name}: history rows take values, not expressions")
                params.append(field.get_db_prep_save(value, db))
        return self.head + ", ".join([self.row] * len(jobs)), params


def _columns() -> list[Field[Any, Any]]:
    return [field for field in SynthesisJob._meta.local_concrete_fields if not field.generated]


writer = HistoryWriter()


def history_insert(job: SynthesisJob) -> None:
    """Insert a finished job row and return once it is committed."""
    if _in_transaction(writer.alias):
        job.save(force_insert=True)  # part of the caller's transaction, as a plain save would be
        return
    writer.write(job)


def _in_transaction(alias: str) -> bool:
    """Whether this context's connection is inside atomic(); without creating a connection object
    for a request that never touched the database (under ASGI each request would get a new one)."""
    return any(db.alias == alias and db.in_atomic_block for db in connections.all(initialized_only=True))


def close() -> None:
    writer.close()
