"""Many rows at once, for the batch writers (imports): what PostgreSQL does
fast, with the same results as the ORM everywhere else.

- `insert_many(objs)` is ``bulk_create(objs)`` on every database but
  PostgreSQL, where it is ``COPY … FROM STDIN`` through psycopg 3: the same
  columns, each value prepared by its field exactly as the ORM prepares it
  (`insert_params`), without the ORM compiling an INSERT of thousands of
  placeholders. COPY does not hand back the new rows' primary keys: the
  objects' `pk` stays unset (the batch writers never read it).
  `insert_rows` does the same for rows a writer built itself (the mode
  kernel's columns and values); `insert_params(obj)` is also the single-row
  INSERT's parameter list (`lcm.audit.append_entry`), and `instance(model,
  **values)` builds the object a hot path inserts without the ORM's
  keyword lookups.
- `custom_plans()`: plan each statement of the transaction for its own
  parameters (an import's lookups grow the tables they read).
- `AnyOf` (``field__any_of=[…]``): a list as one array parameter on
  PostgreSQL, IN elsewhere.

"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connection, connections, models

# Rows per COPY: bounded memory for psycopg's buffer, few round trips.
COPY_ROWS = 5000


@functools.cache
def insert_fields(model: type[models.Model]) -> list[models.Field]:
    """The columns an INSERT of `model` names: every concrete field but the
    auto primary key."""
    return [f for f in model._meta.concrete_fields if not f.primary_key]


@functools.cache
def _attnames(model: type[models.Model]) -> tuple[tuple[str, models.Field], ...]:
    return tuple((f.attname, f) for f in model._meta.concrete_fields)


def instance(model: type[models.Model], **values) -> models.Model:
    """``model(**values)``, values by attribute name (``account_id``, not
    ``account``), built the way the ORM builds a row it read: positionally,
    every field given, the missing ones their default. Django's keyword
    path looks each field up and raises and catches a KeyError for every
    one not given: for an audit entry, about 20 of its 31 fields on the
    SetNewModeNumber hot path."""
    args = [
        values.pop(attname) if attname in values else field.get_default()
        for attname, field in _attnames(model)
    ]
    if values:
        raise TypeError(f"{model.__name__} has no field {', '.join(sorted(values))}")
    return model(*args)


@functools.cache
def insert_statement(model: type[models.Model]) -> str:
    """One row's INSERT of `model`, returning its primary key where the
    database can."""
    meta = model._meta
    quote = connection.ops.quote_name
    fields = insert_fields(model)
    sql = (
        # Identifiers from the model's metadata, quoted; every value a parameter.
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    if connection.features.can_return_columns_from_insert:
        sql += f" RETURNING {quote(meta.pk.column)}"
    return sql


@functools.cache
def _preparers(model: type[models.Model], vendor: str) -> list[tuple]:
    """Per field: its attribute, its `pre_save` where that sets the value
    (``auto_now_add``: as `bulk_create` calls it), the value types its
    `get_db_prep_save` returns unchanged on `vendor`, and that method."""
    preparers = []
    for field in insert_fields(model):
        if isinstance(field, models.ForeignKey | models.IntegerField):
            as_is = (int, type(None))  # exactly int: a bool goes through the field
        elif type(field) in (models.CharField, models.TextField):
            as_is = (str, type(None))
        elif type(field) is models.DateTimeField and vendor == "postgresql":
            # psycopg takes an aware datetime as is; a naive one goes through
            # the field (which warns and makes it aware).
            as_is = (_Aware, type(None))
        else:
            as_is = ()  # dates, JSON, addresses: always through the field
        if isinstance(field, models.DateField):
            sets_value = field.auto_now or field.auto_now_add
        else:
            sets_value = type(field).pre_save is not models.Field.pre_save
        pre_save = field.pre_save if sets_value else None
        preparers.append((field.attname, pre_save, as_is, field.get_db_prep_save))
    return preparers


class _Aware:
    """Stands in the `as_is` types for "an aware datetime" (see `insert_params`)."""


def insert_params(obj: models.Model, db=None) -> list:
    """The INSERT's parameters: each field's `get_db_prep_save` of its value,
    except where that returns the value unchanged — a str for a text column,
    an int for an integer column or a foreign key, an aware datetime on
    PostgreSQL, None — which is passed as is (that call is most of a row's
    Python time otherwise). `db`: the connection (default: the default one,
    looked up once). tests/test_audit_chain.py checks the result equals the
    ORM's."""
    db = db or connections[DEFAULT_DB_ALIAS]
    params = []
    for attname, pre_save, as_is, prep in _preparers(type(obj), db.vendor):
        value = getattr(obj, attname) if pre_save is None else pre_save(obj, True)
        kind = type(value)
        if kind is datetime and value.tzinfo is not None:
            kind = _Aware
        params.append(value if kind in as_is else prep(value, db))
    return params


