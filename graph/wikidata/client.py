"""A polite client for a Wikidata-style SPARQL endpoint.

Polite means what the Wikimedia query service asks of bots: a descriptive User-Agent,
waiting as told by ``Retry-After`` on 429 and 503 answers, few large requests (``VALUES``
batches) rather than many small ones, and a local cache so that repeated runs do not ask
again. Every HTTP exchange goes through an :class:`httpx.BaseTransport`, so tests can use a
local server or a mock transport and never the network.

>>> batches(["a", "b", "c"], 2)
[['a', 'b'], ['c']]
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pyoxigraph as ox

from karabakh_kg.graph.files import write_atomic

DEFAULT_ENDPOINT = "https://query.wikidata.org/sparql"
ENDPOINT_VARIABLE = "KARABAKH_KG_WIKIDATA_ENDPOINT"
CACHE_VARIABLE = "KARABAKH_KG_CACHE_DIR"
RESULTS_JSON = "application/sparql-results+json"
#: Longer queries go by POST: some proxies cut URLs near 8 kB.
MAX_GET_LENGTH = 2000
#: Never wait longer than this for one ``Retry-After``, whatever the server says.
MAX_WAIT_SECONDS = 120.0

Binding = dict[str, ox.NamedNode | ox.Literal | ox.BlankNode]
T = TypeVar("T")


class WikidataError(RuntimeError):
    """A Wikidata endpoint could not answer usefully; the message is one line for people."""


class EndpointUnreachable(WikidataError):
    """The endpoint could not be reached (offline, refused, timed out)."""


class EndpointRateLimited(WikidataError):
    """The endpoint kept answering 429/503 after every retry."""


class EndpointHTTPError(WikidataError):
    """The endpoint answered with an HTTP error status."""


class MalformedResponse(WikidataError):
    """The endpoint answered 200 with something that is not SPARQL JSON results."""


def default_endpoint() -> str:
    """The endpoint from ``KARABAKH_KG_WIKIDATA_ENDPOINT``, else the public Wikidata service."""
    return os.environ.get(ENDPOINT_VARIABLE) or DEFAULT_ENDPOINT


def default_cache_dir() -> Path:
    """Where answers are cached: ``KARABAKH_KG_CACHE_DIR`` or the user cache directory."""
    configured = os.environ.get(CACHE_VARIABLE)
    if configured:
        return Path(configured) / "wikidata"
    import platformdirs

    return Path(platformdirs.user_cache_dir("karabakh-kg")) / "wikidata"


def user_agent() -> str:
    """A User-Agent naming the tool, its version and where to learn about it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("karabakh-kg")
    except PackageNotFoundError:  # running from a source tree without installing
        release = "dev"
    return (
        f"karabakh-kg/{release} (https://w3id.org/karabakh-kg/; knowledge graph of the 2020 "
        f"Nagorno-Karabakh war, Wikidata link checker) httpx/{httpx.__version__}"
    )


def batches(items: Sequence[T], size: int) -> list[list[T]]:
    """Split ``items`` into lists of at most ``size`` (for ``VALUES`` blocks)."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def values_block(variable: str, terms: Iterable[ox.NamedNode | ox.Literal]) -> str:
    """A SPARQL ``VALUES ?variable { ... }`` block with the terms serialised safely."""
    return "VALUES ?" + variable + " { " + " ".join(str(term) for term in terms) + " }"


def retry_after_seconds(header: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), if usable."""
    if not header:
        return None
    header = header.strip()
    if header.isdigit():
        return float(header)
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass
class QueryCache:
    """Answers stored as JSON files named by a hash of endpoint and query, with an expiry."""

    directory: Path
    ttl_seconds: float = 7 * 24 * 3600
    clock: Callable[[], float] = time.time

    def _path(self, endpoint: str, query: str) -> Path:
        key = hashlib.sha256(f"{endpoint}\n{query}".encode()).hexdigest()
        return self.directory / f"{key}.json"

    def get(self, endpoint: str, query: str) -> dict[str, Any] | None:
        """The stored answer if present, readable and not expired."""
        path = self._path(endpoint, query)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if (
            not isinstance(entry, dict)
            or self.clock() - entry.get("stored_at", 0) > self.ttl_seconds
        ):
            return None
        answer = entry.get("answer")
        return answer if isinstance(answer, dict) else None

    def put(self, endpoint: str, query: str, answer: dict[str, Any]) -> None:
        """Store ``answer``; a cache that cannot be written is skipped, never fatal."""
        entry = {"stored_at": self.clock(), "endpoint": endpoint, "query": query, "answer": answer}
        path = self._path(endpoint, query)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            write_atomic(path, json.dumps(entry))
        except OSError:
            pass

    def clear(self) -> int:
        """Delete every stored answer; returns how many."""
        removed = 0
        for path in self.directory.glob("*.json"):
            path.unlink(missing_ok=True)
            removed += 1
        return removed


