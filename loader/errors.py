"""The errors callgraph raises for people to read: one family, each with its exit status.

Every failure a user can fix (a bad option or file, a saved query that does not parse, a
database that cannot be reached, a sign-in that Microsoft refuses) is raised as one of
these, with a message of one line that says what to do. The command line maps them to its
output once, in its group (:mod:`loader.cli`); library callers catch :class:`CallgraphError`.

::

    CallgraphError                exit 1: something outside the command failed
    ├── UsageError                exit 2: the command was asked something it cannot do
    │   ├── InputError            a path, file or input that cannot be read as records
    │   ├── ParameterError        an option or query parameter of the wrong form
    │   └── QueryError            a saved query that is missing or does not parse
    ├── DatabaseError             Neo4j cannot be used (down, refused, wrong URI, TLS, Cypher error)
    ├── GraphError                Microsoft Graph or its sign-in refused (permissions, secrets)
    └── Interrupted               exit 130: Ctrl-C

Errors about one record (:class:`loader.ingest.transform.RecordError`) are not here: they
reject that record, are listed in the load's summary, and never stop a load.
"""

from __future__ import annotations

import re


class CallgraphError(Exception):
    """A failure with a message for the user and the exit status the command ends with."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(CallgraphError):
    exit_code = 2


class InputError(UsageError):
    """A path, file or stream that cannot be read as call records."""


class ParameterError(UsageError):
    """An option or a query parameter of the wrong form."""


class QueryError(UsageError):
    """A saved query that is missing, or whose file does not parse."""


class DatabaseError(CallgraphError):
    """The database cannot be used; the message says what to do."""


class GraphError(CallgraphError):
    """Microsoft Graph (or its sign-in) refused; the message says what to change."""


class Interrupted(CallgraphError):
    """Ctrl-C: the writes that were committed stay, and running the command again completes them."""

    exit_code = 130

    def __init__(self, message: str = "interrupted: what was committed stays; run the same command again to "
                                      "complete it"):
        super().__init__(message)


# C0 and C1 control characters (ESC starts the terminal's escape sequences), DEL, and the
# Unicode marks that reorder what a terminal shows (bidirectional overrides and isolates)
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """``text`` as a terminal may show it: every control character written as its escape
    (``\\x1b``, ``\\n``, ``\\u202e``), so that data cannot move the cursor, recolour or hide text."""
    return _UNPRINTABLE.sub(lambda m: _ESCAPES.get(m.group(0)) or ascii(m.group(0))[1:-1], text)
