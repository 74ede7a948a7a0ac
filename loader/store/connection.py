"""Connection: a driver plus the database every session names, with errors that say what to fix.

Clusters and Aura are reached through Neo4j's own URIs (``neo4j://`` routes, ``neo4j+s://``
for TLS); ``database=`` is passed on every session, which saves a round trip and is what
clusters need.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass

import neo4j
from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, ClientError, ConfigurationError, ServiceUnavailable

from ..errors import DatabaseError

DEFAULT_URI = "neo4j://127.0.0.1:7687"
DEFAULT_USER = "neo4j"
DEFAULT_DATABASE = "neo4j"
DEFAULT_WAIT = 60.0

@dataclass
class Graph:
    """A driver plus the database every session must name (``database=`` saves a round trip
    and is what clusters and Aura need)."""

    driver: neo4j.Driver
    database: str
    uri: str
    wait: float = DEFAULT_WAIT  # seconds a write may be tried again while the server is away or busy

    def close(self) -> None:
        self.driver.close()

    def __enter__(self) -> "Graph":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def session(self, read: bool = False) -> neo4j.Session:
        mode = neo4j.READ_ACCESS if read else neo4j.WRITE_ACCESS
        return self.driver.session(database=self.database, default_access_mode=mode)


SCHEMES = ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")


def connect(uri: str, user: str, password: str | None, database: str, wait: float = DEFAULT_WAIT) -> Graph:
    """Open and check a connection; every failure becomes one line saying what to fix. ``wait``
    bounds how long a write is tried again while the server is away or busy (seconds)."""
    shown = shown_uri(uri)
    scheme = uri.partition("://")[0].lower() if "://" in uri else ""
    if shown != uri:
        raise DatabaseError(f"NEO4J_URI (or --uri) {shown!r} carries credentials: leave them out of the URI and set "
                            "NEO4J_USERNAME and NEO4J_PASSWORD (or --username/--password) instead") from None
    if scheme not in SCHEMES:
        hint = (" (that is the address of Neo4j Browser and the HTTP API; callgraph speaks Bolt, usually on "
                "port 7687)" if scheme in ("http", "https") else "")
        raise DatabaseError(f"bad Neo4j URI {shown!r}{hint}: use neo4j://host:7687 (or bolt://), or neo4j+s:// "
                            "for a server with TLS such as Aura") from None
    try:
        # Notifications are advice for people writing queries; a loader's users can't act on them.
        driver = GraphDatabase.driver(uri, auth=(user, password or ""), notifications_min_severity="OFF",
                                      max_transaction_retry_time=wait)
    except (ValueError, ConfigurationError) as exc:
        said = str(exc).replace(uri, shown).splitlines()[0].rstrip(".")
        raise DatabaseError(f"bad Neo4j URI {shown!r}: {said}. Use e.g. neo4j://127.0.0.1:7687 or "
                            "neo4j+s://<id>.databases.neo4j.io") from None
    try:
        driver.verify_connectivity()
        with driver.session(database=database) as session:
            session.run("RETURN 1").consume()
    except AuthError:
        driver.close()
        hint = "" if password else " (no password was given: set NEO4J_PASSWORD)"
        raise DatabaseError(f"Neo4j at {shown} refused user {user!r}: check NEO4J_USERNAME and NEO4J_PASSWORD "
                            f"(or --username/--password){hint}") from None
    except ServiceUnavailable as exc:
        driver.close()
        raise DatabaseError(_unreachable(shown, scheme, exc)) from None
    except ClientError as exc:
        driver.close()
        if "DatabaseNotFound" in (exc.code or ""):
            raise DatabaseError(f"Neo4j at {shown} has no database {database!r}: create it, or set NEO4J_DATABASE "
                                "to an existing one") from None
        raise DatabaseError(f"Neo4j at {shown} refused the connection: {exc.message}") from None
    _CONNECTED[:] = [shown]
    return Graph(driver, database, uri, wait)


_CONNECTED: list[str] = []  # the server this process last connected to, as messages show it


def connected_to() -> str | None:
    """The server the command connected to (credentials hidden), for an error that comes later
    from deep inside the driver: a server that went away mid-command is named."""
    return _CONNECTED[0] if _CONNECTED else None


def shown_uri(uri: str) -> str:
    """The URI as messages and links show it: credentials written into it (``neo4j://user:secret@host``,
    a password with ``@`` or ``/`` in it too) replaced by ``***``. Everything up to the last ``@`` is
    the user part: a Bolt address has no ``@`` of its own."""
    scheme, sep, rest = uri.partition("://")
    return f"{scheme}{sep}***@{rest.rpartition('@')[2]}" if "@" in rest else uri


def _unreachable(uri: str, scheme: str, exc: BaseException) -> str:
    """Why the driver could not talk to the server, from the errors it chained, and what to do."""
    causes = _causes(exc)
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in causes):
        return (f"Neo4j at {uri} has a TLS certificate this machine does not trust: use {scheme[:-2]}+ssc:// for "
                "a self-signed certificate, or install its CA")
    if any(isinstance(e, ssl.SSLError) for e in causes):
        if scheme.endswith(("+s", "+ssc")):
            return (f"Neo4j at {uri} does not answer TLS: {scheme}:// asks for an encrypted connection; use "
                    f"{scheme.split('+')[0]}:// for a server without TLS (such as a local one), or enable TLS for "
                    "Bolt on the server")
        return f"Neo4j at {uri} refused the TLS handshake: check the URI's scheme (neo4j+s:// for TLS) and the port"
    if any("looks like HTTP" in str(e) for e in causes):
        return (f"{uri} is Neo4j's HTTP port (Browser), not Bolt: point NEO4J_URI at the Bolt port, usually 7687")
    if any(isinstance(e, socket.gaierror) for e in causes):
        return f"cannot find the host of {uri}: check the host name in NEO4J_URI"
    return (f"cannot reach Neo4j at {uri}: start it (scripts/neo4j start, or docker compose up -d) "
            "or point NEO4J_URI at your server")


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and every exception behind it: causes, contexts and the members of exception groups."""
    seen: list[BaseException] = []
    stack = [exc]
    while stack:
        e = stack.pop()
        if e is None or any(e is s for s in seen):
            continue
        seen.append(e)
        stack += [*getattr(e, "exceptions", ()), e.__cause__, e.__context__]
    return seen


class Rows(list):
    """A statement's batch parameter (rows, ids, keys) that prints as its length.

    The driver formats every RUN message for its debug log before it knows whether debug
    logging is on (neo4j 6.4: ``" ".join(map(repr, fields))``). For a batch of call records
    that is megabytes of text per statement: the largest single cost of the loader's Python
    side in a py-spy profile of a 100,000-record load. It packs exactly as a list does, and a
    user who does turn on the driver's debug log sees row counts instead of call data.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{len(self)} rows>"

