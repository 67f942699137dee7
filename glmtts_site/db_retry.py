"""Database work that survives a lost connection: once more on a fresh one.

A database restart or a killed backend breaks the connection a process holds; the first query after
it fails although nothing is wrong with the query. Django reconnects only at the next request (or
`close_old_connections`), which a worker's inference thread never reaches in the middle of a job, so
a job's final write would fail for a connection it never chose. The writes wrapped here are
idempotent (conditional updates, saves of the same values), so trying them again is safe.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import DEFAULT_DB_ALIAS, DatabaseError, DataError, IntegrityError, connections

logger = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


def connection_lost(error: BaseException | None) -> bool:
    """Whether `error` may be the connection's fault rather than the statement's. Backends differ in
    the class they raise for a dead connection (psycopg: OperationalError or InterfaceError, sqlite3:
    ProgrammingError for a closed handle), so only the errors a row itself causes are left out."""
    return isinstance(error, DatabaseError) and not isinstance(error, IntegrityError | DataError)


def discard_connection(alias: str = DEFAULT_DB_ALIAS) -> None:
    """Drop the broken connection; the next query opens a fresh one."""
    with contextlib.suppress(DatabaseError):
        connections[alias].close()


def on_fresh_connection(write: Callable[P, T]) -> Callable[P, T]:
    """Run `write`; when its connection was lost (and no outer transaction depends on it), once more
    on a fresh connection. A second failure is raised: that is an outage, for the caller to ride out."""

    @functools.wraps(write)
    def retried(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return write(*args, **kwargs)
        except DatabaseError as exc:
            if not connection_lost(exc) or connections[DEFAULT_DB_ALIAS].in_atomic_block:
                raise
            logger.warning("%s lost its database connection (%s: %s); once more on a fresh one",
                           write.__name__, type(exc).__name__, exc)
            discard_connection()
            return write(*args, **kwargs)

    return retried
