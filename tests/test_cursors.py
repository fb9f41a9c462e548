"""lcm.cursors: one cursor for a request's hand-written statements."""

import pytest
from django.db import connection

from lcm import cursors


def closed(wrapper) -> bool:
    """Whether the driver's cursor under Django's wrapper refuses statements."""
    try:
        wrapper.cursor.execute("SELECT 1")
    except Exception:  # sqlite3 and psycopg each say it their own way
        return True
    return False


@pytest.mark.django_db
def test_inside_a_shared_block_every_statement_runs_on_one_cursor_closed_at_its_end():
    with cursors.shared():
        with cursors.cursor() as first:
            first.execute("SELECT 1")
            assert first.fetchone() == (1,)
        with cursors.shared(), cursors.cursor() as nested:  # a nested block: the same one
            nested.execute("SELECT 2")
            assert nested.fetchone() == (2,)
        assert nested is first
        assert not closed(first)  # still the request's
    assert closed(first)


@pytest.mark.django_db
def test_outside_a_block_each_is_connections_own():
    with cursors.cursor() as one:
        pass
    with cursors.cursor() as two:
        pass
    assert one is not two
    assert closed(one) and closed(two)


def test_a_block_that_runs_no_statement_makes_no_cursor(monkeypatch):
    def refuse():
        raise AssertionError("no cursor wanted")

    monkeypatch.setattr(connection, "cursor", refuse)
    with cursors.shared():
        pass
