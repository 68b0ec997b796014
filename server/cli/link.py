"""``karabakh-kg link ...``: check, suggest, confirm, enrich and export Wikidata links."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from karabakh_kg.graph import (
    DataError,
    KnowledgeGraph,
    QueryCache,
    WikidataClient,
    WikidataError,
    compact,
    default_cache_dir,
    load_graph,
    lookup,
)
from karabakh_kg.server.cli.errors import check_length, fail

link_app = typer.Typer(
    help="Links to Wikidata: check them, find candidates, confirm, enrich, export.",
    no_args_is_help=True,
)

Endpoint = Annotated[
    str,
    typer.Option(
        "--endpoint",
        envvar="KARABAKH_KG_WIKIDATA_ENDPOINT",
        help="SPARQL endpoint of Wikidata (or a mirror).",
        show_default=True,
    ),
]
DEFAULT_ENDPOINT = "https://query.wikidata.org/sparql"
DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder of curated TriG files (default: the installed data)."),
]
CacheDir = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        help="Where answers are cached (default: KARABAKH_KG_CACHE_DIR or the user cache dir).",
    ),
]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Ask the endpoint again; store nothing.")]
CacheTtl = Annotated[
    float, typer.Option("--cache-ttl", min=0, help="Seconds a cached answer stays valid.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


@contextmanager
def _client(
    endpoint: str, cache_dir: Path | None, no_cache: bool, ttl: float
) -> Iterator[WikidataClient]:
    cache = None if no_cache else QueryCache(cache_dir or default_cache_dir(), ttl_seconds=ttl)
    try:
        client = WikidataClient(endpoint, cache=cache)
    except WikidataError as error:
        fail(str(error))
    try:
        yield client
    except WikidataError as error:
        fail(str(error))
    finally:
        client.close()


def _load(data_dir: Path | None) -> KnowledgeGraph:
    if data_dir is not None and not data_dir.is_dir():
        fail(f"no such data folder: {data_dir}")
    try:
        kg = load_graph(data_dir, reason=False)
    except DataError as error:
        fail(str(error).splitlines()[0])
    return kg


def _resolve(kg: KnowledgeGraph, name: str) -> str:
    """An entity IRI from an IRI, CURIE, label, alternative label or Wikidata id."""
    from karabakh_kg.server.web.common import MAX_NAME_LENGTH

    try:
        iri = lookup.resolve(kg, check_length(name, "name", MAX_NAME_LENGTH))
    except LookupError as error:
        fail(str(error).splitlines()[0] if str(error) else f"unknown entity: {name}")
    return iri


@link_app.command("check")
def check_command(
    endpoint: Endpoint = DEFAULT_ENDPOINT,
    data_dir: DataDir = None,
    cache_dir: CacheDir = None,
    no_cache: NoCache = False,
    cache_ttl: CacheTtl = 7 * 24 * 3600.0,
    as_json: AsJson = False,
) -> None:
    """Ask the endpoint whether each linked item's label and class fit our entity."""
    from karabakh_kg.graph import check_links as check
    from karabakh_kg.graph import links_file, read_links

    kg = _load(data_dir)
    links = read_links(links_file(data_dir))
    with _client(endpoint, cache_dir, no_cache, cache_ttl) as client:
        report = check(kg, client, links)
    if as_json:
        typer.echo(
            json.dumps(
                {"endpoint": report.endpoint, "links": [s.to_dict() for s in report.statuses]},
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        for status in report.statuses:
            line = f"{status.status:15} {compact(status.entity):28} {status.qid:11} {status.label}"
            typer.echo(line + (f": {status.detail}" if status.detail else ""))
        problems = len(report.problems)
        typer.echo(
            f"{len(report.statuses)} links checked against {endpoint}: {problems} problem(s)"
        )
    if report.problems:
        raise typer.Exit(1)


@link_app.command("suggest")
def suggest_command(
    entities: Annotated[
        list[str] | None, typer.Argument(help="Entities to suggest for (default: all unlinked).")
    ] = None,
    endpoint: Endpoint = DEFAULT_ENDPOINT,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Candidates per entity.")] = 5,
    data_dir: DataDir = None,
    cache_dir: CacheDir = None,
    no_cache: NoCache = False,
    cache_ttl: CacheTtl = 7 * 24 * 3600.0,
    as_json: AsJson = False,
) -> None:
    """Candidate Wikidata items for entities without a link, ranked, for a person to confirm."""
    from karabakh_kg.graph import LinkError
    from karabakh_kg.graph import suggest_links as suggest

    kg = _load(data_dir)
    chosen = [_resolve(kg, name) for name in entities] if entities else None
    with _client(endpoint, cache_dir, no_cache, cache_ttl) as client:
        try:
            suggestions = suggest(kg, client, chosen, limit=limit)
        except LinkError as error:
            fail(str(error))
    if as_json:
        typer.echo(json.dumps([s.to_dict() for s in suggestions], indent=2, ensure_ascii=False))
        return
    for suggestion in suggestions:
        typer.echo(f"{compact(suggestion.entity)} ({suggestion.label}, {suggestion.category}):")
        if not suggestion.candidates:
            typer.echo("    no candidate")
        for rank, candidate in enumerate(suggestion.candidates, start=1):
            typer.echo(
                f"  {rank}. {candidate.qid:11} {candidate.label}  "
                f"[score {candidate.score:.1f}: {'; '.join(candidate.reasons)}]"
            )
        if suggestion.candidates:
            best = suggestion.candidates[0].qid
            typer.echo(f"    confirm: karabakh-kg link confirm {compact(suggestion.entity)} {best}")


@link_app.command("confirm")
def confirm_command(
    entity: Annotated[str, typer.Argument(help="Our entity: kg:name, IRI or label.")],
    qid: Annotated[str, typer.Argument(help="The Wikidata item, e.g. Q42.")],
    endpoint: Endpoint = DEFAULT_ENDPOINT,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace an existing link of the entity.")
    ] = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Do not ask the endpoint to verify the item.")
    ] = False,
    comment: Annotated[str | None, typer.Option("--comment", help="Why this item.")] = None,
    data_dir: DataDir = None,
    cache_dir: CacheDir = None,
    no_cache: NoCache = False,
    cache_ttl: CacheTtl = 7 * 24 * 3600.0,
) -> None:
    """Write ENTITY skos:exactMatch wd:QID to the curated links, with its source and date."""
    from karabakh_kg.graph import LinkError, links_file, parse_qid
    from karabakh_kg.graph import confirm_link as confirm

    try:
        parse_qid(qid)
    except LinkError as error:
        fail(str(error))
    kg = _load(data_dir)
    iri = _resolve(kg, entity)
    path = links_file(data_dir)
    try:
        if offline:
            link = confirm(kg, iri, qid, path=path, replace=replace, comment=comment)
        else:
            with _client(endpoint, cache_dir, no_cache, cache_ttl) as client:
                link = confirm(
                    kg,
                    iri,
                    qid,
                    path=path,
                    client=client,
                    replace=replace,
                    comment=comment,
                )
    except LinkError as error:
        fail(str(error))
    typer.echo(f"linked {compact(link.entity)} skos:exactMatch wd:{link.qid} in {path}")