def custom_plans() -> None:
    """For the rest of the transaction, plan each statement for its own
    parameters (PostgreSQL's ``plan_cache_mode``). psycopg prepares a
    statement run five times; PostgreSQL then keeps a generic plan made
    when the tables were small. An import's "these 1,000 keys" lookups
    grow the tables they read: a plan made at the first batches (a scan of
    a near-empty table) made each lookup take over a second by 100,000
    rows, an import quadratic in its size. A no-op elsewhere."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor == "postgresql" and getattr(db, "_lcm_custom_plans", None) is not db.connection:
        with db.cursor() as cursor:
            cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")


def custom_plans_for_session() -> None:
    """`custom_plans` for the whole session of this thread's connection, set
    once, for a connection of its own (an import's writers,
    `lcm.actions.imports._Writers`, closed when done): then `custom_plans`
    sends nothing (a round trip per transaction saved). A no-op elsewhere."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_custom_plan")
        db._lcm_custom_plans = db.connection  # this session's (a new one sets it again)


class AnyOf(models.Lookup):
    """``field__any_of=[…]``: on PostgreSQL ``field = ANY(%s)``, the list as
    one array parameter, so a batch's thousands of keys are one value to
    send, parse and plan; elsewhere ``field IN (…)``. Registered on every
    field (`lcm.apps`). For the batch writers' lookups
    (`do_not_call.blocking_rows`)."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [field.get_db_prep_value(v, connection, prepared=False) for v in self.rhs]
        if connection.vendor == "postgresql":
            return any_of_sql(lhs, values, lhs_params)
        if not values:
            raise EmptyResultSet
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


# Joins a list of texts into one parameter (`any_of_sql`): no number, key
# or code an import looks up holds it.
_SEPARATOR = "\x1f"


def any_of_sql(lhs: str, values: list, lhs_params=()) -> tuple[str, list]:
    """PostgreSQL's ``lhs = ANY(…)`` of `values`, and its parameters: texts
    (or ints) joined into one text parameter that ``string_to_array``
    splits (a custom plan folds it to a constant: the index still serves),
    where psycopg would dump an array parameter value by value in Python;
    any other list (empty, a None, a text holding the separator) as an
    array."""
    if not values:
        return f"{lhs} = ANY(%s)", [*lhs_params, values]
    if all(type(v) is str and _SEPARATOR not in v for v in values):
        return f"{lhs} = ANY(string_to_array(%s, E'\\x1f'))", [*lhs_params, _SEPARATOR.join(values)]
    if all(type(v) is int for v in values):
        text = ",".join(map(str, values))
        return f"{lhs} = ANY(string_to_array(%s, ',')::bigint[])", [*lhs_params, text]
    return f"{lhs} = ANY(%s)", [*lhs_params, values]


def insert_many(objs: Sequence[models.Model]) -> None:
    """Insert `objs` (all of one model): COPY on PostgreSQL, `bulk_create`
    elsewhere. A refusal (a unique key, a check) raises Django's
    `DatabaseError` subclasses either way, and the caller's transaction
    rolls back whole."""
    if not objs:
        return
    model = type(objs[0])
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=1000)
        return
    columns = [f.column for f in insert_fields(model)]
    insert_rows(model._meta.db_table, columns, (insert_params(obj, db) for obj in objs))


def insert_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Insert `rows` (values in `columns`' order, as the database takes
    them) into `table`: COPY on PostgreSQL, one INSERT run for every row
    (``executemany``) elsewhere."""
    db = connections[DEFAULT_DB_ALIAS]
    quote = db.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    if db.vendor != "postgresql":
        rows = list(rows)
        if rows:
            marks = ", ".join(["%s"] * len(columns))
            with db.cursor() as cursor:
                # Identifiers from the caller's constants, quoted; values parameters.
                cursor.executemany(
                    f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})",  # noqa: S608
                    rows,
                )
        return
    sql = f"COPY {quote(table)} ({names}) FROM STDIN"
    rows = iter(rows)
    while chunk := list(itertools.islice(rows, COPY_ROWS)):
        started = time.monotonic()
        with (
            db.cursor() as cursor,
            db.wrap_database_errors,
            cursor.cursor.copy(sql) as copy,
        ):
            for row in chunk:
                copy.write_row(row)
        if db.queries_logged:  # COPY bypasses the execute wrappers: count it
            db.queries_log.append(
                {
                    "sql": f"{sql} -- {len(chunk)} rows",
                    "time": f"{time.monotonic() - started:.3f}",
                }
            )
