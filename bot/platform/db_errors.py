"""Database errors without the data that caused them, so a failed write never puts a customer into the logs.

`hide_parameters` keeps SQLAlchemy from printing a statement's bound values; PostgreSQL itself still repeats
them in the error (`DETAIL: Key (email_main)=(…) already exists`, `Failing row contains (…)`, `invalid input
syntax for type date: "…"`). For data and integrity errors (SQLSTATE classes 22 and 23) only the primary
message is kept, with every quoted value masked except the names of the table, column, constraint and type.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import ExceptionContext

DATA_CLASSES = ("22", "23")  # data exception, integrity constraint violation
MASK = "…"
_QUOTED = re.compile(r'"((?:[^"]|"")*)"')


def without_values(context: ExceptionContext) -> None:
    """`handle_error` listener: rewrite the driver's message (and SQLAlchemy's copy of it) in place; the error
    keeps its class, SQLSTATE and diagnostics, so callers catch and inspect it as before."""
    original = context.original_exception
    diag = getattr(original, "diag", None)
    state = getattr(diag, "sqlstate", None) or ""
    if diag is None or not state.startswith(DATA_CLASSES):
        return
    names = {diag.table_name, diag.column_name, diag.constraint_name, diag.datatype_name, diag.schema_name}
    message = masked(diag.message_primary or "", names - {None})
    original.args = (message,)
    wrapped = context.sqlalchemy_exception
    if wrapped is not None:
        wrapped.args = (f"({type(original).__module__}.{type(original).__name__}) {message}",)


def masked(message: str, names: set[str]) -> str:
    """`message` with each quoted part that is not one of `names` replaced by `"…"`."""
    return _QUOTED.sub(lambda m: m[0] if m[1] in names else f'"{MASK}"', message)
