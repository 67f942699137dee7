"""Writes that meet a lost database connection go once more on a fresh one; a statement's own error,
a write inside a transaction and a second failure are raised as they are."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError, IntegrityError, connection, transaction

from glmtts_site.db_retry import connection_lost, on_fresh_connection

pytestmark = pytest.mark.django_db(transaction=True)


def _lose_the_connection() -> None:
    """The database went away behind Django's back (a restart, a killed backend)."""
    connection.ensure_connection()
    assert connection.connection is not None
    connection.connection.close()


def test_a_lost_connection_is_replaced_and_the_write_happens_once() -> None:
    calls: list[int] = []

    @on_fresh_connection
    def rename(user_id: int) -> None:
        calls.append(user_id)
        User.objects.filter(pk=user_id).update(first_name="renamed")

    user = User.objects.create_user("retried")
    _lose_the_connection()
    rename(user.pk)
    assert len(calls) == 2
    assert User.objects.get(pk=user.pk).first_name == "renamed"


def test_a_statements_own_error_is_raised_at_once() -> None:
    calls: list[int] = []

    @on_fresh_connection
    def duplicate() -> None:
        calls.append(1)
        User.objects.create_user("twice")

    User.objects.create_user("twice")
    with pytest.raises(IntegrityError):
        duplicate()
    assert calls == [1]


def test_inside_a_transaction_nothing_is_retried() -> None:
    """The transaction died with its connection: only its owner may start it again."""
    calls: list[int] = []

    @on_fresh_connection
    def count() -> int:
        calls.append(1)
        return User.objects.count()

    with pytest.raises(DatabaseError), transaction.atomic():
        User.objects.count()
        assert connection.connection is not None
        connection.connection.close()
        count()
    assert calls == [1]


def test_a_second_failure_is_raised() -> None:
    calls: list[int] = []

    @on_fresh_connection
    def always_lost() -> None:
        calls.append(1)
        _lose_the_connection()
        User.objects.count()

    with pytest.raises(DatabaseError) as raised:
        always_lost()
    assert calls == [1, 1] and connection_lost(raised.value)
    connection.close()


def test_which_errors_are_the_connections() -> None:
    assert connection_lost(DatabaseError("server closed the connection unexpectedly"))
    assert not connection_lost(IntegrityError("duplicate key"))
    assert not connection_lost(ValueError("not a database error"))
    assert not connection_lost(None)
