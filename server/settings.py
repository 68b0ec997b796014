"""Server settings, read from ``KARABAKH_KG_*`` environment variables.

Every limit of the SPARQL endpoint is a named setting with a safe default, so an
operator can see and change it (``karabakh-kg serve`` options set the same fields).

Our own reader rather than ``pydantic-settings``: what it would replace is the loop of
:meth:`Settings.from_env` and :func:`_convert` (some thirty lines), while keeping our promises
would need as much code around it. Its lists are JSON (``["a","b"]``) where ours take the
comma- or space-separated lists operators write (``KARABAKH_KG_SERVICE_ALLOWLIST=a b``); its
errors are multi-line ``ValidationError`` reports where ours are one line naming the variable
(``KARABAKH_KG_MAX_ROWS='x' is not a valid int``), which the CLI prints as is; and it would turn
the frozen dataclass that callers copy with :func:`dataclasses.replace` into a pydantic model.
The cross-field checks (:meth:`Settings.check`) stay ours either way.
"""

from __future__ import annotations

import hmac
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

PREFIX = "KARABAKH_KG_"


class SettingsError(ValueError):
    """An environment variable that does not hold a valid value."""


def _default_workers() -> int:
    # Workers share one copy of the data, so there are more than cores: a short query
    # finds a free worker while long ones run (they are lowered in priority meanwhile).
    return max(4, min(16, 2 * (os.cpu_count() or 2)))


