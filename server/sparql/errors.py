"""What a store failure means over HTTP: the one mapping of
:class:`~karabakh_kg.server.sparql.protocol.QueryFailed` kinds to problem documents.

Every refusal of the endpoint is a :class:`karabakh_kg.server.problems.Problem`; the
codes are listed in ``docs/sparql-endpoint.md`` (Errors).
"""

from __future__ import annotations

from karabakh_kg.server.problems import Problem
from karabakh_kg.server.settings import PREFIX
from karabakh_kg.server.sparql.protocol import QueryFailed

RETRY = {"Retry-After": "1"}


def failure_problem(
    failure: QueryFailed, *, update: bool, timeout: float, max_timeout: float
) -> Problem:
    """The problem answered for ``failure`` of a query (or of an update when ``update``)
    that ran with ``timeout`` seconds (requests may ask for up to ``max_timeout``)."""
    kind, message = failure.kind, failure.message
    what = "update" if update else "query"
    if kind == "syntax":
        code = "update-failed" if update else "malformed-query"
        return Problem(400, code, f"malformed {what}: {message}")
    if kind == "timeout":
        unchanged = " and changed nothing" if update else ""
        advice = "make its WHERE more selective" if update else "make it more selective"
        return Problem(
            503,
            "timeout",
            f"the {what} was stopped after {timeout:g} s{unchanged} (limit: timeout= up to "
            f"{max_timeout:g} s); {advice}",
            limit=timeout,
        )
    if kind == "remote":
        unchanged = "; nothing was changed" if update else ""
        return Problem(502, "service-failed", f"a SERVICE call failed{unchanged}: {message}")
    if kind == "engine":  # serve --backend: the engine holding the data failed
        return Problem(502, "engine-failed", f"the engine failed: {message}", RETRY)
    if kind == "busy":
        return Problem(503, "busy", message, RETRY)
    if kind == "crashed":
        return Problem(503, "worker-crashed", message, RETRY)
    if kind == "not-acceptable":
        wanted = "a graph" if message == "CONSTRUCT" else "SPARQL results"
        return Problem(
            406,
            "not-acceptable",
            f"this {message} query returns {wanted}, and the Accept header or format= "
            "allows no format for it",
        )
    if kind == "too-many-rows":
        return Problem(
            422,
            "too-many-results",
            f"the result has more than {message} rows (the server's limit, "
            f"{PREFIX}MAX_ROWS); add LIMIT and OFFSET to page through it",
            limit=int(message) if message.isdigit() else None,
        )
    if kind == "too-large":
        return Problem(
            422,
            "answer-too-large",
            f"the answer is larger than {message} bytes (the server's limit, "
            f"{PREFIX}MAX_ANSWER_BYTES); select fewer or shorter values, or page with "
            "LIMIT and OFFSET",
            limit=int(message) if message.isdigit() else None,
        )
    if kind == "service-not-checked":
        return Problem(400, kind, message)
    if kind in {"service-not-allowed", "load-not-allowed"}:
        return Problem(403, kind, message)
    if kind == "too-deep":
        return Problem(400, "query-too-deep", message)
    if kind == "bad-dataset":
        return Problem(400, "bad-parameter", message)
    if update:
        if kind == "named-graph":
            return Problem(400, "update-failed", message)
        return Problem(400, "update-failed", f"the update failed: {message}")
    return Problem(400, "query-failed", f"the query could not be evaluated: {message}")
