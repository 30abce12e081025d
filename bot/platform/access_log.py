"""Access logs name the route asked for, never the secret in its address: tracking links (`/r/<token>`), open
pixels (`/o/<token>.gif`), opt-out pages (`/u/<token>`), coupon codes and the ID連携 page's `?linkToken=…` would
let anyone who reads the logs click, unsubscribe or link in a customer's name.

A request the app routed is logged by its route template (`/r/<token>/<name>`, kept in the WSGI environ by
`remember_route`); anything else by its first path segment (`/r/…`). Query values are replaced by `…` except
the page language. Gunicorn (production and `make run`, gunicorn.conf.py) logs through `AccessLogger`;
werkzeug's development server (`flask run`) through the filter `install_werkzeug_filter` adds.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from flask import request
from gunicorn.glogging import Logger

ROUTE_KEY = "app.route"
KEPT_QUERY = frozenset({"lang"})
HIDDEN = "…"
# header and environ atoms a custom access_log_format could name: they carry addresses or credentials
URL_ATOMS = ("{referer}i", "{http_referer}e")
TARGET_ATOMS = ("{raw_uri}e", "{request_uri}e")
CREDENTIAL_ATOMS = ("{authorization}i", "{cookie}i", "{http_authorization}e", "{http_cookie}e")
REQUEST_LINE = re.compile(r"(?P<method>[A-Z]+) (?P<target>\S+) (?P<protocol>HTTP/[\d.]+)")


def remember_route() -> None:
    """Flask before_request: keep the matched route template where the access logger finds it."""
    if request.url_rule is not None:
        request.environ[ROUTE_KEY] = request.url_rule.rule


def redact_path(path: str, route: str | None = None) -> str:
    """The route template when the app matched one, else only the first segment of the path."""
    if route:
        return route
    first, slash, rest = path.lstrip("/").partition("/")
    return f"/{first}" + (f"/{HIDDEN}" if slash and rest else slash)


def redact_query(query: str) -> str:
    """`lang=en&linkToken=…`: every value hidden but the page language; a bare value is hidden whole."""
    pairs = []
    for pair in query.split("&") if query else ():
        name, equals, _ = pair.partition("=")
        pairs.append(pair if name in KEPT_QUERY else f"{name}={HIDDEN}" if equals else HIDDEN)
    return "&".join(pairs)


def redact_target(target: str, route: str | None = None) -> str:
    """A request target or URL (`/link?linkToken=…`, `https://host/r/abc`) with its secrets hidden."""
    if target in ("", "-"):
        return target
    parts = urlsplit(target)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    query = redact_query(parts.query)
    return origin + redact_path(parts.path, route) + (f"?{query}" if query else "")


class AccessLogger(Logger):
    """Gunicorn's logger with the path, query string, request line and referer redacted in every access line."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        route = environ.get(ROUTE_KEY)
        path = redact_path(environ.get("PATH_INFO", ""), route)
        query = redact_query(environ.get("QUERY_STRING", ""))
        target = path + (f"?{query}" if query else "")
        atoms.update(U=path, q=query, r=f"{atoms['m']} {target} {atoms['H']}", f=redact_target(atoms["f"]))
        atoms.update({key: target for key in TARGET_ATOMS if key in atoms})
        atoms.update({key: redact_target(atoms[key]) for key in URL_ATOMS if key in atoms})
        atoms.update({key: HIDDEN for key in CREDENTIAL_ATOMS if key in atoms})
        atoms.update({"{path_info}e": path, "{query_string}e": query})
        return atoms


class _RequestLineFilter(logging.Filter):
    """Redacts the request line of werkzeug's request log (`"GET /r/abc HTTP/1.1" 302 -`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args and isinstance(record.args[0], str):
            line = REQUEST_LINE.sub(self._redact, record.args[0])
            record.args = (line, *record.args[1:])
        return True

    @staticmethod
    def _redact(match: re.Match[str]) -> str:
        return f"{match['method']} {redact_target(match['target'])} {match['protocol']}"


def install_werkzeug_filter() -> None:
    """Make werkzeug's request log (the development server's) redact paths; once per process."""
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, _RequestLineFilter) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(_RequestLineFilter())
