"""A remote SPARQL 1.1 engine as a store: the Protocol for queries and updates, the Graph
Store Protocol for whole graphs, optional HTTP basic or digest credentials (httpx).

Every failure is a :class:`~karabakh_kg.graph.store.StoreError` of one line that names the
URL and what went wrong (unreachable, credentials refused, updates refused, a bad answer,
an answer the engine cut at its row limit: :class:`AnswerCut`).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import pyoxigraph as ox

from karabakh_kg.graph.store import Row, StoreError, StoreTimeout, rows_of
from karabakh_kg.ontology import vocab

TIMEOUT = 120.0
"""Seconds one request may take (a graph is written in batches of :data:`UPLOAD_TRIPLES`)."""
UPLOAD_TRIPLES = 50_000
"""Triples per request when a graph is written: a large graph goes as several requests (the
first replaces the graph, the others add to it), so that no request runs into the time limit
or the engine's limits on one request (the Oxigraph server stores about 5 000 triples a
second through the Graph Store Protocol on a loaded machine; Virtuoso limits ``INSERT DATA``)."""
RESULTS = "application/sparql-results+json"
NTRIPLES = "application/n-triples"
MAX_ROWS_HEADER = "X-SPARQL-MaxRows"
"""What Virtuoso adds to a SELECT answer it cut at its ``ResultSetMaxRows`` (the cap's value;
also to an answer of exactly that many rows, which cannot be told from a cut one)."""
VIRTUOSO_MAX_ROWS = (
    "SELECT ?rows WHERE { BIND(bif:virtuoso_ini_item_value('SPARQL', 'ResultSetMaxRows') "
    "AS ?rows) }"
)
"""Virtuoso's ``ResultSetMaxRows``, asked once per engine: a graph answer (CONSTRUCT,
DESCRIBE, a Graph Store read) it cut has one triple more than the cap and no header."""


class AnswerCut(StoreError):
    """The engine cut an answer at its limit on rows: working on the rest would be working
    on partial data."""

    def __init__(self, url: str, cap: int) -> None:
        super().__init__(
            f"{url}: the engine cut its answer at its limit of {cap} rows (Virtuoso: raise "
            "[SPARQL] ResultSetMaxRows in virtuoso.ini above the bounds of docs/deployment.md)"
        )
        self.cap = cap


def parse_results(body: bytes) -> ox.QuerySolutions | ox.QueryBoolean:
    """SPARQL JSON results, with blank node labels made valid first: engines may send
    labels that are not (Virtuoso: ``nodeID://b10000``), and a label only has to be the
    same within one answer."""
    if b'"bnode"' in body:
        document = json.loads(body)
        for binding in document.get("results", {}).get("bindings", []):
            for term in binding.values():
                if term.get("type") == "bnode":
                    term["value"] = re.sub(r"[^A-Za-z0-9_]", "_", term["value"])
        body = json.dumps(document).encode()
    return ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)


def upload_batches(triples: list[ox.Triple], size: int) -> list[list[ox.Triple]]:
    """``triples`` in requests of about ``size``, at least one (an empty graph is written
    too). Every triple with a blank node goes in the first: a blank node is the same node
    only within one request."""
    with_blank = [t for t in triples if _has_blank(t)]
    rest = [t for t in triples if not _has_blank(t)] if with_blank else triples
    room = max(size - len(with_blank), 0)
    batches = [with_blank + rest[:room]]
    batches += [rest[start : start + size] for start in range(room, len(rest), size)]
    return batches


def _has_blank(triple: ox.Triple) -> bool:
    return isinstance(triple.subject, ox.BlankNode) or isinstance(triple.object, ox.BlankNode)


class EngineTimeout(Exception):
    """The engine did not answer a query in time (not an ``OSError``: callers that map
    network failures must not take it for one)."""


class RemoteStore:
    """:class:`~karabakh_kg.graph.store.GraphStore` over HTTP.

    ``query_url``: the SPARQL query endpoint; ``update_url`` defaults to it; ``gsp_url``
    (the Graph Store Protocol endpoint) is optional: without it whole graphs are read with
    ``CONSTRUCT`` and written with ``INSERT DATA``.
    """

    def __init__(
        self,
        query_url: str,
        *,
        update_url: str | None = None,
        gsp_url: str | None = None,
        user: str | None = None,
        password: str | None = None,
        auth: str = "basic",
        timeout: float = TIMEOUT,
        upload_triples: int = UPLOAD_TRIPLES,
    ) -> None:
        for url in (query_url, update_url, gsp_url):
            if url is not None and urlsplit(url).scheme not in {"http", "https"}:
                raise StoreError(f"{url}: not an http(s) URL")
        self.location = query_url
        self.query_url = query_url
        self.update_url = update_url or query_url
        self.gsp_url = gsp_url
        credentials: httpx.Auth | None = None
        if user is not None:
            if auth not in {"basic", "digest"}:
                raise StoreError(f"unknown authentication {auth!r}: use basic or digest")
            kind = httpx.DigestAuth if auth == "digest" else httpx.BasicAuth
            credentials = kind(user, password or "")
        self.timeout = timeout
        self.upload_triples = upload_triples
        self.client = httpx.Client(auth=credentials, timeout=timeout, follow_redirects=True)
        self._row_cap: dict[str, int | None] = {}
        """The engine's limit on the rows of one answer, once known (shared by the
        :meth:`bounded` views)."""

    def bounded(self, timeout: float) -> RemoteStore:
        """The same engine (and connections) whose requests each take at most ``timeout``
        seconds: what reads on behalf of one HTTP request use (resource pages)."""
        view = copy.copy(self)
        view.timeout = timeout
        return view

    # -- HTTP ------------------------------------------------------------------------------
    def _send(self, what: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx.TimeoutException:
            waited = kwargs["timeout"]
            raise StoreTimeout(f"{url}: {what} timed out after {waited:g} s") from None
        except httpx.HTTPError as error:
            reason = str(error) or type(error).__name__
            raise StoreError(
                f"{url}: {what} failed, the engine is unreachable ({reason})"
            ) from None
        if response.status_code in (401, 403):
            hint = "the credentials were refused" if self.client.auth else "credentials needed"
            raise StoreError(f"{url}: {what} refused (HTTP {response.status_code}: {hint})")
        if response.status_code >= 400:
            # One line: the engine's message without the query it may echo (Virtuoso does).
            detail = " ".join(response.text.split()).split(" SPARQL query:")[0][:240]
            if "SR325" in response.text:  # Virtuoso: one transaction outgrew its log limit
                detail = (
                    "the transaction outgrew Virtuoso's TransactionAfterImageLimit: raise it in "
                )
                detail += "the [Parameters] of virtuoso.ini"
            raise StoreError(f"{url}: {what} failed (HTTP {response.status_code}: {detail})")
        return response

    def _query(self, sparql: str, accept: str) -> httpx.Response:
        return self._send(
            "the query",
            "POST",
            self.query_url,
            data={"query": vocab.sparql_prefixes() + sparql},
            headers={"Accept": accept},
        )

    # -- queries ---------------------------------------------------------------------------
    def select(self, sparql: str) -> list[Row]:
        response = self._query(sparql, RESULTS)
        self._check_rows(response)
        try:
            solutions = parse_results(response.content)
            assert isinstance(solutions, ox.QuerySolutions)
            return rows_of(solutions)
        except (SyntaxError, ValueError) as error:
            raise StoreError(f"{self.query_url}: unreadable query results ({error})") from None

    def ask(self, sparql: str) -> bool:
        response = self._query(sparql, RESULTS)
        try:
            result = parse_results(response.content)
        except (SyntaxError, ValueError) as error:
            raise StoreError(f"{self.query_url}: unreadable ASK answer ({error})") from None
        return bool(result)

    def construct(self, sparql: str) -> list[ox.Triple]:
        response = self._query(sparql, NTRIPLES)
        return self._triples(response, self.query_url)

    # -- answers cut at the engine's row limit ---------------------------------------------
    def _check_rows(self, response: httpx.Response) -> None:
        """:class:`AnswerCut` when a results answer says it was cut (and remember the cap)."""
        value = response.headers.get(MAX_ROWS_HEADER)
        if value is None:
            return
        cap = int(value) if value.strip().isdigit() else 0
        if cap:
            self._row_cap["rows"] = cap
        raise AnswerCut(str(response.url), cap or self.row_cap(response) or 0)

    def row_cap(self, response: httpx.Response | None = None) -> int | None:
        """The most rows the engine puts in one answer, when it has such a limit and says
        it (Virtuoso, asked once when ``response`` is Virtuoso's); None otherwise."""
        if "rows" in self._row_cap:
            return self._row_cap["rows"]
        if response is None or not response.headers.get("server", "").startswith("Virtuoso"):
            return None
        cap: int | None = None
        try:
            asked = self._send(
                "asking its ResultSetMaxRows",
                "POST",
                self.query_url,
                data={"query": VIRTUOSO_MAX_ROWS},
                headers={"Accept": RESULTS},
            )
            rows = json.loads(asked.content)["results"]["bindings"]
            cap = int(rows[0]["rows"]["value"])
        except (StoreError, ValueError, KeyError, IndexError, TypeError):
            cap = None  # not said: graph answers cannot be checked (docs/deployment.md)
        self._row_cap["rows"] = cap
        return cap

    def _triples(self, response: httpx.Response, url: str) -> list[ox.Triple]:
        """The triples of a graph answer, or :class:`AnswerCut` when there are more than the
        engine's cap: Virtuoso cuts a graph answer at the cap and one, without a header."""
        kind = response.headers.get("content-type", NTRIPLES).split(";")[0].strip().lower()
        try:
            rdf_format = ox.RdfFormat.from_media_type(kind) or ox.RdfFormat.N_TRIPLES
            quads = ox.parse(response.content, format=rdf_format)
            triples = [ox.Triple(q.subject, q.predicate, q.object) for q in quads]
        except (SyntaxError, ValueError) as error:
            raise StoreError(f"{url}: unreadable RDF answer ({kind}: {error})") from None
        cap = self.row_cap(response)
        if cap is not None and len(triples) > cap:
            raise AnswerCut(str(response.url), cap)
        return triples

    def update(self, sparql: str, *, timeout: float | None = None) -> None:
        """Run an update; ``timeout``: seconds it may take instead of the store's limit."""
        self._send(
            "the update",
            "POST",
            self.update_url,
            content=(vocab.sparql_prefixes() + sparql).encode(),
            headers={"Content-Type": "application/sparql-update"},
            timeout=timeout or self.timeout,
        )

    def query(
        self,
        sparql: str,
        *,
        prefixes: dict[str, str] | None = None,
        base_iri: str | None = None,
        default_graph: list[ox.NamedNode] | None = None,
        named_graphs: list[ox.NamedNode] | None = None,
        timeout: float | None = None,
        graph: bool = False,
    ) -> ox.QuerySolutions | ox.QueryBoolean | list[ox.Triple]:
        """The engine's answer to a query, in the shape of :meth:`pyoxigraph.Store.query`
        (a list of triples for CONSTRUCT and DESCRIBE), so that the server's code that
        checks, caps and serializes local answers serves the engine's too.

        ``default_graph`` / ``named_graphs`` become the protocol's ``default-graph-uri`` /
        ``named-graph-uri``; ``graph``: the query returns triples (CONSTRUCT, DESCRIBE), so
        N-Triples are asked for (engines differ in what they send otherwise). Raises
        :class:`EngineTimeout` past ``timeout``, ``SyntaxError`` when the engine refuses the
        query (HTTP 400) and ``OSError`` when it fails.
        """
        declared = "".join(f"PREFIX {name}: <{iri}>\n" for name, iri in (prefixes or {}).items())
        if base_iri:
            declared = f"BASE <{base_iri}>\n" + declared
        form: dict[str, Any] = {"query": declared + sparql}
        if default_graph:
            form["default-graph-uri"] = [g.value for g in default_graph]
        if named_graphs:
            form["named-graph-uri"] = [g.value for g in named_graphs]
        try:
            response = self.client.post(
                self.query_url,
                data=form,
                headers={"Accept": NTRIPLES if graph else RESULTS},
                timeout=timeout or self.timeout,
            )
        except httpx.TimeoutException:
            waited = timeout or self.timeout
            raise EngineTimeout(f"{self.query_url} did not answer within {waited:g} s") from None
        except httpx.HTTPError as error:
            raise OSError(f"{self.query_url}: unreachable ({error})") from None
        detail = " ".join(response.text.split()).split(" SPARQL query:")[0][:240]
        if response.status_code == 400:
            raise SyntaxError(f"the engine at {self.query_url} refused the query: {detail}")
        if response.status_code >= 400:
            raise OSError(f"{self.query_url}: HTTP {response.status_code}: {detail}")
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            if "sparql-results" in kind or kind == "application/json":
                self._check_rows(response)
                return parse_results(response.content)
            return self._triples(response, self.query_url)
        except StoreError as error:  # a cut answer is the engine's failure, not the query's
            raise OSError(str(error)) from None

    # -- graphs ----------------------------------------------------------------------------
    def graph_names(self) -> set[str]:
        # (GROUP BY: Virtuoso 7.2 answers DISTINCT ?g by a plan that took minutes over the
        # curated graph's 7 000 quads, and this in 0.02 s)
        rows = self.select("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
        return {row["g"].value for row in rows if isinstance(row.get("g"), ox.NamedNode)}

    def get_graph(self, name: str) -> list[ox.Triple]:
        if self.gsp_url:
            try:
                response = self._send(
                    "reading a graph",
                    "GET",
                    self.gsp_url,
                    params={"graph": name},
                    headers={"Accept": NTRIPLES},
                )
            except StoreError as error:
                if "HTTP 404" in str(error):
                    return []
                raise
            return self._triples(response, self.gsp_url)
        return self.construct(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{name}> {{ ?s ?p ?o }} }}")

    def put_graph(self, name: str, triples: list[ox.Triple]) -> None:
        for index, batch in enumerate(upload_batches(triples, self.upload_triples)):
            body = ox.serialize(batch, format=ox.RdfFormat.N_TRIPLES) or b""
            what = f"writing graph <{name}>" + (f" (batch {index + 1})" if index else "")
            if self.gsp_url:
                self._send(
                    what,
                    "POST" if index else "PUT",  # the first replaces, the others add
                    self.gsp_url,
                    params={"graph": name},
                    content=body,
                    headers={"Content-Type": NTRIPLES},
                )
                continue
            drop = "" if index else f"DROP SILENT GRAPH <{name}> ;\n"
            self.update(f"{drop}INSERT DATA {{ GRAPH <{name}> {{\n{body.decode()}}} }}")

    def drop_graph(self, name: str) -> None:
        if not self.gsp_url:
            self.update(f"DROP SILENT GRAPH <{name}>")
            return
        try:
            self._send(f"dropping graph <{name}>", "DELETE", self.gsp_url, params={"graph": name})
        except StoreError as error:
            if "HTTP 404" not in str(error):
                raise

    def close(self) -> None:
        self.client.close()
