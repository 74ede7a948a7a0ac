"""The ``callgraph`` command line.

Each command family is one thin module over the library (``load``: schema, load, export;
``query``: the saved queries, summaries and Browser links; ``demo``: the synthetic tenant;
``msgraph``: fetch and sync; ``report``: the HTML report). :data:`COMMANDS` registers every
command once, by the module that defines it, which is imported only when the command is
named: a load does not pay for the Graph client or the saved queries. Errors are turned into one line and an exit
status here, once, for every command (:mod:`loader.errors`).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

import click

from .. import __version__
from ..errors import CallgraphError, DatabaseError, Interrupted

# command -> module of loader.cli that defines it, under the command's own name
COMMANDS = {
    "schema": "load", "load": "load", "export": "load", "classify": "load",
    "queries": "query", "query": "query", "summarize": "query", "browser": "query",
    "generate": "demo", "demo": "demo",
    "fetch": "msgraph", "sync": "msgraph",
    "report": "report",
    "buildings": "places", "endpoints": "places",
}


class Failure(click.ClickException):
    """A :class:`CallgraphError` as click prints it: ``Error: <message>`` and its exit status."""

    def __init__(self, error: CallgraphError):
        super().__init__(error.message)
        self.exit_code = error.exit_code


class Commands(click.Group):
    """The commands of :data:`COMMANDS`, each imported when it is named, with one error mapping."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        return getattr(importlib.import_module(f"{__name__}.{COMMANDS[name]}"), name.replace("-", "_"))

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CallgraphError as exc:
            raise Failure(exc) from None
        except KeyboardInterrupt:
            raise Failure(Interrupted()) from None
        except BrokenPipeError:
            # the reader of the output went away (`callgraph query x | head`): end quietly, as
            # tools killed by SIGPIPE do, and keep Python from complaining about the lost flush
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except (OSError, ValueError):  # an output without a file descriptor (click's test runner)
                pass
            raise click.exceptions.Exit(141) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence: never a traceback
            if os.environ.get("CALLGRAPH_DEBUG"):
                raise
            raise Failure(describe(exc)) from None


def describe(exc: Exception) -> CallgraphError:
    """An unexpected exception as one line: the driver's own (a server that went away, a
    Cypher error) as a database error, a file system error with its path, anything else
    with its type, and a request to report it (CALLGRAPH_DEBUG=1 shows the traceback)."""
    module = type(exc).__module__ or ""
    from neo4j.exceptions import ServiceUnavailable, SessionExpired  # (imported once a command has run)

    if isinstance(exc, (ServiceUnavailable, SessionExpired)):
        from ..store.connection import connected_to

        said = (getattr(exc, "message", None) or str(exc) or type(exc).__name__).splitlines()[0].rstrip(".")
        return DatabaseError(f"Neo4j at {connected_to() or 'NEO4J_URI'} stopped answering ({said}). What was "
                             "committed stays: when the server is back (scripts/neo4j status), run the same command "
                             "again and it completes the rest")
    if module.startswith("neo4j"):
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        return DatabaseError(f"Neo4j: {message.splitlines()[0] if message else type(exc).__name__}. What was "
                             "committed stays; check the server (scripts/neo4j status) and run the command again")
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return CallgraphError(f"{where}{exc.strerror or exc}")
    return CallgraphError(f"unexpected {type(exc).__name__}: {exc}. This is a bug in callgraph; please report it "
                          "with the command that caused it")


# Libraries' log records (the Neo4j driver warns "Unable to retrieve routing information" before
# it raises what the error mapping above turns into one line) would reach stderr through Python's
# last-resort handler; a command's output is its own lines only.
logging.getLogger().addHandler(logging.NullHandler())


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="callgraph")
def main():
    """Load Microsoft Teams call records (Graph callRecords) into Neo4j and investigate them
    as a graph: sessions, segments, endpoints, media relays and PSTN gateways.

    \b
    Start here:
      callgraph demo                      a synthetic tenant to try the saved queries on
      callgraph load records.jsonl        load Graph JSON you already have
      callgraph sync --since 7d           fetch from Microsoft Graph and load (AZURE_* settings)
      callgraph queries                   the saved investigations; then: callgraph query NAME
    Connection settings come from NEO4J_URI, NEO4J_USERNAME, NEO4J_PASSWORD and NEO4J_DATABASE.
    """