@dataclass(frozen=True)
class Settings:
    """Limits and switches of the HTTP server."""

    query_timeout: float = 5.0
    """Seconds a query may run when the request does not ask for less (``timeout=``)."""
    max_query_timeout: float = 30.0
    """Upper bound of a per-request ``timeout=``."""
    max_rows: int = 100_000
    """Most result rows (or triples) a query may return; larger results are refused."""
    max_answer_bytes: int = 32_000_000
    """Largest serialized answer a query may return, checked in the worker while the answer
    is built and before anything is sent; larger answers are refused (422)."""
    max_query_depth: int = 200
    """Deepest nesting of brackets and braces a query or update may have (400 beyond)."""
    worker_memory_mb: int = 4096
    """Address space one query worker may use, in MB (0: no bound). A query that needs more
    stops its worker (replaced in the background) and is answered 503 ``worker-crashed``."""
    worker_private_mb: int = 64
    """Memory a query worker may hold of its own after a query, in MiB, before it is replaced
    by a fresh one (0: never). Workers share one copy of the data, but the pages their queries
    read become their own copies; a higher bound is faster (fewer pages copied again) and
    holds more memory, up to a copy of the data per worker."""
    worker_copies: bool = False
    """Give each query worker of a read-only server its own copy of the data in memory
    instead of one on-disk copy that all of them read (queries about 2-4 times faster in
    the engine, memory up to a copy per worker). A server taking updates always works so."""
    result_cache_mb: int = 0
    """Memory for remembered answers, in MB (0: off). An answer is remembered for its data
    version, query text, dataset, perspective and format, and served again without
    evaluation until the data changes; one answer takes at most an eighth of it."""
    max_body_bytes: int = 1_000_000
    """Largest accepted request body (413 beyond)."""
    query_workers: int = field(default_factory=_default_workers)
    """Worker processes evaluating queries: also the number of queries running at once."""
    max_queued: int = 64
    """Requests that may wait for a free worker; more are refused with 503."""
    client_queries: int = 0
    """Queries one client (IP address) may have running at once; 0: half the workers
    (at least one), so that one client never holds every worker."""
    client_queued: int = 16
    """Queries one client may have waiting for a worker; more are refused with 429."""
    queue_timeout: float = 10.0
    """Seconds a query may wait for a worker (not counted in its own time limit); then 503."""
    header_timeout: float = 10.0
    """Seconds a connection may take to send a request's headers (then it is closed)."""
    body_timeout: float = 10.0
    """Seconds a request may pause while sending its body (then 408)."""
    keepalive_timeout: float = 5.0
    """Seconds an idle keep-alive connection stays open."""
    cors_origins: tuple[str, ...] = ("*",)
    """Origins allowed by CORS (``*`` for any)."""
    service_allowlist: tuple[str, ...] = ()
    """SPARQL endpoints a ``SERVICE`` clause may call (exact IRIs, or prefixes ending in ``*``)."""
    enable_updates: bool = False
    """Whether SPARQL Update and the Graph Store Protocol writes are served."""
    update_token: str = ""
    """Bearer token required for updates (its contributions are named ``operator``)."""
    update_tokens: tuple[str, ...] = ()
    """More tokens, each ``name=token``: what a token's holder writes goes to the named graph
    ``graph/contributions/{name}`` and the log names them."""
    ephemeral_updates: bool = False
    """Accept updates on an in-memory dataset, knowing they are lost when the server stops
    (without it, updates need a durable store: ``serve --store DIR``)."""
    store_dir: str = ""
    """Folder of the durable on-disk store (``serve --store DIR``); empty: in memory."""
    backend_url: str = ""
    """SPARQL query URL of an engine holding the published graphs (``serve --backend``):
    queries go there; empty: the embedded store."""
    backend_gsp_url: str = ""
    """The engine's Graph Store Protocol URL (graphs are read with it when given)."""
    backend_user: str = ""
    """User name for the engine (the password: ``KARABAKH_KG_BACKEND_PASSWORD``)."""
    backend_password: str = ""
    """Password for :attr:`backend_user`."""
    backend_auth: str = "basic"
    """HTTP authentication with the engine: ``basic`` or ``digest``."""
    backend_refresh: float = 10.0
    """Seconds between checks of the engine's publication manifest (``serve --backend``):
    pages, traversal, explanations and ETags follow a new publish within this time; 0: never
    (the copy taken at start is served until a restart)."""
    backend_copy_max_triples: int = 1_000_000
    """Largest publication (triples in the engine's named graphs) of which ``serve --backend``
    keeps a local copy in memory, which the pages and views then read; above it, or at 0, no
    copy is taken and every feature reads the engine in bounded queries, the views of the
    whole graph within :attr:`backend_whole_max_quads` (docs/deployment.md)."""
    backend_whole_max_quads: int = 200_000
    """Most quads the views of the whole graph (whole-graph traversals and exports,
    reconciliation by properties) read from an engine without a local copy, held in memory
    while they answer; a larger graph is answered 400 ``too-large`` naming this bound (the
    event table, timeline and map read pages of events instead)."""
    wikidata_file: str = ""
    """A Wikidata enrichment file (``karabakh-kg link enrich``) to load into the
    ``graph/wikidata`` named graph; queries include it unless they ask ``wikidata=false``."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``KARABAKH_KG_<FIELD>`` variables, then ``overrides``."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for item in fields(cls):
            raw = env.get(PREFIX + item.name.upper())
            if raw is None or raw.strip() == "":
                continue
            values[item.name] = _convert(item.name, item.type, raw.strip())
        settings = cls(**values)
        settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
        settings.check()
        return settings

    def check(self) -> None:
        """Raise :class:`SettingsError` for inconsistent values."""
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, float) and not math.isfinite(value):
                # nan passes no comparison and inf lifts the limit it names
                raise SettingsError(f"{PREFIX}{item.name.upper()} must be finite, not {value}")
        if self.query_timeout <= 0 or self.max_query_timeout <= 0:
            raise SettingsError("query timeouts must be positive")
        if self.query_timeout > self.max_query_timeout:
            raise SettingsError(
                f"{PREFIX}QUERY_TIMEOUT ({self.query_timeout}) exceeds "
                f"{PREFIX}MAX_QUERY_TIMEOUT ({self.max_query_timeout})"
            )
        if self.query_workers < 1:
            raise SettingsError(f"{PREFIX}QUERY_WORKERS must be at least 1")
        if self.max_rows < 1 or self.max_body_bytes < 1 or self.max_queued < 0:
            raise SettingsError("limits must be positive")
        if min(self.max_answer_bytes, self.max_query_depth, self.client_queued + 1) < 1:
            raise SettingsError("limits must be positive")
        if self.worker_private_mb < 0:
            raise SettingsError(f"{PREFIX}WORKER_PRIVATE_MB must be 0 (never) or more")
        if self.result_cache_mb < 0:
            raise SettingsError(f"{PREFIX}RESULT_CACHE_MB must be 0 (off) or more")
        if self.client_queries < 0:
            raise SettingsError(f"{PREFIX}CLIENT_QUERIES must be 0 (automatic) or more")
        timeouts = (self.queue_timeout, self.header_timeout, self.body_timeout)
        if min(*timeouts, self.keepalive_timeout) <= 0:
            raise SettingsError("timeouts must be positive")
        if self.wikidata_file and not os.path.isfile(self.wikidata_file):
            raise SettingsError(
                f"{PREFIX}WIKIDATA_FILE: no such file {self.wikidata_file!r} "
                "(make one with 'karabakh-kg link enrich')"
            )
        if self.backend_url and (self.enable_updates or self.store_dir):
            raise SettingsError(
                f"{PREFIX}BACKEND_URL serves what was published to the engine: it does not "
                "take updates nor a --store (publish changes with 'karabakh-kg publish')"
            )
        if self.backend_refresh < 0:
            raise SettingsError(f"{PREFIX}BACKEND_REFRESH must be 0 (never) or more seconds")
        if self.backend_copy_max_triples < 0:
            raise SettingsError(f"{PREFIX}BACKEND_COPY_MAX_TRIPLES must be 0 (no copy) or more")
        if self.backend_whole_max_quads < 1:
            raise SettingsError(f"{PREFIX}BACKEND_WHOLE_MAX_QUADS must be 1 or more")
        if self.backend_auth not in {"basic", "digest"}:
            raise SettingsError(f"{PREFIX}BACKEND_AUTH must be basic or digest")
        if self.enable_updates and not (self.update_token or self.update_tokens):
            raise SettingsError(
                f"{PREFIX}ENABLE_UPDATES is set but {PREFIX}UPDATE_TOKEN is empty: "
                "updates need a bearer token"
            )
        if self.update_token or self.update_tokens:  # (none: nothing to check, nor import)
            self.contributors()

    def contributors(self) -> dict[str, str]:
        """Token → contributor name, from ``update_token`` and ``update_tokens``."""
        from karabakh_kg.graph import CONTRIBUTIONS_GRAPH_NAME as NAME
        from karabakh_kg.graph import DEFAULT_CONTRIBUTOR

        found = {self.update_token: DEFAULT_CONTRIBUTOR} if self.update_token else {}
        for entry in self.update_tokens:
            name, sep, token = entry.partition("=")
            if not sep or not token or not NAME.fullmatch(name):
                shown = repr(name) if sep else "an entry"  # never echo a token
                raise SettingsError(
                    f"{PREFIX}UPDATE_TOKENS: {shown} is not 'name=token' with a name of "
                    "lower-case letters, digits and '-'"
                )
            if token in found:
                raise SettingsError(f"{PREFIX}UPDATE_TOKENS: two contributors share a token")
            found[token] = name
        return found

    def contributor(self, token: str) -> str | None:
        """The name of the contributor holding ``token`` (compared in constant time)."""
        match = None
        for known, name in self.contributors().items():
            if hmac.compare_digest(token.encode(), known.encode()):
                match = name
        return match

    def service_allowed(self, endpoint: str) -> bool:
        """Whether a ``SERVICE`` call to ``endpoint`` is allowed.

        A prefix entry (``https://host/path*``) allows IRIs that start with it *on the same
        host*: ``http://127.0.0.1:8000*`` does not allow ``http://127.0.0.1:8000.evil.example/``.
        """
        from karabakh_kg.server.sparql.guard import endpoint_allowed

        return endpoint_allowed(endpoint, self.service_allowlist)

    @property
    def queries_per_client(self) -> int:
        """``client_queries``, or half the workers (at least one) when it is 0."""
        return self.client_queries or max(1, self.query_workers // 2)


def _convert(name: str, kind: Any, raw: str) -> Any:
    label = PREFIX + name.upper()
    kind = str(kind)
    try:
        if kind == "float":
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError(raw)
            return value
        if kind == "int":
            return int(raw)
        if kind == "bool":
            lowered = raw.lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if kind.startswith("tuple"):
            return tuple(part.strip() for part in raw.replace(",", " ").split() if part.strip())
        return raw
    except ValueError:
        raise SettingsError(f"{label}={raw!r} is not a valid {kind}") from None