@link_app.command("enrich")
def enrich_command(
    endpoint: Endpoint = DEFAULT_ENDPOINT,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Enrichment file (default: the user data dir)."),
    ] = None,
    properties: Annotated[
        list[str] | None,
        typer.Option("--property", "-p", help="Wikidata property to import (repeatable)."),
    ] = None,
    data_dir: DataDir = None,
    cache_dir: CacheDir = None,
    no_cache: NoCache = False,
    cache_ttl: CacheTtl = 7 * 24 * 3600.0,
) -> None:
    """Import coordinates, birth dates, positions and memberships of linked items (opt-in)."""
    from karabakh_kg.graph import (
        WIKIDATA_FACTS as FACTS,
    )
    from karabakh_kg.graph import (
        LinkError,
        enrich,
        links_file,
        read_links,
        write_enrichment,
    )
    from karabakh_kg.graph import (
        default_enrichment_file as default_output,
    )

    chosen = [p.upper() for p in properties] if properties else list(FACTS)
    unknown = [p for p in chosen if p not in FACTS]
    if unknown:
        fail(f"cannot import {', '.join(unknown)}; choose among {', '.join(FACTS)}")
    try:
        links = read_links(links_file(data_dir))
    except LinkError as error:
        fail(str(error))
    if not links:
        fail("no Wikidata links to enrich; add some with `karabakh-kg link confirm`")
    target = output or default_output()
    with _client(endpoint, cache_dir, no_cache, cache_ttl) as client:
        result = enrich(client, links, chosen)
    try:
        write_enrichment(result, target)
    except OSError as error:
        fail(f"cannot write {target}: {error.strerror or error}")
    counts = ", ".join(f"{p}: {n}" for p, n in result.counts.items())
    typer.echo(f"wrote {len(result.quads)} triples to {target} ({counts})")
    typer.echo(f"load them with load_graph(wikidata=Path({str(target)!r}))")


@link_app.command("export")
def export_command(
    format: Annotated[
        str, typer.Option("--format", "-f", help="csv (mapping) or quickstatements.")
    ] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    property_id: Annotated[
        str, typer.Option("--property", help="QuickStatements property for our IRI.")
    ] = "P973",
    data_dir: DataDir = None,
) -> None:
    """Export the links as a mapping CSV (IRI, label, QID) or as QuickStatements."""
    from karabakh_kg.graph import (
        LinkError,
        entity_infos,
        links_file,
        mapping_csv,
        quickstatements,
        read_links,
    )

    kind = format.lower()
    if kind not in ("csv", "quickstatements", "qs"):
        fail(f"unknown export format {format!r}; use csv or quickstatements")
    try:
        links = read_links(links_file(data_dir))
        if kind == "csv":
            kg = _load(data_dir)
            labels = {iri: info.label for iri, info in entity_infos(kg).items()}
            text = mapping_csv(links, labels)
        else:
            text = quickstatements(links, property_id)
    except LinkError as error:
        fail(str(error))
    if output is None:
        typer.echo(text, nl=False)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as error:
            fail(f"cannot write {output}: {error.strerror or error}")
        typer.echo(f"wrote {len(links)} links to {output}")


def register(app: typer.Typer) -> None:
    """Add the ``link`` command group to ``app``."""
    app.add_typer(link_app, name="link")