class WikidataClient:
    """SELECT queries against one SPARQL endpoint, politely, with results as pyoxigraph terms."""

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        cache: QueryCache | None = None,
        timeout: float = 60.0,
        max_retries: int = 4,
        batch_size: int = 100,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.endpoint = endpoint or default_endpoint()
        if not self.endpoint.startswith(("http://", "https://")):
            raise WikidataError(f"endpoint must be an http(s) URL, got {self.endpoint!r}")
        self.cache = cache
        self.max_retries = max_retries
        self.batch_size = batch_size
        self.sleep = sleep
        self.waits: list[float] = []  # what the client waited, for reports and tests
        self.requests = 0
        self._http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=10.0),
            headers={"User-Agent": user_agent(), "Accept": RESULTS_JSON},
            follow_redirects=True,
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> WikidataClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def select(self, query: str) -> list[Binding]:
        """Run a SELECT query and return its rows (variable name → term)."""
        answer = self.cache.get(self.endpoint, query) if self.cache else None
        if answer is None:
            answer = self._fetch(query)
            rows = parse_results(answer, self.endpoint)  # validate before caching
            if self.cache:
                self.cache.put(self.endpoint, query, answer)
            return rows
        return parse_results(answer, self.endpoint)

    def select_values(
        self, template: str, variable: str, terms: Sequence[ox.NamedNode | ox.Literal]
    ) -> list[Binding]:
        """Run ``template`` per batch of ``terms``, its ``{values}`` replaced by a VALUES block."""
        rows: list[Binding] = []
        for batch in batches(sorted(set(terms), key=str), self.batch_size):
            rows.extend(self.select(template.replace("{values}", values_block(variable, batch))))
        return rows

    def _fetch(self, query: str) -> dict[str, Any]:
        for attempt in range(self.max_retries + 1):
            response = self._send(query)
            if response.status_code in (429, 503):
                if attempt == self.max_retries:
                    raise EndpointRateLimited(
                        f"{self.endpoint} still answers {response.status_code} after "
                        f"{self.max_retries} retries; try again later"
                    )
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                wait = min(MAX_WAIT_SECONDS, wait if wait is not None else 2.0 * 2**attempt)
                self.waits.append(wait)
                self.sleep(wait)
                continue
            if response.status_code >= 400:
                detail = " ".join(response.text.split())[:200]
                raise EndpointHTTPError(
                    f"{self.endpoint} answered HTTP {response.status_code}: {detail or 'no detail'}"
                )
            try:
                answer = response.json()
            except ValueError:
                kind = response.headers.get("Content-Type", "unknown type")
                raise MalformedResponse(
                    f"{self.endpoint} did not answer SPARQL JSON results (got {kind})"
                ) from None
            if not isinstance(answer, dict):
                raise MalformedResponse(f"{self.endpoint} answered JSON that is not an object")
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, query: str) -> httpx.Response:
        self.requests += 1
        try:
            if len(query) <= MAX_GET_LENGTH:
                return self._http.get(self.endpoint, params={"query": query})
            return self._http.post(self.endpoint, data={"query": query})
        except httpx.TimeoutException:
            raise EndpointUnreachable(f"{self.endpoint} did not answer in time") from None
        except httpx.TransportError as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise EndpointUnreachable(f"cannot reach {self.endpoint} ({reason})") from None


def parse_results(answer: dict[str, Any], endpoint: str = "endpoint") -> list[Binding]:
    """Turn SPARQL 1.1 JSON results into rows of pyoxigraph terms; reject anything else."""
    try:
        names = answer["head"]["vars"]
        raw_rows = answer["results"]["bindings"]
        if not isinstance(names, list) or not isinstance(raw_rows, list):
            raise TypeError
        return [{name: _term(value) for name, value in row.items()} for row in raw_rows]
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise MalformedResponse(
            f"{endpoint} answered JSON that is not SPARQL SELECT results ({error!r})"
        ) from None


def _term(value: dict[str, str]) -> ox.NamedNode | ox.Literal | ox.BlankNode:
    kind = value["type"]
    if kind == "uri":
        return ox.NamedNode(value["value"])
    if kind == "bnode":
        return ox.BlankNode(value["value"])
    if kind in ("literal", "typed-literal"):
        if "xml:lang" in value:
            return ox.Literal(value["value"], language=value["xml:lang"])
        if "datatype" in value:
            return ox.Literal(value["value"], datatype=ox.NamedNode(value["datatype"]))
        return ox.Literal(value["value"])
    raise ValueError(f"unknown term type {kind!r}")
