"""`callgraph report`: the saved queries' answers for a window as one HTML file to share."""

from __future__ import annotations

from datetime import datetime, timezone

import click

from ..errors import ParameterError
from ..queries.report import gather, plotly_objects, render
from ..times import AGES
from .common import neo4j_options, open_graph, output_file, parse_time_option


@click.command()
@click.option("--out", "out", required=True, metavar="FILE.html", help="The HTML file to write.")
@click.option("--since", default=None, help=f"Calls starting at or after this: a date, a date-time or an age ({AGES}) "
                                            "[default: every call].")
@click.option("--until", default=None, help="Calls starting before this, in the same forms [default: no end].")
@click.option("--with-names", is_flag=True,
              help="Show user names, ids and phone numbers; without it they are replaced by pseudonyms "
                   "(user 1, phone 2), the same one wherever the same person or number appears.")
@neo4j_options
def report(out, since, until, with_names, uri, username, password, database):
    """Write a self-contained HTML report of a window: headline figures against Microsoft's
    quality targets, the poor ratio day by day, the worst media relays, PSTN gateways,
    subnets, failed segments by stage (charts and tables) and the PSTN paths hop by hop.

    \b
    The numbers are those of the saved queries (shared-relays, relay-timeline, gateway-health,
    poor-subnets, failures, pstn-paths) for the window. The file needs no network to open
    (the charts' plotly.js is inside it), so it can be mailed to a network team or to
    Microsoft support. Needs the report extra: pip install 'teams-callgraph[report]'.
    \b
    Examples:
      callgraph report --out week.html --since 7d
      callgraph report --out november.html --since 2026-11-01 --until 2026-12-01 --with-names
    """
    now = datetime.now(timezone.utc)
    start, end = parse_time_option(since, now, "--since"), parse_time_option(until, now, "--until")
    if start and end and start >= end:
        raise ParameterError(f"--since {since} is not before --until {until}: give a window that has some time in it")
    output_file(out)
    plotly_objects()  # before any work: the one line that says how to install it
    with open_graph(uri, username, password, database) as graph:
        tables = gather(graph, start, end)
    page = render(tables, start, end, with_names, now)
    with open(out, "w", encoding="utf-8") as f:
        f.write(page)
    click.echo(f"wrote the report of {sum(r['calls'] for r in tables['daily'].rows):,} calls "
               f"to {out}", err=True)
