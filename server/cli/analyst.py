"""Analysts' commands: ``events`` (the event table), ``timeline`` and ``geo check``."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer

from karabakh_kg.graph import Window, gazetteer, timeline_items
from karabakh_kg.graph import events as event_table
from karabakh_kg.server.cli.data import DataDir, load_graph
from karabakh_kg.server.cli.errors import fail
from karabakh_kg.server.cli.output import TableOrJson


class TableFormat(StrEnum):
    """Output of ``events``."""

    csv = "csv"
    json = "json"


class TimelineFormat(StrEnum):
    """Output of ``timeline``."""

    table = "table"
    json = "json"
    csv = "csv"


PerspectiveOpt = Annotated[
    str,
    typer.Option(
        "--perspective",
        "-P",
        help="all, article (the article's own voice) or a claimant (kg:armenia, Reuters): "
        "only the facts of those evidence units.",
    ),
]

geo_app = typer.Typer(help="Places and their coordinates.", no_args_is_help=True)


def events(
    output: Annotated[
        TableFormat, typer.Option("--format", "-f", help="csv or json.")
    ] = TableFormat.csv,
    perspective: PerspectiveOpt = event_table.ALL,
    data_dir: DataDir = None,
) -> None:
    """Print one row per event in the columns of conflict-event datasets (docs/events.md)."""
    kg = load_graph(data_dir)
    try:
        records = event_table.event_records(kg, perspective)
    except event_table.UnknownPerspectiveError as error:
        fail(str(error))
    rows = event_table.table_rows(kg, records)
    if output is TableFormat.json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        typer.echo(event_table.csv_text(rows), nl=False)


def timeline(
    start: Annotated[
        str | None, typer.Option("--from", help="First day (2020-09-27 or 2020).")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day (2020-10-12 or 2020).")] = None,
    perspective: PerspectiveOpt = event_table.ALL,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Only events of this class (repeatable).")
    ] = None,
    participant: Annotated[
        list[str] | None,
        typer.Option("--participant", help="Only events with this agent (repeatable)."),
    ] = None,
    output: Annotated[
        TimelineFormat, typer.Option("--format", "-f", help="table, json or csv.")
    ] = TimelineFormat.table,
    data_dir: DataDir = None,
) -> None:
    """Print every dated event in date order, with the precision of its date."""
    try:
        window = Window.parse(start, end)
    except ValueError as error:
        fail(str(error))
    kg = load_graph(data_dir)
    try:
        items = timeline_items(
            kg,
            window=window,
            perspective=perspective,
            kinds=kind or (),
            participants=participant or (),
        )
    except (LookupError, ValueError) as error:
        fail(str(error))
    if output is TimelineFormat.json:
        typer.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    rows = [_timeline_row(item) for item in items]
    if output is TimelineFormat.csv:
        import csv
        import sys

        writer = csv.DictWriter(
            sys.stdout, fieldnames=list(TIMELINE_COLUMNS), lineterminator="\r\n"
        )
        writer.writeheader()
        writer.writerows(rows)
        return
    for row in rows:
        typer.echo(
            f"{row['date']:<23} {row['precision']:<9} {row['presentation']:<9} "
            f"{row['label']}  [{row['claimants']}]"
        )


TIMELINE_COLUMNS = ("date", "precision", "presentation", "label", "kinds", "claimants", "event")


def _timeline_row(item: dict[str, Any]) -> dict[str, str]:
    date = item["date"]
    if item["reading"]:
        date = f"{date} (reading {item['reading']}/{item['readings']})"
    return {
        "date": date,
        "precision": item["precision"],
        "presentation": item["presentation"],
        "label": item["label"],
        "kinds": " ".join(item["kinds"]),
        "claimants": "; ".join(c["label"] for c in item["claimants"]),
        "event": item["event"],
    }


@geo_app.command("check")
def geo_check(
    output: Annotated[
        TableOrJson, typer.Option("--format", "-f", help="table or json.")
    ] = TableOrJson.table,
    data_dir: DataDir = None,
) -> None:
    """Match the graph's settlements against the gazetteer: matches, ambiguities, misses.

    Exits non-zero when a reviewed point is no longer among the gazetteer's candidates.
    """
    kg = load_graph(data_dir, reason=True)
    report = gazetteer.check(kg)
    if output is TableOrJson.json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(
            f"gazetteer: GeoNames via {gazetteer.PACKAGE} {gazetteer.package_version()}, "
            f"populated places of at least {gazetteer.MIN_POPULATION}"
        )
        for match in report.matches:
            chosen = report.reviewed.get(match.place)
            listed = ", ".join(
                f"{c.name} ({c.country}-{c.admin1}, GeoNames {c.geonameid})"
                for c in match.candidates[:4]
            )
            more = f" and {len(match.candidates) - 4} more" if len(match.candidates) > 4 else ""
            decision = f"reviewed: {chosen.geonames}" if chosen else "not reviewed"
            typer.echo(f"{match.outcome:<9} {match.label:<14} {listed or '-'}{more}  [{decision}]")
        typer.echo(f"without a point ({len(report.unplaced)}):")
        typer.echo("  " + ", ".join(label for _, label in report.unplaced))
    problems = report.problems()
    if problems:
        fail("; ".join(problems))


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command()(events)
    app.command()(timeline)
    app.add_typer(geo_app, name="geo")
